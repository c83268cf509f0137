//! Reaching the daemon from a CLI process: connect to its socket, starting it in the
//! background when nothing answers.
//!
//! Autostart runs `lathe serve --foreground` in its own process group (so an editor that
//! kills its language server's group does not take the shared daemon down), with output to
//! `state/logs/daemon.out`. Two shims that race to start it are fine: the loser's daemon
//! finds the home locked and exits, and both shims connect to the winner. A daemon that
//! cannot start is reported with its last words at once, not after a timeout.

use crate::daemon::{ControlRequest, Hello, SurfaceKind};
use crate::paths::Paths;
use anyhow::Context;
use std::process::Stdio;
use std::time::{Duration, Instant};
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::UnixStream;

/// How long a shim waits for a daemon it started.
const START_TIMEOUT: Duration = Duration::from_secs(15);

/// Connects to a running daemon and announces the surface.
pub async fn connect(paths: &Paths, hello: &Hello) -> std::io::Result<UnixStream> {
    let mut stream = UnixStream::connect(paths.socket()).await?;
    stream.write_all(hello.header().as_bytes()).await?;
    Ok(stream)
}

/// Connects to the daemon, starting one in the background if none answers.
///
/// A daemon it started that exits while the home's lock is free did not lose a start race
/// (the winner would hold the lock): it is started again, and after [`MAX_STARTS`] such
/// exits the shim gives up at once with the end of the daemon's output, rather than
/// waiting out the deadline. One that exits while the lock is held lost a race, or met a
/// daemon shutting down; the shim waits for the socket, and starts another once the lock
/// is free.
pub async fn connect_or_start(paths: &Paths, hello: &Hello) -> anyhow::Result<UnixStream> {
    if let Ok(stream) = connect(paths, hello).await {
        return Ok(stream);
    }
    let out = paths.log_dir().join("daemon.out");
    // Where a daemon's words will start: the end of `daemon.out`, or its start when the
    // daemon's start sets the file aside for its size.
    let written = || {
        let len = std::fs::metadata(&out).map_or(0, |m| m.len());
        if len > MAX_DAEMON_OUT { 0 } else { len }
    };
    let mut output_from = written();
    let mut child = Some(start_background(paths, None)?);
    let mut failed_starts = 0;
    let deadline = Instant::now() + START_TIMEOUT;
    let mut delay = Duration::from_millis(2);
    loop {
        if let Ok(stream) = connect(paths, hello).await {
            return Ok(stream);
        }
        let exited = match child.as_mut().map(tokio::process::Child::try_wait) {
            Some(Ok(Some(status))) => Some(status),
            _ => None,
        };
        if exited.is_some() {
            child = None;
        }
        if child.is_none() && !crate::instance::is_locked(paths) {
            if let Some(status) = exited {
                failed_starts += 1;
                if failed_starts >= MAX_STARTS {
                    anyhow::bail!(
                        "the Lathe daemon exited ({status}) without starting:\n{}\n(from {})",
                        output_tail(&out, output_from),
                        out.display()
                    );
                }
            }
            output_from = written();
            child = Some(start_background(paths, None)?);
        }
        if Instant::now() > deadline {
            anyhow::bail!(
                "the Lathe daemon did not start within {}s; see {}",
                START_TIMEOUT.as_secs(),
                out.display()
            );
        }
        tokio::time::sleep(delay).await;
        delay = (delay * 2).min(Duration::from_millis(50));
    }
}

/// The size past which `daemon.out` is set aside at the next start.
const MAX_DAEMON_OUT: u64 = 1024 * 1024;

/// How many daemons a shim starts that exit on their own before it gives up.
const MAX_STARTS: u32 = 3;

/// The last lines a daemon wrote to `out` after byte `from`.
fn output_tail(out: &std::path::Path, from: u64) -> String {
    let bytes = std::fs::read(out).unwrap_or_default();
    let start = usize::try_from(from).unwrap_or(0).min(bytes.len());
    let text = String::from_utf8_lossy(&bytes[start..]);
    let lines: Vec<&str> = text.lines().filter(|l| !l.trim().is_empty()).collect();
    let tail = lines[lines.len().saturating_sub(5)..].join("\n");
    if tail.is_empty() {
        "(it wrote nothing)".to_owned()
    } else {
        tail
    }
}

/// Starts `lathe serve --foreground` detached from this process.
pub fn start_background(paths: &Paths, port: Option<u16>) -> anyhow::Result<tokio::process::Child> {
    paths
        .create()
        .context("cannot create Lathe's directories")?;
    std::fs::create_dir_all(paths.log_dir())?;
    let log_path = paths.log_dir().join("daemon.out");
    // What daemons printed before: one older file is kept, so it never grows without end.
    if std::fs::metadata(&log_path).is_ok_and(|m| m.len() > MAX_DAEMON_OUT) {
        let _ = std::fs::rename(&log_path, paths.log_dir().join("daemon.out.1"));
    }
    let log = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(&log_path)
        .with_context(|| format!("cannot open {}", log_path.display()))?;
    let exe = std::env::current_exe().context("cannot find the lathe executable")?;
    let mut command = tokio::process::Command::new(exe);
    command.arg("serve").arg("--foreground");
    if let Some(port) = port {
        command.arg("--port").arg(port.to_string());
    }
    command
        .stdin(Stdio::null())
        .stdout(Stdio::from(log.try_clone()?))
        .stderr(Stdio::from(log))
        .process_group(0)
        .kill_on_drop(false);
    command.spawn().context("cannot start the Lathe daemon")
}

/// Sends one control request to a running daemon and returns its JSON answer.
pub async fn control(paths: &Paths, request: &ControlRequest) -> anyhow::Result<serde_json::Value> {
    let stream = connect(paths, &Hello::new(SurfaceKind::Control))
        .await
        .context("the Lathe daemon is not running")?;
    let (read, mut write) = stream.into_split();
    write
        .write_all(format!("{}\n", serde_json::to_string(request)?).as_bytes())
        .await?;
    let mut line = String::new();
    BufReader::new(read).read_line(&mut line).await?;
    let answer: serde_json::Value =
        serde_json::from_str(&line).context("the daemon sent an unreadable answer")?;
    if let Some(error) = answer.get("error").and_then(|e| e.as_str()) {
        anyhow::bail!("the daemon refused: {error}");
    }
    Ok(answer)
}
