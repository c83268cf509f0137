//! What the daemon keeps per workspace: the hub of its MCP servers, shared by every agent
//! of that workspace whatever the surface, and its MCP server (the services every MCP
//! connection to it shares, and the `/mcp` HTTP service with its sessions). Across
//! workspaces it keeps the process's sandboxes and the one approval broker every agent asks
//! through and the one run registry every agent's runs are in, so any surface (an editor,
//! an MCP client, `/api/approvals`) answers any run and the dashboard cancels any run; it
//! builds the dashboard's agents over the same hub, broker and registry.
//!
//! Invariants: one entry per canonical workspace root, created on first use and replaced
//! when what the workspace may configure changes (its guarded settings, or `lathe trust`:
//! see `trust.rs`), which stops the old entry's hub; each entry has a new generation, by
//! which the editors' agents know to rebuild; a hub is stopped at [`Workspaces::shutdown`]
//! at the latest; the MCP server is built once per entry (a failed build is retried by the
//! next connection; connections made before a replacement keep theirs); a workspace without a
//! configured model still serves code context, sessions, prompts and `sandbox_exec`. The
//! hub's servers' elicitations go to the one question broker, which asks the surfaces
//! attached for that workspace (its editors, and the MCP clients connected to its MCP
//! server through the entry's relay) and the dashboard; declined while none can answer.

use crate::agents::{self, Overrides};
use crate::paths::Paths;
use crate::sandboxes::Sandboxes;
use anyhow::Context;
use lathe_agent::{Agent, ApprovalBroker, Attachment, QuestionBroker, RunRegistry};
use lathe_mcp::server::services::{AgentService, SandboxRunner};
use lathe_mcp::{
    AskTheUser, ElicitationRelay, HttpOptions, Hub, McpHttpService, ServerHealth, Services, Shared,
};
use lathe_sandbox::SessionSpec;
use lathe_store::Store;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::hash::{Hash, Hasher};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use tokio::sync::OnceCell;
use tokio_util::sync::CancellationToken;

/// The MCP servers of one workspace, as `lathe status` and `/api/status` show them.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct WorkspaceHealth {
    pub workspace: String,
    pub mcp_servers: Vec<McpServerHealth>,
    /// Configuration problems, such as servers not started because the workspace is not
    /// trusted.
    #[serde(default)]
    pub problems: Vec<String>,
}

/// One MCP server's health (see [`ServerHealth`]).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct McpServerHealth {
    pub name: String,
    pub transport: String,
    pub status: String,
    pub tool_count: usize,
    pub restarts: u32,
    pub last_error: Option<String>,
}

impl From<ServerHealth> for McpServerHealth {
    fn from(health: ServerHealth) -> Self {
        let status = serde_json::to_value(health.status)
            .ok()
            .and_then(|v| v.as_str().map(str::to_owned))
            .unwrap_or_default();
        Self {
            name: health.name,
            transport: health.transport.to_owned(),
            status,
            tool_count: health.tool_count,
            restarts: health.restarts,
            last_error: health.last_error,
        }
    }
}

/// Every workspace the daemon has served.
pub(crate) struct Workspaces {
    paths: Paths,
    store: Store,
    /// The `/mcp` bearer token (`None` only in process, where there is no HTTP).
    token: Option<String>,
    shutdown: CancellationToken,
    sandboxes: Sandboxes,
    broker: ApprovalBroker,
    /// What the hubs' MCP servers ask the user, for every surface.
    questions: QuestionBroker,
    /// The runs of every agent of the process.
    runs: RunRegistry,
    entries: Mutex<BTreeMap<PathBuf, Arc<Entry>>>,
    /// The last entry generation handed out.
    generations: AtomicU64,
}

struct Entry {
    /// Unique per entry: a replaced entry's successor has another.
    generation: u64,
    /// The guarded settings' fingerprint and whether they were trusted, when it was built.
    trust: (String, bool),
    hub: Hub,
    /// What is wrong with its MCP configuration (an untrusted workspace among them).
    problems: Vec<String>,
    /// The workspace's MCP clients, as a surface of the question broker.
    relay: ElicitationRelay,
    /// Keeps the relay attached to the question broker.
    _relayed: Attachment,
    mcp: OnceCell<Arc<Shared>>,
    http: OnceCell<McpHttpService>,
}

