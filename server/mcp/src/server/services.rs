//! What the MCP server serves from: the store, the skills, the workspace, and two narrow
//! traits for the parts it drives — [`AgentService`] (start, continue and answer for runs)
//! and [`CommandRunner`] (one sandboxed command). Both have implementations here on the
//! real crates (`lathe_agent::Agent`, `lathe_sandbox::Sandbox`), so the daemon only builds
//! [`Services`]; tests can substitute their own.

use super::relay::ElicitationRelay;
use futures::future::BoxFuture;
use lathe_agent::approval::grant_key;
use lathe_agent::policy::Policy;
use lathe_agent::sink::EventSink;
use lathe_agent::{Agent, Answer, RunRequest};
use lathe_protocol::config::{ApprovalMode, PolicyConfig};
use lathe_protocol::skill::RenderedSkill;
use lathe_protocol::{
    ApprovalDecision, ApprovalId, ApprovalRequest, SessionId, SessionStatus, Surface,
};
use lathe_sandbox::{ExecRequest, OutputChunk, OutputStream, Sandbox, SessionSpec, Utf8Chunks};
use lathe_store::Store;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

/// One user turn for the agent.
#[derive(Clone, Debug)]
pub struct TaskRequest {
    /// An existing session (created with [`AgentService::create_session`]).
    pub session: SessionId,
    pub prompt: String,
    pub skill: Option<RenderedSkill>,
    pub approval: Option<ApprovalMode>,
    pub cancel: CancellationToken,
}

/// How a turn ended.
#[derive(Clone, Debug, PartialEq)]
pub struct TaskOutcome {
    pub status: SessionStatus,
    /// The final answer (empty unless finished).
    pub answer: String,
    /// `(code, message)` when the run did not finish.
    pub error: Option<(String, String)>,
}

/// The agent as the MCP server uses it.
pub trait AgentService: Send + Sync + 'static {
    /// The workspace root runs work in.
    fn workspace(&self) -> PathBuf;
    /// Creates an idle session started from MCP.
    fn create_session(&self, title: &str) -> BoxFuture<'static, Result<SessionId, String>>;
    /// Runs one turn to its end (the run's events land in the store as it goes).
    fn run(&self, task: TaskRequest) -> BoxFuture<'static, Result<TaskOutcome, String>>;
    /// Answers a pending approval for the MCP surface. `Err` when it is no longer pending
    /// (another surface answered first, or it timed out).
    fn answer(
        &self,
        approval: &ApprovalId,
        decision: ApprovalDecision,
        who: Option<String>,
    ) -> Result<(), String>;
    /// How long an approval waits for an answer.
    fn approval_timeout(&self) -> Duration;
    /// Cancels the run going on in `session`, whichever surface started it; false when
    /// there is none.
    fn cancel_run(&self, session: &SessionId) -> bool;
    /// Whether an "allow for session" granted in `request`'s session answers it (never
    /// when an ask rule covers it: those ask every time).
    fn granted(&self, request: &ApprovalRequest) -> bool;
    /// Asks every surface about `request` (of an existing session) through the approval
    /// broker and waits for the first answer, the timeout or `cancel` (both a deny). An
    /// "allow for session" already granted in the session answers at once (see
    /// [`AgentService::granted`]).
    fn ask(
        &self,
        request: ApprovalRequest,
        cancel: CancellationToken,
    ) -> BoxFuture<'static, Result<ApprovalDecision, String>>;
}

impl AgentService for Agent {
    fn workspace(&self) -> PathBuf {
        self.config().workspace.clone()
    }

    fn create_session(&self, title: &str) -> BoxFuture<'static, Result<SessionId, String>> {
        let agent = self.clone();
        let title = title.to_owned();
        Box::pin(async move {
            Agent::create_session(&agent, &title, "mcp")
                .await
                .map_err(|e| e.to_string())
        })
    }

    fn run(&self, task: TaskRequest) -> BoxFuture<'static, Result<TaskOutcome, String>> {
        let agent = self.clone();
        Box::pin(async move {
            let mut request = RunRequest::new(task.prompt, "mcp");
            request.session = Some(task.session);
            request.skill = task.skill;
            // A client's model writes the arguments: it may tighten the user's mode, never
            // loosen it.
            let configured = agent.config().policy.mode;
            request.approval = task.approval.map(|mode| mode.stricter(configured));
            request.cancel = task.cancel;
            let outcome = agent.run(request).await.map_err(|e| e.to_string())?;
            Ok(TaskOutcome {
                status: outcome.status,
                answer: outcome.answer,
                error: outcome.error,
            })
        })
    }

    fn answer(
        &self,
        approval: &ApprovalId,
        decision: ApprovalDecision,
        who: Option<String>,
    ) -> Result<(), String> {
        self.broker()
            .answer(
                approval,
                Answer {
                    decision,
                    by: Surface::Mcp,
                    who,
                },
            )
            .map_err(|e| e.to_string())
    }

    fn approval_timeout(&self) -> Duration {
        self.broker().timeout()
    }

    fn cancel_run(&self, session: &SessionId) -> bool {
        self.runs().cancel(session)
    }

    fn granted(&self, request: &ApprovalRequest) -> bool {
        let argument = request
            .action
            .strip_prefix(&format!("{}(", request.tool))
            .and_then(|rest| rest.strip_suffix(')'));
        let asks_every_time = Policy::from_config(&self.config().policy)
            .is_ok_and(|policy| policy.asked_by_rule(&request.tool, argument));
        !asks_every_time
            && self
                .broker()
                .granted(&request.session_id, &grant_key(request))
                .unwrap_or(false)
    }

    fn ask(
        &self,
        request: ApprovalRequest,
        cancel: CancellationToken,
    ) -> BoxFuture<'static, Result<ApprovalDecision, String>> {
        let broker = self.broker().clone();
        let sink = EventSink::new(self.store().clone(), request.session_id.clone());
        let granted = self.granted(&request);
        Box::pin(async move {
            if granted {
                return Ok(ApprovalDecision::AllowForSession);
            }
            let answer = broker.ask(&sink, request, &cancel).await;
            answer.map(|a| a.decision).map_err(|e| e.to_string())
        })
    }
}

