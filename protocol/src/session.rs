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
    /// What the session's model calls used, summed from its `usage` events by the store
    /// (a caller's value is never stored).
    #[serde(default)]
    pub usage: SessionUsage,
}

/// The model use of a whole session.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SessionUsage {
    pub model_calls: u64,
    pub input_tokens: u64,
    pub output_tokens: u64,
    /// Cost in millionths of a US dollar, of the calls whose price is known.
    pub cost_micro_usd: u64,
}

impl SessionUsage {
    /// Adds one model call.
    pub fn add(&mut self, call: &crate::event::Usage) {
        self.model_calls += 1;
        self.input_tokens += call.input_tokens;
        self.output_tokens += call.output_tokens;
        self.cost_micro_usd += call.cost_micro_usd().unwrap_or(0);
    }
}
