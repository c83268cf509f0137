//! Approvals: a request to do something the policy says to ask about, and who decided.

use crate::TimestampMs;
use crate::ids::{ApprovalId, SessionId, ToolCallId};
use serde::{Deserialize, Serialize};

/// A surface that can answer approvals or start work.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Surface {
    Cli,
    Lsp,
    Mcp,
    Dashboard,
    /// The policy decided without asking (a rule, a remembered session grant, or a timeout).
    Policy,
}

/// The answer to an approval request.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ApprovalDecision {
    AllowOnce,
    AllowForSession,
    Deny,
}

impl ApprovalDecision {
    /// Whether the action may go ahead.
    pub fn allows(self) -> bool {
        !matches!(self, ApprovalDecision::Deny)
    }
}

/// What the agent wants to do and asks permission for.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ApprovalRequest {
    pub id: ApprovalId,
    pub session_id: SessionId,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tool_call_id: Option<ToolCallId>,
    pub tool: String,
    /// The rule-matchable form of the action, e.g. `run_command(cargo test)`.
    pub action: String,
    /// One line for humans.
    pub summary: String,
    pub requested_at: TimestampMs,
    pub expires_at: TimestampMs,
}

/// Where an approval stands.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "state")]
pub enum ApprovalStatus {
    Pending,
    Resolved {
        decision: ApprovalDecision,
        by: Surface,
        /// Who answered, as the surface knows them (an editor's name, a client's name).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        who: Option<String>,
        at: TimestampMs,
    },
}

/// An approval with its current status, as stored.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Approval {
    pub request: ApprovalRequest,
    pub status: ApprovalStatus,
}
