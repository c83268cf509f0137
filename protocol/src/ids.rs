//! Identifiers. Each id is an opaque string newtype so ids of different things cannot be
//! mixed up; new ids are UUIDv7 (time-ordered, so sorting ids sorts by creation).

use serde::{Deserialize, Serialize};
use std::fmt;

macro_rules! string_id {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
        #[serde(transparent)]
        pub struct $name(String);

        impl $name {
            /// A fresh time-ordered id.
            pub fn new() -> Self {
                Self(uuid::Uuid::now_v7().to_string())
            }

            /// The id as text.
            pub fn as_str(&self) -> &str {
                &self.0
            }
        }

        impl Default for $name {
            fn default() -> Self {
                Self::new()
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }

        impl From<String> for $name {
            fn from(value: String) -> Self {
                Self(value)
            }
        }

        impl From<&str> for $name {
            fn from(value: &str) -> Self {
                Self(value.to_owned())
            }
        }
    };
}

string_id!(
    /// A session: one conversation with its event log.
    SessionId
);
string_id!(
    /// One run of the agent inside a session (a user turn and everything it causes).
    RunId
);
string_id!(
    /// One message (user, assistant or tool) inside a session.
    MessageId
);
string_id!(
    /// One tool call requested by the model; the model's own id when it gave one.
    ToolCallId
);
string_id!(
    /// One approval request.
    ApprovalId
);
string_id!(
    /// One question asked of the user on behalf of an MCP server (an elicitation).
    QuestionId
);
