//! The answer for surfaces whose protocol this daemon does not serve yet.
//!
//! An LSP or MCP client that connects must get a proper JSON-RPC error for every request,
//! never a hang: requests are answered with `MethodNotFound` naming the method, malformed
//! JSON with `ParseError`, LSP `shutdown` with `null` and MCP `ping` with `{}` (so clients
//! can shut down cleanly), and notifications are read and dropped. LSP messages use the
//! base protocol's `Content-Length` framing; MCP's stdio transport is one JSON-RPC message
//! per line.

use super::socket::SurfaceKind;
use serde_json::{Value, json};
use tokio::io::{AsyncBufRead, AsyncBufReadExt, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio_util::sync::CancellationToken;

/// Largest message accepted; anything bigger is a protocol error.
const MAX_MESSAGE: usize = 64 * 1024 * 1024;

const PARSE_ERROR: i64 = -32700;
const INVALID_REQUEST: i64 = -32600;
const METHOD_NOT_FOUND: i64 = -32601;

pub(crate) async fn serve<R, W>(
    kind: SurfaceKind,
    mut reader: R,
    mut writer: W,
    shutdown: &CancellationToken,
) -> anyhow::Result<()>
where
    R: AsyncBufRead + Unpin,
    W: AsyncWrite + Unpin,
{
    loop {
        let frame = tokio::select! {
            _ = shutdown.cancelled() => return Ok(()),
            frame = read_frame(kind, &mut reader) => frame?,
        };
        let body = match frame {
            Frame::Eof => return Ok(()),
            Frame::Broken(reason) => {
                let reply = error(Value::Null, PARSE_ERROR, &reason);
                write_frame(kind, &mut writer, &reply).await?;
                return Ok(());
            }
            Frame::Message(body) => body,
        };
        let (reply, close) = answer(kind, &body);
        if let Some(reply) = reply {
            write_frame(kind, &mut writer, &reply).await?;
        }
        if close {
            return Ok(());
        }
    }
}

/// The reply to one message (if it needs one) and whether the connection should close.
fn answer(kind: SurfaceKind, body: &[u8]) -> (Option<Value>, bool) {
    let message: Value = match serde_json::from_slice(body) {
        Ok(message) => message,
        Err(e) => {
            return (
                Some(error(
                    Value::Null,
                    PARSE_ERROR,
                    &format!("invalid JSON: {e}"),
                )),
                false,
            );
        }
    };
    let Some(object) = message.as_object() else {
        return (
            Some(error(
                Value::Null,
                INVALID_REQUEST,
                "a JSON-RPC message must be an object",
            )),
            false,
        );
    };
    let id = object.get("id").cloned();
    let method = object.get("method").and_then(Value::as_str);
    match (id, method) {
        (None, Some("exit")) if kind == SurfaceKind::Lsp => (None, true),
        (None, Some(_)) => (None, false),
        (None, None) => (
            Some(error(
                Value::Null,
                INVALID_REQUEST,
                "a JSON-RPC message needs a `method` or an `id`",
            )),
            false,
        ),
        (Some(id), Some("shutdown")) if kind == SurfaceKind::Lsp => {
            (Some(result(id, Value::Null)), false)
        }
        (Some(id), Some("ping")) if kind == SurfaceKind::Mcp => {
            (Some(result(id, json!({}))), false)
        }
        (Some(id), Some(method)) => {
            let text = format!(
                "`{method}`: the Lathe daemon (version {}) does not serve the {} protocol yet",
                env!("CARGO_PKG_VERSION"),
                kind.name().to_uppercase()
            );
            (Some(error(id, METHOD_NOT_FOUND, &text)), false)
        }
        (Some(id), None) => (
            Some(error(id, INVALID_REQUEST, "a request needs a `method`")),
            false,
        ),
    }
}

fn error(id: Value, code: i64, message: &str) -> Value {
    json!({"jsonrpc": "2.0", "id": id, "error": {"code": code, "message": message}})
}

fn result(id: Value, result: Value) -> Value {
    json!({"jsonrpc": "2.0", "id": id, "result": result})
}

enum Frame {
    Message(Vec<u8>),
    /// The stream can no longer be framed.
    Broken(String),
    Eof,
}

async fn read_frame<R: AsyncBufRead + Unpin>(
    kind: SurfaceKind,
    reader: &mut R,
) -> anyhow::Result<Frame> {
    match kind {
        SurfaceKind::Lsp => read_lsp_frame(reader).await,
        _ => read_line_frame(reader).await,
    }
}

async fn read_line_frame<R: AsyncBufRead + Unpin>(reader: &mut R) -> anyhow::Result<Frame> {
    loop {
        let mut line = Vec::new();
        let n = (&mut *reader)
            .take(MAX_MESSAGE as u64 + 1)
            .read_until(b'\n', &mut line)
            .await?;
        if n == 0 {
            return Ok(Frame::Eof);
        }
        if line.len() > MAX_MESSAGE {
            return Ok(Frame::Broken(format!(
                "message longer than {MAX_MESSAGE} bytes"
            )));
        }
        if !line.iter().all(u8::is_ascii_whitespace) {
            return Ok(Frame::Message(line));
        }
    }
}

async fn read_lsp_frame<R: AsyncBufRead + Unpin>(reader: &mut R) -> anyhow::Result<Frame> {
    let mut length: Option<usize> = None;
    let mut saw_header = false;
    loop {
        let mut line = String::new();
        let n = (&mut *reader).take(8 * 1024).read_line(&mut line).await?;
        if n == 0 {
            return Ok(if saw_header {
                Frame::Broken("connection closed inside a header".into())
            } else {
                Frame::Eof
            });
        }
        saw_header = true;
        let line = line.trim_end_matches(['\r', '\n']);
        if line.is_empty() {
            break;
        }
        let Some((name, value)) = line.split_once(':') else {
            return Ok(Frame::Broken(format!("malformed header line {line:?}")));
        };
        if name.trim().eq_ignore_ascii_case("content-length") {
            match value.trim().parse::<usize>() {
                Ok(n) if n <= MAX_MESSAGE => length = Some(n),
                _ => {
                    return Ok(Frame::Broken(format!(
                        "bad Content-Length {:?}",
                        value.trim()
                    )));
                }
            }
        }
    }
    let Some(length) = length else {
        return Ok(Frame::Broken(
            "message without a Content-Length header".into(),
        ));
    };
    let mut body = vec![0; length];
    match reader.read_exact(&mut body).await {
        Ok(_) => Ok(Frame::Message(body)),
        Err(e) if e.kind() == std::io::ErrorKind::UnexpectedEof => Ok(Frame::Eof),
        Err(e) => Err(e.into()),
    }
}

async fn write_frame<W: AsyncWrite + Unpin>(
    kind: SurfaceKind,
    writer: &mut W,
    message: &Value,
) -> anyhow::Result<()> {
    let body = serde_json::to_vec(message)?;
    match kind {
        SurfaceKind::Lsp => {
            writer
                .write_all(format!("Content-Length: {}\r\n\r\n", body.len()).as_bytes())
                .await?;
            writer.write_all(&body).await?;
        }
        _ => {
            writer.write_all(&body).await?;
            writer.write_all(b"\n").await?;
        }
    }
    writer.flush().await?;
    Ok(())
}
