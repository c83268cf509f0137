//! The host side of the in-container exec agent (`agent.py`): one long-lived `docker exec -i`
//! per session container carries every command of the session as framed messages, so a warm
//! command costs a fork in the container instead of a runc exec.
//!
//! Invariants: frames of one request arrive in order and end with an exit frame; a command
//! whose caller stops waiting (a cancelled run) is killed, with everything it started; when the
//! agent's stream ends or fails, every waiting command gets [`AgentError::Lost`] and the agent is
//! never used again (the caller then treats the container as lost). Images without `python3`
//! get no agent and use plain execs.

use std::collections::HashMap;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bollard::Docker;
use bollard::container::LogOutput;
use bollard::errors::Error as DockerError;
use bollard::exec::{CreateExecOptions, StartExecResults};
use bytes::{Buf, Bytes, BytesMut};
use futures::{Stream, StreamExt};
use serde::Deserialize;
use tokio::io::{AsyncWrite, AsyncWriteExt};
use tokio::sync::mpsc;
use tokio::time::Instant as TokioInstant;

use crate::output::{Captured, OutputChunk, OutputCollector, OutputStream};
use crate::sandbox::OutputSender;

const AGENT_PY: &str = include_str!("agent.py");
const READY_TIMEOUT: Duration = Duration::from_secs(20);
const SIGTERM: i32 = 15;
const SIGKILL: i32 = 9;

type LogStream = Pin<Box<dyn Stream<Item = Result<LogOutput, DockerError>> + Send>>;
type Pending = Arc<Mutex<HashMap<u32, mpsc::Sender<Frame>>>>;

#[derive(Debug, Deserialize)]
struct Status {
    #[serde(default)]
    code: i32,
    oom: u64,
}

#[derive(Debug)]
enum Frame {
    Output(OutputStream, Bytes),
    Exit(Status),
}

/// Why an agent command did not complete.
#[derive(Debug)]
pub enum AgentError {
    /// The agent's stream ended or failed (engine gone, container stopped, agent killed).
    Lost,
}

/// How a command run by the agent ended.
pub struct AgentOutcome {
    /// The exit code, `None` when it timed out.
    pub exit_code: Option<i32>,
    /// The container's OOM-kill counter after the command.
    pub oom_kills: Option<u64>,
    /// Captured standard output.
    pub stdout: Captured,
    /// Captured standard error.
    pub stderr: Captured,
}

type Input = Arc<tokio::sync::Mutex<Pin<Box<dyn AsyncWrite + Send>>>>;

/// A running agent.
pub struct Agent {
    input: Input,
    pending: Pending,
    alive: Arc<AtomicBool>,
    next_id: AtomicU32,
}

/// One command for the agent.
pub struct AgentRequest<'a> {
    /// Program and arguments.
    pub argv: &'a [String],
    /// Extra environment (the marker included).
    pub env: HashMap<String, String>,
    /// `KEY=VALUE` marker identifying the command's processes.
    pub marker: String,
    /// Working directory inside the container.
    pub cwd: String,
    /// Timeout.
    pub timeout: Duration,
    /// SIGTERM to SIGKILL delay.
    pub grace: Duration,
    /// Output cap per stream.
    pub limit: usize,
}

/// Splits the complete frames off `buf`; the ready frame goes to `ready`.
fn parse_frames(buf: &mut BytesMut, ready: &mut Option<Status>) -> Vec<(u32, Frame)> {
    let mut frames = Vec::new();
    while buf.len() >= 9 {
        let len = u32::from_be_bytes([buf[5], buf[6], buf[7], buf[8]]) as usize;
        if buf.len() < 9 + len {
            break;
        }
        let kind = buf[0];
        let id = u32::from_be_bytes([buf[1], buf[2], buf[3], buf[4]]);
        buf.advance(9);
        let payload = buf.split_to(len).freeze();
        match kind {
            b'o' => frames.push((id, Frame::Output(OutputStream::Stdout, payload))),
            b'e' => frames.push((id, Frame::Output(OutputStream::Stderr, payload))),
            b'x' | b'r' => match serde_json::from_slice::<Status>(&payload) {
                Ok(status) if kind == b'r' => *ready = Some(status),
                Ok(status) => frames.push((id, Frame::Exit(status))),
                Err(e) => tracing::warn!(error = %e, "sandbox agent: bad status frame"),
            },
            other => tracing::warn!(kind = other, "sandbox agent: unknown frame"),
        }
    }
    frames
}

