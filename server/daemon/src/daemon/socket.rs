//! The daemon's Unix socket, where `lathe lsp`, `lathe mcp` and the CLI connect.
//!
//! A connection starts with one header line, `LATHE/1 <surface>[ <workspace>]\n`, naming
//! what speaks next: `lsp` (LSP base protocol; the editor names its workspace), `mcp`
//! (newline-delimited JSON-RPC, for the workspace given as an absolute path after the
//! surface) or `control` (one JSON request, one JSON answer). Anything else gets a
//! one-line error and is closed; a connection that fails never affects another.

use super::control;
use super::state::DaemonState;
use anyhow::Context;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::{UnixListener, UnixStream};
use tracing::Instrument;

/// What every connection's first line starts with.
pub const HEADER_PREFIX: &str = "LATHE/1 ";

/// How long a new connection may take to send its header line.
const HEADER_TIMEOUT: Duration = Duration::from_secs(10);
const MAX_HEADER: usize = 4096;

/// The surfaces a socket connection can speak.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SurfaceKind {
    Lsp,
    Mcp,
    Control,
}

impl SurfaceKind {
    pub fn name(self) -> &'static str {
        match self {
            SurfaceKind::Lsp => "lsp",
            SurfaceKind::Mcp => "mcp",
            SurfaceKind::Control => "control",
        }
    }

    fn parse(name: &str) -> Option<Self> {
        match name {
            "lsp" => Some(SurfaceKind::Lsp),
            "mcp" => Some(SurfaceKind::Mcp),
            "control" => Some(SurfaceKind::Control),
            _ => None,
        }
    }
}

/// What a connection's header line says.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Hello {
    pub kind: SurfaceKind,
    /// The workspace the client works in (an absolute path), when it names one.
    pub workspace: Option<PathBuf>,
}

impl Hello {
    pub fn new(kind: SurfaceKind) -> Self {
        Self {
            kind,
            workspace: None,
        }
    }

    /// The header line a client sends first. A workspace path with a newline cannot be
    /// sent (it would end the header): callers refuse it before connecting.
    pub fn header(&self) -> String {
        match &self.workspace {
            Some(workspace) => format!(
                "{HEADER_PREFIX}{} {}\n",
                self.kind.name(),
                workspace.display()
            ),
            None => format!("{HEADER_PREFIX}{}\n", self.kind.name()),
        }
    }

    fn parse(line: &str) -> Result<Self, String> {
        let rest = line
            .strip_prefix(HEADER_PREFIX)
            .ok_or_else(|| format!("expected `{HEADER_PREFIX}<surface>`, got {line:?}"))?;
        let (name, workspace) = match rest.split_once(' ') {
            Some((name, workspace)) => (name, Some(PathBuf::from(workspace))),
            None => (rest, None),
        };
        let kind = SurfaceKind::parse(name).ok_or_else(|| {
            format!("unknown surface {name:?}; this daemon serves lsp, mcp and control")
        })?;
        if let Some(workspace) = &workspace
            && !workspace.is_absolute()
        {
            return Err(format!(
                "the workspace must be an absolute path, got {}",
                workspace.display()
            ));
        }
        Ok(Self { kind, workspace })
    }
}

pub(crate) fn bind(path: &Path) -> anyhow::Result<UnixListener> {
    let listener =
        UnixListener::bind(path).with_context(|| format!("cannot bind {}", path.display()))?;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600))?;
    Ok(listener)
}

pub(crate) async fn accept_loop(listener: UnixListener, state: Arc<DaemonState>) {
    let mut next_id: u64 = 0;
    loop {
        tokio::select! {
            _ = state.shutdown.cancelled() => break,
            accepted = listener.accept() => match accepted {
                Ok((stream, _)) => {
                    next_id += 1;
                    let span = tracing::info_span!("connection", id = next_id);
                    tokio::spawn(handle(stream, state.clone()).instrument(span));
                }
                Err(error) => {
                    tracing::warn!(%error, "accept failed");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                }
            }
        }
    }
}

