//! The dashboard: one page (sessions and new runs, a session's live transcript, approvals,
//! metrics, MCP servers) built from the files in `assets/`, embedded in the binary, over the
//! same `/api` and `/events` every HTTP client uses. There is no build step: the page is
//! hand-written HTML, CSS and one ES module.
//!
//! Invariants: the page and its assets are static and hold no data, so they are served
//! without a token; the page keeps the token in its origin's `localStorage` (taken from
//! `/?token=`, then removed from the address bar, or typed into its sign-in form) and sends
//! it as a bearer header (`?token=` for `EventSource`); it runs no inline script or style,
//! so the CSP `default-src 'self'` holds.

use axum::extract::Path;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};

/// A file of the page: its name under `/assets/`, content type and bytes.
struct Asset {
    name: &'static str,
    content_type: &'static str,
    body: &'static str,
}

const ASSETS: [Asset; 2] = [
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
];

/// `GET /`: the page.
pub(crate) async fn index() -> Response {
    (
        [
            (header::CONTENT_TYPE, "text/html; charset=utf-8"),
            (header::CACHE_CONTROL, "no-store"),
        ],
        include_str!("assets/index.html"),
    )
        .into_response()
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