impl Workspaces {
    /// The workspaces of a process using `sandboxes`.
    pub fn new(
        paths: Paths,
        store: Store,
        token: Option<String>,
        sandboxes: Sandboxes,
        shutdown: CancellationToken,
    ) -> Self {
        let broker = agents::shared_broker(&store);
        let runs = RunRegistry::with_locks(paths.session_locks());
        Self {
            paths,
            store,
            token,
            shutdown,
            sandboxes,
            broker,
            questions: QuestionBroker::default(),
            runs,
            entries: Mutex::new(BTreeMap::new()),
            generations: AtomicU64::new(0),
        }
    }

    /// The broker every agent of the process asks through.
    pub fn broker(&self) -> &ApprovalBroker {
        &self.broker
    }

    /// The broker every MCP server of every hub asks the user through.
    pub fn questions(&self) -> &QuestionBroker {
        &self.questions
    }

    /// The runs going on in every agent of the process: what any surface cancels.
    pub fn runs(&self) -> &RunRegistry {
        &self.runs
    }

    pub fn sandboxes(&self) -> &Sandboxes {
        &self.sandboxes
    }

    pub fn paths(&self) -> &Paths {
        &self.paths
    }

    pub fn store(&self) -> &Store {
        &self.store
    }

    /// The hub of `workspace`'s MCP servers, started on first use, and its entry's
    /// generation.
    pub fn hub(&self, workspace: &Path) -> anyhow::Result<(Hub, u64)> {
        let (_, entry) = self.entry(workspace)?;
        Ok((entry.hub.clone(), entry.generation))
    }

    /// The generation of `workspace`'s entry (replacing it first if its trust changed).
    pub fn generation(&self, workspace: &Path) -> anyhow::Result<u64> {
        Ok(self.entry(workspace)?.1.generation)
    }

    /// An agent for `workspace` with its hub's tools, asking through the one broker (the
    /// dashboard's runs). Fails, saying how to configure one, when no model is configured.
    pub async fn agent(&self, workspace: &Path) -> anyhow::Result<Agent> {
        let (root, entry) = self.entry(workspace)?;
        let prepared =
            agents::prepare(&self.paths, &self.sandboxes, &root, &Overrides::default()).await?;
        for warning in &prepared.warnings {
            tracing::warn!(workspace = %root.display(), %warning, "dashboard run");
        }
        prepared.agent(
            self.store.clone(),
            &self.broker,
            &self.runs,
            &entry.hub,
            None,
        )
    }

    /// The MCP server of `workspace`, built on first use.
    pub async fn mcp(&self, workspace: &Path) -> anyhow::Result<Arc<Shared>> {
        let (root, entry) = self.entry(workspace)?;
        self.shared(&root, &entry).await
    }

    /// The `/mcp` HTTP service of `workspace` (its sessions live as long as the daemon).
    pub async fn mcp_http(&self, workspace: &Path) -> anyhow::Result<McpHttpService> {
        let (root, entry) = self.entry(workspace)?;
        let shared = self.shared(&root, &entry).await?;
        let service = entry
            .http
            .get_or_init(|| async {
                lathe_mcp::http_service(
                    shared,
                    HttpOptions {
                        token: self.token.clone(),
                        shutdown: self.shutdown.clone(),
                    },
                )
            })
            .await;
        Ok(service.clone())
    }

    async fn shared(&self, root: &Path, entry: &Entry) -> anyhow::Result<Arc<Shared>> {
        let shared = entry
            .mcp
            .get_or_try_init(|| self.build_mcp(root, &entry.hub, &entry.relay))
            .await?;
        Ok(shared.clone())
    }

    /// The MCP servers of every workspace served so far.
    pub fn health(&self) -> Vec<WorkspaceHealth> {
        self.snapshot()
            .into_iter()
            .map(|(workspace, entry)| WorkspaceHealth {
                workspace: workspace.display().to_string(),
                mcp_servers: entry.hub.health().into_iter().map(Into::into).collect(),
                problems: entry.problems.clone(),
            })
            .collect()
    }

