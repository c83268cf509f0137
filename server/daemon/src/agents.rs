//! Building the agent for a workspace: configuration, model client, sandbox, tools (the
//! built-ins and the tools of the workspace's MCP servers), policy.
//!
//! Every surface gets its agent here (`lathe run`, and in the daemon the LSP and MCP front
//! ends), so a workspace behaves the same from every surface.
//! Invariants: a missing model is an error that says how to configure one; configuration
//! problems and sandbox warnings are returned to the caller to show, never swallowed; the
//! sandbox comes from the process's [`Sandboxes`] and approvals go through the broker the
//! caller passes (in the daemon, one for every agent), so surfaces share both.

use crate::config::{self, Config, NO_MODEL_HELP};
use crate::paths::Paths;
use crate::sandboxes::Sandboxes;
use anyhow::Context;
use lathe_agent::model::OpenAiClient;
use lathe_agent::tools::{CodeContext, RepoMapTool, ToolRegistry, WorkspaceRoot};
use lathe_agent::{Agent, AgentConfig, ApprovalBroker, RunRegistry};
use lathe_mcp::{ElicitationSink, Hub, HubOptions};
use lathe_protocol::config::ApprovalMode;
use lathe_sandbox::{BackendChoice, BackendKind, Sandbox};
use lathe_store::Store;
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// The approval broker the agents of one process share. Each agent waits its own
/// workspace's `approval_timeout_secs`; this default only bounds requests made without one.
pub fn shared_broker(store: &Store) -> ApprovalBroker {
    ApprovalBroker::new(store.clone(), std::time::Duration::from_secs(300))
}

/// Per-surface adjustments on top of the workspace's configuration (e.g. an editor's
/// `initializationOptions`).
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash)]
pub struct Overrides {
    pub model: Option<String>,
    pub approval: Option<ApprovalMode>,
    pub sandbox: Option<BackendChoice>,
}

/// Adjusts a workspace's tools after the built-ins are registered (the daemon routes edits
/// through the editors this way).
pub type ToolHook = Arc<dyn Fn(&mut ToolRegistry, &WorkspaceRoot) + Send + Sync>;

/// Starts the MCP servers configured for `workspace` (`[mcp_servers]` of the configuration
/// and, once the workspace is trusted (`trust.rs`), its `.mcp.json`); returns at once, the
/// servers connect in the background. Their elicitation requests go to `elicitation`
/// (declined without one). The strings are configuration problems to show.
pub fn start_hub(
    paths: &Paths,
    config: &Config,
    workspace: &Path,
    elicitation: Option<Arc<dyn ElicitationSink>>,
) -> (Hub, Vec<String>) {
    let named = crate::trust::check(paths, workspace);
    let mcp_json = (!named.untrusted()).then_some(workspace);
    let servers = lathe_mcp::config::load(&config.mcp_servers, mcp_json);
    let mut problems: Vec<String> = servers
        .problems
        .iter()
        .map(|p| format!("MCP servers: {p}"))
        .collect();
    if named.untrusted() {
        problems.push(format!("MCP servers: {}", named.advice(workspace)));
    }
    let hub = Hub::start(
        servers.servers,
        HubOptions {
            workspace: Some(workspace.to_owned()),
            elicitation,
            ..HubOptions::default()
        },
    );
    (hub, problems)
}

/// A workspace's configuration with the surface's overrides applied and its sandbox chosen:
/// everything an agent needs except the model, which may be missing.
pub struct Prepared {
    /// The canonical workspace root.
    pub workspace: PathBuf,
    pub config: Config,
    pub sandbox: Arc<dyn Sandbox>,
    /// Configuration problems and sandbox warnings, one line each.
    pub warnings: Vec<String>,
    /// Lathe's state directory (checkpoints outside git live there).
    state_dir: PathBuf,
    /// Where the workspace's repo map index is cached.
    repo_map_cache: PathBuf,
}

/// Loads `workspace`'s configuration (an existing directory), applies `overrides` and
/// takes the sandbox from `sandboxes`.
pub async fn prepare(
    paths: &Paths,
    sandboxes: &Sandboxes,
    workspace: &Path,
    overrides: &Overrides,
) -> anyhow::Result<Prepared> {
    let workspace = workspace
        .canonicalize()
        .with_context(|| format!("workspace {}", workspace.display()))?;
    let loaded = config::load(paths, Some(&workspace));
    let mut warnings: Vec<String> = loaded
        .problems
        .iter()
        .map(|p| format!("config: {p}"))
        .collect();
    let mut config = loaded.config;
    if let Some(model) = &overrides.model {
        config.model.model = Some(model.clone());
    }
    if let Some(mode) = overrides.approval {
        config.policy.mode = mode;
    }
    if let Some(backend) = overrides.sandbox {
        config.sandbox.backend = backend;
    }
    let chosen = sandboxes
        .get(&config.sandbox)
        .await
        .context("choosing a sandbox")?;
    warnings.extend(chosen.warnings);
    Ok(Prepared {
        repo_map_cache: paths.repo_map_cache(&workspace),
        workspace,
        config,
        sandbox: chosen.sandbox,
        warnings,
        state_dir: paths.state_dir.clone(),
    })
}

impl Prepared {
    /// The agent over `store`, asking through `broker`, its runs registered in `runs`
    /// (shared by the process's agents), with the built-in tools, the tools
    /// of `hub`'s MCP servers (from [`start_hub`] for the same workspace) and what `hook`
    /// adds. Fails, saying how to configure one, when no model is configured.
    pub fn agent(
        &self,
        store: Store,
        broker: &ApprovalBroker,
        runs: &RunRegistry,
        hub: &Hub,
        hook: Option<&ToolHook>,
    ) -> anyhow::Result<Agent> {
        if !self.config.model.is_configured() {
            anyhow::bail!("{NO_MODEL_HELP}");
        }
        let mut agent_config = AgentConfig::new(self.workspace.clone(), self.config.model.clone());
        agent_config.policy = self.config.policy.clone();
        agent_config.sandbox_isolated = self.sandbox.kind() != BackendKind::None;
        agent_config.repo_map_cache = Some(self.repo_map_cache.clone());
        let model = OpenAiClient::from_config(&self.config.model)?;
        let root = WorkspaceRoot::new(&self.workspace, &self.state_dir);
        let mut tools = ToolRegistry::builtins(
            &root,
            Some(self.sandbox.clone()),
            self.config.sandbox.access,
        );
        tools.register(Arc::new(RepoMapTool::new(Some(
            self.repo_map_cache.clone(),
        ))));
        tools.register(Arc::new(CodeContext::with_repo_index(
            self.repo_map_cache.clone(),
        )));
        tools.add_source(Arc::new(hub.clone()));
        if let Some(hook) = hook {
            hook(&mut tools, &root);
        }
        Ok(Agent::with_broker(
            store,
            Arc::new(model),
            tools,
            agent_config,
            broker,
            runs,
        )?)
    }
}
