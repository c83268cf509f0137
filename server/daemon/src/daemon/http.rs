//! The daemon's HTTP listener on 127.0.0.1: the dashboard (`/`, `/assets`), `/api`
//! (status, sessions and their events, skills, approvals, MCP servers' questions, metrics,
//! the dashboard's runs),
//! `/events` (SSE), `/metrics` and `/mcp` (MCP's streamable HTTP transport for the
//! workspace named by `?workspace=<absolute path>`, else the directory the daemon started
//! in).
//!
//! Invariants: every request passes the guard's checks (`auth.rs`: loopback `Host`; the
//! token, except for the dashboard's static page and assets; Origin on mutating requests)
//! before any handler runs; every response carries the security headers; each request
//! runs in its own tracing span.

use super::auth;
use super::control::Status;
use super::state::DaemonState;
use super::{approvals, dashboard, metrics, questions, runs, sse};
use axum::Router;
use axum::extract::{Path, Query, Request, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{any, get, post};
use lathe_protocol::{SessionId, SessionMeta};
use serde::Deserialize;
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
        .route("/", get(dashboard::index))
        .route("/assets/{name}", get(dashboard::asset))
        .route("/api/status", get(status))
        .route("/api/sessions", get(sessions))
        .route("/api/sessions/{id}", get(session))
        .route("/api/sessions/{id}/events", get(events))
        .route("/api/sessions/{id}/messages", post(runs::reply))
        .route("/api/sessions/{id}/cancel", post(runs::cancel))
        .route("/api/skills", get(skills))
        .route("/api/approvals", get(approvals::pending))
        .route("/api/approvals/{id}", post(approvals::answer))
        .route("/api/questions", get(questions::pending))
        .route("/api/questions/{id}", post(questions::answer))
        .route("/api/metrics", get(metrics::json))
        .route("/api/runs", get(runs::running).post(runs::start))
        .route("/events", get(sse::stream))
        .route("/metrics", get(metrics::prometheus))
        .route("/mcp", any(mcp))
        .fallback(|| async { (StatusCode::NOT_FOUND, "no such route\n") })
        .layer(middleware::from_fn_with_state(state.clone(), guard))
        .with_state(state)
}

async fn guard(State(state): State<Arc<DaemonState>>, request: Request, next: Next) -> Response {
    let span =
        tracing::info_span!("http", method = %request.method(), path = %request.uri().path());
    async move {
        let mut response = match auth::check(&state, &request) {
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

async fn status(State(state): State<Arc<DaemonState>>) -> Response {
    axum::Json(Status::of(&state)).into_response()
}

/// The filters of `GET /api/sessions`; each one given must match.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct SessionsQuery {
    /// Words that must all appear (ignoring case) in the title, id, workspace or model.
    q: Option<String>,
    /// `idle`, `running`, `finished`, `failed` or `cancelled`.
    status: Option<lathe_protocol::SessionStatus>,
    /// The surface that started it: `cli`, `lsp`, `mcp`, `dashboard`.
    origin: Option<String>,
    /// The workspace root, exactly.
    workspace: Option<String>,
    /// The credential, when it comes as `?token=` (the guard checks it).
    #[serde(rename = "token")]
    _token: Option<serde::de::IgnoredAny>,
}

impl SessionsQuery {
    fn matches(&self, session: &SessionMeta) -> bool {
        let haystack = format!(
            "{} {} {} {}",
            session.title,
            session.id,
            session.workspace,
            session.model.as_deref().unwrap_or_default()
        )
        .to_lowercase();
        let words = self.q.as_deref().unwrap_or_default().to_lowercase();
        words.split_whitespace().all(|word| haystack.contains(word))
            && self.status.is_none_or(|status| status == session.status)
            && self.origin.as_ref().is_none_or(|o| *o == session.origin)
            && self
                .workspace
                .as_ref()
                .is_none_or(|w| *w == session.workspace)
    }
}

/// `GET /api/sessions`: the store's list (most recently updated first), filtered by the query.
async fn sessions(
    State(state): State<Arc<DaemonState>>,
    Query(query): Query<SessionsQuery>,
) -> Response {
    match state.store.sessions() {
        Ok(mut sessions) => {
            sessions.retain(|session| query.matches(session));
            axum::Json(sessions).into_response()
        }
        Err(error) => store_error(error),
    }
}

/// `GET /api/sessions/{id}`: one session's metadata.
async fn session(State(state): State<Arc<DaemonState>>, Path(id): Path<String>) -> Response {
    let session = SessionId::from(id);
    match state.store.session(&session) {
        Ok(Some(meta)) => axum::Json(meta).into_response(),
        Ok(None) => (StatusCode::NOT_FOUND, format!("no session {session}\n")).into_response(),
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

pub(crate) fn store_error(error: lathe_store::StoreError) -> Response {
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
    if !workspace.is_absolute() {
        let message = format!(
            "the workspace must be an absolute path, got {:?}\n",
            workspace.display().to_string()
        );
        return (StatusCode::BAD_REQUEST, message).into_response();
    }
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
