//! [`Agent`]: the session-level entry point every surface calls. It owns the store, the
//! model client, the tools, the policy, the approval broker and the run registry, starts or
//! continues sessions and runs one user turn at a time per session, across every agent
//! sharing its run registry (see `turn.rs` for the loop).

use crate::approval::{ApprovalBroker, now_ms};
use crate::error::AgentError;
use crate::model::ModelClient;
use crate::policy::Policy;
use crate::running::{RunClaim, RunRegistry, close_interrupted};
use crate::tools::ToolRegistry;
use lathe_protocol::config::{ApprovalMode, ModelConfig, PolicyConfig};
use lathe_protocol::skill::RenderedSkill;
use lathe_protocol::{RunId, SessionId, SessionMeta, SessionStatus};
use lathe_store::Store;
use serde::{Deserialize, Serialize};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;
use tokio_util::sync::CancellationToken;

/// The instructions every run starts from (a skill's prompt is appended).
pub const DEFAULT_SYSTEM_PROMPT: &str = "You are Lathe, a coding agent working in the user's \
workspace. Use the tools to read, search and change code and to run commands; paths are \
relative to the workspace root. Prefer small, precise edits. When a tool fails, read its error \
and retry differently. When the task is done, answer briefly with what you did.";

/// How the agent runs.
#[derive(Clone, Debug, PartialEq)]
pub struct AgentConfig {
    /// The model, its window and prices.
    pub model: ModelConfig,
    pub policy: PolicyConfig,
    /// The workspace root.
    pub workspace: PathBuf,
    /// Model calls allowed in one run before it stops with `turn_limit`.
    pub max_turns: u32,
    /// Largest tool result the model sees, in tokens (longer ones are cut in the middle).
    pub max_tool_output_tokens: usize,
    /// Commands run in an isolating sandbox (docker, bwrap); `false` for the host backend,
    /// which makes every command ask.
    pub sandbox_isolated: bool,
    pub system_prompt: String,
    /// Tokens of the repo map every run's system prompt carries (0: none).
    pub repo_map_tokens: usize,
    /// Where the repo map keeps its index between runs (memory only when `None`).
    pub repo_map_cache: Option<PathBuf>,
    /// The longest a run waits for its repo map before it goes on without one.
    pub repo_map_wait: Duration,
}

impl AgentConfig {
    /// Defaults for a workspace.
    pub fn new(workspace: PathBuf, model: ModelConfig) -> Self {
        Self {
            model,
            policy: PolicyConfig::default(),
            workspace,
            max_turns: 50,
            max_tool_output_tokens: 8_000,
            sandbox_isolated: true,
            system_prompt: DEFAULT_SYSTEM_PROMPT.to_owned(),
            repo_map_tokens: lathe_context::DEFAULT_MAP_BUDGET,
            repo_map_cache: None,
            repo_map_wait: crate::prompt::DEFAULT_WAIT,
        }
    }

    /// The model name requests use.
    pub fn model_name(&self) -> String {
        self.model.model.clone().unwrap_or_else(|| "default".into())
    }

    /// Seconds an approval waits (default 300).
    pub fn approval_timeout(&self) -> Duration {
        Duration::from_secs(self.policy.approval_timeout_secs.unwrap_or(300))
    }
}

/// One user turn to run.
#[derive(Clone, Debug)]
pub struct RunRequest {
    /// The session to continue; `None` starts a new one.
    pub session: Option<SessionId>,
    /// What the user asked (ignored for the prompt when a skill is given: the skill's
    /// rendered user prompt is sent).
    pub prompt: String,
    pub skill: Option<RenderedSkill>,
    /// Overrides the configured approval mode for this run.
    pub approval: Option<ApprovalMode>,
    /// The surface that started the run (`cli`, `lsp`, `mcp`, `dashboard`).
    pub origin: String,
    pub cancel: CancellationToken,
}

impl RunRequest {
    /// A run of `prompt` in a new session.
    pub fn new(prompt: impl Into<String>, origin: impl Into<String>) -> Self {
        Self {
            session: None,
            prompt: prompt.into(),
            skill: None,
            approval: None,
            origin: origin.into(),
            cancel: CancellationToken::new(),
        }
    }
}

/// Tokens and cost of a run.
#[derive(Clone, Copy, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RunUsage {
    pub input_tokens: u64,
    pub output_tokens: u64,
    pub cost_usd: f64,
    pub model_calls: u32,
}

/// How a run ended.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RunOutcome {
    pub session: SessionId,
    pub run: RunId,
    /// `Finished`, `Failed` or `Cancelled`.
    pub status: SessionStatus,
    /// The final answer (empty unless finished).
    pub answer: String,
    /// `(code, message)` of the `RUN_ERROR`, when the run did not finish.
    pub error: Option<(String, String)>,
    pub usage: RunUsage,
}

pub(crate) struct Inner {
    pub(crate) store: Store,
    pub(crate) model: Arc<dyn ModelClient>,
    pub(crate) tools: ToolRegistry,
    pub(crate) broker: ApprovalBroker,
    pub(crate) policy: Policy,
    pub(crate) config: AgentConfig,
    /// The workspace index and last repo map of the system prompt, kept between runs.
    pub(crate) prompt_map: crate::prompt::PromptMap,
    runs: RunRegistry,
}

