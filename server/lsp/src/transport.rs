//! The connection loop: LSP base-protocol framing in and out, document sync applied in
//! order, everything else dispatched to tower-lsp-server's service.
//!
//! ```text
//! reader (this future) ──► sync notifications: numbered ──► sync task: applied in order
//!         │            ──► initialize: answered before reading on
//!         │            ──► other requests: spawned (bounded), responses ─┐
//!         │            ──► client responses ──► the service's pending map │
//!         ▼                                                               ▼
//!   malformed input ──► ParseError / InvalidRequest ──────────────► writer task ──► out
//!                                               server-to-client requests ──┘
//! ```
//!
//! Every message read runs in an `lsp` span (method, and the request id or the sync
//! number), so that whatever it logs says which request it served.
//!
//! Invariants: `didOpen`/`didChange`/`didClose` are numbered as they are read and applied
//! strictly in that order by one sync task on a blocking thread, which finishes paused
//! reparses while none is waiting (tower-lsp-server alone
//! would run notification handlers concurrently; reparsing stays off the async workers); a request is dispatched only once every earlier sync
//! notification is applied — except `textDocument/codeAction` on an open document, whose
//! listing reads no text, so that typing never delays the lightbulb;
//! `window/workDoneProgress/cancel` is applied as it is read; a body that
//! is not JSON or not JSON-RPC is answered with an error and the connection goes on; only
//! broken framing (no usable `Content-Length`, a body over the size limit) ends it, after
//! a `ParseError`; ending the connection, however it happens, stops following runs but
//! never stops the runs.

use crate::connection::Conn;
use crate::ext;
use crate::handlers::{self, sync::Notice};
use crate::server::Backend;
use crate::services::LspServices;
use futures::{SinkExt, StreamExt};
use serde_json::Value;
use std::sync::Arc;
use tokio::io::{AsyncBufReadExt, AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt, BufReader};
use tokio::sync::{Semaphore, mpsc};
use tower::{Service, ServiceExt};
use tower_lsp_server::gen_lsp_types as lsp;
use tower_lsp_server::jsonrpc::{self, Request, Response};
use tower_lsp_server::{ClientSocket, LspService};
use tracing::Instrument;

/// Largest message body accepted.
const MAX_BODY: usize = 64 * 1024 * 1024;
/// Longest header line accepted.
const MAX_HEADER_LINE: usize = 1024;
/// Requests handled at once; the reader waits when all are busy.
const MAX_CONCURRENT: usize = 64;

/// Serves one editor connection (a daemon socket after the `LATHE/1 lsp` header, or stdio
/// for `lathe lsp --in-process`) until the client exits or closes the stream. Dropping the
/// future ends the connection the same way.
pub async fn serve_connection<R, W>(read: R, write: W, services: LspServices)
where
    R: AsyncRead + Unpin + Send,
    W: AsyncWrite + Unpin + Send + 'static,
{
    let (service, socket) = LspService::build(|client| Backend::new(client, services))
        .custom_method(ext::STATUS, Backend::status)
        .finish();
    let conn = service.inner().conn.clone();
    let _closing = CloseOnDrop(conn.clone());
    let (out_tx, out_rx) = mpsc::channel::<Value>(256);
    let (requests, responses) = socket.split();
    let writer = tokio::spawn(write_loop(write, out_rx, requests));
    read_loop(read, service, responses, &conn, out_tx).await;
    conn.close();
    let _ = writer.await;
}

struct CloseOnDrop(Arc<Conn>);

impl Drop for CloseOnDrop {
    fn drop(&mut self) {
        self.0.close();
    }
}

type Responses = <ClientSocket as tower_lsp_server::Loopback>::ResponseSink;

