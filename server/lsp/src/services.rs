//! What the LSP front end needs from the rest of the daemon, as narrow traits the daemon
//! implements, and [`LspServices`], the bundle every connection shares.
//!
//! - [`AgentProvider`] hands out the [`AgentService`] of a workspace, taking the editor's
//!   `initializationOptions` overrides (model, approval mode, sandbox) into account. The
//!   daemon decides whether editors with the same workspace and overrides share one agent
//!   (they should: sessions, approvals and the store are the daemon's, not the editor's).
//! - [`AgentService`] is the agent as an editor sees it: create a session, run a turn (to its
//!   end; the caller spawns it), watch the event bus, answer approvals, undo.
//!   [`crate::AgentBackend`] implements it over `lathe_agent::Agent`.
//!
//! Invariants: nothing here waits for the model except [`AgentService::run`], which callers
//! always spawn; a run is cancelled only through its [`AgentRun::cancel`] token, never by
//! dropping a future, so a run outlives the editor connection that started it.

use crate::error::LspError;
use crate::hub::EditorHub;
use futures::future::BoxFuture;
use lathe_agent::QuestionBroker;
use lathe_protocol::config::ApprovalMode;
use lathe_protocol::skill::RenderedSkill;
use lathe_protocol::{
    ApprovalDecision, ApprovalId, ApprovalRequest, Event, SessionId, SessionStatus,
};
use lathe_skills::SkillRoots;
use lathe_workspace::UndoMode;
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::broadcast;
use tokio_util::sync::CancellationToken;

/// Per-editor overrides from `initializationOptions`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct EditorOverrides {
    /// The model to use instead of the configured one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub model: Option<String>,
    /// The approval mode for runs started from this editor.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub approval: Option<ApprovalMode>,
    /// The sandbox backend (`docker`, `bwrap`, `none`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sandbox: Option<SandboxChoice>,
}

/// A sandbox backend an editor can ask for.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum SandboxChoice {
    Docker,
    Bwrap,
    None,
}

/// One turn for the agent to run.
#[derive(Clone, Debug)]
pub struct AgentRun {
    /// The session to continue (created with [`AgentService::create_session`]).
    pub session: SessionId,
    /// What the user asked (the skill's rendered user prompt when `skill` is set).
    pub prompt: String,
    pub skill: Option<RenderedSkill>,
    /// The approval mode of the run (the editor's override, if any).
    pub approval: Option<ApprovalMode>,
    /// The model of the run (the editor's override, if any; a skill's own model wins).
    pub model: Option<String>,
    /// Cancels the run; the run ends with status `cancelled`.
    pub cancel: CancellationToken,
}

/// How a run ended.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RunSummary {
    pub status: SessionStatus,
    /// The final answer (empty unless the run finished).
    pub answer: String,
    /// Why the run did not finish, for humans.
    pub error: Option<String>,
}

/// The agent of one workspace, as the editor front end uses it. The daemon implements it
/// (see [`crate::AgentBackend`] for the implementation over `lathe_agent::Agent`).
pub trait AgentService: Send + Sync + 'static {
    /// The workspace root (absolute, canonical): diff paths are relative to it.
    fn workspace(&self) -> &Path;

    /// Creates an idle session titled `title` and returns its id.
    fn create_session(&self, title: String) -> BoxFuture<'static, Result<SessionId, LspError>>;

    /// Runs one turn to its end. Callers spawn the future; cancellation goes through
    /// `run.cancel`. `Err` only when the run could not start or the agent's machinery failed.
    fn run(&self, run: AgentRun) -> BoxFuture<'static, Result<RunSummary, LspError>>;

    /// Every event committed from now on (the store's bus).
    fn events(&self) -> broadcast::Receiver<Event>;

    /// `session`'s events committed from now on, none missed (see
    /// [`lathe_store::SessionEvents`]).
    fn follow(&self, session: &SessionId) -> Result<lathe_store::SessionEvents, LspError>;

    /// The approval requests waiting for an answer.
    fn pending_approvals(&self) -> Vec<ApprovalRequest>;

    /// Answers an approval; the first answer of any surface wins, later ones get an error.
    fn answer_approval(
        &self,
        id: &ApprovalId,
        decision: ApprovalDecision,
        who: Option<String>,
    ) -> Result<(), LspError>;

    /// Cancels the run going on in `session`, whichever surface started it; false when
    /// there is none.
    fn cancel_run(&self, session: &SessionId) -> bool;

    /// Restores the files of the session's last checkpoint; the answer says what changed.
    /// Files changed after the run are [`LspError::ChangedSinceRun`] unless `mode` says to
    /// undo anyway.
    fn undo(
        &self,
        session: &SessionId,
        mode: UndoMode,
    ) -> BoxFuture<'static, Result<String, LspError>>;

    /// The dashboard's URL (with its token), when a dashboard runs.
    fn dashboard_url(&self) -> Option<String>;
}

/// Hands out the agent of a workspace.
pub trait AgentProvider: Send + Sync + 'static {
    /// The agent for `workspace` with an editor's `overrides`. An `Err` is shown to the
    /// user (it should say how to fix it, e.g. how to configure a model) and asked again
    /// at the next action, so fixing the configuration needs no editor restart.
    fn agent(
        &self,
        workspace: &Path,
        overrides: &EditorOverrides,
    ) -> BoxFuture<'static, Result<Arc<dyn AgentService>, LspError>>;
}

/// How long the server waits for the editor.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Timeouts {
    /// An answer to `workspace/applyEdit`.
    pub apply_edit: Duration,
    /// A `didChange` showing an edit we applied (chat streaming waits for it).
    pub edit_echo: Duration,
    /// Any other request to the client (`showDocument`, progress creation).
    pub request: Duration,
}

impl Default for Timeouts {
    fn default() -> Self {
        Self {
            apply_edit: Duration::from_secs(10),
            edit_echo: Duration::from_secs(2),
            request: Duration::from_secs(10),
        }
    }
}

/// What every editor connection of one daemon shares. Cheap to clone.
#[derive(Clone)]
pub struct LspServices {
    pub agents: Arc<dyn AgentProvider>,
    /// The open documents of every connected editor; the agent's edits go through it.
    pub hub: EditorHub,
    /// Skill directories besides the workspace's (user and Claude user directories); each
    /// connection adds its workspace root.
    pub skill_roots: SkillRoots,
    /// Where explanations are written as markdown documents (`<state>/explanations/`).
    pub state_dir: PathBuf,
    pub timeouts: Timeouts,
    /// Where MCP servers' questions for the user come from; every connection that can show
    /// message requests attaches for its workspace.
    pub questions: Option<QuestionBroker>,
}

impl std::fmt::Debug for LspServices {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LspServices")
            .field("skill_roots", &self.skill_roots)
            .field("state_dir", &self.state_dir)
            .field("timeouts", &self.timeouts)
            .finish_non_exhaustive()
    }
}

impl LspServices {
    /// Services with default timeouts, a fresh hub and no question broker.
    pub fn new(
        agents: Arc<dyn AgentProvider>,
        skill_roots: SkillRoots,
        state_dir: PathBuf,
    ) -> Self {
        Self {
            agents,
            hub: EditorHub::new(),
            skill_roots,
            state_dir,
            timeouts: Timeouts::default(),
            questions: None,
        }
    }
}
