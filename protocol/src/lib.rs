//! The vocabulary shared by every Lathe crate: ids, sessions, messages, tool calls, events,
//! approvals, questions, diffs, skills and config types.
//!
//! Invariants: this crate holds data and no I/O; it depends on serde (plus uuid for ids).
//! Every type that crosses a process or crate boundary lives here so that the store, the
//! agent and the front ends agree on one shape. Event names and field names follow the
//! AG-UI protocol (`SCREAMING_SNAKE_CASE` types, camelCase fields) so AG-UI clients can
//! read Lathe's stream as is.

pub mod approval;
pub mod config;
pub mod diff;
pub mod event;
pub mod ids;
pub mod message;
pub mod question;
pub mod session;
pub mod skill;

pub use approval::{Approval, ApprovalDecision, ApprovalRequest, ApprovalStatus, Surface};
pub use event::{CustomEvent, Event, EventPayload, Role};
pub use ids::{ApprovalId, MessageId, QuestionId, RunId, SessionId, ToolCallId};
pub use message::{Message, ToolCall};
pub use question::{Question, QuestionEvent, QuestionKind, QuestionReply};
pub use session::{SessionMeta, SessionStatus, SessionUsage};

/// Milliseconds since the Unix epoch, the timestamp unit of every event (as in AG-UI).
pub type TimestampMs = u64;