/// What a finished command looked like.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CommandResult {
    pub exit_code: i32,
    pub timed_out: bool,
    pub stdout: String,
    pub stderr: String,
    pub duration_ms: u64,
}

/// Runs one command in the workspace's sandbox, streaming output lines to `output`.
pub trait CommandRunner: Send + Sync + 'static {
    /// Whether commands are isolated (docker, bwrap); `false` for the host backend.
    fn isolated(&self) -> bool;
    fn run(
        &self,
        command: String,
        timeout: Option<Duration>,
        output: mpsc::Sender<String>,
    ) -> BoxFuture<'static, Result<CommandResult, String>>;
}

/// A [`CommandRunner`] over a `lathe_sandbox` backend and one sandbox session.
pub struct SandboxRunner {
    pub sandbox: Arc<dyn Sandbox>,
    pub session: SessionSpec,
}

impl std::fmt::Debug for SandboxRunner {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SandboxRunner")
            .field("backend", &self.sandbox.kind())
            .field("session", &self.session)
            .finish()
    }
}

impl CommandRunner for SandboxRunner {
    fn isolated(&self) -> bool {
        !self.sandbox.requires_approval()
    }

    fn run(
        &self,
        command: String,
        timeout: Option<Duration>,
        output: mpsc::Sender<String>,
    ) -> BoxFuture<'static, Result<CommandResult, String>> {
        let sandbox = self.sandbox.clone();
        let session = self.session.clone();
        Box::pin(async move {
            let mut request = ExecRequest::shell(&command);
            request.timeout = timeout;
            let (chunks, mut received) = mpsc::channel::<OutputChunk>(64);
            let forward = tokio::spawn(async move {
                let mut streams = [Utf8Chunks::default(), Utf8Chunks::default()];
                while let Some(chunk) = received.recv().await {
                    let decoder = &mut streams[usize::from(chunk.stream == OutputStream::Stderr)];
                    let text = decoder.decode(&chunk.bytes);
                    if !text.is_empty() && output.send(text).await.is_err() {
                        return;
                    }
                }
                for decoder in streams {
                    let rest = decoder.finish();
                    if !rest.is_empty() && output.send(rest).await.is_err() {
                        return;
                    }
                }
            });
            let outcome = sandbox
                .exec(&session, request, Some(chunks))
                .await
                .map_err(|e| e.to_string())?;
            let _ = forward.await;
            Ok(CommandResult {
                exit_code: outcome.exit_code(),
                timed_out: matches!(
                    outcome.termination,
                    lathe_sandbox::Termination::TimedOut { .. }
                ),
                stdout: outcome.stdout.text(),
                stderr: outcome.stderr.text(),
                duration_ms: outcome.duration_ms,
            })
        })
    }
}

/// Everything the MCP server serves from. Cheap to clone.
#[derive(Clone)]
pub struct Services {
    pub store: Store,
    /// `None` when no model is configured: `run_task` and `reply` then say how to set one.
    pub agent: Option<Arc<dyn AgentService>>,
    pub skills: Arc<lathe_skills::Registry>,
    /// The workspace root (code_context, repo_map and completion read it).
    pub workspace: PathBuf,
    /// Where the repo map keeps its cache (`None`: memory only).
    pub repo_map_cache: Option<PathBuf>,
    /// `None` when no sandbox is available: `sandbox_exec` says so.
    pub commands: Option<Arc<dyn CommandRunner>>,
    /// Decides `sandbox_exec` (rules on `run_command(<command>)` and the mode).
    pub policy: PolicyConfig,
    /// Where the connections that can answer elicitations register, so that the MCP
    /// servers of the workspace's hub can ask their users (the relay is attached to the
    /// question broker the hub's `AskTheUser` asks).
    pub elicitation: ElicitationRelay,
}

impl std::fmt::Debug for Services {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Services")
            .field("workspace", &self.workspace)
            .field("agent", &self.agent.is_some())
            .field("commands", &self.commands.is_some())
            .field("elicitation", &self.elicitation)
            .finish()
    }
}