    /// Stops every workspace's MCP servers and releases the session sandboxes.
    pub async fn shutdown(&self) {
        for (_, entry) in self.snapshot() {
            entry.hub.shutdown().await;
        }
        self.sandboxes.shutdown().await;
    }

    fn snapshot(&self) -> Vec<(PathBuf, Arc<Entry>)> {
        let entries = self.entries.lock().unwrap_or_else(|e| e.into_inner());
        entries
            .iter()
            .map(|(path, entry)| (path.clone(), entry.clone()))
            .collect()
    }

    fn entry(&self, workspace: &Path) -> anyhow::Result<(PathBuf, Arc<Entry>)> {
        let root = workspace
            .canonicalize()
            .with_context(|| format!("workspace {}", workspace.display()))?;
        anyhow::ensure!(
            root.is_dir(),
            "workspace {} is not a directory",
            root.display()
        );
        let checked = crate::trust::check(&self.paths, &root);
        let trust = (checked.fingerprint, checked.trusted);
        let mut entries = self.entries.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(entry) = entries.get(&root) {
            if entry.trust == trust {
                return Ok((root, entry.clone()));
            }
            tracing::info!(workspace = %root.display(), trusted = trust.1, "what the workspace may configure changed: restarting its MCP servers");
            let replaced = entry.hub.clone();
            tokio::spawn(async move { replaced.shutdown().await });
        }
        let relay = ElicitationRelay::default();
        let relayed = relay.attach(&self.questions, &root);
        let config = crate::config::load(&self.paths, Some(&root)).config;
        let ask = AskTheUser {
            broker: self.questions.clone(),
            workspace: root.clone(),
        };
        let (hub, problems) = agents::start_hub(&self.paths, &config, &root, Some(Arc::new(ask)));
        for problem in &problems {
            tracing::warn!(workspace = %root.display(), %problem, "configuration problem");
        }
        let entry = Arc::new(Entry {
            generation: self.generations.fetch_add(1, Ordering::Relaxed) + 1,
            trust,
            hub,
            problems,
            relay,
            _relayed: relayed,
            mcp: OnceCell::new(),
            http: OnceCell::new(),
        });
        entries.insert(root.clone(), entry.clone());
        Ok((root, entry))
    }

    async fn build_mcp(
        &self,
        root: &Path,
        hub: &Hub,
        relay: &ElicitationRelay,
    ) -> anyhow::Result<Arc<Shared>> {
        let prepared =
            agents::prepare(&self.paths, &self.sandboxes, root, &Overrides::default()).await?;
        for warning in &prepared.warnings {
            tracing::warn!(workspace = %root.display(), %warning, "MCP server");
        }
        let agent: Option<Arc<dyn AgentService>> = if prepared.config.model.is_configured() {
            Some(Arc::new(prepared.agent(
                self.store.clone(),
                &self.broker,
                &self.runs,
                hub,
                None,
            )?))
        } else {
            None
        };
        let commands = SandboxRunner {
            sandbox: prepared.sandbox.clone(),
            session: SessionSpec {
                id: sandbox_session_id(root),
                workspace: root.to_owned(),
                access: prepared.config.sandbox.access,
            },
        };
        Ok(Shared::new(Services {
            store: self.store.clone(),
            agent,
            skills: Arc::new(lathe_skills::Registry::new(
                self.paths.skill_roots(Some(root)),
            )),
            workspace: root.to_owned(),
            repo_map_cache: Some(self.paths.repo_map_cache(root)),
            commands: Some(Arc::new(commands)),
            policy: prepared.config.policy,
            elicitation: relay.clone(),
        }))
    }
}

/// The sandbox session `sandbox_exec` runs in: one per workspace, so two workspaces never
/// share a container.
fn sandbox_session_id(root: &Path) -> String {
    let mut hasher = std::collections::hash_map::DefaultHasher::new();
    root.hash(&mut hasher);
    format!("mcp-{:016x}", hasher.finish())
}
