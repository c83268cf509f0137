//! Running a local child process (the bwrap and none backends) with the same contract as the
//! docker backend: live bounded output, a timeout that kills the whole process group (SIGTERM,
//! a grace period, SIGKILL), and a shell-style exit code.
//!
//! Invariants: the child leads its own process group (so the group kill reaches every
//! descendant that did not leave it; under bwrap, killing bwrap tears down the whole pid
//! namespace); the child's process group is killed if the future is dropped.

use std::process::Stdio;
use std::time::{Duration, Instant};

use bytes::Bytes;
use tokio::io::{AsyncRead, AsyncReadExt};
use tokio::process::Command;
use tokio::time::Instant as TokioInstant;

use crate::error::SandboxError;
use crate::exec::{ExecOutcome, Termination};
use crate::output::{OutputChunk, OutputCollector, OutputStream};
use crate::sandbox::OutputSender;

/// Limits of one local run.
#[derive(Debug, Clone, Copy)]
pub struct RunLimits {
    /// Timeout.
    pub timeout: Duration,
    /// SIGTERM to SIGKILL delay.
    pub grace: Duration,
    /// Output cap per stream.
    pub limit: usize,
}

struct Streams {
    stdout: OutputCollector,
    stderr: OutputCollector,
    sink: Option<OutputSender>,
}

impl Streams {
    async fn take(&mut self, stream: OutputStream, data: &[u8]) {
        let collector = match stream {
            OutputStream::Stdout => &mut self.stdout,
            OutputStream::Stderr => &mut self.stderr,
        };
        if let Some(bytes) = collector.push(data) {
            self.forward(stream, bytes).await;
        }
    }

    async fn forward(&mut self, stream: OutputStream, bytes: Bytes) {
        if let Some(sink) = &self.sink
            && sink.send(OutputChunk { stream, bytes }).await.is_err()
        {
            self.sink = None;
        }
    }
}

async fn read_some<R: AsyncRead + Unpin>(
    reader: &mut Option<R>,
    buf: &mut [u8],
) -> std::io::Result<usize> {
    match reader {
        Some(r) => r.read(buf).await,
        None => std::future::pending().await,
    }
}

/// Reads both pipes until they close (true) or `deadline` passes (false).
async fn pump<O, E>(
    out: &mut Option<O>,
    err: &mut Option<E>,
    streams: &mut Streams,
    deadline: TokioInstant,
) -> bool
where
    O: AsyncRead + Unpin,
    E: AsyncRead + Unpin,
{
    let mut obuf = vec![0u8; 64 * 1024];
    let mut ebuf = vec![0u8; 64 * 1024];
    while out.is_some() || err.is_some() {
        tokio::select! {
            r = read_some(out, &mut obuf) => match r {
                Ok(0) | Err(_) => *out = None,
                Ok(n) => streams.take(OutputStream::Stdout, &obuf[..n]).await,
            },
            r = read_some(err, &mut ebuf) => match r {
                Ok(0) | Err(_) => *err = None,
                Ok(n) => streams.take(OutputStream::Stderr, &ebuf[..n]).await,
            },
            () = tokio::time::sleep_until(deadline) => return false,
        }
    }
    true
}

/// Sends `signal` to the process group `pgid` with the system `kill` program.
async fn kill_group(pgid: u32, signal: &str) {
    let status = Command::new("kill")
        .args(["-s", signal, "--", &format!("-{pgid}")])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .await;
    if let Err(e) = status {
        tracing::warn!(error = %e, "sandbox: could not run kill");
    }
}

/// Kills a command's process group when [`run`] is dropped before the command ended (its
/// caller was cancelled); `kill_on_drop` alone would stop only the group's leader.
struct GroupKill {
    pgid: Option<u32>,
    armed: bool,
}

impl Drop for GroupKill {
    fn drop(&mut self) {
        if let (true, Some(pgid)) = (self.armed, self.pgid) {
            let killed = std::process::Command::new("kill")
                .args(["-s", "KILL", "--", &format!("-{pgid}")])
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .status();
            if let Err(e) = killed {
                tracing::warn!(error = %e, "sandbox: could not kill a cancelled command");
            }
        }
    }
}

/// Runs `command` (its stdio is set here) under `limits`.
pub async fn run(
    mut command: Command,
    program: &str,
    limits: RunLimits,
    sink: Option<OutputSender>,
) -> Result<ExecOutcome, SandboxError> {
    let started = Instant::now();
    command
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .process_group(0)
        .kill_on_drop(true);
    let mut child = command.spawn().map_err(|source| SandboxError::Spawn {
        program: program.to_owned(),
        source,
    })?;
    let pgid = child.id();
    let mut group = GroupKill { pgid, armed: true };
    let mut out = child.stdout.take();
    let mut err = child.stderr.take();
    let mut streams = Streams {
        stdout: OutputCollector::new(limits.limit),
        stderr: OutputCollector::new(limits.limit),
        sink,
    };
    let deadline = TokioInstant::now() + limits.timeout;
    let mut timed_out = false;
    if !pump(&mut out, &mut err, &mut streams, deadline).await {
        timed_out = true;
        if let Some(pgid) = pgid {
            kill_group(pgid, "TERM").await;
            let grace = TokioInstant::now() + limits.grace;
            if !pump(&mut out, &mut err, &mut streams, grace).await {
                kill_group(pgid, "KILL").await;
            }
        }
        if let Err(e) = child.start_kill() {
            tracing::debug!(error = %e, "sandbox: child already gone");
        }
        let drain = TokioInstant::now() + limits.grace;
        if !pump(&mut out, &mut err, &mut streams, drain).await {
            tracing::warn!("sandbox: output of a killed command still open; dropping it");
        }
    }
    let status = child.wait().await.map_err(|source| SandboxError::Io {
        context: format!("waiting for {program}"),
        source,
    })?;
    group.armed = false;
    let (stdout, out_rest) =
        std::mem::replace(&mut streams.stdout, OutputCollector::new(0)).finish();
    let (stderr, err_rest) =
        std::mem::replace(&mut streams.stderr, OutputCollector::new(0)).finish();
    if let Some(rest) = out_rest {
        streams.forward(OutputStream::Stdout, rest).await;
    }
    if let Some(rest) = err_rest {
        streams.forward(OutputStream::Stderr, rest).await;
    }
    let termination = if timed_out {
        Termination::TimedOut {
            after_ms: u64::try_from(limits.timeout.as_millis()).unwrap_or(u64::MAX),
        }
    } else {
        use std::os::unix::process::ExitStatusExt;
        let code = status
            .code()
            .or_else(|| status.signal().map(|s| 128 + s))
            .unwrap_or(-1);
        Termination::Exited { code }
    };
    Ok(ExecOutcome {
        termination,
        stdout,
        stderr,
        duration_ms: u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX),
    })
}
