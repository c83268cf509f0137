//! [`AgentBackend`]: [`AgentService`] over `lathe_agent::Agent`, and [`FixedAgent`], an
//! [`AgentProvider`] that serves one agent's workspace (what `lathe lsp --in-process` and
//! tests use; the daemon may provide per-workspace agents instead).
//!
//! Invariants: runs are tagged with origin `lsp`; approvals answered here are recorded as
//! answered by [`Surface::Lsp`] with the editor's name; the editor's model override reaches
//! the agent through the run's skill (a skill naming its own model keeps it).

use crate::error::LspError;
use crate::services::{AgentProvider, AgentRun, AgentService, EditorOverrides, RunSummary};
use futures::FutureExt;
use futures::future::BoxFuture;
use lathe_agent::tools::WorkspaceRoot;
use lathe_agent::{Agent, Answer, RunRequest};
use lathe_protocol::skill::{RenderedSkill, SkillKind};
use lathe_protocol::{ApprovalDecision, ApprovalId, ApprovalRequest, Event, SessionId, Surface};
use lathe_workspace::{UndoMode, WorkspaceError};
use std::path::Path;
use std::sync::Arc;
use tokio::sync::broadcast;

/// The agent of one workspace, as an [`AgentService`].
#[derive(Clone, Debug)]
pub struct AgentBackend {
    agent: Agent,
    dashboard_url: Option<String>,
    checkpoints: Option<WorkspaceRoot>,
}

impl AgentBackend {
    pub fn new(agent: Agent) -> Self {
        Self {
            agent,
            dashboard_url: None,
            checkpoints: None,
        }
    }

    /// Where the edit tools checkpoint files (the same root and state directory), which
    /// `lathe.undo` restores from.
    pub fn with_checkpoints(mut self, workspace: WorkspaceRoot) -> Self {
        self.checkpoints = Some(workspace);
        self
    }

    /// Sets the dashboard URL `lathe.dashboard.open` opens.
    pub fn with_dashboard(mut self, url: impl Into<String>) -> Self {
        self.dashboard_url = Some(url.into());
        self
    }

    pub fn agent(&self) -> &Agent {
        &self.agent
    }
}

/// The skill a run carries, with the editor's model override applied.
fn with_model(run: &AgentRun) -> Option<RenderedSkill> {
    match (&run.skill, &run.model) {
        (Some(skill), Some(model)) if skill.model.is_none() => Some(RenderedSkill {
            model: Some(model.clone()),
            ..skill.clone()
        }),
        (Some(skill), _) => Some(skill.clone()),
        (None, Some(model)) => Some(RenderedSkill {
            name: "chat".into(),
            kind: SkillKind::Prompt,
            system_prompt: String::new(),
            user_prompt: run.prompt.clone(),
            tools: None,
            model: Some(model.clone()),
            approval: None,
        }),
        (None, None) => None,
    }
}

impl AgentService for AgentBackend {
    fn workspace(&self) -> &Path {
        &self.agent.config().workspace
    }

    fn create_session(&self, title: String) -> BoxFuture<'static, Result<SessionId, LspError>> {
        let agent = self.agent.clone();
        async move {
            agent
                .create_session(&title, "lsp")
                .await
                .map_err(|e| LspError::Agent(e.to_string()))
        }
        .boxed()
    }

    fn run(&self, run: AgentRun) -> BoxFuture<'static, Result<RunSummary, LspError>> {
        let agent = self.agent.clone();
        let request = RunRequest {
            session: Some(run.session.clone()),
            prompt: run.prompt.clone(),
            skill: with_model(&run),
            approval: run.approval,
            origin: "lsp".into(),
            cancel: run.cancel,
        };
        async move {
            let outcome = agent
                .run(request)
                .await
                .map_err(|e| LspError::Agent(e.to_string()))?;
            Ok(RunSummary {
                status: outcome.status,
                answer: outcome.answer,
                error: outcome
                    .error
                    .map(|(code, message)| format!("{message} ({code})")),
            })
        }
        .boxed()
    }

    fn events(&self) -> broadcast::Receiver<Event> {
        self.agent.store().subscribe()
    }

    fn follow(&self, session: &SessionId) -> Result<lathe_store::SessionEvents, LspError> {
        self.agent
            .store()
            .follow(session)
            .map_err(|e| LspError::Agent(e.to_string()))
    }

    fn pending_approvals(&self) -> Vec<ApprovalRequest> {
        self.agent.broker().pending()
    }

    fn answer_approval(
        &self,
        id: &ApprovalId,
        decision: ApprovalDecision,
        who: Option<String>,
    ) -> Result<(), LspError> {
        self.agent
            .broker()
            .answer(
                id,
                Answer {
                    decision,
                    by: Surface::Lsp,
                    who,
                },
            )
            .map_err(|e| LspError::Agent(e.to_string()))
    }

    fn cancel_run(&self, session: &SessionId) -> bool {
        self.agent.runs().cancel(session)
    }

    fn undo(
        &self,
        session: &SessionId,
        mode: UndoMode,
    ) -> BoxFuture<'static, Result<String, LspError>> {
        let checkpoints = self.checkpoints.clone();
        let session = session.to_string();
        async move {
            let Some(root) = checkpoints else {
                return Err(LspError::Agent(
                    "this agent keeps no checkpoints; use the editor's undo".into(),
                ));
            };
            let report = tokio::task::spawn_blocking(move || {
                let workspace = root.open().map_err(LspError::Agent)?;
                workspace.undo_with(&session, mode).map_err(|e| match e {
                    WorkspaceError::ChangedSinceRun { .. } => {
                        LspError::ChangedSinceRun(e.to_string())
                    }
                    other => LspError::Agent(other.to_string()),
                })
            })
            .await
            .map_err(|e| LspError::Agent(format!("undo failed: {e}")))??;
            Ok(report.to_string())
        }
        .boxed()
    }

    fn dashboard_url(&self) -> Option<String> {
        self.dashboard_url.clone()
    }
}

/// Serves one agent to every editor whose workspace is inside the agent's.
#[derive(Clone)]
pub struct FixedAgent(pub Arc<dyn AgentService>);

impl std::fmt::Debug for FixedAgent {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_tuple("FixedAgent")
            .field(&self.0.workspace())
            .finish()
    }
}

impl AgentProvider for FixedAgent {
    fn agent(
        &self,
        workspace: &Path,
        overrides: &EditorOverrides,
    ) -> BoxFuture<'static, Result<Arc<dyn AgentService>, LspError>> {
        let agent = self.0.clone();
        let inside = workspace.starts_with(agent.workspace());
        let message = format!(
            "this Lathe serves the workspace {}, not {}; start `lathe lsp` from that workspace",
            agent.workspace().display(),
            workspace.display()
        );
        if let Some(sandbox) = overrides.sandbox {
            tracing::warn!(
                ?sandbox,
                "a fixed agent keeps its own sandbox; the override is not applied"
            );
        }
        async move {
            if inside {
                Ok(agent)
            } else {
                Err(LspError::AgentUnavailable(message))
            }
        }
        .boxed()
    }
}
