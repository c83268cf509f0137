//! Agent runs started from the editor: starting one without waiting for the model, and
//! following it — `$/progress`, approvals, the chat stream — until it ends.
//!
//! ```text
//! executeCommand ──► start(): agent, session, subscribe to the bus, spawn the run ──► answer
//!                        └─► follow(): progress begin ─ report per step/tool/approval ─ end
//!                                      └─► outcome (edits message, explanation, review, chat)
//! ```
//!
//! Invariants: the request that starts a run answers once the run is spawned (it never
//! waits for the model or the editor); the bus is subscribed before the run starts, so the
//! follower sees every event; the run itself is a task of its own, independent of the
//! connection: a client that exits stops the following, never the run, which stays
//! visible to every other surface; progress is sent only on a token the client created or
//! accepted, and every begun progress ends.

use crate::actions::Outcome;
use crate::approvals;
use crate::chat;
use crate::connection::{Conn, RunEntry};
use crate::error::LspError;
use crate::outcome;
use crate::services::{AgentRun, AgentService, RunSummary};
use lathe_protocol::skill::RenderedSkill;
use lathe_protocol::{CustomEvent, Event, EventPayload, MessageId, Role, SessionId};
use serde::Serialize;
use std::collections::HashSet;
use std::sync::Arc;
use tokio::sync::mpsc;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;
use tower_lsp_server::gen_lsp_types as lsp;

/// A run to start.
#[derive(Clone, Debug)]
pub struct RunPlan {
    /// Shown as the progress title and in messages.
    pub title: String,
    pub prompt: String,
    pub skill: Option<RenderedSkill>,
    /// The session to continue; a new one when `None`.
    pub session: Option<SessionId>,
    pub outcome: Outcome,
    /// A progress token the client passed with the request (`workDoneToken`).
    pub token: Option<lsp::ProgressToken>,
}

/// The answer to a command that started a run.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct RunStarted {
    pub session_id: SessionId,
    /// The `$/progress` token the run reports under, if any.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub progress_token: Option<lsp::ProgressToken>,
}

/// Starts a run and its follower; answers as soon as both are spawned.
pub async fn start(conn: &Arc<Conn>, plan: RunPlan) -> Result<RunStarted, LspError> {
    let agent = conn.agent().await?;
    let session = match &plan.session {
        Some(session) => session.clone(),
        None => agent.create_session(plan.title.clone()).await?,
    };
    let caps = conn.session()?.caps;
    let run_id = conn.next_id();
    let token = plan.token.clone().or_else(|| {
        caps.work_done_progress
            .then(|| lsp::ProgressToken::String(format!("lathe/{session}/{run_id}")))
    });
    let events = agent.follow(&session)?;
    let cancel = CancellationToken::new();
    conn.add_run(
        run_id,
        RunEntry {
            session: session.clone(),
            title: plan.title.clone(),
            token: token.clone(),
            cancel: cancel.clone(),
        },
    );
    if let Outcome::Chat { uri } = &plan.outcome {
        conn.set_chat_session(uri, session.clone());
    }
    let (chat_tx, chat_rx) = mpsc::unbounded_channel();
    let chat_ready = match &plan.outcome {
        Outcome::Chat { uri } => Some(open_chat(conn, uri, &session, chat_rx)),
        _ => None,
    };
    let run = tokio::spawn(agent.run(AgentRun {
        session: session.clone(),
        prompt: plan.prompt.clone(),
        skill: plan.skill.clone(),
        approval: conn.session()?.options.approval,
        model: conn.session()?.options.model.clone(),
        cancel,
    }));
    let follower = Follower {
        conn: conn.clone(),
        agent,
        session: session.clone(),
        progress: Progress {
            conn: conn.clone(),
            token: token.clone(),
            created: plan.token.is_some(),
        },
        chat: chat_ready.map(|writer| (chat_tx, writer)),
        answering: HashSet::new(),
        lagged: false,
        error: None,
        plan,
        run_id,
    };
    tokio::spawn(follower.follow(events, run));
    Ok(RunStarted {
        session_id: session,
        progress_token: token,
    })
}

/// Writes the answer heading, then streams chunks from `rx` into the chat document.
fn open_chat(
    conn: &Arc<Conn>,
    uri: &str,
    session: &SessionId,
    rx: mpsc::UnboundedReceiver<String>,
) -> ChatWriter {
    let conn = conn.clone();
    let uri = uri.to_owned();
    let session = session.clone();
    tokio::spawn(async move {
        let peer = conn.session()?.peer.clone();
        let text =
            crate::actions::with_document(&conn.documents, &uri, |open| Ok(open.doc.text()))?;
        let heading = chat::answer_heading(&text[..chat::logical_end(&text)], &session);
        chat::append(&peer, &conn.documents, &uri, &heading).await?;
        chat::stream(&peer, &conn.documents, &uri, rx).await
    })
}

/// The task writing a chat answer into its document.
type ChatWriter = JoinHandle<Result<(), LspError>>;

/// `$/progress` of one run.
pub struct Progress {
    conn: Arc<Conn>,
    token: Option<lsp::ProgressToken>,
    /// Whether the client created the token (else we must ask it to).
    created: bool,
}