/// The agent. Cheap to clone; clones share everything.
#[derive(Clone)]
pub struct Agent {
    pub(crate) inner: Arc<Inner>,
}

impl std::fmt::Debug for Agent {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Agent")
            .field("workspace", &self.inner.config.workspace)
            .finish()
    }
}

impl Agent {
    /// An agent over `store`, `model` and `tools`, with its own approval broker. Fails on an
    /// invalid policy rule or a workspace that does not exist.
    pub fn new(
        store: Store,
        model: Arc<dyn ModelClient>,
        tools: ToolRegistry,
        config: AgentConfig,
    ) -> Result<Agent, AgentError> {
        let broker = ApprovalBroker::new(store.clone(), config.approval_timeout());
        Self::with_broker(
            store,
            model,
            tools,
            config,
            &broker,
            &RunRegistry::default(),
        )
    }

    /// An agent whose approvals go through `broker` and whose runs are registered in `runs`,
    /// both shared with other agents (the daemon gives every agent the same two, so any
    /// surface can answer any run's request or cancel any run, and a session runs one turn
    /// at a time); its requests wait the configured approval timeout.
    pub fn with_broker(
        store: Store,
        model: Arc<dyn ModelClient>,
        tools: ToolRegistry,
        mut config: AgentConfig,
        broker: &ApprovalBroker,
        runs: &RunRegistry,
    ) -> Result<Agent, AgentError> {
        let policy = Policy::from_config(&config.policy)?;
        config.workspace = config.workspace.canonicalize().map_err(|e| {
            AgentError::Config(format!("workspace {}: {e}", config.workspace.display()))
        })?;
        let broker = broker.with_timeout(config.approval_timeout());
        Ok(Agent {
            inner: Arc::new(Inner {
                store,
                model,
                tools,
                broker,
                policy,
                config,
                prompt_map: crate::prompt::PromptMap::default(),
                runs: runs.clone(),
            }),
        })
    }

    /// The approval broker surfaces answer through.
    pub fn broker(&self) -> &ApprovalBroker {
        &self.inner.broker
    }

    /// The runs going on in this agent's sessions (and those of the agents sharing it).
    pub fn runs(&self) -> &RunRegistry {
        &self.inner.runs
    }

    pub fn store(&self) -> &Store {
        &self.inner.store
    }

    pub fn config(&self) -> &AgentConfig {
        &self.inner.config
    }

    pub fn tools(&self) -> &ToolRegistry {
        &self.inner.tools
    }

    /// Creates a session (stored, idle) and returns its id.
    pub async fn create_session(&self, title: &str, origin: &str) -> Result<SessionId, AgentError> {
        let meta = self.new_session(title, origin);
        self.inner.store.put_session(&meta).await?;
        Ok(meta.id)
    }

    fn new_session(&self, title: &str, origin: &str) -> SessionMeta {
        let now = now_ms();
        SessionMeta {
            id: SessionId::new(),
            title: title_of(title),
            workspace: self.inner.config.workspace.to_string_lossy().into_owned(),
            status: SessionStatus::Idle,
            created_at: now,
            updated_at: now,
            origin: origin.to_owned(),
            model: self.inner.config.model.model.clone(),
            usage: Default::default(),
        }
    }

    /// Claims a session for a run: the existing one (which must be of this workspace and not
    /// running) or a new one, marked running; the run stores it with its first events. An
    /// existing session whose last run was interrupted (see [`RunRegistry`]) gets that run's
    /// log closed first.
    pub(crate) async fn claim(
        &self,
        request: &RunRequest,
    ) -> Result<(SessionMeta, RunClaim), AgentError> {
        let stored = |id: &SessionId| {
            self.inner
                .store
                .session(id)?
                .ok_or_else(|| AgentError::UnknownSession(id.clone()))
        };
        let mut meta = match &request.session {
            Some(id) => stored(id)?,
            None => self.new_session(&request.prompt, &request.origin),
        };
        let here = self.inner.config.workspace.to_string_lossy();
        if meta.workspace != here {
            return Err(AgentError::OtherWorkspace {
                session: meta.id,
                stored: meta.workspace,
                here: here.into_owned(),
            });
        }
        let guard = self.inner.runs.claim(&meta.id, &request.cancel)?;
        if request.session.is_some() {
            // Read again under the claim: another process's run may have ended meanwhile.
            meta = stored(&meta.id)?;
            if self.inner.runs.was_interrupted(&meta) {
                close_interrupted(&self.inner.store, meta.clone()).await?;
            }
        }
        meta.status = SessionStatus::Running;
        meta.updated_at = now_ms();
        Ok((meta, guard))
    }
}

/// A session title from a prompt: its first line, at most 80 characters.
fn title_of(prompt: &str) -> String {
    let line = prompt
        .lines()
        .find(|l| !l.trim().is_empty())
        .unwrap_or("")
        .trim();
    if line.chars().count() <= 80 {
        return line.to_owned();
    }
    let cut: String = line.chars().take(79).collect();
    format!("{cut}…")
}
