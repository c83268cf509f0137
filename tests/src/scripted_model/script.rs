//! The fixture format of a scripted model conversation (`fixtures/models/*.json`).
//!
//! A script is a sequence of steps; each step answers exactly one HTTP request to
//! `POST /v1/chat/completions`, in order. A step either replies (text and/or tool calls,
//! optionally with a stream fault) or fails with an HTTP status. A step may carry
//! expectations about the request it answers; a request that does not meet them is
//! answered with HTTP 400 and recorded as a mismatch, so a test fails loudly instead of
//! playing the wrong turn. The last step may `repeat` to answer every further request
//! (a model that never stops calling tools).
//!
//! ```json
//! {
//!   "description": "read a file, then answer",
//!   "steps": [
//!     { "expect": { "user_contains": "what is in a.txt", "tools_include": ["read_file"] },
//!       "reply": { "tool_calls": [ { "name": "read_file", "arguments": { "path": "a.txt" } } ] } },
//!     { "error": { "status": 429, "retry_after_secs": 0 } },
//!     { "expect": { "tool_result_contains": "hello" },
//!       "reply": { "content": "It says hello.", "usage": { "prompt_tokens": 50, "completion_tokens": 4 } } }
//!   ]
//! }
//! ```
//!
//! Tool-call `arguments` are JSON (serialized compactly) or, when a string, the raw
//! argument text as is — so a script can send arguments that are not valid JSON.

use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};

/// A whole scripted conversation.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Script {
    /// What the conversation exercises, for humans.
    pub description: String,
    /// Whether the server honours `stream_options.include_usage` (a server that does not
    /// never sends usage, so the client must estimate).
    #[serde(default = "yes")]
    pub supports_usage: bool,
    pub steps: Vec<Step>,
}

fn yes() -> bool {
    true
}

/// One answer to one request.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Step {
    #[serde(default, skip_serializing_if = "Expect::is_empty")]
    pub expect: Expect,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reply: Option<Reply>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<HttpError>,
    /// This step answers every further request too.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub repeat: bool,
}

impl Step {
    /// A step that replies with text.
    pub fn text(content: impl Into<String>) -> Self {
        Self::reply(Reply {
            content: Some(content.into()),
            ..Reply::default()
        })
    }

    /// A step that replies with tool calls `(name, arguments)`.
    pub fn tool_calls<'a>(calls: impl IntoIterator<Item = (&'a str, serde_json::Value)>) -> Self {
        Self::reply(Reply {
            tool_calls: calls
                .into_iter()
                .map(|(name, arguments)| ScriptedToolCall {
                    id: None,
                    name: name.to_owned(),
                    arguments,
                })
                .collect(),
            ..Reply::default()
        })
    }

    /// A step with the given reply.
    pub fn reply(reply: Reply) -> Self {
        Self {
            expect: Expect::default(),
            reply: Some(reply),
            error: None,
            repeat: false,
        }
    }

    /// A step that fails with an HTTP status.
    pub fn status(status: u16) -> Self {
        Self {
            expect: Expect::default(),
            reply: None,
            error: Some(HttpError {
                status,
                retry_after_secs: None,
                message: None,
                plain: false,
            }),
            repeat: false,
        }
    }

    /// A 429 with a `Retry-After` header.
    pub fn rate_limited(retry_after_secs: u64) -> Self {
        let mut step = Self::status(429);
        if let Some(error) = step.error.as_mut() {
            error.retry_after_secs = Some(retry_after_secs);
        }
        step
    }

    /// The same step with a stream fault.
    pub fn with_fault(mut self, fault: StreamFault) -> Self {
        if let Some(reply) = self.reply.as_mut() {
            reply.fault = Some(fault);
        }
        self
    }

    /// The same step, answering every further request too.
    pub fn repeated(mut self) -> Self {
        self.repeat = true;
        self
    }

    /// The same step with expectations.
    pub fn expecting(mut self, expect: Expect) -> Self {
        self.expect = expect;
        self
    }
}

/// What a request must look like to be answered by its step. Empty means anything.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Expect {
    /// The last user message contains this text.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub user_contains: Option<String>,
    /// The system prompt contains this text.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub system_contains: Option<String>,
    /// Some tool message (a tool result) contains this text.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tool_result_contains: Option<String>,
    /// The request offers (at least) these tools.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub tools_include: Vec<String>,
}

