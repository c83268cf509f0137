//! Newline-delimited JSON-RPC framing in front of rmcp for stdio-style connections.
//!
//! rmcp ignores a line that is not JSON at all (its peers' SDKs do the same); Lathe answers
//! it instead, as JSON-RPC asks: a Parse error (`-32700`, `id: null`) naming what is wrong,
//! so a client with a broken encoder learns why nothing happens. A client's line longer
//! than [`MAX_LINE`] is skipped with an Invalid Request error and blank lines are dropped;
//! rmcp's answers go out whole, however long. Every
//! other line reaches rmcp unchanged (rmcp answers well-formed JSON that is not a JSON-RPC message itself).
//!
//! Invariants: the client's writer has one owner, the writer task, which writes whole
//! lines only (rmcp's answers and the errors never interleave within a line); the pump
//! ends when the client closes its side and rmcp has written its last line.

use serde_json::json;
use tokio::io::{
    AsyncBufRead, AsyncBufReadExt, AsyncRead, AsyncWrite, AsyncWriteExt, BufReader, DuplexStream,
};
use tokio::sync::mpsc;

/// The longest message accepted, in bytes.
pub(crate) const MAX_LINE: usize = 16 * 1024 * 1024;

const PARSE_ERROR: i64 = -32700;
const INVALID_REQUEST: i64 = -32600;
const PIPE_CAPACITY: usize = 64 * 1024;

/// rmcp's side of a guarded connection.
pub(crate) struct Guarded {
    pub read: DuplexStream,
    pub write: DuplexStream,
    /// The task reading the client; abort it when rmcp is done so the writer can finish
    /// (and close the client's side) even if the client never closes its own.
    pub reading: tokio::task::JoinHandle<()>,
}

/// Puts the guard between a client (`read`, `write`) and rmcp; the pumps run until the
/// connection ends.
pub(crate) fn guard<R, W>(read: R, write: W) -> Guarded
where
    R: AsyncRead + Send + Unpin + 'static,
    W: AsyncWrite + Send + Unpin + 'static,
{
    let (rmcp_read, mut to_rmcp) = tokio::io::duplex(PIPE_CAPACITY);
    let (rmcp_write, from_rmcp) = tokio::io::duplex(PIPE_CAPACITY);
    let (lines, mut outgoing) = mpsc::channel::<Vec<u8>>(64);

    let errors = lines.clone();
    let reading = tokio::spawn(async move {
        let mut reader = BufReader::new(read);
        loop {
            match read_line(&mut reader, MAX_LINE).await {
                Ok(Line::Eof) | Err(_) => break,
                Ok(Line::TooLong) => {
                    let message = format!("message longer than {MAX_LINE} bytes; skipped");
                    if errors
                        .send(error_line(INVALID_REQUEST, &message))
                        .await
                        .is_err()
                    {
                        break;
                    }
                }
                Ok(Line::Text(line)) => {
                    let blank = line.iter().all(u8::is_ascii_whitespace);
                    if blank {
                        continue;
                    }
                    if let Err(error) = serde_json::from_slice::<serde::de::IgnoredAny>(&line)
                        && (error.is_syntax() || error.is_eof())
                    {
                        tracing::info!(%error, "MCP client sent a line that is not JSON");
                        let message = format!("Parse error: {error}");
                        if errors
                            .send(error_line(PARSE_ERROR, &message))
                            .await
                            .is_err()
                        {
                            break;
                        }
                        continue;
                    }
                    if to_rmcp.write_all(&line).await.is_err() {
                        break;
                    }
                }
            }
        }
        let _ = to_rmcp.shutdown().await;
    });

    tokio::spawn(async move {
        // rmcp's own answers are never cut: a large transcript resource is a whole line.
        let mut answers = BufReader::new(from_rmcp);
        while let Ok(Line::Text(line)) = read_line(&mut answers, usize::MAX).await {
            if lines.send(line).await.is_err() {
                break;
            }
        }
    });

    tokio::spawn(async move {
        let mut write = write;
        while let Some(line) = outgoing.recv().await {
            if write.write_all(&line).await.is_err() || write.flush().await.is_err() {
                break;
            }
        }
        let _ = write.shutdown().await;
    });

    Guarded {
        read: rmcp_read,
        write: rmcp_write,
        reading,
    }
}

fn error_line(code: i64, message: &str) -> Vec<u8> {
    let error = json!({"jsonrpc": "2.0", "id": null, "error": {"code": code, "message": message}});
    format!("{error}\n").into_bytes()
}

enum Line {
    /// One line with its `\n` (the last line of a stream may lack it).
    Text(Vec<u8>),
    TooLong,
    Eof,
}

/// Reads one line of at most `limit` bytes; a longer one is consumed and reported.
async fn read_line<R: AsyncBufRead + Unpin>(reader: &mut R, limit: usize) -> std::io::Result<Line> {
    let mut line = Vec::new();
    let mut too_long = false;
    loop {
        let available = reader.fill_buf().await?;
        if available.is_empty() {
            return Ok(match (too_long, line.is_empty()) {
                (true, _) => Line::TooLong,
                (false, true) => Line::Eof,
                (false, false) => Line::Text(line),
            });
        }
        let (chunk, done) = match available.iter().position(|&b| b == b'\n') {
            Some(end) => (&available[..=end], true),
            None => (available, false),
        };
        let used = chunk.len();
        if !too_long {
            if line.len().saturating_add(used) > limit {
                too_long = true;
                line = Vec::new();
            } else {
                line.extend_from_slice(chunk);
            }
        }
        reader.consume(used);
        if done {
            return Ok(if too_long {
                Line::TooLong
            } else {
                Line::Text(line)
            });
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[tokio::test]
    async fn lines_are_split_capped_and_the_last_may_lack_a_newline() {
        let mut input: &[u8] = b"{\"a\":1}\n\n{\"b\":2}";
        let mut seen = Vec::new();
        loop {
            match read_line(&mut input, MAX_LINE).await.unwrap() {
                Line::Text(line) => seen.push(String::from_utf8(line).unwrap()),
                Line::TooLong => seen.push("<too long>".into()),
                Line::Eof => break,
            }
        }
        assert_eq!(seen, ["{\"a\":1}\n", "\n", "{\"b\":2}"]);

        let long = vec![b'x'; MAX_LINE + 1];
        let mut input = [long.as_slice(), b"\n{}\n"].concat();
        let mut reader = input.as_mut_slice() as &[u8];
        assert!(matches!(
            read_line(&mut reader, MAX_LINE).await.unwrap(),
            Line::TooLong
        ));
        assert!(
            matches!(read_line(&mut reader, MAX_LINE).await.unwrap(), Line::Text(l) if l == b"{}\n")
        );
    }
}
