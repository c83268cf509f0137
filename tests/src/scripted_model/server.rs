//! The HTTP side of the scripted model: an axum server on 127.0.0.1:0 answering
//! `POST /v1/chat/completions` (and `/chat/completions`) from the script, recording every
//! request, and turning stream frames into bytes (delays, cuts and stalls included).

use super::script::{Expect, HttpError, Script, Step};
use super::wire::{Frame, ReplyContext, completion_body, stream_frames};
use axum::Router;
use axum::body::{Body, Bytes};
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use futures::StreamExt;
use serde_json::{Value, json};
use std::collections::VecDeque;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

/// One request the server received.
#[derive(Clone, Debug, PartialEq)]
pub struct RecordedRequest {
    pub path: String,
    /// The `Authorization` header, if any.
    pub authorization: Option<String>,
    /// The JSON body as sent.
    pub body: Value,
}

impl RecordedRequest {
    /// The messages of the request.
    pub fn messages(&self) -> Vec<Value> {
        self.body["messages"]
            .as_array()
            .cloned()
            .unwrap_or_default()
    }

    /// The text of the first system (or developer) message.
    pub fn system_prompt(&self) -> Option<String> {
        self.messages()
            .iter()
            .find(|m| m["role"] == "system" || m["role"] == "developer")
            .map(|m| content_text(&m["content"]))
    }

    /// The text of the last user message.
    pub fn last_user_message(&self) -> Option<String> {
        self.messages()
            .iter()
            .rev()
            .find(|m| m["role"] == "user")
            .map(|m| content_text(&m["content"]))
    }

    /// The texts of every tool message, in order.
    pub fn tool_results(&self) -> Vec<String> {
        self.messages()
            .iter()
            .filter(|m| m["role"] == "tool")
            .map(|m| content_text(&m["content"]))
            .collect()
    }

    /// The names of the tools offered, in order.
    pub fn tool_names(&self) -> Vec<String> {
        self.body["tools"]
            .as_array()
            .map(|tools| {
                tools
                    .iter()
                    .filter_map(|t| t["function"]["name"].as_str().map(str::to_owned))
                    .collect()
            })
            .unwrap_or_default()
    }

    /// Whether the request asked for a stream.
    pub fn is_stream(&self) -> bool {
        self.body["stream"] == true
    }
}

/// Message content as text: a string, or the text parts of an array.
fn content_text(content: &Value) -> String {
    match content {
        Value::String(text) => text.clone(),
        Value::Array(parts) => parts
            .iter()
            .filter_map(|p| p["text"].as_str())
            .collect::<Vec<_>>()
            .join(""),
        _ => String::new(),
    }
}

/// Why a request was not answered by its step.
fn unmet(expect: &Expect, request: &RecordedRequest) -> Option<String> {
    if let Some(want) = &expect.user_contains {
        let got = request.last_user_message().unwrap_or_default();
        if !got.contains(want.as_str()) {
            return Some(format!("last user message {got:?} lacks {want:?}"));
        }
    }
    if let Some(want) = &expect.system_contains {
        let got = request.system_prompt().unwrap_or_default();
        if !got.contains(want.as_str()) {
            return Some(format!("system prompt lacks {want:?}"));
        }
    }
    if let Some(want) = &expect.tool_result_contains
        && !request
            .tool_results()
            .iter()
            .any(|r| r.contains(want.as_str()))
    {
        return Some(format!(
            "no tool result contains {want:?}; results: {:?}",
            request.tool_results()
        ));
    }
    let offered = request.tool_names();
    let missing: Vec<&String> = expect
        .tools_include
        .iter()
        .filter(|t| !offered.contains(t))
        .collect();
    if !missing.is_empty() {
        return Some(format!(
            "tools {missing:?} not offered; offered {offered:?}"
        ));
    }
    None
}

#[derive(Debug, Default)]
struct Inner {
    supports_usage: bool,
    steps: VecDeque<Step>,
    /// Steps pushed by the test; they answer before the script continues.
    injected: VecDeque<Step>,
    played: usize,
    requests: Vec<RecordedRequest>,
    mismatches: Vec<String>,
}

/// State shared between the handle and the server task.
#[derive(Debug)]
pub(super) struct Shared {
    inner: Mutex<Inner>,
    request_count: tokio::sync::watch::Sender<usize>,
}

impl Shared {
    pub(super) fn new(script: Script) -> Arc<Self> {
        Arc::new(Self {
            inner: Mutex::new(Inner {
                supports_usage: script.supports_usage,
                steps: script.steps.into(),
                ..Inner::default()
            }),
            request_count: tokio::sync::watch::channel(0).0,
        })
    }

    fn lock(&self) -> MutexGuard<'_, Inner> {
        self.inner
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    pub(super) fn requests(&self) -> Vec<RecordedRequest> {
        self.lock().requests.clone()
    }

    pub(super) fn mismatches(&self) -> Vec<String> {
        self.lock().mismatches.clone()
    }

    pub(super) fn remaining_steps(&self) -> usize {
        let inner = self.lock();
        inner.steps.len() + inner.injected.len()
    }

    pub(super) fn ends_with_repeat(&self) -> bool {
        self.lock().steps.back().is_some_and(|step| step.repeat)
    }

    pub(super) fn inject(&self, step: Step) {
        self.lock().injected.push_back(step);
    }

