//! [`OpenAiClient`]: the [`ModelClient`] on async-openai for any OpenAI-compatible
//! chat-completions endpoint (OpenAI, gateways, Ollama, llama.cpp, vLLM, OpenRouter).
//!
//! How the pieces async-openai does not offer are handled:
//! - Retries with `Retry-After`: a tower service under the client (see `http.rs`).
//! - Request timeout: per attempt, in that service (time to response headers).
//! - Stream idle timeout: a timeout on every chunk read here.
//! - A stream that ends without `[DONE]`: async-openai ends its stream the same way for
//!   both, so completeness is judged by the finish reason instead: a stream that ends (or
//!   breaks, or goes silent) after the finish reason is complete — usage may simply be
//!   missing — and one that ends before it is [`ModelError::Incomplete`].
//! - Cancellation: dropping the [`ModelStream`] drops async-openai's stream, whose reader
//!   task notices the closed channel and drops the HTTP response (closing the connection).

use super::convert::{ChunkDecoder, request as wire_request};
use super::http::{AttemptTimedOut, RetryingHttp};
use super::{ModelClient, ModelError, ModelEvent, ModelRequest, ModelStream};
use async_openai::Client;
use async_openai::config::OpenAIConfig;
use async_openai::error::OpenAIError;
use async_openai::types::chat::ChatCompletionResponseStream;
use futures::StreamExt;
use lathe_protocol::config::ModelConfig;
use std::collections::VecDeque;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

/// How model requests are retried and timed out.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RetryPolicy {
    /// Retries after the first attempt.
    pub max_retries: u32,
    /// The first backoff; doubles on every retry, with full jitter.
    pub base_delay: Duration,
    pub max_delay: Duration,
    /// The longest `Retry-After` honoured; longer requests are shortened to this.
    pub max_retry_after: Duration,
    /// Time allowed for one attempt to get response headers.
    pub request_timeout: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        Self {
            max_retries: 4,
            base_delay: Duration::from_millis(500),
            max_delay: Duration::from_secs(30),
            max_retry_after: Duration::from_secs(120),
            request_timeout: Duration::from_secs(300),
        }
    }
}

/// A chat model behind an OpenAI-compatible API.
#[derive(Clone)]
pub struct OpenAiClient {
    client: Client<OpenAIConfig>,
    base_url: String,
    /// Whether requests ask for `stream_options.include_usage`; turned off for good (for
    /// every clone) when the server rejects the option.
    include_usage: Arc<AtomicBool>,
    idle_timeout: Duration,
    request_timeout: Duration,
}

impl std::fmt::Debug for OpenAiClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OpenAiClient")
            .field("base_url", &self.base_url)
            .field("include_usage", &self.include_usage.load(Ordering::Relaxed))
            .finish()
    }
}

impl OpenAiClient {
    /// A client for `base_url` (the API base including `/v1`).
    pub fn new(
        base_url: &str,
        api_key: Option<&str>,
        policy: RetryPolicy,
        idle_timeout: Duration,
    ) -> Result<Self, ModelError> {
        let http = reqwest::Client::builder()
            .connect_timeout(Duration::from_secs(10))
            .build()
            .map_err(|e| ModelError::Request(format!("building the HTTP client: {e}")))?;
        let config = OpenAIConfig::new()
            .with_api_base(base_url.trim_end_matches('/'))
            .with_api_key(api_key.unwrap_or_default());
        let request_timeout = policy.request_timeout;
        let client = Client::with_config(config).with_http_service(RetryingHttp::new(http, policy));
        Ok(Self {
            client,
            base_url: base_url.to_owned(),
            include_usage: Arc::new(AtomicBool::new(true)),
            idle_timeout,
            request_timeout,
        })
    }

    /// A client from the model configuration (which must name a base URL).
    pub fn from_config(config: &ModelConfig) -> Result<Self, ModelError> {
        let base_url = config.base_url.as_deref().ok_or_else(|| {
            ModelError::Request("no model base URL configured (set LATHE_BASE_URL)".into())
        })?;
        let policy = RetryPolicy {
            max_retries: config.max_retries,
            request_timeout: Duration::from_secs(config.request_timeout_secs),
            ..RetryPolicy::default()
        };
        Self::new(
            base_url,
            config.api_key.as_deref(),
            policy,
            Duration::from_secs(config.stream_idle_timeout_secs),
        )
    }

    /// Whether to ask for `stream_options.include_usage` (default yes; a server that
    /// rejects the option is asked again without it, and never again with it).
    pub fn with_include_usage(self, include_usage: bool) -> Self {
        self.include_usage.store(include_usage, Ordering::Relaxed);
        self
    }

    fn error(&self, error: OpenAIError) -> ModelError {
        map_error(error, &self.base_url, self.request_timeout)
    }
}

/// A short description of an error and its causes.
fn chain(error: &dyn std::error::Error) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        let cause_text = cause.to_string();
        if !text.contains(&cause_text) {
            text.push_str(": ");
            text.push_str(&cause_text);
        }
        source = cause.source();
    }
    text
}