impl Expect {
    fn is_empty(&self) -> bool {
        self == &Expect::default()
    }
}

/// A successful answer: text and/or tool calls, streamed when the request streams.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Reply {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub content: Option<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub tool_calls: Vec<ScriptedToolCall>,
    /// Usage to report; when absent, a rough count (4 bytes a token) is reported.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub usage: Option<ScriptedUsage>,
    /// `stop` or `tool_calls` by default, from the content.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub finish_reason: Option<String>,
    /// Characters per streamed text or argument delta (default 4).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub chunk_chars: Option<usize>,
    /// Delay before every streamed chunk, in milliseconds (slow tokens).
    #[serde(skip_serializing_if = "is_zero")]
    pub token_delay_ms: u64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub fault: Option<StreamFault>,
    /// Every tool call streamed under index 0, told apart only by its id (as Ollama sends
    /// parallel calls).
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub one_call_index: bool,
}

fn is_zero(value: &u64) -> bool {
    *value == 0
}

/// A tool call the scripted model makes.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ScriptedToolCall {
    /// The call id; `call_<step>_<index>` when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    pub name: String,
    /// JSON arguments, or a string sent as the raw argument text.
    #[serde(default)]
    pub arguments: serde_json::Value,
}

impl ScriptedToolCall {
    /// The argument text as sent on the wire.
    pub fn argument_text(&self) -> String {
        match &self.arguments {
            serde_json::Value::String(raw) => raw.clone(),
            serde_json::Value::Null => "{}".to_owned(),
            other => other.to_string(),
        }
    }
}

/// Token counts the scripted server reports.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ScriptedUsage {
    pub prompt_tokens: u32,
    pub completion_tokens: u32,
}

/// A failure answered instead of a reply.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HttpError {
    pub status: u16,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub retry_after_secs: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
    /// The message as a plain-text body instead of OpenAI's error object (as a proxy, a
    /// wrong base URL or another server answers; 5xx bodies are always plain).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub plain: bool,
}

/// Ways a streamed reply goes wrong.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "kind", deny_unknown_fields)]
pub enum StreamFault {
    /// The connection is dropped in the middle of the first tool call's arguments.
    CutMidToolArgs,
    /// After `after_chunks` chunks, a chunk that is not JSON.
    MalformedChunk { after_chunks: usize },
    /// Every chunk including the finish reason, but no `data: [DONE]`.
    NoDone,
    /// After `after_chunks` chunks the stream stays open and silent until the client leaves.
    StallAfter { after_chunks: usize },
    /// The connection is dropped after `after_chunks` chunks, before any finish reason.
    CutAfter { after_chunks: usize },
}

/// Errors loading a script.
#[derive(Debug, thiserror::Error)]
pub enum ScriptError {
    #[error("reading {path}: {source}")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("parsing {path}: {source}")]
    Parse {
        path: PathBuf,
        source: serde_json::Error,
    },
    #[error("{path}: step {index} must have exactly one of `reply` and `error`")]
    Invalid { path: PathBuf, index: usize },
}

impl Script {
    /// A script of the given steps.
    pub fn new(steps: impl IntoIterator<Item = Step>) -> Self {
        Self {
            description: String::new(),
            supports_usage: true,
            steps: steps.into_iter().collect(),
        }
    }

    /// The directory of the repository's model fixtures.
    pub fn fixtures_dir() -> PathBuf {
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../fixtures/models")
    }

    /// Loads `fixtures/models/<name>.json`.
    pub fn fixture(name: &str) -> Result<Self, ScriptError> {
        Self::load(&Self::fixtures_dir().join(format!("{name}.json")))
    }

    /// Loads and validates a script file.
    pub fn load(path: &Path) -> Result<Self, ScriptError> {
        let text = std::fs::read_to_string(path).map_err(|source| ScriptError::Read {
            path: path.to_owned(),
            source,
        })?;
        let script: Script = serde_json::from_str(&text).map_err(|source| ScriptError::Parse {
            path: path.to_owned(),
            source,
        })?;
        if let Some(index) = script
            .steps
            .iter()
            .position(|step| step.reply.is_some() == step.error.is_some())
        {
            return Err(ScriptError::Invalid {
                path: path.to_owned(),
                index,
            });
        }
        Ok(script)
    }
}
