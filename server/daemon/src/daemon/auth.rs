//! Who may talk to the HTTP listener: the checks the guard runs on every request.
//!
//! Invariants: the `Host` header must name the loopback listener (a DNS-rebinding page
//! cannot reach it); the token comes as `Authorization: Bearer`, `?token=` or the
//! dashboard's cookie, and is compared in constant time; the cookie does not authenticate
//! `/mcp` (which admits any loopback origin, so another local page could use it); only the
//! dashboard's login page and its static assets (which hold no data) are served without a
//! token; an `/api` request that can change something (any method but GET and HEAD) must
//! come from the listener's own origin when it carries an `Origin`, and must carry one when
//! only the cookie authenticates it (so no other page can make the browser send it).

use super::state::DaemonState;
use axum::extract::Request;
use axum::http::{Method, StatusCode, header};

/// Why a request was turned away.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Rejection {
    /// Answer with this status and message.
    Refused(StatusCode, &'static str),
    /// A browser asked for the dashboard without a valid token: send it to the login page.
    Login,
}

/// How a request proved it knows the token.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Credential {
    Header,
    Query,
    Cookie,
}

/// The dashboard's cookie for this listener (cookies are per host, not per port, so two
/// daemons on loopback keep theirs apart).
pub(crate) fn cookie_name(state: &DaemonState) -> String {
    format!("lathe_token_{}", port(state))
}

fn port(state: &DaemonState) -> &str {
    state.info.url.rsplit(':').next().unwrap_or_default()
}

/// Routes served without the token: the login page and the assets it loads.
fn is_public(path: &str) -> bool {
    path == "/login" || path.starts_with("/assets/")
}

pub(crate) fn check(state: &DaemonState, request: &Request) -> Result<(), Rejection> {
    let port = port(state);
    let host = header_str(request, header::HOST).unwrap_or_default();
    let loopback = ["127.0.0.1", "localhost", "[::1]"]
        .iter()
        .any(|name| host == format!("{name}:{port}"));
    if !loopback {
        return Err(Rejection::Refused(
            StatusCode::MISDIRECTED_REQUEST,
            "this listener answers only to its loopback address\n",
        ));
    }
    let path = request.uri().path();
    if is_public(path) {
        return Ok(());
    }
    let credential = match presented_token(state, request) {
        Some((credential, token))
            if constant_time_eq(token.as_bytes(), state.info.token.as_bytes()) =>
        {
            credential
        }
        Some(_) if path == "/" => return Err(Rejection::Login),
        Some(_) => {
            return Err(Rejection::Refused(
                StatusCode::UNAUTHORIZED,
                "wrong token; `lathe status` prints the current URL\n",
            ));
        }
        None if path == "/" => return Err(Rejection::Login),
        None => {
            return Err(Rejection::Refused(
                StatusCode::UNAUTHORIZED,
                "a token is required; `lathe status` prints the URL with it\n",
            ));
        }
    };
    if credential == Credential::Cookie && path == "/mcp" {
        return Err(Rejection::Refused(
            StatusCode::UNAUTHORIZED,
            "MCP clients authenticate with `Authorization: Bearer <token>`, not the dashboard's cookie\n",
        ));
    }
    // `/mcp` checks Origin itself (any loopback origin, as MCP's browser clients need).
    let mutating =
        !matches!(*request.method(), Method::GET | Method::HEAD) && path.starts_with("/api/");
    if !mutating {
        return Ok(());
    }
    match header_str(request, header::ORIGIN) {
        Some(origin)
            if origin == state.info.url || origin == format!("http://localhost:{port}") =>
        {
            Ok(())
        }
        Some(_) => Err(Rejection::Refused(
            StatusCode::FORBIDDEN,
            "requests that change something must come from this listener's own origin\n",
        )),
        None if credential == Credential::Cookie => Err(Rejection::Refused(
            StatusCode::FORBIDDEN,
            "a request authenticated by the dashboard's cookie must carry its Origin\n",
        )),
        None => Ok(()),
    }
}

fn header_str(request: &Request, name: header::HeaderName) -> Option<&str> {
    request.headers().get(name).and_then(|h| h.to_str().ok())
}

/// The token the request presents, and how: a bearer header, then `?token=`, then the cookie.
fn presented_token<'r>(state: &DaemonState, request: &'r Request) -> Option<(Credential, &'r str)> {
    if let Some(token) =
        header_str(request, header::AUTHORIZATION).and_then(|h| h.strip_prefix("Bearer "))
    {
        return Some((Credential::Header, token));
    }
    if let Some(token) = query_token(request) {
        return Some((Credential::Query, token));
    }
    let cookie = cookie_name(state);
    request
        .headers()
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|h| h.to_str().ok())
        .flat_map(|h| h.split(';'))
        .find_map(|pair| {
            let (name, value) = pair.trim().split_once('=')?;
            (name == cookie).then_some((Credential::Cookie, value))
        })
}

/// `?token=` of the request, if any.
pub(crate) fn query_token(request: &Request) -> Option<&str> {
    request
        .uri()
        .query()
        .and_then(|q| q.split('&').find_map(|pair| pair.strip_prefix("token=")))
}

fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}