fn map_error(error: OpenAIError, base_url: &str, request_timeout: Duration) -> ModelError {
    match error {
        OpenAIError::ApiError(response) => {
            let status = response.status_code.as_u16();
            let message = response.api_error.message;
            match status {
                401 | 403 => ModelError::Unauthorized { status, message },
                429 => ModelError::RateLimited { message },
                500..=599 => ModelError::Server { status, message },
                _ => ModelError::Rejected { status, message },
            }
        }
        OpenAIError::Reqwest(error) if error.is_timeout() => ModelError::RequestTimeout {
            secs: request_timeout.as_secs(),
        },
        OpenAIError::Reqwest(error) if error.is_connect() || error.is_request() => {
            ModelError::Unreachable {
                base_url: base_url.to_owned(),
                detail: chain(&error),
            }
        }
        OpenAIError::Reqwest(error) => ModelError::Stream(chain(&error)),
        OpenAIError::StreamError(error) => ModelError::Stream(error.to_string()),
        OpenAIError::JSONDeserialize(error, content) => {
            let shown: String = content.chars().take(200).collect();
            ModelError::MalformedChunk(format!("{error} in {shown:?}"))
        }
        OpenAIError::Boxed(error) if error.downcast_ref::<AttemptTimedOut>().is_some() => {
            ModelError::RequestTimeout {
                secs: request_timeout.as_secs(),
            }
        }
        OpenAIError::Boxed(error) => ModelError::Stream(chain(error.as_ref())),
        OpenAIError::InvalidArgument(message) => ModelError::Request(message),
        other => ModelError::Request(other.to_string()),
    }
}

/// Whether a refused request was refused for its `stream_options` (servers that do not
/// know the option answer 400 or 422 naming it).
fn rejects_stream_options(error: &async_openai::error::ApiErrorResponse) -> bool {
    let message = error.api_error.message.to_ascii_lowercase();
    matches!(error.status_code.as_u16(), 400 | 422)
        && (message.contains("stream_options") || message.contains("include_usage"))
}

type Opening =
    Pin<Box<dyn Future<Output = Result<ChatCompletionResponseStream, OpenAIError>> + Send>>;

/// The state of one streamed completion.
struct Streaming {
    owner: OpenAiClient,
    opening: Option<Opening>,
    chunks: Option<ChatCompletionResponseStream>,
    decoder: ChunkDecoder,
    queue: VecDeque<ModelEvent>,
    scratch: Vec<ModelEvent>,
    finished: bool,
    done: bool,
}

impl Streaming {
    /// Ends the stream: quietly when the answer was finished, else with `error`.
    fn end(&mut self, error: ModelError) -> Option<Result<ModelEvent, ModelError>> {
        self.done = true;
        self.chunks = None;
        (!self.finished).then_some(Err(error))
    }

    async fn next(&mut self) -> Option<Result<ModelEvent, ModelError>> {
        loop {
            if let Some(event) = self.queue.pop_front() {
                return Some(Ok(event));
            }
            if self.done {
                return None;
            }
            if let Some(opening) = self.opening.take() {
                match opening.await {
                    Ok(chunks) => self.chunks = Some(chunks),
                    Err(error) => {
                        self.done = true;
                        return Some(Err(self.owner.error(error)));
                    }
                }
            }
            let chunks = self.chunks.as_mut()?;
            let idle = self.owner.idle_timeout;
            match tokio::time::timeout(idle, chunks.next()).await {
                Err(_) => {
                    return self.end(ModelError::IdleTimeout {
                        secs: idle.as_secs(),
                    });
                }
                Ok(None) => return self.end(ModelError::Incomplete),
                Ok(Some(Err(error))) => {
                    let error = self.owner.error(error);
                    return self.end(error);
                }
                Ok(Some(Ok(chunk))) => {
                    self.decoder.decode(chunk, &mut self.scratch);
                    for event in self.scratch.drain(..) {
                        self.finished |= matches!(event, ModelEvent::Finished(_));
                        self.queue.push_back(event);
                    }
                }
            }
        }
    }
}

impl ModelClient for OpenAiClient {
    fn stream(&self, request: ModelRequest) -> ModelStream {
        let client = self.client.clone();
        let include_usage = self.include_usage.clone();
        let opening: Opening = Box::pin(async move {
            let asked = include_usage.load(Ordering::Relaxed);
            match client
                .chat()
                .create_stream(wire_request(&request, asked))
                .await
            {
                Err(OpenAIError::ApiError(error)) if asked && rejects_stream_options(&error) => {
                    tracing::info!(message = %error.api_error.message, "the model server rejects stream_options; asking without it from now on (usage is estimated)");
                    include_usage.store(false, Ordering::Relaxed);
                    client
                        .chat()
                        .create_stream(wire_request(&request, false))
                        .await
                }
                other => other,
            }
        });
        let state = Streaming {
            owner: self.clone(),
            opening: Some(opening),
            chunks: None,
            decoder: ChunkDecoder::default(),
            queue: VecDeque::new(),
            scratch: Vec::new(),
            finished: false,
            done: false,
        };
        futures::stream::unfold(state, |mut state| async move {
            state.next().await.map(|item| (item, state))
        })
        .boxed()
    }
}
