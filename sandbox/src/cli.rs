//! `lathe sandbox exec [--workspace DIR] -- CMD...` in one call: pick the backend, run the
//! command in a throw-away session, stream its output to this process's stdout and stderr,
//! remove the session's sandbox, and return the exit code to exit with.
//!
//! Invariants: the session's container is removed on every path, Ctrl-C included (exit 130);
//! the command was typed by the user, which is the approval the `none` backend asks for.

use std::path::Path;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use tokio::io::{AsyncWrite, AsyncWriteExt};
use tokio::sync::mpsc;

use crate::config::{DaemonId, SandboxConfig, WorkspaceAccess};
use crate::error::SandboxError;
use crate::exec::ExecRequest;
use crate::output::{OutputChunk, OutputStream};
use crate::policy::SessionSpec;
use crate::select::select;

/// Exit code after Ctrl-C.
pub const INTERRUPTED_EXIT_CODE: i32 = 130;

/// Options of `lathe sandbox exec`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CliExec {
    /// The workspace to mount (the current directory by default).
    pub workspace: std::path::PathBuf,
    /// Program and arguments.
    pub argv: Vec<String>,
    /// Read-only or workspace-write.
    pub access: WorkspaceAccess,
    /// Timeout; `None` uses the config's.
    pub timeout: Option<Duration>,
}

async fn write_all<W: AsyncWrite + Unpin>(w: &mut W, bytes: &[u8]) {
    if w.write_all(bytes).await.is_ok() {
        let _flushed = w.flush().await;
    }
}

async fn print_chunks(mut rx: mpsc::Receiver<OutputChunk>) {
    let mut stdout = tokio::io::stdout();
    let mut stderr = tokio::io::stderr();
    while let Some(chunk) = rx.recv().await {
        match chunk.stream {
            OutputStream::Stdout => write_all(&mut stdout, &chunk.bytes).await,
            OutputStream::Stderr => write_all(&mut stderr, &chunk.bytes).await,
        }
    }
}

/// Runs `exec` as `lathe sandbox exec` does. `home` is Lathe's home (`LATHE_HOME`); the CLI's
/// containers are labelled with a daemon hash of its own, so a running daemon never reaps them.
/// Warnings and notes go to stderr; the returned code is the command's (124 on timeout).
pub async fn run_exec_cli(
    config: &SandboxConfig,
    home: &Path,
    exec: CliExec,
) -> Result<i32, SandboxError> {
    let daemon = DaemonId::process_of(home, &home.join("cli"));
    let selection = select(config, &daemon).await?;
    let mut stderr = tokio::io::stderr();
    for warning in &selection.warnings {
        write_all(&mut stderr, format!("lathe: {warning}\n").as_bytes()).await;
    }
    let millis = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis())
        .unwrap_or_default();
    let session = SessionSpec {
        id: format!("cli-{}-{millis}", std::process::id()),
        workspace: exec.workspace,
        access: exec.access,
    };
    let mut request = ExecRequest::argv(exec.argv);
    request.timeout = exec.timeout;
    let (tx, rx) = mpsc::channel(64);
    let printer = tokio::spawn(print_chunks(rx));
    let sandbox = selection.sandbox;
    let result = tokio::select! {
        r = sandbox.exec(&session, request, Some(tx)) => Some(r),
        _ = tokio::signal::ctrl_c() => None,
    };
    if let Err(e) = printer.await {
        tracing::debug!(error = %e, "sandbox: output printer ended abnormally");
    }
    let ended = sandbox.end_session(&session.id).await;
    let code = match result {
        None => INTERRUPTED_EXIT_CODE,
        Some(outcome) => {
            let outcome = outcome?;
            if let Some(note) = outcome.note() {
                write_all(&mut stderr, format!("lathe: {note}\n").as_bytes()).await;
            }
            outcome.exit_code()
        }
    };
    ended?;
    Ok(code)
}
