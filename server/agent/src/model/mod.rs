//! The model boundary: what the agent asks a chat model and what streams back.
//!
//! [`ModelClient`] is the one trait the turn loop calls. [`OpenAiClient`] implements it on
//! async-openai against any OpenAI-compatible base URL; tests point it at the testkit's
//! scripted server. A stream yields [`ModelEvent`]s and ends after the answer (finish
//! reason, then usage when the server sends it) or after one `Err`; dropping it cancels the
//! request (the HTTP connection is closed).

mod assemble;
mod convert;
mod http;
mod openai;

pub use assemble::{AssembledReply, Assembler};
pub use openai::{OpenAiClient, RetryPolicy};

use futures::stream::BoxStream;
use lathe_protocol::Message;
use serde::{Deserialize, Serialize};

/// A tool as the model sees it: a name, a description and a JSON schema for the arguments.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ToolSpec {
    pub name: String,
    pub description: String,
    /// JSON schema of the arguments object.
    pub parameters: serde_json::Value,
}

/// One request to the model.
#[derive(Clone, Debug, PartialEq)]
pub struct ModelRequest {
    pub model: String,
    /// The conversation, system message first.
    pub messages: Vec<Message>,
    pub tools: Vec<ToolSpec>,
    /// Upper bound on the answer's tokens, when the caller wants one sent.
    pub max_output_tokens: Option<u32>,
}

/// Why the model stopped.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FinishReason {
    Stop,
    ToolCalls,
    /// The answer hit the output limit.
    Length,
    ContentFilter,
}

/// Token counts reported by the server.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct TokenUsage {
    pub input_tokens: u64,
    pub output_tokens: u64,
    pub cached_input_tokens: u64,
}

/// One piece of a streamed answer.
#[derive(Clone, Debug, PartialEq)]
pub enum ModelEvent {
    /// Answer text.
    TextDelta(String),
    /// A new tool call at position `index` of the message.
    ToolCallStarted {
        index: u32,
        id: String,
        name: String,
    },
    /// More argument text for the tool call at `index`.
    ToolCallArgs { index: u32, delta: String },
    /// Usage as the server counted it (only when it sends usage).
    Usage(TokenUsage),
    /// The model finished its answer; only [`ModelEvent::Usage`] may follow.
    Finished(FinishReason),
}

/// A streamed answer. Dropping it cancels the request.
pub type ModelStream = BoxStream<'static, Result<ModelEvent, ModelError>>;

/// A chat model.
pub trait ModelClient: Send + Sync + 'static {
    /// Starts one streamed completion. Failures to connect (after the client's retries)
    /// and failures mid-stream both arrive as an `Err` item, after which the stream ends.
    fn stream(&self, request: ModelRequest) -> ModelStream;
}

/// Why a model call failed. Every variant's message says what to do about it.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum ModelError {
    #[error("the model server at {base_url} is unreachable: {detail}")]
    Unreachable { base_url: String, detail: String },
    #[error("the model server refused the API key (HTTP {status}): {message}; set LATHE_API_KEY")]
    Unauthorized { status: u16, message: String },
    #[error("the model server is rate limiting (HTTP 429) and retries ran out: {message}")]
    RateLimited { message: String },
    #[error("the model server failed (HTTP {status}) and retries ran out: {message}")]
    Server { status: u16, message: String },
    #[error("the model server rejected the request (HTTP {status}): {message}")]
    Rejected { status: u16, message: String },
    #[error("the model server did not answer within {secs} s")]
    RequestTimeout { secs: u64 },
    #[error("the model stream was silent for {secs} s")]
    IdleTimeout { secs: u64 },
    #[error("the model stream broke: {0}")]
    Stream(String),
    #[error("the model server sent a chunk that is not a chat-completion chunk: {0}")]
    MalformedChunk(String),
    #[error("the model stream ended before the model finished its answer")]
    Incomplete,
    #[error("invalid model request: {0}")]
    Request(String),
}

impl ModelError {
    /// A short machine-readable code for `RUN_ERROR.code`.
    pub fn code(&self) -> &'static str {
        match self {
            ModelError::Unreachable { .. } => "model_unreachable",
            ModelError::Unauthorized { .. } => "model_unauthorized",
            ModelError::RateLimited { .. } => "model_rate_limited",
            ModelError::Server { .. } => "model_server_error",
            ModelError::Rejected { .. } => "model_rejected",
            ModelError::RequestTimeout { .. } => "model_timeout",
            ModelError::IdleTimeout { .. } => "model_idle_timeout",
            ModelError::Stream(_) => "model_stream_broken",
            ModelError::MalformedChunk(_) => "model_malformed_chunk",
            ModelError::Incomplete => "model_stream_incomplete",
            ModelError::Request(_) => "model_request_invalid",
        }
    }
}
