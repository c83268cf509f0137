//! The session event log's vocabulary, in AG-UI shape.
//!
//! An [`Event`] is an envelope (`sessionId`, a per-session monotonic `seq`, a timestamp)
//! around an [`EventPayload`], serialized flat: `{"type":"TOOL_CALL_START","sessionId":..,
//! "seq":7,"timestamp":..,"toolCallId":..,"toolCallName":..}`. Lathe's own events travel as
//! AG-UI `CUSTOM` events with a `name` and a `value` ([`CustomEvent`]).
//!
//! Invariant: the enum is closed; every producer and consumer matches it exhaustively.
//! [`EventPayload::is_boundary`] tells the store which events must be durable on return
//! (everything but streaming deltas).

use crate::TimestampMs;
use crate::approval::{ApprovalDecision, ApprovalRequest, Surface};
use crate::ids::{ApprovalId, MessageId, RunId, SessionId, ToolCallId};
use serde::{Deserialize, Serialize};

/// Who wrote a message.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    System,
    User,
    Assistant,
    Tool,
}

/// One stored event: the envelope every event carries plus its payload.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Event {
    pub session_id: SessionId,
    /// Per-session sequence number, starting at 1, without gaps.
    pub seq: u64,
    pub timestamp: TimestampMs,
    #[serde(flatten)]
    pub payload: EventPayload,
}

/// What happened.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "SCREAMING_SNAKE_CASE")]
pub enum EventPayload {
    #[serde(rename_all = "camelCase")]
    RunStarted {
        thread_id: SessionId,
        run_id: RunId,
    },
    #[serde(rename_all = "camelCase")]
    RunFinished {
        thread_id: SessionId,
        run_id: RunId,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        result: Option<serde_json::Value>,
    },
    #[serde(rename_all = "camelCase")]
    RunError {
        message: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        code: Option<String>,
    },
    #[serde(rename_all = "camelCase")]
    StepStarted {
        step_name: String,
    },
    #[serde(rename_all = "camelCase")]
    StepFinished {
        step_name: String,
    },
    #[serde(rename_all = "camelCase")]
    TextMessageStart {
        message_id: MessageId,
        role: Role,
    },
    #[serde(rename_all = "camelCase")]
    TextMessageContent {
        message_id: MessageId,
        delta: String,
    },
    #[serde(rename_all = "camelCase")]
    TextMessageEnd {
        message_id: MessageId,
    },
    #[serde(rename_all = "camelCase")]
    ToolCallStart {
        tool_call_id: ToolCallId,
        tool_call_name: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        parent_message_id: Option<MessageId>,
    },
    #[serde(rename_all = "camelCase")]
    ToolCallArgs {
        tool_call_id: ToolCallId,
        delta: String,
    },
    #[serde(rename_all = "camelCase")]
    ToolCallEnd {
        tool_call_id: ToolCallId,
    },
    #[serde(rename_all = "camelCase")]
    ToolCallResult {
        message_id: MessageId,
        tool_call_id: ToolCallId,
        content: String,
        /// Lathe's extension: the tool failed and `content` is the error the model saw.
        #[serde(default, skip_serializing_if = "is_false")]
        is_error: bool,
    },
    #[serde(rename_all = "camelCase")]
    StateSnapshot {
        snapshot: serde_json::Value,
    },
    Custom(CustomEvent),
}

fn is_false(value: &bool) -> bool {
    !*value
}

impl EventPayload {
    /// The AG-UI type name, e.g. `TOOL_CALL_START`.
    pub fn type_name(&self) -> &'static str {
        match self {
            EventPayload::RunStarted { .. } => "RUN_STARTED",
            EventPayload::RunFinished { .. } => "RUN_FINISHED",
            EventPayload::RunError { .. } => "RUN_ERROR",
            EventPayload::StepStarted { .. } => "STEP_STARTED",
            EventPayload::StepFinished { .. } => "STEP_FINISHED",
            EventPayload::TextMessageStart { .. } => "TEXT_MESSAGE_START",
            EventPayload::TextMessageContent { .. } => "TEXT_MESSAGE_CONTENT",
            EventPayload::TextMessageEnd { .. } => "TEXT_MESSAGE_END",
            EventPayload::ToolCallStart { .. } => "TOOL_CALL_START",
            EventPayload::ToolCallArgs { .. } => "TOOL_CALL_ARGS",
            EventPayload::ToolCallEnd { .. } => "TOOL_CALL_END",
            EventPayload::ToolCallResult { .. } => "TOOL_CALL_RESULT",
            EventPayload::StateSnapshot { .. } => "STATE_SNAPSHOT",
            EventPayload::Custom(_) => "CUSTOM",
        }
    }

    /// Whether the store must make this event durable before the append returns.
    ///
    /// Streaming deltas (message text, tool-call arguments, sandbox output) may be batched
    /// and lost in a crash; every boundary (a finished message, tool call, result, approval,
    /// run start or end) may not.
    pub fn is_boundary(&self) -> bool {
        !matches!(
            self,
            EventPayload::TextMessageContent { .. }
                | EventPayload::ToolCallArgs { .. }
                | EventPayload::Custom(CustomEvent::SandboxOutput(_))
        )
    }
}

