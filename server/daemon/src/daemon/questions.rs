//! `/api/questions`: what the workspaces' MCP servers ask the user (MCP elicitation) and
//! is waiting for a reply, and replying to one, for the dashboard and any HTTP client. They
//! race the editors and Lathe's MCP clients through the daemon's one question broker; the
//! dashboard learns of new ones on `/events` (`question.asked`, `question.resolved`).
//!
//! Invariants: only questions still pending are listed; the first reply wins, a later one
//! gets 409 Conflict; accepting a form needs its content as an object, accepting a page to
//! open needs none (its content is dropped).

use super::state::DaemonState;
use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use lathe_protocol::{QuestionId, QuestionKind, QuestionReply, Surface};
use serde_json::Value;
use std::sync::Arc;

/// `GET /api/questions`: pending questions, oldest first.
pub(crate) async fn pending(State(state): State<Arc<DaemonState>>) -> Response {
    Json(state.workspaces.questions().pending()).into_response()
}

/// `POST /api/questions/{id}` with `{"action": "accept", "content": {...}}`,
/// `{"action": "decline"}` or `{"action": "cancel"}`.
pub(crate) async fn answer(
    State(state): State<Arc<DaemonState>>,
    Path(id): Path<String>,
    Json(reply): Json<QuestionReply>,
) -> Response {
    let id = QuestionId::from(id);
    let questions = state.workspaces.questions();
    let Some(question) = questions.pending().into_iter().find(|q| q.id == id) else {
        return (
            StatusCode::CONFLICT,
            format!("question {id} is not pending (already answered, withdrawn or unknown)\n"),
        )
            .into_response();
    };
    let reply = match (reply, &question.kind) {
        (QuestionReply::Accept { content }, QuestionKind::Form { .. }) if !content.is_object() => {
            return (
                StatusCode::BAD_REQUEST,
                "accepting a form needs its content as an object of the form's fields\n",
            )
                .into_response();
        }
        (QuestionReply::Accept { .. }, QuestionKind::Url { .. }) => QuestionReply::Accept {
            content: Value::Null,
        },
        (reply, _) => reply,
    };
    let action = reply.action();
    match questions.answer(&id, reply, Surface::Dashboard) {
        Ok(()) => Json(serde_json::json!({ "id": id, "action": action })).into_response(),
        Err(error) => (StatusCode::CONFLICT, format!("{error}\n")).into_response(),
    }
}
