//! `/api/approvals`: the approvals waiting for an answer, and answering one, for the
//! dashboard and any HTTP client. They race every other surface through the daemon's one
//! approval broker.
//!
//! Invariants: only requests still pending are listed; the first answer wins, a later one
//! gets 409 Conflict; every answer is stored by the broker as the dashboard's, with `who`
//! when the client names itself.

use super::state::DaemonState;
use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use lathe_agent::Answer;
use lathe_protocol::{ApprovalDecision, ApprovalId, Surface};
use serde::Deserialize;
use std::sync::Arc;

/// `GET /api/approvals`: pending requests, oldest first.
pub(crate) async fn pending(State(state): State<Arc<DaemonState>>) -> Response {
    Json(state.workspaces.broker().pending()).into_response()
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct AnswerBody {
    decision: ApprovalDecision,
    /// Who answered, as the client knows them.
    who: Option<String>,
}

/// `POST /api/approvals/{id}` with `{"decision": "allow_once" | "allow_for_session" |
/// "deny"}`.
pub(crate) async fn answer(
    State(state): State<Arc<DaemonState>>,
    Path(id): Path<String>,
    Json(body): Json<AnswerBody>,
) -> Response {
    let id = ApprovalId::from(id);
    let answer = Answer {
        decision: body.decision,
        by: Surface::Dashboard,
        who: body.who,
    };
    match state.workspaces.broker().answer(&id, answer) {
        Ok(()) => Json(serde_json::json!({ "id": id, "decision": body.decision })).into_response(),
        Err(error) => (StatusCode::CONFLICT, format!("{error}\n")).into_response(),
    }
}