impl Progress {
    async fn notify(&self, value: serde_json::Value) {
        if let Some(token) = &self.token {
            self.conn
                .client
                .send_notification::<lsp::ProgressNotification>(lsp::ProgressParams {
                    token: token.clone(),
                    value,
                })
                .await;
        }
    }

    async fn begin(&mut self, title: &str) {
        let Some(token) = self.token.clone() else {
            return;
        };
        if !self.created {
            let timeout = self.conn.services.timeouts.request;
            let created =
                tokio::time::timeout(timeout, self.conn.client.create_work_done_progress(token))
                    .await;
            if !matches!(created, Ok(Ok(()))) {
                tracing::debug!("the client did not create the progress token; no progress");
                self.token = None;
                return;
            }
        }
        self.notify(serde_json::json!({
            "kind": "begin", "title": title, "cancellable": true, "message": "starting"
        }))
        .await;
    }

    async fn report(&self, message: String) {
        self.notify(serde_json::json!({"kind": "report", "cancellable": true, "message": message}))
            .await;
    }

    pub async fn end(&self, message: String) {
        self.notify(serde_json::json!({"kind": "end", "message": message}))
            .await;
    }
}

/// Follows one run for one connection.
struct Follower {
    conn: Arc<Conn>,
    agent: Arc<dyn AgentService>,
    session: SessionId,
    plan: RunPlan,
    progress: Progress,
    /// The chat stream's sender and writer task.
    chat: Option<(mpsc::UnboundedSender<String>, ChatWriter)>,
    /// The assistant's messages (only their text streams into a chat document).
    answering: HashSet<MessageId>,
    /// Whether the run's events stopped coming (the chat stream is then incomplete).
    lagged: bool,
    /// The `RUN_ERROR` message, if any.
    error: Option<String>,
    run_id: u64,
}

impl Follower {
    async fn follow(
        mut self,
        mut events: lathe_store::SessionEvents,
        mut run: JoinHandle<Result<RunSummary, LspError>>,
    ) {
        let title = self.plan.title.clone();
        self.progress.begin(&title).await;
        let mut bus_open = true;
        let result = loop {
            tokio::select! {
                () = self.conn.closed.cancelled() => {
                    tracing::info!(session = %self.session, "editor gone; the run goes on");
                    self.conn.remove_run(self.run_id);
                    return;
                }
                result = &mut run => break result,
                event = events.next(), if bus_open => match event {
                    Some(event) => self.on_event(event).await,
                    None => {
                        tracing::warn!(session = %self.session, "lost the run's events");
                        self.lagged = true;
                        bus_open = false;
                    }
                },
            }
        };
        while let Some(event) = events.try_next() {
            self.on_event(event).await;
        }
        let summary = match result {
            Ok(summary) => summary,
            Err(join) => Err(LspError::Agent(format!("the run crashed: {join}"))),
        };
        let (conn, run_id) = (self.conn.clone(), self.run_id);
        self.finish(summary).await;
        conn.remove_run(run_id);
    }

    async fn on_event(&mut self, event: Event) {
        if event.session_id != self.session {
            return;
        }
        match event.payload {
            EventPayload::StepStarted { step_name } => {
                self.progress.report(format!("{step_name}: thinking")).await;
            }
            EventPayload::ToolCallStart { tool_call_name, .. } => {
                self.progress
                    .report(format!("running {tool_call_name}"))
                    .await;
            }
            EventPayload::TextMessageStart {
                message_id,
                role: Role::Assistant,
            } => {
                self.answering.insert(message_id);
            }
            EventPayload::TextMessageContent { message_id, delta } => {
                if let Some((tx, _)) = &self.chat
                    && self.answering.contains(&message_id)
                {
                    let _ = tx.send(delta);
                }
            }
            EventPayload::RunError { message, .. } => self.error = Some(message),
            EventPayload::Custom(CustomEvent::ApprovalRequested(request)) => {
                self.progress
                    .report(format!("waiting for approval: {}", request.summary))
                    .await;
                tokio::spawn(approvals::prompt(
                    self.conn.clone(),
                    self.agent.clone(),
                    request,
                ));
            }
            EventPayload::Custom(CustomEvent::FileChanged(changed)) => {
                self.progress
                    .report(format!("changed {}", changed.path))
                    .await;
            }
            _ => {}
        }
    }

    async fn finish(mut self, summary: Result<RunSummary, LspError>) {
        let summary = match summary {
            Ok(summary) => summary,
            Err(error) => RunSummary {
                status: lathe_protocol::SessionStatus::Failed,
                answer: String::new(),
                error: Some(error.to_string()),
            },
        };
        let summary = RunSummary {
            error: summary.error.or(self.error.take()),
            ..summary
        };
        let chat = self.chat.take();
        let done = outcome::Done {
            conn: self.conn.clone(),
            agent: self.agent.clone(),
            session: self.session.clone(),
            title: self.plan.title.clone(),
            summary,
        };
        let message = match (&self.plan.outcome, chat) {
            (Outcome::Chat { uri }, Some((tx, writer))) => {
                drop(tx);
                done.chat(uri, writer, self.lagged).await
            }
            (Outcome::Explanation, _) => done.explanation().await,
            (Outcome::Review, _) => done.review().await,
            _ => done.edits().await,
        };
        self.progress.end(message).await;
    }
}
