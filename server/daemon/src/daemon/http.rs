//! The daemon's HTTP listener on 127.0.0.1: `/api` (status, sessions and their events,
//! skills, approvals), `/events` (SSE), `/metrics` and `/mcp` (MCP's streamable HTTP transport for
//! the workspace named by `?workspace=<absolute path>`, else the directory the daemon
//! started in).
//!
//! Invariants: every route requires the token (`Authorization: Bearer <token>` or
//! `?token=<token>`); the `Host` header must name the loopback listener (a DNS-rebinding
//! page cannot reach it); an `/api` request that can change something (any method but GET
//! and HEAD) and carries an `Origin` must come from that listener's own origin; every response
//! carries the security headers; each request runs in its own tracing span.

use super::approvals;
use super::control::Status;
use super::sse;
use super::state::DaemonState;
use axum::Router;
use axum::extract::{Path, Query, Request, State};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{any, get, post};
use lathe_protocol::SessionId;
use lathe_store::metrics::LATENCY_BUCKETS_MS;
use serde::Deserialize;
use std::fmt::Write as _;
use std::sync::Arc;
use tower::ServiceExt;
use tracing::Instrument;

pub(crate) async fn serve(listener: tokio::net::TcpListener, state: Arc<DaemonState>) {
    let shutdown = state.shutdown.clone();
    let app = router(state);
    if let Err(error) = axum::serve(listener, app)
        .with_graceful_shutdown(async move { shutdown.cancelled().await })
        .await
    {
        tracing::error!(%error, "HTTP listener failed");
    }
}

pub(crate) fn router(state: Arc<DaemonState>) -> Router {
    Router::new()
        .route("/api/status", get(status))
        .route("/api/sessions", get(sessions))
        .route("/api/sessions/{id}/events", get(events))
        .route("/api/skills", get(skills))
        .route("/api/approvals", get(approvals::pending))
        .route("/api/approvals/{id}", post(approvals::answer))
        .route("/events", get(sse::stream))
        .route("/metrics", get(metrics))
        .route("/mcp", any(mcp))
        .fallback(|| async { (StatusCode::NOT_FOUND, "no such route\n") })
        .layer(middleware::from_fn_with_state(state.clone(), guard))
        .with_state(state)
}

async fn guard(State(state): State<Arc<DaemonState>>, request: Request, next: Next) -> Response {
    let span =
        tracing::info_span!("http", method = %request.method(), path = %request.uri().path());
    async move {
        let mut response = match check(&state, &request) {
            Ok(()) => next.run(request).await,
            Err(rejection) => rejection.into_response(),
        };
        let headers = response.headers_mut();
        headers.insert(
            header::CONTENT_SECURITY_POLICY,
            HeaderValue::from_static("default-src 'self'; frame-ancestors 'none'; base-uri 'none'"),
        );
        headers.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
        headers.insert(
            header::X_CONTENT_TYPE_OPTIONS,
            HeaderValue::from_static("nosniff"),
        );
        headers.insert(
            header::REFERRER_POLICY,
            HeaderValue::from_static("no-referrer"),
        );
        tracing::info!(status = response.status().as_u16(), "answered");
        response
    }
    .instrument(span)
    .await
}

fn check(state: &DaemonState, request: &Request) -> Result<(), (StatusCode, &'static str)> {
    let port = state.info.url.rsplit(':').next().unwrap_or_default();
    let host = request
        .headers()
        .get(header::HOST)
        .and_then(|h| h.to_str().ok())
        .unwrap_or_default();
    let loopback = ["127.0.0.1", "localhost", "[::1]"]
        .iter()
        .any(|name| host == format!("{name}:{port}"));
    if !loopback {
        return Err((
            StatusCode::MISDIRECTED_REQUEST,
            "this listener answers only to its loopback address\n",
        ));
    }
    // `/mcp` checks Origin itself (any loopback origin, as MCP's browser clients need).
    let mutating = !matches!(*request.method(), Method::GET | Method::HEAD)
        && request.uri().path().starts_with("/api/");
    let origin = request
        .headers()
        .get(header::ORIGIN)
        .map(|o| o.to_str().unwrap_or_default());
    if let Some(origin) = origin.filter(|_| mutating) {
        let own = origin == state.info.url || origin == format!("http://localhost:{port}");
        if !own {
            return Err((
                StatusCode::FORBIDDEN,
                "requests that change something must come from this listener's own origin\n",
            ));
        }
    }
    let bearer = request
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|h| h.to_str().ok())
        .and_then(|h| h.strip_prefix("Bearer "));
    let query = request
        .uri()
        .query()
        .and_then(|q| q.split('&').find_map(|pair| pair.strip_prefix("token=")));
    match bearer.or(query) {
        Some(token) if constant_time_eq(token.as_bytes(), state.info.token.as_bytes()) => Ok(()),
        Some(_) => Err((
            StatusCode::UNAUTHORIZED,
            "wrong token; `lathe status` prints the current URL\n",
        )),
        None => Err((
            StatusCode::UNAUTHORIZED,
            "a token is required; `lathe status` prints the URL with it\n",
        )),
    }
}

fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

async fn status(State(state): State<Arc<DaemonState>>) -> Response {
    axum::Json(Status::of(&state)).into_response()
}

async fn sessions(State(state): State<Arc<DaemonState>>) -> Response {
    match state.store.sessions() {
        Ok(sessions) => axum::Json(sessions).into_response(),
        Err(error) => store_error(error),
    }
}

#[derive(Deserialize)]
struct EventsQuery {
    #[serde(default)]
    after: u64,
    limit: Option<usize>,
}

async fn events(
    State(state): State<Arc<DaemonState>>,
    Path(id): Path<String>,
    Query(query): Query<EventsQuery>,
) -> Response {
    let session = SessionId::from(id);
    match state.store.session(&session) {
        Ok(None) => (StatusCode::NOT_FOUND, format!("no session {session}\n")).into_response(),
        Err(error) => store_error(error),
        Ok(Some(_)) => match state.store.events(
            &session,
            query.after,
            query.limit.unwrap_or(1000).min(10_000),
        ) {
            Ok(events) => axum::Json(events).into_response(),
            Err(error) => store_error(error),
        },
    }
}

fn store_error(error: lathe_store::StoreError) -> Response {
    tracing::error!(%error, "store read failed");
    (StatusCode::INTERNAL_SERVER_ERROR, format!("{error}\n")).into_response()
}

#[derive(Deserialize)]
struct McpQuery {
    workspace: Option<std::path::PathBuf>,
}

/// The skills of `?workspace=` (default: the daemon's directory), from the registry every
/// surface uses: the dashboard's actions.
async fn skills(State(state): State<Arc<DaemonState>>, Query(query): Query<McpQuery>) -> Response {
    let workspace = query
        .workspace
        .unwrap_or_else(|| state.default_workspace.clone());
    let roots = state.workspaces.paths().skill_roots(Some(&workspace));
    axum::Json(lathe_skills::Registry::new(roots).snapshot().listing(None)).into_response()
}

/// MCP's streamable HTTP transport, one service (with its sessions) per workspace.
async fn mcp(
    State(state): State<Arc<DaemonState>>,
    Query(query): Query<McpQuery>,
    request: Request,
) -> Response {
    let workspace = query
        .workspace
        .unwrap_or_else(|| state.default_workspace.clone());
    if !workspace.is_absolute() {
        let message = format!(
            "the workspace must be an absolute path, got {}\n",
            workspace.display()
        );
        return (StatusCode::BAD_REQUEST, message).into_response();
    }
    match state.workspaces.mcp_http(&workspace).await {
        Ok(service) => match service.oneshot(request).await {
            Ok(response) => response.map(axum::body::Body::new),
            Err(never) => match never {},
        },
        Err(error) => {
            tracing::warn!(workspace = %workspace.display(), error = %format!("{error:#}"), "MCP unavailable");
            let message = format!(
                "Lathe cannot serve MCP for {}: {error:#}\n",
                workspace.display()
            );
            (StatusCode::BAD_REQUEST, message).into_response()
        }
    }
}

/// Prometheus text exposition of the rollups.
async fn metrics(State(state): State<Arc<DaemonState>>) -> Response {
    let rollups = match state.store.metrics() {
        Ok(metrics) => metrics,
        Err(error) => return store_error(error),
    };
    let mut text = String::new();
    let _ = writeln!(
        text,
        "# TYPE lathe_uptime_seconds gauge\nlathe_uptime_seconds {}",
        state.started.elapsed().as_secs()
    );
    let _ = writeln!(
        text,
        "# TYPE lathe_sessions gauge\nlathe_sessions {}",
        state.store.sessions().map(|s| s.len()).unwrap_or(0)
    );
    let _ = writeln!(
        text,
        "# TYPE lathe_store_bytes gauge\nlathe_store_bytes {}",
        state.store.size_bytes()
    );
    for (name, value) in rollups
        .totals
        .iter()
        .filter(|(name, _)| !name.contains("_le_"))
    {
        let _ = writeln!(
            text,
            "# TYPE lathe_{name}_total counter\nlathe_{name}_total {value}"
        );
    }
    for histogram in ["model_latency_ms", "model_ttft_ms"] {
        let _ = writeln!(text, "# TYPE lathe_{histogram} histogram");
        let mut cumulative = 0;
        for bound in LATENCY_BUCKETS_MS {
            let bucket = lathe_store::metrics::latency_bucket(histogram, bound);
            cumulative += rollups.totals.get(&bucket).copied().unwrap_or(0);
            let le = if bound == u64::MAX {
                "+Inf".to_owned()
            } else {
                bound.to_string()
            };
            let _ = writeln!(text, "lathe_{histogram}_bucket{{le=\"{le}\"}} {cumulative}");
        }
        let _ = writeln!(text, "lathe_{histogram}_count {cumulative}");
    }
    let mut headers = HeaderMap::new();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/plain; version=0.0.4"),
    );
    (headers, text).into_response()
}
