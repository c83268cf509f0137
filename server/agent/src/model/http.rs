//! The HTTP execution under async-openai: a tower service (installed with
//! `Client::with_http_service`) that sends each attempt with a request timeout and retries
//! 429, 5xx, timeouts and connection errors with exponential backoff and full jitter,
//! honouring `Retry-After` (seconds or an HTTP date) and `retry-after-ms`.
//!
//! async-openai reads an error response's body but drops its headers, so `Retry-After` can
//! only be seen below it; that is why the retries live here rather than around the client.
//! When retries run out, the last response goes up and async-openai turns it into its
//! `ApiError` with the status; a refused request's body is reshaped first when it is not
//! OpenAI's error object ([`openai_shaped`]), so that the status is never lost.
//!
//! A successful event stream goes up re-chunked at event boundaries ([`split_events`]):
//! the SSE parser under async-openai drops each event from the front of its buffer, which
//! copies everything behind it, so one large network read of many events would make
//! parsing quadratic. Split, its buffer never holds more than about one event.

use super::openai::RetryPolicy;
use async_openai::error::OpenAIError;
use async_openai::middleware::HttpRequestFactory;
use bytes::Bytes;
use futures::StreamExt;
use reqwest::header::HeaderMap;
use reqwest::{Response, StatusCode};
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

/// The attempt did not get response headers within the request timeout.
#[derive(Debug, thiserror::Error)]
#[error("no response within {0:?}")]
pub(super) struct AttemptTimedOut(pub(super) Duration);

/// The retrying service.
#[derive(Clone, Debug)]
pub(super) struct RetryingHttp {
    client: reqwest::Client,
    policy: RetryPolicy,
}

impl RetryingHttp {
    pub(super) fn new(client: reqwest::Client, policy: RetryPolicy) -> Self {
        Self { client, policy }
    }
}

fn retryable_status(status: StatusCode) -> bool {
    status == StatusCode::TOO_MANY_REQUESTS || status.is_server_error()
}

/// Whether a request that got no response is worth another attempt: it could not
/// connect, timed out, or the connection closed before the response (a proxy or a
/// restarting server).
fn retryable_error(error: &reqwest::Error) -> bool {
    error.is_connect() || error.is_timeout() || error.is_request()
}

/// A refused request's body as async-openai reads it: `{"error": {"message": …}}`. A
/// server or proxy that answers otherwise (plain text `404 page not found`, an HTML page,
/// `{"detail": …}`, `{"object": "error", "message": …}`) would otherwise surface as an
/// unreadable chunk and lose its status; its text becomes the message. Server errors (5xx)
/// and successes go up unchanged: async-openai reads those itself.
async fn openai_shaped(response: Response) -> Response {
    let status = response.status();
    if status.is_success() || status.is_server_error() {
        return response;
    }
    let version = response.version();
    let mut headers = response.headers().clone();
    let body = match response.bytes().await {
        Ok(body) => body,
        Err(error) => Bytes::from(format!("(the error body could not be read: {error})")),
    };
    let parsed: Option<serde_json::Value> = serde_json::from_slice(&body).ok();
    let shaped = parsed
        .as_ref()
        .is_some_and(|v| v["error"]["message"].is_string());
    let body = if shaped {
        body
    } else {
        let message = parsed
            .as_ref()
            .and_then(|v| {
                [&v["error"], &v["message"], &v["detail"]]
                    .into_iter()
                    .find_map(|field| field.as_str().map(str::to_owned))
            })
            .unwrap_or_else(|| String::from_utf8_lossy(&body).trim().to_owned());
        let message: String = message.chars().take(MAX_ERROR_CHARS).collect();
        headers.remove(reqwest::header::CONTENT_LENGTH);
        headers.insert(
            reqwest::header::CONTENT_TYPE,
            reqwest::header::HeaderValue::from_static("application/json"),
        );
        Bytes::from(serde_json::json!({"error": {"message": message}}).to_string())
    };
    let mut rebuilt = http::Response::new(reqwest::Body::from(body));
    *rebuilt.status_mut() = status;
    *rebuilt.version_mut() = version;
    *rebuilt.headers_mut() = headers;
    Response::from(rebuilt)
}

