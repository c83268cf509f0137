//! Approval prompts: `window/showMessageRequest` with Allow once / Allow for session /
//! Deny, racing every other surface through the agent's broker.
//!
//! Invariants: the prompt never blocks anything but its own task; it stops waiting when
//! the request expires, when another surface answered (`approval.resolved` on the bus) or
//! when the connection ends; an answer that lost the race is reported to the user, not
//! applied; a client without `window.showMessage` gets an informational message instead and
//! the other surfaces (dashboard, `lathe.approval.answer`) answer.

use crate::connection::Conn;
use crate::pick::pick;
use crate::services::AgentService;
use lathe_protocol::{ApprovalDecision, ApprovalRequest, CustomEvent, EventPayload};
use std::sync::Arc;
use std::time::Duration;
use tower_lsp_server::gen_lsp_types as lsp;

/// The buttons, in order, and what they decide.
pub const CHOICES: [(&str, ApprovalDecision); 3] = [
    ("Allow once", ApprovalDecision::AllowOnce),
    ("Allow for session", ApprovalDecision::AllowForSession),
    ("Deny", ApprovalDecision::Deny),
];

/// The decision a button title stands for.
pub fn decision(title: &str) -> Option<ApprovalDecision> {
    CHOICES
        .iter()
        .find(|(t, _)| *t == title)
        .map(|(_, decision)| *decision)
}

fn now_ms() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
}

/// Asks the editor's user about `request` and answers the broker.
pub async fn prompt(conn: Arc<Conn>, agent: Arc<dyn AgentService>, request: ApprovalRequest) {
    let Ok(session) = conn.session() else {
        return;
    };
    if !session.caps.show_message_request {
        conn.client
            .show_message(
                lsp::MessageType::Warning,
                format!(
                    "Lathe needs approval to {} ({}). Answer in the dashboard, or run the \
                     command lathe.approval.answer with {{\"id\": \"{}\", \"decision\": \
                     \"allow_once\"}}.",
                    request.summary, request.action, request.id
                ),
            )
            .await;
        return;
    }
    let who = session.client_name.clone();
    let mut bus = agent.events();
    if !agent.pending_approvals().iter().any(|p| p.id == request.id) {
        return;
    }
    let resolved_elsewhere = async {
        loop {
            match bus.recv().await {
                Ok(event) => {
                    if let EventPayload::Custom(CustomEvent::ApprovalResolved(resolved)) =
                        event.payload
                        && resolved.id == request.id
                    {
                        return;
                    }
                }
                Err(tokio::sync::broadcast::error::RecvError::Lagged(_)) => {}
                Err(tokio::sync::broadcast::error::RecvError::Closed) => {
                    std::future::pending::<()>().await;
                }
            }
        }
    };
    let expires = Duration::from_millis(request.expires_at.saturating_sub(now_ms()));
    let titles = CHOICES.map(|(title, _)| title);
    let message = format!("Lathe wants to {}\n{}", request.summary, request.action);
    let asked = pick(&conn.client, lsp::MessageType::Warning, message, &titles);
    let answer = tokio::select! {
        answer = asked => answer,
        () = tokio::time::sleep(expires) => return,
        () = resolved_elsewhere => return,
        () = conn.closed.cancelled() => return,
    };
    let chosen = answer.as_deref().and_then(decision);
    let Some(chosen) = chosen else {
        return;
    };
    if let Err(error) = agent.answer_approval(&request.id, chosen, Some(who)) {
        conn.client
            .show_message(
                lsp::MessageType::Info,
                format!("Lathe: your answer was not used: {error}"),
            )
            .await;
    }
}
