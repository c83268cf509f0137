//! The dashboard: one page (sessions, a session's live transcript, approvals, metrics, MCP
//! servers) built from the files in `assets/`, embedded in the binary, over the same `/api`
//! and `/events` every HTTP client uses. There is no build step: the page is hand-written
//! HTML, CSS and one ES module.
//!
//! Invariants: `/?token=` trades the token for an HttpOnly, SameSite=Strict cookie and
//! redirects to `/`, so the token leaves the address bar and history; `/login` and
//! `/assets/*` are the only routes served without a token (they carry no data); the page
//! runs no inline script or style, so the CSP `default-src 'self'` holds.

use super::auth;
use super::state::DaemonState;
use axum::extract::{Path, Request, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use std::sync::Arc;

/// A file of the page: its name under `/assets/`, content type and bytes.
struct Asset {
    name: &'static str,
    content_type: &'static str,
    body: &'static str,
}

const ASSETS: [Asset; 3] = [
    Asset {
        name: "app.js",
        content_type: "text/javascript; charset=utf-8",
        body: include_str!("assets/app.js"),
    },
    Asset {
        name: "app.css",
        content_type: "text/css; charset=utf-8",
        body: include_str!("assets/app.css"),
    },
    Asset {
        name: "login.css",
        content_type: "text/css; charset=utf-8",
        body: include_str!("assets/login.css"),
    },
];

const INDEX: &str = include_str!("assets/index.html");
const LOGIN: &str = include_str!("assets/login.html");

/// `GET /`: the page, or (with `?token=`) the cookie and a redirect to the bare URL.
pub(crate) async fn index(State(state): State<Arc<DaemonState>>, request: Request) -> Response {
    if auth::query_token(&request).is_some() {
        // The guard has checked the token.
        let cookie = format!(
            "{}={}; Path=/; HttpOnly; SameSite=Strict",
            auth::cookie_name(&state),
            state.info.token
        );
        let mut response = Redirect::to("/").into_response();
        if let Ok(value) = HeaderValue::from_str(&cookie) {
            response.headers_mut().insert(header::SET_COOKIE, value);
        }
        return response;
    }
    page(INDEX)
}

/// `GET /login`: asks for the URL `lathe status` prints.
pub(crate) async fn login() -> Response {
    page(LOGIN)
}

/// Where a browser without a valid token is sent.
pub(crate) fn to_login() -> Response {
    Redirect::to("/login").into_response()
}

/// `GET /assets/{name}`.
pub(crate) async fn asset(Path(name): Path<String>) -> Response {
    match ASSETS.iter().find(|asset| asset.name == name) {
        Some(asset) => (
            [
                (header::CONTENT_TYPE, asset.content_type),
                (header::CACHE_CONTROL, "no-cache"),
            ],
            asset.body,
        )
            .into_response(),
        None => (StatusCode::NOT_FOUND, format!("no asset {name}\n")).into_response(),
    }
}

fn page(html: &'static str) -> Response {
    (
        [
            (header::CONTENT_TYPE, "text/html; charset=utf-8"),
            (header::CACHE_CONTROL, "no-store"),
        ],
        html,
    )
        .into_response()
}
