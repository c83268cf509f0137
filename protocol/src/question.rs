//! Questions for the user that are not approvals: what an MCP server the agent uses asks
//! through MCP elicitation (a form to fill in, or a page to open), routed to every surface
//! the user may be at. Unlike approvals they belong to a workspace, not to a session, and
//! are not stored: the server that asked waits on its connection, which does not outlive
//! the daemon.

use crate::TimestampMs;
use crate::approval::Surface;
use crate::ids::QuestionId;
use serde::{Deserialize, Serialize};
use serde_json::Value;

/// What the user is asked for.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "kind")]
pub enum QuestionKind {
    /// A form: `schema` is the MCP `requestedSchema`, an object schema whose properties
    /// are strings, numbers, integers, booleans, enums or multi-select arrays.
    Form { schema: Value },
    /// A page to open (MCP URL elicitation); accepting means the user agreed to open it.
    Url {
        url: String,
        /// The server's id for it, named again by its completion notification.
        #[serde(
            default,
            rename = "elicitationId",
            skip_serializing_if = "Option::is_none"
        )]
        elicitation_id: Option<String>,
    },
}

/// A question waiting for an answer.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Question {
    pub id: QuestionId,
    /// The canonical workspace root whose MCP server asks.
    pub workspace: String,
    /// Who asks: the configured name of the MCP server.
    pub asker: String,
    pub message: String,
    #[serde(flatten)]
    pub kind: QuestionKind,
    pub asked_at: TimestampMs,
    pub expires_at: TimestampMs,
}

/// The user's reply to a [`Question`] (MCP's elicitation actions).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "action")]
pub enum QuestionReply {
    /// The filled-in form (an object matching the schema; `null` for a URL).
    Accept {
        #[serde(default)]
        content: Value,
    },
    Decline,
    /// Dismissed without a choice, withdrawn by the asker, or unanswered in time.
    Cancel,
}

impl QuestionReply {
    /// The action's name, as MCP spells it.
    pub fn action(&self) -> &'static str {
        match self {
            QuestionReply::Accept { .. } => "accept",
            QuestionReply::Decline => "decline",
            QuestionReply::Cancel => "cancel",
        }
    }
}

/// A question's life on the question bus.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "type")]
pub enum QuestionEvent {
    Asked(Question),
    Resolved {
        id: QuestionId,
        /// The reply's action (`accept`, `decline`, `cancel`); the content stays with the
        /// asker.
        action: String,
        /// The surface that answered; `policy` when nobody did (timeout, withdrawn).
        by: Surface,
    },
}
