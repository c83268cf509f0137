//! Session metadata. The session's content is its event log; this is the index card.

use crate::TimestampMs;
use crate::ids::SessionId;
use serde::{Deserialize, Serialize};

/// Where a session stands.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SessionStatus {
    /// Created or between runs.
    Idle,
    /// A run is in progress.
    Running,
    /// The last run finished.
    Finished,
    /// The last run ended in an error.
    Failed,
    /// The last run was cancelled.
    Cancelled,
}

/// What is known about a session without reading its log.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SessionMeta {
    pub id: SessionId,
    pub title: String,
    /// The workspace root the session works in.
    pub workspace: String,
    pub status: SessionStatus,
    pub created_at: TimestampMs,
    pub updated_at: TimestampMs,
    /// The surface that started it (`cli`, `lsp`, `mcp`, `dashboard`).
    pub origin: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub model: Option<String>,
}