impl Agent {
    /// Starts the agent in `container`. `Ok(None)` when the image cannot run it (no python3).
    pub async fn start(
        docker: &Docker,
        container: &str,
    ) -> Result<Option<(Self, u64)>, DockerError> {
        let created = docker
            .create_exec(
                container,
                CreateExecOptions {
                    attach_stdin: Some(true),
                    attach_stdout: Some(true),
                    attach_stderr: Some(true),
                    tty: Some(false),
                    cmd: Some(vec![
                        "python3".to_owned(),
                        "-u".to_owned(),
                        "-c".to_owned(),
                        AGENT_PY.to_owned(),
                    ]),
                    ..Default::default()
                },
            )
            .await?;
        let StartExecResults::Attached { output, input } =
            docker.start_exec(&created.id, None).await?
        else {
            return Ok(None);
        };
        let mut stream: LogStream = output;
        let pending: Pending = Arc::new(Mutex::new(HashMap::new()));
        let mut buf = BytesMut::new();
        let mut ready = None;
        let deadline = TokioInstant::now() + READY_TIMEOUT;
        while ready.is_none() {
            match tokio::time::timeout_at(deadline, stream.next()).await {
                Ok(Some(Ok(LogOutput::StdOut { message }))) => {
                    buf.extend_from_slice(&message);
                    let early = parse_frames(&mut buf, &mut ready);
                    if !early.is_empty() {
                        tracing::warn!("sandbox agent: frames before ready");
                    }
                }
                Ok(Some(Ok(LogOutput::StdErr { message }))) => {
                    tracing::debug!(stderr = %String::from_utf8_lossy(&message), "sandbox agent did not start");
                }
                Ok(Some(Ok(_))) => {}
                Ok(Some(Err(e))) => return Err(e),
                Ok(None) | Err(_) => return Ok(None),
            }
        }
        let baseline = ready.map(|s| s.oom).unwrap_or(0);
        let alive = Arc::new(AtomicBool::new(true));
        tokio::spawn(read_frames(stream, buf, pending.clone(), alive.clone()));
        let agent = Self {
            input: Arc::new(tokio::sync::Mutex::new(input)),
            pending,
            alive,
            next_id: AtomicU32::new(1),
        };
        Ok(Some((agent, baseline)))
    }

    /// Whether the agent still answers.
    pub fn alive(&self) -> bool {
        self.alive.load(Ordering::SeqCst)
    }

    async fn send(&self, message: &serde_json::Value) -> Result<(), AgentError> {
        send(&self.input, message).await
    }

    /// Runs one command, streaming its output to `sink`.
    pub async fn run(
        &self,
        request: AgentRequest<'_>,
        sink: Option<OutputSender>,
    ) -> Result<AgentOutcome, AgentError> {
        if !self.alive() {
            return Err(AgentError::Lost);
        }
        let id = self.next_id.fetch_add(1, Ordering::Relaxed);
        let (tx, mut rx) = mpsc::channel(64);
        if let Ok(mut p) = self.pending.lock() {
            p.insert(id, tx);
        }
        let mut forget = Forget {
            pending: &self.pending,
            input: &self.input,
            alive: &self.alive,
            id,
            ended: false,
        };
        let mut env = request.env;
        if let Some((k, v)) = request.marker.split_once('=') {
            env.insert(k.to_owned(), v.to_owned());
        }
        self.send(&serde_json::json!({
            "op": "run", "id": id, "argv": request.argv, "env": env,
            "cwd": request.cwd, "marker": request.marker,
        }))
        .await?;
        let mut pump = Pump {
            stdout: OutputCollector::new(request.limit),
            stderr: OutputCollector::new(request.limit),
            sink,
        };
        let deadline = TokioInstant::now() + request.timeout;
        let mut status = pump.until(&mut rx, deadline).await?;
        if status.is_none() {
            for (sig, wait) in [(SIGTERM, request.grace), (SIGKILL, request.grace)] {
                self.send(&serde_json::json!({"op": "signal", "id": id, "sig": sig}))
                    .await?;
                if let Some(s) = pump.until(&mut rx, TokioInstant::now() + wait).await? {
                    status = Some(s);
                    break;
                }
            }
            if status.is_none() {
                return Err(AgentError::Lost);
            }
            forget.ended = true;
            let (stdout, stderr) = pump.finish().await;
            return Ok(AgentOutcome {
                exit_code: None,
                oom_kills: status.map(|s| s.oom),
                stdout,
                stderr,
            });
        }
        forget.ended = true;
        let oom = status.as_ref().map(|s| s.oom);
        let code = status.map(|s| s.code);
        let (stdout, stderr) = pump.finish().await;
        Ok(AgentOutcome {
            exit_code: code,
            oom_kills: oom,
            stdout,
            stderr,
        })
    }
}

