//! SSE polling (SEP-1699): ending the SSE stream of a `tools/call` POST before its result,
//! so the client reconnects with `GET` and `Last-Event-ID` and rmcp replays what the
//! stream carried since that id.
//!
//! rmcp starts every request stream with a priming event (an id and `retry`), caches what
//! it sends per request stream, and resumes a stream from `Last-Event-ID`; what it does not
//! offer a handler is ending its own stream. [`ResponseStreams`] tracks the open response
//! stream of each `tools/call` (keyed by MCP session id and JSON-RPC request id) and ends
//! it on request.
//!
//! Invariants: an entry lives exactly as long as its response body; ending a stream first
//! delivers the frames already produced (so the priming event's id reaches the client) and
//! never loses a message (rmcp keeps sending into its cache, which the resume replays);
//! only servers built with the conformance fixtures track streams.

use bytes::Bytes;
use http_body::{Body, Frame};
use http_body_util::BodyExt;
use http_body_util::combinators::BoxBody;
use serde_json::Value;
use std::collections::HashMap;
use std::convert::Infallible;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use tokio_util::sync::{CancellationToken, WaitForCancellationFutureOwned};

/// The header carrying the MCP session id.
pub(crate) const SESSION_HEADER: &str = "mcp-session-id";

type Key = (String, String);

/// The open response streams of `tools/call` requests, by session and request id.
#[derive(Debug, Default)]
pub struct ResponseStreams {
    open: Mutex<HashMap<Key, CancellationToken>>,
}

impl ResponseStreams {
    /// Ends the response stream of request `request_id` (a JSON-RPC id) in MCP session
    /// `session`. False when no such stream is open.
    pub fn end(&self, session: &str, request_id: &Value) -> bool {
        let key = (session.to_owned(), request_id.to_string());
        match self.lock().get(&key) {
            Some(token) => {
                token.cancel();
                true
            }
            None => false,
        }
    }

    /// The session and JSON-RPC id of a `tools/call` POST, when `body` is one.
    pub fn key_of(headers: &http::HeaderMap, body: &[u8]) -> Option<Key> {
        let session = headers.get(SESSION_HEADER)?.to_str().ok()?.to_owned();
        let message: Value = serde_json::from_slice(body).ok()?;
        if message["method"] != "tools/call" {
            return None;
        }
        Some((session, message.get("id")?.to_string()))
    }

    /// Wraps `body`, the response to the request at `key`, so that [`Self::end`] can end it.
    pub fn track(
        self: &Arc<Self>,
        key: Key,
        body: BoxBody<Bytes, Infallible>,
    ) -> BoxBody<Bytes, Infallible> {
        let token = CancellationToken::new();
        self.lock().insert(key.clone(), token.clone());
        EndableBody {
            inner: body,
            ended: Box::pin(token.cancelled_owned()),
            entry: Entry {
                streams: self.clone(),
                key,
            },
        }
        .boxed()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<Key, CancellationToken>> {
        self.open
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

/// Removes its stream's entry when the body is dropped.
struct Entry {
    streams: Arc<ResponseStreams>,
    key: Key,
}

impl Drop for Entry {
    fn drop(&mut self) {
        self.streams.lock().remove(&self.key);
    }
}

/// A response body that ends early once its token is cancelled and no frame is ready.
struct EndableBody {
    inner: BoxBody<Bytes, Infallible>,
    ended: Pin<Box<WaitForCancellationFutureOwned>>,
    entry: Entry,
}

impl Body for EndableBody {
    type Data = Bytes;
    type Error = Infallible;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Infallible>>> {
        if let Poll::Ready(frame) = Pin::new(&mut self.inner).poll_frame(cx) {
            return Poll::Ready(frame);
        }
        match self.ended.as_mut().poll(cx) {
            Poll::Ready(()) => {
                tracing::debug!(request = %self.entry.key.1, "ended a tools/call SSE stream; the client resumes with Last-Event-ID");
                Poll::Ready(None)
            }
            Poll::Pending => Poll::Pending,
        }
    }
}