/// How much of a refused request's body becomes its message.
const MAX_ERROR_CHARS: usize = 500;

/// The server's requested wait, if it gave one.
pub(super) fn retry_after(headers: &HeaderMap) -> Option<Duration> {
    if let Some(ms) = headers
        .get("retry-after-ms")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse::<f64>().ok())
        .filter(|ms| ms.is_finite() && *ms >= 0.0)
    {
        return Some(Duration::try_from_secs_f64(ms / 1000.0).unwrap_or(Duration::MAX));
    }
    let value = headers
        .get(reqwest::header::RETRY_AFTER)?
        .to_str()
        .ok()?
        .trim();
    if let Ok(secs) = value.parse::<u64>() {
        return Some(Duration::from_secs(secs));
    }
    let when = httpdate_to_unix(value)?;
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .ok()?
        .as_secs();
    Some(Duration::from_secs(when.saturating_sub(now)))
}

/// Parses an IMF-fixdate (`Sun, 06 Nov 1994 08:49:37 GMT`) to Unix seconds.
fn httpdate_to_unix(text: &str) -> Option<u64> {
    let mut parts = text.split_whitespace().skip(1);
    let day: u64 = parts.next()?.parse().ok()?;
    let month = match parts.next()? {
        "Jan" => 1,
        "Feb" => 2,
        "Mar" => 3,
        "Apr" => 4,
        "May" => 5,
        "Jun" => 6,
        "Jul" => 7,
        "Aug" => 8,
        "Sep" => 9,
        "Oct" => 10,
        "Nov" => 11,
        "Dec" => 12,
        _ => return None,
    };
    let year: i64 = parts.next()?.parse().ok()?;
    let mut clock = parts.next()?.split(':').map(|p| p.parse::<u64>().ok());
    let (h, m, s) = (clock.next()??, clock.next()??, clock.next()??);
    // Days from civil (Howard Hinnant's algorithm).
    let y = if month <= 2 { year - 1 } else { year };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (month + 9) % 12;
    let doy = (153 * mp + 2) / 5 + i64::try_from(day).ok()? - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    let days = era * 146_097 + doe - 719_468;
    u64::try_from(days)
        .ok()
        .map(|d| d * 86_400 + h * 3600 + m * 60 + s)
}

impl RetryPolicy {
    /// Exponential backoff with full jitter for retry number `attempt` (0-based).
    pub(super) fn backoff(&self, attempt: u32) -> Duration {
        let exp = self
            .base_delay
            .saturating_mul(2u32.saturating_pow(attempt.min(16)))
            .min(self.max_delay);
        exp.mul_f64(0.5 + rand::random::<f64>() * 0.5)
    }
}

impl tower::Service<HttpRequestFactory> for RetryingHttp {
    type Response = Response;
    type Error = OpenAIError;
    type Future = Pin<Box<dyn Future<Output = Result<Response, OpenAIError>> + Send + 'static>>;

    fn poll_ready(&mut self, _cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, factory: HttpRequestFactory) -> Self::Future {
        let client = self.client.clone();
        let policy = self.policy.clone();
        Box::pin(async move {
            let mut attempt = 0u32;
            loop {
                let request = factory.build().await?;
                let last = attempt >= policy.max_retries;
                let wait =
                    match tokio::time::timeout(policy.request_timeout, client.execute(request))
                        .await
                    {
                        Err(_elapsed) if last => {
                            return Err(OpenAIError::Boxed(Box::new(AttemptTimedOut(
                                policy.request_timeout,
                            ))));
                        }
                        Err(_elapsed) => policy.backoff(attempt),
                        Ok(Err(error)) if last || !retryable_error(&error) => {
                            return Err(OpenAIError::Reqwest(error));
                        }
                        Ok(Err(_)) => policy.backoff(attempt),
                        Ok(Ok(response)) if last || !retryable_status(response.status()) => {
                            return Ok(openai_shaped(split_events(response)).await);
                        }
                        Ok(Ok(response)) => retry_after(response.headers())
                            .map(|wait| wait.min(policy.max_retry_after))
                            .unwrap_or_else(|| policy.backoff(attempt)),
                    };
                tracing::warn!(attempt, ?wait, "model request failed; retrying");
                tokio::time::sleep(wait).await;
                attempt += 1;
            }
        })
    }
}

