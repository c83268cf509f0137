//! Who may talk to the HTTP listener: the checks the guard runs on every request.
//!
//! Invariants: the `Host` header must name the loopback listener (a DNS-rebinding page
//! cannot reach it); the token comes as `Authorization: Bearer` or `?token=` (for clients
//! that cannot set headers, such as an `EventSource`) and is compared in constant time; no cookie ever authenticates
//! (browsers share cookies across a host's ports, so any other local server would receive
//! it); only the dashboard's static page and assets, which hold no data, are served
//! without a token; an `/api` request that can change something (any method but GET and
//! HEAD) and carries an `Origin` must come from the listener's own origin.

use super::state::DaemonState;
use axum::extract::Request;
use axum::http::{Method, StatusCode, header};

/// Why a request was turned away: the status and the message.
pub(crate) type Rejection = (StatusCode, &'static str);

/// Routes served without the token: the dashboard's page and the assets it loads.
fn is_public(path: &str) -> bool {
    path == "/" || path.starts_with("/assets/")
}

pub(crate) fn check(state: &DaemonState, request: &Request) -> Result<(), Rejection> {
    let port = state.info.url.rsplit(':').next().unwrap_or_default();
    let host = header_str(request, header::HOST).unwrap_or_default();
    let loopback = ["127.0.0.1", "localhost", "[::1]"]
        .iter()
        .any(|name| host == format!("{name}:{port}"));
    if !loopback {
        return Err((
            StatusCode::MISDIRECTED_REQUEST,
            "this listener answers only to its loopback address\n",
        ));
    }
    let path = request.uri().path();
    if is_public(path) {
        return Ok(());
    }
    match presented_token(request) {
        Some(token) if constant_time_eq(token.as_bytes(), state.info.token.as_bytes()) => {}
        Some(_) => {
            return Err((
                StatusCode::UNAUTHORIZED,
                "wrong token; `lathe status` prints the current URL\n",
            ));
        }
        None => {
            return Err((
                StatusCode::UNAUTHORIZED,
                "a token is required; `lathe status` prints the URL with it\n",
            ));
        }
    }
    // `/mcp` checks Origin itself (any loopback origin, as MCP's browser clients need).
    let mutating =
        !matches!(*request.method(), Method::GET | Method::HEAD) && path.starts_with("/api/");
    match header_str(request, header::ORIGIN) {
        Some(origin)
            if mutating
                && origin != state.info.url
                && origin != format!("http://localhost:{port}") =>
        {
            Err((
                StatusCode::FORBIDDEN,
                "requests that change something must come from this listener's own origin\n",
            ))
        }
        _ => Ok(()),
    }
}

fn header_str(request: &Request, name: header::HeaderName) -> Option<&str> {
    request.headers().get(name).and_then(|h| h.to_str().ok())
}

/// The token the request presents: the bearer header, else `?token=`.
fn presented_token(request: &Request) -> Option<&str> {
    header_str(request, header::AUTHORIZATION)
        .and_then(|h| h.strip_prefix("Bearer "))
        .or_else(|| {
            request
                .uri()
                .query()
                .and_then(|q| q.split('&').find_map(|pair| pair.strip_prefix("token=")))
        })
}

fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}
