//! Lathe's own vocabulary on top of LSP: the `workspace/executeCommand` commands of
//! DESIGN.md §10 and the custom `lathe/status` request (what the editor plugins show in a
//! status line: runs in flight, approvals waiting, the negotiated encoding).
//!
//! Invariant: every command listed in [`COMMANDS`] is handled by `handlers::execute`, and
//! nothing else is advertised.

use lathe_protocol::{ApprovalRequest, SessionId};
use serde::Serialize;

/// Runs a listed code action (`ActionArgs`).
pub const ACTION_RUN: &str = "lathe.action.run";
/// Sends the last user message of a chat document: `{"uri"?}`.
pub const CHAT_SEND: &str = "lathe.chat.send";
/// Runs a skill: `{"skill"?, "uri"?, "range"?, "input"?}`; asks which when `skill` is absent.
pub const SKILL_RUN: &str = "lathe.skill.run";
/// Cancels runs: `{"sessionId"?}` (all of this editor's runs when absent).
pub const RUN_CANCEL: &str = "lathe.run.cancel";
/// Restores the last checkpoint: `{"sessionId"?, "force"?}` (the editor's latest session
/// when absent). Files changed after the run make it ask "Undo anyway?" (or, without
/// message requests, refuse unless `force`).
pub const UNDO: &str = "lathe.undo";
/// Starts a new session for a chat document: `{"uri"?}`.
pub const SESSION_NEW: &str = "lathe.session.new";
/// Answers an approval: `{"id", "decision": "allow_once" | "allow_for_session" | "deny"}`.
pub const APPROVAL_ANSWER: &str = "lathe.approval.answer";
/// Opens the dashboard in the browser, on `{"sessionId"}` (optional; default: this editor's
/// last session).
pub const DASHBOARD_OPEN: &str = "lathe.dashboard.open";

/// Every command the server advertises.
pub const COMMANDS: [&str; 8] = [
    ACTION_RUN,
    CHAT_SEND,
    SKILL_RUN,
    RUN_CANCEL,
    UNDO,
    SESSION_NEW,
    APPROVAL_ANSWER,
    DASHBOARD_OPEN,
];

/// The custom request answered with [`Status`].
pub const STATUS: &str = "lathe/status";

/// One run in flight.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct RunStatus {
    pub session_id: SessionId,
    pub title: String,
}

/// The answer to `lathe/status`.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Status {
    /// `utf-8` or `utf-16`.
    pub position_encoding: String,
    pub workspace: String,
    pub runs: Vec<RunStatus>,
    /// Approvals of this editor's sessions waiting for an answer.
    pub pending_approvals: Vec<ApprovalRequest>,
    /// Why no agent is available, when none is.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub agent_error: Option<String>,
}