async fn read_loop<R: AsyncRead + Unpin>(
    read: R,
    mut service: LspService<Backend>,
    mut responses: Responses,
    conn: &Arc<Conn>,
    out: mpsc::Sender<Value>,
) {
    let mut reader = BufReader::new(read);
    let permits = Arc::new(Semaphore::new(MAX_CONCURRENT));
    let (sync_tx, mut sync_rx) = mpsc::unbounded_channel::<(u64, Request)>();
    let sync_conn = conn.clone();
    // A blocking thread: reparsing a large document must not hold up an async worker
    // that requests, responses and other connections need.
    tokio::task::spawn_blocking(move || {
        while let Some((seq, request)) = next_sync(&mut sync_rx, &sync_conn) {
            let _span = tracing::info_span!("lsp", method = request.method(), seq).entered();
            if let Some(notices) = handle_sync(&sync_conn, &request) {
                send_notices(&sync_conn, notices);
            }
            sync_conn.documents.mark_applied(seq);
        }
    });
    let mut seq = 0u64;
    loop {
        let body = match read_frame(&mut reader).await {
            Frame::Eof => return,
            Frame::Broken(reason) => {
                tracing::warn!(%reason, "broken LSP framing; closing the connection");
                let _ = out
                    .send(error_value(None, jsonrpc::ErrorCode::ParseError, &reason))
                    .await;
                return;
            }
            Frame::Body(body) => body,
        };
        let message = match classify(&body) {
            Ok(message) => message,
            Err(reply) => {
                let _ = out.send(reply).await;
                continue;
            }
        };
        let request = match message {
            Incoming::Response(response) => {
                if responses.send(response).await.is_err() {
                    tracing::debug!("a response arrived after the service stopped");
                }
                continue;
            }
            Incoming::Request(request) => request,
        };
        if is_sync(&request) {
            seq += 1;
            if sync_tx.send((seq, request)).is_err() {
                return;
            }
            continue;
        }
        if let Some(notices) = handle_cancel(conn, &request) {
            send_notices(conn, notices);
            continue;
        }
        if !lists_without_text(conn, &request) {
            conn.documents.synced(seq).await;
        }
        let method = request.method().to_owned();
        let span = match request.id() {
            Some(id) => tracing::info_span!("lsp", method = %method, %id),
            None => tracing::info_span!("lsp", method = %method),
        };
        if service.ready().await.is_err() {
            return;
        }
        let future = service.call(request).instrument(span);
        if method == "initialize" {
            if let Ok(Some(response)) = future.await {
                let _ = out.send(to_value(&response)).await;
            }
            continue;
        }
        if method == "exit" {
            let _ = future.await;
            return;
        }
        let Ok(permit) = permits.clone().acquire_owned().await else {
            return;
        };
        let out = out.clone();
        tokio::spawn(async move {
            if let Ok(Some(response)) = future.await {
                let _ = out.send(to_value(&response)).await;
            }
            drop(permit);
        });
    }
}

/// The next sync notification. While none is waiting, finishes paused reparses in slices
/// of [`SETTLE_SLICE`], so that a keystroke waits behind at most one slice.
fn next_sync(
    rx: &mut mpsc::UnboundedReceiver<(u64, Request)>,
    conn: &Conn,
) -> Option<(u64, Request)> {
    loop {
        match rx.try_recv() {
            Ok(next) => return Some(next),
            Err(mpsc::error::TryRecvError::Disconnected) => return None,
            Err(mpsc::error::TryRecvError::Empty) if !conn.documents.settle(SETTLE_SLICE) => {
                return rx.blocking_recv();
            }
            Err(mpsc::error::TryRecvError::Empty) => {}
        }
    }
}

/// How long the sync task works on a paused reparse before looking for changes again.
const SETTLE_SLICE: std::time::Duration = std::time::Duration::from_millis(2);

const SYNC: [&str; 3] = [
    "textDocument/didOpen",
    "textDocument/didChange",
    "textDocument/didClose",
];

fn is_sync(request: &Request) -> bool {
    request.id().is_none() && SYNC.contains(&request.method())
}

/// A code action request on a document that is open: listing it reads no text, so it
/// need not wait for pending changes.
fn lists_without_text(conn: &Conn, request: &Request) -> bool {
    request.method() == "textDocument/codeAction"
        && request
            .params()
            .and_then(|p| p["textDocument"]["uri"].as_str())
            .is_some_and(|uri| conn.documents.get(uri).is_some())
}

fn invalid(request: &Request, error: &serde_json::Error) -> Vec<Notice> {
    vec![warning(format!(
        "invalid {} notification: {error}",
        request.method()
    ))]
}

/// Applies one sync notification.
fn handle_sync(conn: &Conn, request: &Request) -> Option<Vec<Notice>> {
    let params = request.params().cloned().unwrap_or(Value::Null);
    let notices = match request.method() {
        "textDocument/didOpen" => parse(params).map(|p| handlers::sync::did_open(conn, p)),
        "textDocument/didChange" => parse(params).map(|p| handlers::sync::did_change(conn, p)),
        "textDocument/didClose" => parse(params).map(|p| handlers::sync::did_close(conn, p)),
        _ => return None,
    };
    Some(notices.unwrap_or_else(|error| invalid(request, &error)))
}

/// `window/workDoneProgress/cancel`, applied as it is read; `None` for anything else.
fn handle_cancel(conn: &Conn, request: &Request) -> Option<Vec<Notice>> {
    if request.id().is_some() || request.method() != "window/workDoneProgress/cancel" {
        return None;
    }
    let params = request.params().cloned().unwrap_or(Value::Null);
    Some(match parse::<lsp::WorkDoneProgressCancelParams>(params) {
        Ok(p) if conn.cancel_token(&p.token) => Vec::new(),
        Ok(p) => vec![warning(format!(
            "no Lathe run reports progress as {:?}",
            p.token
        ))],
        Err(error) => invalid(request, &error),
    })
}

fn parse<T: serde::de::DeserializeOwned>(params: Value) -> Result<T, serde_json::Error> {
    serde_json::from_value(params)
}

fn warning(message: String) -> Notice {
    Notice {
        kind: lsp::MessageType::Warning,
        message,
        show: false,
    }
}