/// Writes one request line to the agent.
async fn send(input: &Input, message: &serde_json::Value) -> Result<(), AgentError> {
    let mut line = serde_json::to_vec(message).map_err(|_| AgentError::Lost)?;
    line.push(b'\n');
    let mut input = input.lock().await;
    input.write_all(&line).await.map_err(|_| AgentError::Lost)?;
    input.flush().await.map_err(|_| AgentError::Lost)
}

/// Removes a request from the pending map however `run` ends; when `run` is dropped before
/// the command ended (its caller was cancelled), kills the command's processes, which would
/// otherwise run on in the warm container.
struct Forget<'a> {
    pending: &'a Pending,
    input: &'a Input,
    alive: &'a AtomicBool,
    id: u32,
    /// The command's exit frame arrived.
    ended: bool,
}

impl Drop for Forget<'_> {
    fn drop(&mut self) {
        if let Ok(mut p) = self.pending.lock() {
            p.remove(&self.id);
        }
        if self.ended || !self.alive.load(Ordering::SeqCst) {
            return;
        }
        let Ok(runtime) = tokio::runtime::Handle::try_current() else {
            return;
        };
        let input = self.input.clone();
        let kill = serde_json::json!({"op": "signal", "id": self.id, "sig": SIGKILL});
        runtime.spawn(async move {
            if send(&input, &kill).await.is_err() {
                tracing::debug!("sandbox agent: gone before a cancelled command was killed");
            }
        });
    }
}

struct Pump {
    stdout: OutputCollector,
    stderr: OutputCollector,
    sink: Option<OutputSender>,
}

impl Pump {
    /// Takes frames until the exit frame (`Some`) or the deadline (`None`).
    async fn until(
        &mut self,
        rx: &mut mpsc::Receiver<Frame>,
        deadline: TokioInstant,
    ) -> Result<Option<Status>, AgentError> {
        loop {
            match tokio::time::timeout_at(deadline, rx.recv()).await {
                Err(_) => return Ok(None),
                Ok(None) => return Err(AgentError::Lost),
                Ok(Some(Frame::Exit(status))) => return Ok(Some(status)),
                Ok(Some(Frame::Output(stream, bytes))) => {
                    let collector = match stream {
                        OutputStream::Stdout => &mut self.stdout,
                        OutputStream::Stderr => &mut self.stderr,
                    };
                    if let Some(part) = collector.push(&bytes) {
                        self.forward(stream, part).await;
                    }
                }
            }
        }
    }

    async fn forward(&mut self, stream: OutputStream, bytes: Bytes) {
        if let Some(sink) = &self.sink
            && sink.send(OutputChunk { stream, bytes }).await.is_err()
        {
            self.sink = None;
        }
    }

    async fn finish(mut self) -> (Captured, Captured) {
        let (stdout, out_rest) =
            std::mem::replace(&mut self.stdout, OutputCollector::new(0)).finish();
        let (stderr, err_rest) =
            std::mem::replace(&mut self.stderr, OutputCollector::new(0)).finish();
        if let Some(rest) = out_rest {
            self.forward(OutputStream::Stdout, rest).await;
        }
        if let Some(rest) = err_rest {
            self.forward(OutputStream::Stderr, rest).await;
        }
        (stdout, stderr)
    }
}

async fn read_frames(
    mut stream: LogStream,
    mut buf: BytesMut,
    pending: Pending,
    alive: Arc<AtomicBool>,
) {
    let mut ready = None;
    while let Some(item) = stream.next().await {
        match item {
            Ok(LogOutput::StdOut { message }) => {
                buf.extend_from_slice(&message);
                for (id, frame) in parse_frames(&mut buf, &mut ready) {
                    let sender = pending.lock().ok().and_then(|p| p.get(&id).cloned());
                    if let Some(sender) = sender
                        && sender.send(frame).await.is_err()
                    {
                        tracing::debug!(id, "sandbox agent: output for a command nobody awaits");
                    }
                }
            }
            Ok(LogOutput::StdErr { message }) => {
                tracing::warn!(stderr = %String::from_utf8_lossy(&message), "sandbox agent");
            }
            Ok(_) => {}
            Err(e) => {
                tracing::debug!(error = %e, "sandbox agent stream failed");
                break;
            }
        }
    }
    alive.store(false, Ordering::SeqCst);
    if let Ok(mut p) = pending.lock() {
        p.clear();
    }
}