/// Lathe's own events, carried as AG-UI `CUSTOM` events: `{"name": .., "value": ..}`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "name", content = "value")]
pub enum CustomEvent {
    #[serde(rename = "approval.requested")]
    ApprovalRequested(ApprovalRequest),
    #[serde(rename = "approval.resolved")]
    ApprovalResolved(ApprovalResolved),
    #[serde(rename = "file.changed")]
    FileChanged(FileChanged),
    #[serde(rename = "usage")]
    Usage(Usage),
    #[serde(rename = "sandbox.output")]
    SandboxOutput(SandboxOutput),
    #[serde(rename = "sandbox.exited")]
    SandboxExited(SandboxExited),
    #[serde(rename = "context.compacted")]
    ContextCompacted(ContextCompacted),
}

/// The answer to an approval request and who gave it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ApprovalResolved {
    pub id: ApprovalId,
    pub decision: ApprovalDecision,
    pub by: Surface,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub who: Option<String>,
}

/// How a file changed.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FileChangeKind {
    Created,
    Modified,
    Deleted,
    Renamed,
}

/// A file the agent changed, with the diff for humans.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct FileChanged {
    /// Workspace-relative path (the new path for a rename).
    pub path: String,
    pub kind: FileChangeKind,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub old_path: Option<String>,
    /// Unified diff of the change.
    pub diff: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tool_call_id: Option<ToolCallId>,
}

/// Token use, cost and latency of one model call.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Usage {
    pub model: String,
    pub input_tokens: u64,
    pub output_tokens: u64,
    #[serde(default)]
    pub cached_input_tokens: u64,
    /// The counts are a local tiktoken estimate (the server sent no usage).
    #[serde(default)]
    pub estimated: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cost_usd: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub time_to_first_token_ms: Option<u64>,
    pub latency_ms: u64,
}

impl Usage {
    /// The cost in millionths of a US dollar, when priced (`as` saturates: a negative price
    /// counts 0).
    pub fn cost_micro_usd(&self) -> Option<u64> {
        self.cost_usd.map(|cost| (cost * 1e6).round() as u64)
    }
}

/// Which output stream a chunk came from.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum OutputStream {
    Stdout,
    Stderr,
}

/// A chunk of a sandboxed command's output, as it came.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SandboxOutput {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tool_call_id: Option<ToolCallId>,
    pub stream: OutputStream,
    pub text: String,
}

/// A sandboxed command ended: how, and how long it ran (the dashboard's exec times).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SandboxExited {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tool_call_id: Option<ToolCallId>,
    /// The backend that ran it (`docker`, `bwrap`, `none`).
    pub backend: String,
    /// The exit code, with the shell's conventions for a timeout (124) or a kill.
    pub exit_code: i32,
    pub duration_ms: u64,
}

/// Old turns were replaced by a summary in the model's context (the log keeps them).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ContextCompacted {
    pub summary: String,
    /// The last event folded into the summary.
    pub through_seq: u64,
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn events_serialize_flat_in_ag_ui_shape() {
        let event = Event {
            session_id: SessionId::from("s1"),
            seq: 3,
            timestamp: 1_700_000_000_000,
            payload: EventPayload::ToolCallStart {
                tool_call_id: ToolCallId::from("c1"),
                tool_call_name: "read_file".into(),
                parent_message_id: None,
            },
        };
        let json = serde_json::to_value(&event).unwrap();
        assert_eq!(
            json,
            serde_json::json!({
                "sessionId": "s1", "seq": 3, "timestamp": 1_700_000_000_000u64,
                "type": "TOOL_CALL_START", "toolCallId": "c1", "toolCallName": "read_file"
            })
        );
        assert_eq!(serde_json::from_value::<Event>(json).unwrap(), event);
    }

    #[test]
    fn custom_events_carry_name_and_value() {
        let payload = EventPayload::Custom(CustomEvent::ApprovalResolved(ApprovalResolved {
            id: ApprovalId::from("a1"),
            decision: ApprovalDecision::AllowForSession,
            by: Surface::Dashboard,
            who: None,
        }));
        let json = serde_json::to_value(&payload).unwrap();
        assert_eq!(
            json,
            serde_json::json!({
                "type": "CUSTOM", "name": "approval.resolved",
                "value": {"id": "a1", "decision": "allow_for_session", "by": "dashboard"}
            })
        );
        assert_eq!(
            serde_json::from_value::<EventPayload>(json).unwrap(),
            payload
        );
        assert!(payload.is_boundary());
    }
}