fn send_notices(conn: &Arc<Conn>, notices: Vec<Notice>) {
    if notices.is_empty() {
        return;
    }
    let client = conn.client.clone();
    tokio::spawn(async move {
        for notice in notices {
            tracing::warn!(message = %notice.message, "sync");
            if notice.show {
                client.show_message(notice.kind, &notice.message).await;
            }
            client.log_message(notice.kind, notice.message).await;
        }
    });
}

enum Incoming {
    Request(Request),
    Response(Response),
}

/// Sorts a body into a request or a response, or the error reply it deserves.
fn classify(body: &[u8]) -> Result<Incoming, Value> {
    let value: Value = serde_json::from_slice(body).map_err(|e| {
        error_value(
            None,
            jsonrpc::ErrorCode::ParseError,
            &format!("invalid JSON: {e}"),
        )
    })?;
    let id = value
        .get("id")
        .filter(|id| id.is_number() || id.is_string())
        .cloned();
    let invalid =
        |reason: String| error_value(id.clone(), jsonrpc::ErrorCode::InvalidRequest, &reason);
    let Some(object) = value.as_object() else {
        return Err(invalid("a JSON-RPC message must be an object".into()));
    };
    if object.contains_key("method") {
        return serde_json::from_value(value)
            .map(Incoming::Request)
            .map_err(|e| invalid(format!("not a JSON-RPC 2.0 request: {e}")));
    }
    if object.contains_key("result") || object.contains_key("error") {
        return serde_json::from_value(value)
            .map(Incoming::Response)
            .map_err(|e| invalid(format!("not a JSON-RPC 2.0 response: {e}")));
    }
    Err(invalid(
        "a JSON-RPC message needs a method, a result or an error".into(),
    ))
}

fn error_value(id: Option<Value>, code: jsonrpc::ErrorCode, message: &str) -> Value {
    serde_json::json!({
        "jsonrpc": "2.0",
        "id": id.unwrap_or(Value::Null),
        "error": {"code": code.code(), "message": message},
    })
}

fn to_value<T: serde::Serialize>(message: &T) -> Value {
    serde_json::to_value(message).unwrap_or_else(|e| {
        error_value(
            None,
            jsonrpc::ErrorCode::InternalError,
            &format!("unserializable reply: {e}"),
        )
    })
}

enum Frame {
    Body(Vec<u8>),
    Eof,
    Broken(String),
}

/// Reads one `Content-Length` framed message.
async fn read_frame<R: AsyncRead + Unpin>(reader: &mut BufReader<R>) -> Frame {
    let mut length: Option<usize> = None;
    let mut seen_any = false;
    loop {
        let mut line = Vec::new();
        let read = (&mut *reader)
            .take(MAX_HEADER_LINE as u64)
            .read_until(b'\n', &mut line)
            .await;
        match read {
            Err(error) => return Frame::Broken(format!("cannot read: {error}")),
            Ok(0) if !seen_any => return Frame::Eof,
            Ok(0) => return Frame::Broken("the stream ended inside a header".into()),
            Ok(_) => {}
        }
        seen_any = true;
        if !line.ends_with(b"\n") {
            return Frame::Broken(format!("header line longer than {MAX_HEADER_LINE} bytes"));
        }
        let text = String::from_utf8_lossy(&line);
        let text = text.trim_end_matches(['\r', '\n']);
        if text.is_empty() {
            break;
        }
        let Some((name, value)) = text.split_once(':') else {
            return Frame::Broken(format!("malformed header {text:?}"));
        };
        if name.trim().eq_ignore_ascii_case("content-length") {
            match value.trim().parse::<usize>() {
                Ok(n) => length = Some(n),
                Err(_) => {
                    return Frame::Broken(format!("invalid Content-Length {:?}", value.trim()));
                }
            }
        }
    }
    let Some(length) = length else {
        return Frame::Broken("a message without Content-Length".into());
    };
    if length > MAX_BODY {
        return Frame::Broken(format!(
            "a {length}-byte message is over the {MAX_BODY}-byte limit"
        ));
    }
    let mut body = vec![0; length];
    match reader.read_exact(&mut body).await {
        Ok(_) => Frame::Body(body),
        Err(error) => Frame::Broken(format!("the stream ended inside a message: {error}")),
    }
}

/// Writes replies and server-to-client requests until every reply sender is gone.
async fn write_loop<W: AsyncWrite + Unpin>(
    mut write: W,
    mut replies: mpsc::Receiver<Value>,
    mut requests: <ClientSocket as tower_lsp_server::Loopback>::RequestStream,
) {
    let mut requests_open = true;
    loop {
        let message = tokio::select! {
            reply = replies.recv() => match reply {
                Some(reply) => reply,
                None => break,
            },
            request = requests.next(), if requests_open => match request {
                Some(request) => to_value(&request),
                None => {
                    requests_open = false;
                    continue;
                }
            },
        };
        let body = message.to_string();
        let frame = format!("Content-Length: {}\r\n\r\n{body}", body.len());
        if write.write_all(frame.as_bytes()).await.is_err() || write.flush().await.is_err() {
            tracing::debug!("the client stopped reading");
            break;
        }
    }
}