/// The response with its body cut after every blank line (`\n\n`) when it is a successful
/// event stream; anything else unchanged. The pieces share the received buffers.
fn split_events(response: Response) -> Response {
    let is_event_stream = response
        .headers()
        .get(reqwest::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("text/event-stream"));
    if !response.status().is_success() || !is_event_stream {
        return response;
    }
    let status = response.status();
    let version = response.version();
    let headers = response.headers().clone();
    let pieces = response.bytes_stream().flat_map(|chunk| {
        let pieces: Vec<Result<Bytes, reqwest::Error>> = match chunk {
            Ok(chunk) => event_pieces(chunk).into_iter().map(Ok).collect(),
            Err(error) => vec![Err(error)],
        };
        futures::stream::iter(pieces)
    });
    let mut split = http::Response::new(reqwest::Body::wrap_stream(pieces));
    *split.status_mut() = status;
    *split.version_mut() = version;
    *split.headers_mut() = headers;
    Response::from(split)
}

/// `chunk` cut after every `\n\n`; the last piece is what follows the last boundary.
fn event_pieces(mut chunk: Bytes) -> Vec<Bytes> {
    let mut pieces = Vec::new();
    while let Some(end) = chunk.windows(2).position(|w| w == b"\n\n") {
        pieces.push(chunk.split_to(end + 2));
    }
    if !chunk.is_empty() {
        pieces.push(chunk);
    }
    pieces
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn retry_after_reads_seconds_milliseconds_and_dates() {
        let mut headers = HeaderMap::new();
        headers.insert("retry-after", "7".parse().unwrap());
        assert_eq!(retry_after(&headers), Some(Duration::from_secs(7)));
        headers.insert("retry-after-ms", "250".parse().unwrap());
        assert_eq!(retry_after(&headers), Some(Duration::from_millis(250)));
        assert_eq!(
            httpdate_to_unix("Sun, 06 Nov 1994 08:49:37 GMT"),
            Some(784_111_777)
        );
        let mut past = HeaderMap::new();
        past.insert(
            "retry-after",
            "Sun, 06 Nov 1994 08:49:37 GMT".parse().unwrap(),
        );
        assert_eq!(retry_after(&past), Some(Duration::ZERO));
        let mut huge = HeaderMap::new();
        huge.insert("retry-after-ms", "1e30".parse().unwrap());
        assert_eq!(retry_after(&huge), Some(Duration::MAX), "no overflow panic");
    }

    #[test]
    fn event_streams_are_cut_after_every_blank_line() {
        let pieces = event_pieces(Bytes::from_static(b"data: a\n\ndata: b\n\ndata: c"));
        assert_eq!(pieces, ["data: a\n\n", "data: b\n\n", "data: c"]);
        assert_eq!(event_pieces(Bytes::from_static(b"\n\n")), ["\n\n"]);
        assert!(event_pieces(Bytes::new()).is_empty());
    }

    #[test]
    fn backoff_grows_and_is_capped() {
        let policy = RetryPolicy {
            max_retries: 4,
            base_delay: Duration::from_millis(100),
            max_delay: Duration::from_millis(350),
            max_retry_after: Duration::from_secs(60),
            request_timeout: Duration::from_secs(1),
        };
        for attempt in 0..6 {
            let wait = policy.backoff(attempt);
            let cap =
                Duration::from_millis(100 * 2u64.pow(attempt)).min(Duration::from_millis(350));
            assert!(
                wait >= cap / 2 && wait <= cap,
                "attempt {attempt}: {wait:?} vs {cap:?}"
            );
        }
    }
}