    pub(super) fn subscribe_count(&self) -> tokio::sync::watch::Receiver<usize> {
        self.request_count.subscribe()
    }

    /// Records the request and picks its step: `(step index, step, include usage)` or why not.
    fn take(&self, request: RecordedRequest) -> Result<(usize, Step, bool), String> {
        let mut inner = self.lock();
        let number = inner.requests.len() + 1;
        inner.requests.push(request.clone());
        let step = if let Some(step) = inner.injected.pop_front() {
            Some(step)
        } else if inner.steps.len() == 1 && inner.steps.front().is_some_and(|s| s.repeat) {
            inner.steps.front().cloned()
        } else {
            inner.steps.pop_front()
        };
        let index = inner.played;
        inner.played += 1;
        let supports_usage = inner.supports_usage;
        drop(inner);
        self.request_count.send_replace(number);
        let outcome = match step {
            None => Err(format!("request {number}: the script has no step left")),
            Some(step) => match unmet(&step.expect, &request) {
                Some(why) => Err(format!("request {number} (step {index}): {why}")),
                None => {
                    let include_usage =
                        supports_usage && request.body["stream_options"]["include_usage"] == true;
                    Ok((index, step, include_usage))
                }
            },
        };
        if let Err(why) = &outcome {
            self.lock().mismatches.push(why.clone());
        }
        outcome
    }
}

pub(super) fn router(shared: Arc<Shared>) -> Router {
    Router::new()
        .route("/v1/chat/completions", post(chat_completions))
        .route("/chat/completions", post(chat_completions))
        .with_state(shared)
}

fn error_response(status: StatusCode, kind: &str, message: &str) -> Response {
    (
        status,
        [(header::CONTENT_TYPE, "application/json")],
        json!({"error": {"message": message, "type": kind, "param": null, "code": null}})
            .to_string(),
    )
        .into_response()
}

fn http_error(error: &HttpError) -> Response {
    let status = StatusCode::from_u16(error.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let message = error
        .message
        .clone()
        .unwrap_or_else(|| format!("scripted failure {}", error.status));
    let mut response = if status.is_server_error() || error.plain {
        (status, message).into_response()
    } else {
        let kind = match error.status {
            401 => "invalid_api_key",
            429 => "rate_limit_error",
            _ => "invalid_request_error",
        };
        error_response(status, kind, &message)
    };
    if let Some(secs) = error.retry_after_secs
        && let Ok(value) = secs.to_string().parse()
    {
        response.headers_mut().insert(header::RETRY_AFTER, value);
    }
    response
}

async fn chat_completions(
    State(shared): State<Arc<Shared>>,
    uri: axum::http::Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let body_value: Value = match serde_json::from_slice(&body) {
        Ok(value) => value,
        Err(err) => {
            return error_response(
                StatusCode::BAD_REQUEST,
                "invalid_request_error",
                &format!("body is not JSON: {err}"),
            );
        }
    };
    let request = RecordedRequest {
        path: uri.path().to_owned(),
        authorization: headers
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned),
        body: body_value,
    };
    let model = request.body["model"]
        .as_str()
        .unwrap_or("scripted")
        .to_owned();
    let stream = request.is_stream();
    let (index, step, include_usage) = match shared.take(request) {
        Ok(taken) => taken,
        Err(why) => {
            return error_response(
                StatusCode::BAD_REQUEST,
                "invalid_request_error",
                &format!("scripted model: {why}"),
            );
        }
    };
    let (Some(reply), None) = (&step.reply, &step.error) else {
        return match &step.error {
            Some(error) => http_error(error),
            None => error_response(
                StatusCode::INTERNAL_SERVER_ERROR,
                "server_error",
                "scripted model: step has neither reply nor error",
            ),
        };
    };
    let ctx = ReplyContext {
        completion_id: format!("chatcmpl-scripted-{index}"),
        model,
        step_index: index,
        include_usage,
        request_bytes: body.len(),
    };
    if !stream {
        return (
            [(header::CONTENT_TYPE, "application/json")],
            completion_body(reply, &ctx).to_string(),
        )
            .into_response();
    }
    let frames = stream_frames(reply, &ctx);
    let delay = Duration::from_millis(reply.token_delay_ms);
    let body = futures::stream::iter(frames).then(move |frame| async move {
        if !delay.is_zero() {
            tokio::time::sleep(delay).await;
        }
        match frame {
            Frame::Chunk(chunk) => Ok(Bytes::from(format!("data: {chunk}\n\n"))),
            Frame::Raw(text) => Ok(Bytes::from(format!("data: {text}\n\n"))),
            Frame::Done => Ok(Bytes::from_static(b"data: [DONE]\n\n")),
            Frame::Cut => {
                // Let hyper flush what was sent before the connection is dropped.
                tokio::time::sleep(Duration::from_millis(20)).await;
                Err(std::io::Error::new(
                    std::io::ErrorKind::ConnectionAborted,
                    "scripted cut",
                ))
            }
            Frame::Stall => {
                futures::future::pending::<()>().await;
                Ok(Bytes::new())
            }
        }
    });
    (
        [
            (header::CONTENT_TYPE, "text/event-stream"),
            (header::CACHE_CONTROL, "no-cache"),
        ],
        Body::from_stream(body),
    )
        .into_response()
}
