//! MCP over streamable HTTP at `/mcp`: rmcp's transport behind Lathe's guard.
//!
//! The guard checks, before rmcp sees the request: the bearer token (`Authorization:
//! Bearer <token>`, the daemon's runtime token) unless the service was built in the
//! loopback no-auth mode, which exists for the conformance suite and must be asked for.
//! rmcp then checks `Host` (loopback names only: a DNS-rebinding page cannot reach the
//! server) and `Origin` (absent, or a loopback origin).
//!
//! With the conformance fixtures, a `tools/call` POST's response stream is tracked so the
//! `test_reconnection` fixture can end it mid-call (SSE polling, see `polling.rs`).
//!
//! Invariants: a request without the token never reaches a handler; the no-auth mode keeps
//! the Host and Origin checks; the service is a plain `tower::Service` over `http` types,
//! so the daemon mounts it with `Router::nest_service("/mcp", …)`.

use super::polling::ResponseStreams;
use super::{LatheServer, Shared};
use bytes::Bytes;
use futures::future::BoxFuture;
use http_body_util::{BodyExt, Full, combinators::BoxBody};
use rmcp::transport::streamable_http_server::session::local::LocalSessionManager;
use rmcp::transport::{StreamableHttpServerConfig, StreamableHttpService};
use std::convert::Infallible;
use std::sync::Arc;
use std::task::{Context, Poll};
use tokio_util::sync::CancellationToken;

/// How `/mcp` is guarded.
#[derive(Clone, Debug)]
pub struct HttpOptions {
    /// The bearer token every request must carry; `None` is the loopback no-auth mode
    /// (tests and the conformance suite only).
    pub token: Option<String>,
    /// Cancelled to end every HTTP session (daemon shutdown).
    pub shutdown: CancellationToken,
}

type Inner = StreamableHttpService<LatheServer, LocalSessionManager>;

/// The `/mcp` service. Cheap to clone.
#[derive(Clone)]
pub struct McpHttpService {
    inner: Inner,
    token: Option<Arc<str>>,
    streams: Option<Arc<ResponseStreams>>,
}

impl std::fmt::Debug for McpHttpService {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("McpHttpService")
            .field("auth", &self.token.is_some())
            .finish()
    }
}

/// Builds the `/mcp` service over `shared`.
pub fn http_service(shared: Arc<Shared>, options: HttpOptions) -> McpHttpService {
    let config = StreamableHttpServerConfig::default()
        .with_allowed_hosts(["localhost", "127.0.0.1", "::1", "[::1]"])
        .with_allowed_origins(["http://localhost:*", "http://127.0.0.1:*", "http://[::1]:*"])
        .enforce_origin_validation()
        .with_cancellation_token(options.shutdown.child_token());
    let streams = shared.response_streams.clone();
    let inner = StreamableHttpService::new(
        move || Ok(LatheServer::new(shared.clone())),
        Arc::new(LocalSessionManager::default()),
        config,
    );
    McpHttpService {
        inner,
        token: options.token.map(Into::into),
        streams,
    }
}

fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

fn unauthorized(message: &'static str) -> http::Response<BoxBody<Bytes, Infallible>> {
    let mut response =
        http::Response::new(Full::new(Bytes::from_static(message.as_bytes())).boxed());
    *response.status_mut() = http::StatusCode::UNAUTHORIZED;
    response.headers_mut().insert(
        http::header::WWW_AUTHENTICATE,
        http::HeaderValue::from_static("Bearer realm=\"lathe\""),
    );
    response
}

impl McpHttpService {
    fn check<B>(&self, request: &http::Request<B>) -> Result<(), &'static str> {
        let Some(token) = &self.token else {
            return Ok(());
        };
        let bearer = request
            .headers()
            .get(http::header::AUTHORIZATION)
            .and_then(|h| h.to_str().ok())
            .and_then(|h| h.strip_prefix("Bearer "));
        match bearer {
            Some(given) if constant_time_eq(given.as_bytes(), token.as_bytes()) => Ok(()),
            Some(_) => Err("wrong token; `lathe status` prints the current one\n"),
            None => Err(
                "a bearer token is required (Authorization: Bearer <token>); `lathe status` prints it\n",
            ),
        }
    }
}

impl<B> tower::Service<http::Request<B>> for McpHttpService
where
    B: http_body::Body + Send + 'static,
    B::Error: std::fmt::Display,
    B::Data: Send + 'static,
{
    type Response = http::Response<BoxBody<Bytes, Infallible>>;
    type Error = Infallible;
    type Future = BoxFuture<'static, Result<Self::Response, Infallible>>;

    fn poll_ready(&mut self, _cx: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, request: http::Request<B>) -> Self::Future {
        if let Err(message) = self.check(&request) {
            return Box::pin(async move { Ok(unauthorized(message)) });
        }
        let inner = self.inner.clone();
        match self.streams.clone() {
            Some(streams) if request.method() == http::Method::POST => {
                Box::pin(tracked(inner, streams, request))
            }
            _ => Box::pin(async move { Ok(inner.handle(request).await) }),
        }
    }
}

/// Serves `request` with its response stream tracked in `streams` when it is a `tools/call`.
async fn tracked<B>(
    inner: Inner,
    streams: Arc<ResponseStreams>,
    request: http::Request<B>,
) -> Result<http::Response<BoxBody<Bytes, Infallible>>, Infallible>
where
    B: http_body::Body + Send + 'static,
    B::Error: std::fmt::Display,
{
    let (parts, body) = request.into_parts();
    let body = match body.collect().await {
        Ok(collected) => collected.to_bytes(),
        Err(e) => {
            let mut response = http::Response::new(
                Full::new(Bytes::from(format!("unreadable body: {e}\n"))).boxed(),
            );
            *response.status_mut() = http::StatusCode::BAD_REQUEST;
            return Ok(response);
        }
    };
    let key = ResponseStreams::key_of(&parts.headers, &body);
    let response = inner
        .handle(http::Request::from_parts(parts, Full::new(body)))
        .await;
    let is_stream = response
        .headers()
        .get(http::header::CONTENT_TYPE)
        .is_some_and(|v| v.as_bytes().starts_with(b"text/event-stream"));
    Ok(match key {
        Some(key) if is_stream => response.map(|body| streams.track(key, body)),
        _ => response,
    })
}