async fn handle(stream: UnixStream, state: Arc<DaemonState>) {
    let (read, mut write) = stream.into_split();
    let mut reader = BufReader::new(read);
    let hello = match tokio::time::timeout(HEADER_TIMEOUT, read_header(&mut reader)).await {
        Ok(Ok(hello)) => hello,
        Ok(Err(message)) => {
            tracing::warn!(%message, "rejected connection");
            let _ = write
                .write_all(format!("LATHE/1 error {message}\n").as_bytes())
                .await;
            return;
        }
        Err(_) => {
            tracing::warn!("connection sent no header in time");
            return;
        }
    };
    let kind = hello.kind;
    tracing::info!(surface = kind.name(), workspace = ?hello.workspace, "connected");
    let result = match kind {
        SurfaceKind::Control => control::serve(&mut reader, &mut write, &state).await,
        SurfaceKind::Lsp => {
            tokio::select! {
                () = lathe_lsp::serve_connection(reader, write, state.lsp.clone()) => Ok(()),
                () = state.shutdown.cancelled() => Ok(()),
            }
        }
        SurfaceKind::Mcp => serve_mcp(hello.workspace, reader, write, &state).await,
    };
    match result {
        Ok(()) => tracing::info!(surface = kind.name(), "disconnected"),
        Err(error) => {
            tracing::warn!(surface = kind.name(), %error, "connection ended with an error")
        }
    }
}

/// MCP for the named workspace (the daemon's start directory when none is named). A
/// workspace whose server cannot be built gets one JSON-RPC error saying why.
async fn serve_mcp(
    workspace: Option<PathBuf>,
    reader: BufReader<tokio::net::unix::OwnedReadHalf>,
    mut write: tokio::net::unix::OwnedWriteHalf,
    state: &DaemonState,
) -> anyhow::Result<()> {
    let workspace = workspace.unwrap_or_else(|| state.default_workspace.clone());
    match state.workspaces.mcp(&workspace).await {
        Ok(shared) => {
            lathe_mcp::serve_connection(reader, write, shared, state.shutdown.clone()).await?;
            Ok(())
        }
        Err(error) => {
            let message = format!(
                "Lathe cannot serve MCP for {}: {error:#}",
                workspace.display()
            );
            let reply = serde_json::json!({
                "jsonrpc": "2.0",
                "id": null,
                "error": {"code": -32603, "message": message},
            });
            write.write_all(format!("{reply}\n").as_bytes()).await?;
            anyhow::bail!(message)
        }
    }
}

async fn read_header(
    reader: &mut BufReader<tokio::net::unix::OwnedReadHalf>,
) -> Result<Hello, String> {
    let mut line = Vec::new();
    let mut limited = (&mut *reader).take(MAX_HEADER as u64);
    limited
        .read_until(b'\n', &mut line)
        .await
        .map_err(|e| format!("cannot read the header: {e}"))?;
    let line = String::from_utf8(line).map_err(|_| "the header is not UTF-8".to_owned())?;
    let Some(rest) = line.strip_suffix('\n') else {
        return Err(format!("expected a header line `{HEADER_PREFIX}<surface>`"));
    };
    Hello::parse(rest.strip_suffix('\r').unwrap_or(rest))
}

#[cfg(test)]
mod tests {
    use super::*;
    use pretty_assertions::assert_eq;

    #[test]
    fn headers_round_trip_with_and_without_a_workspace() {
        let plain = Hello::new(SurfaceKind::Control);
        let mcp = Hello {
            kind: SurfaceKind::Mcp,
            workspace: Some(PathBuf::from("/home/me/my project")),
        };
        for hello in [plain, mcp] {
            let header = hello.header();
            let line = header.strip_suffix('\n').unwrap_or(&header);
            assert_eq!(Hello::parse(line), Ok(hello));
        }
    }

    #[test]
    fn bad_headers_say_what_is_wrong() {
        assert_eq!(
            Hello::parse("LATHE/1 mcp relative/dir"),
            Err("the workspace must be an absolute path, got relative/dir".to_owned())
        );
        assert_eq!(
            Hello::parse("LATHE/1 dap"),
            Err("unknown surface \"dap\"; this daemon serves lsp, mcp and control".to_owned())
        );
        assert_eq!(
            Hello::parse("GET / HTTP/1.1"),
            Err("expected `LATHE/1 <surface>`, got \"GET / HTTP/1.1\"".to_owned())
        );
    }
}
