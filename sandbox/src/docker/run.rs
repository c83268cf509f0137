//! Running one command in a warm container: create an exec, pump its demultiplexed output
//! through the bounded collectors while forwarding the streamed part, enforce the timeout, and
//! read the exit code.
//!
//! The Engine API cannot kill an exec, so every exec carries a unique `LATHE_EXEC_ID` in its
//! environment (inherited by all its descendants, whatever process group or session they move
//! to). On timeout a second exec signals every process carrying that marker: SIGTERM, a grace
//! period, then SIGKILL until none is left. If that exec cannot even start (a fork bomb holding
//! every pid) or the output still does not end, the container is restarted (`t=0`): the
//! container stays usable either way. A caller that stops waiting (a cancelled run) has the
//! exec's processes killed the same way.

use std::pin::Pin;
use std::time::{Duration, Instant};

use bollard::Docker;
use bollard::container::LogOutput;
use bollard::errors::Error as DockerError;
use bollard::exec::{CreateExecOptions, StartExecResults};
use bollard::query_parameters::RestartContainerOptionsBuilder;
use bytes::Bytes;
use futures::{Stream, StreamExt};
use tokio::time::Instant as TokioInstant;

use crate::output::{Captured, OutputChunk, OutputCollector, OutputStream};
use crate::sandbox::OutputSender;

/// Environment variable marking every process of one exec.
pub const EXEC_MARKER: &str = "LATHE_EXEC_ID";

/// Signals every process whose environment holds `LATHE_EXEC_ID=$2`, up to `$3` rounds until
/// none is left, and prints how many signals were sent.
const KILLER: &str = r#"sig=$1; id=$2; rounds=$3; total=0; r=0
while [ "$r" -lt "$rounds" ]; do
  n=0
  for e in /proc/[0-9]*/environ; do
    p=${e#/proc/}; p=${p%/environ}
    [ "$p" = "$$" ] && continue
    if grep -qsxz "LATHE_EXEC_ID=$id" "$e"; then kill -s "$sig" "$p" 2>/dev/null && n=$((n+1)); fi
  done
  total=$((total+n)); r=$((r+1))
  [ "$n" = 0 ] && break
done
echo "$total""#;

/// Wraps every command: runs it, then kills what it left running in its session (background
/// jobs, a fork bomb's children) with shell builtins only, so that it works even when every pid
/// is taken, and exits with the command's status. The exec process leads its own session
/// (runc calls setsid), so `$$` is the session id.
/// It survives SIGTERM (a trap handler, which the command does not inherit) so that on a timeout
/// it outlives the command and still cleans up.
const SUPERVISOR: &str = r#"trap 'true' TERM
"$@"; rc=$?
r=0
while [ "$r" -lt 100 ]; do
  n=0
  for s in /proc/[0-9]*/stat; do
    read -r line 2>/dev/null < "$s" || continue
    set -- ${line##*) }
    [ "$4" = "$$" ] && [ "$1" != Z ] || continue
    p=${s#/proc/}; p=${p%/stat}
    [ "$p" = "$$" ] && continue
    kill -KILL "$p" 2>/dev/null && n=$((n+1))
  done
  [ "$n" = 0 ] && break
  r=$((r+1))
done
exit "$rc""#;

/// The exec argv running `argv` under [`SUPERVISOR`].
pub fn supervised(argv: Vec<String>) -> Vec<String> {
    let mut line = vec![
        "/bin/sh".to_owned(),
        "-c".to_owned(),
        SUPERVISOR.to_owned(),
        "lathe-exec".to_owned(),
    ];
    line.extend(argv);
    line
}

/// Prints the container's memory cgroup events (v2) or OOM control file (v1).
const OOM_COUNTER: &str =
    "cat /sys/fs/cgroup/memory.events /sys/fs/cgroup/memory/memory.oom_control 2>/dev/null; true";

type LogStream = Pin<Box<dyn Stream<Item = Result<LogOutput, DockerError>> + Send>>;

/// One exec to run.
pub struct ExecPlan<'a> {
    /// Container id.
    pub container: &'a str,
    /// Program and arguments.
    pub argv: Vec<String>,
    /// `KEY=VALUE` environment (the marker included).
    pub env: Vec<String>,
    /// Working directory inside the container.
    pub working_dir: String,
    /// Timeout.
    pub timeout: Duration,
    /// SIGTERM to SIGKILL delay.
    pub grace: Duration,
    /// The unique marker value of this exec.
    pub marker: String,
    /// Output cap per stream.
    pub limit: usize,
}

/// What came out of an exec before OOM attribution.
pub struct RawOutcome {
    /// The exit code when the command ended by itself.
    pub exit_code: Option<i64>,
    /// Whether the timeout fired.
    pub timed_out: bool,
    /// Whether the container had to be restarted to stop the command.
    pub restarted: bool,
    /// Captured standard output.
    pub stdout: Captured,
    /// Captured standard error.
    pub stderr: Captured,
}

struct Pump {
    stream: LogStream,
    stdout: OutputCollector,
    stderr: OutputCollector,
    sink: Option<OutputSender>,
}

impl Pump {
    /// Reads until the stream ends (true) or `deadline` passes (false).
    async fn run_until(&mut self, deadline: TokioInstant) -> Result<bool, DockerError> {
        loop {
            match tokio::time::timeout_at(deadline, self.stream.next()).await {
                Err(_) => return Ok(false),
                Ok(None) => return Ok(true),
                Ok(Some(Err(e))) => return Err(e),
                Ok(Some(Ok(msg))) => self.take(msg).await,
            }
        }
    }

    async fn take(&mut self, msg: LogOutput) {
        let (stream, message) = match msg {
            LogOutput::StdOut { message } | LogOutput::Console { message } => {
                (OutputStream::Stdout, message)
            }
            LogOutput::StdErr { message } => (OutputStream::Stderr, message),
            LogOutput::StdIn { .. } => return,
        };
        let collector = match stream {
            OutputStream::Stdout => &mut self.stdout,
            OutputStream::Stderr => &mut self.stderr,
        };
        if let Some(bytes) = collector.push(&message) {
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

    async fn finish(mut self) -> (Captured, Captured) {
        let (stdout, out_rest) = self.stdout.finish();
        let (stderr, err_rest) = self.stderr.finish();
        self.stdout = OutputCollector::new(0);
        self.stderr = OutputCollector::new(0);
        if let Some(rest) = out_rest {
            self.forward(OutputStream::Stdout, rest).await;
        }
        if let Some(rest) = err_rest {
            self.forward(OutputStream::Stderr, rest).await;
        }
        (stdout, stderr)
    }
}

/// Starts an attached exec and returns its id and output stream.
async fn start(
    docker: &Docker,
    container: &str,
    argv: Vec<String>,
    env: Vec<String>,
    working_dir: Option<String>,
) -> Result<(String, LogStream), DockerError> {
    let created = docker
        .create_exec(
            container,
            CreateExecOptions {
                attach_stdout: Some(true),
                attach_stderr: Some(true),
                tty: Some(false),
                cmd: Some(argv),
                env: Some(env),
                working_dir,
                ..Default::default()
            },
        )
        .await?;
    match docker.start_exec(&created.id, None).await? {
        StartExecResults::Attached { output, .. } => Ok((created.id, output)),
        StartExecResults::Detached => Err(DockerError::DockerResponseServerError {
            status_code: 500,
            message: "exec started detached although output was attached".to_owned(),
        }),
    }
}

/// Waits until the engine reports the exec finished and returns its exit code.
async fn exit_code(docker: &Docker, exec_id: &str) -> Result<Option<i64>, DockerError> {
    let mut pause = Duration::from_millis(1);
    let give_up = Instant::now() + Duration::from_secs(10);
    loop {
        let info = docker.inspect_exec(exec_id).await?;
        if info.running != Some(true) || Instant::now() > give_up {
            return Ok(info.exit_code);
        }
        tokio::time::sleep(pause).await;
        pause = (pause * 2).min(Duration::from_millis(50));
    }
}

/// Runs a short helper command in the container and returns its exit code and stdout.
pub async fn helper(
    docker: &Docker,
    container: &str,
    argv: Vec<String>,
) -> Result<(Option<i64>, String), DockerError> {
    let (id, mut stream) = start(docker, container, argv, Vec::new(), None).await?;
    let mut out = OutputCollector::new(64 * 1024);
    while let Some(msg) = stream.next().await {
        if let LogOutput::StdOut { message } = msg? {
            out.push(&message);
        }
    }
    let code = exit_code(docker, &id).await?;
    Ok((code, out.finish().0.text()))
}

/// Reads the container's OOM-kill counter (0 when the cgroup files are not visible).
pub async fn oom_kills(docker: &Docker, container: &str) -> Result<u64, DockerError> {
    let argv = vec![
        "/bin/sh".to_owned(),
        "-c".to_owned(),
        OOM_COUNTER.to_owned(),
    ];
    let (_, text) = helper(docker, container, argv).await?;
    Ok(text
        .lines()
        .filter_map(|l| l.strip_prefix("oom_kill "))
        .filter_map(|n| n.trim().parse::<u64>().ok())
        .max()
        .unwrap_or(0))
}

/// Signals every process of the exec marked `marker` in `container` (see [`KILLER`]).
async fn signal(docker: &Docker, container: &str, marker: &str, sig: &str, rounds: u32) -> bool {
    let argv = vec![
        "/bin/sh".to_owned(),
        "-c".to_owned(),
        KILLER.to_owned(),
        "lathe-kill".to_owned(),
        sig.to_owned(),
        marker.to_owned(),
        rounds.to_string(),
    ];
    match helper(docker, container, argv).await {
        Ok((Some(0), _)) => true,
        Ok((code, text)) => {
            tracing::warn!(?code, %text, "sandbox: kill helper failed");
            false
        }
        Err(e) => {
            tracing::warn!(error = %e, "sandbox: kill helper could not run");
            false
        }
    }
}

/// Kills an exec's processes when [`run`] is dropped before the exec ended (its caller was
/// cancelled): they would otherwise run on in the warm container.
struct KillOnDrop {
    docker: Docker,
    container: String,
    marker: String,
    armed: bool,
}

impl Drop for KillOnDrop {
    fn drop(&mut self) {
        if !self.armed {
            return;
        }
        let Ok(runtime) = tokio::runtime::Handle::try_current() else {
            return;
        };
        let (docker, container, marker) = (
            self.docker.clone(),
            std::mem::take(&mut self.container),
            std::mem::take(&mut self.marker),
        );
        runtime.spawn(async move {
            signal(&docker, &container, &marker, "KILL", 20).await;
        });
    }
}

/// Runs `plan` and returns its raw outcome. Engine errors are returned as they are.
pub async fn run(
    docker: &Docker,
    plan: ExecPlan<'_>,
    sink: Option<OutputSender>,
) -> Result<RawOutcome, DockerError> {
    let deadline = TokioInstant::now() + plan.timeout;
    let (exec_id, stream) = start(
        docker,
        plan.container,
        plan.argv.clone(),
        plan.env.clone(),
        Some(plan.working_dir.clone()),
    )
    .await?;
    let mut guard = KillOnDrop {
        docker: docker.clone(),
        container: plan.container.to_owned(),
        marker: plan.marker.clone(),
        armed: true,
    };
    let mut pump = Pump {
        stream,
        stdout: OutputCollector::new(plan.limit),
        stderr: OutputCollector::new(plan.limit),
        sink,
    };
    let mut timed_out = false;
    let mut restarted = false;
    if !pump.run_until(deadline).await? {
        timed_out = true;
        let mut ended = signal(docker, plan.container, &plan.marker, "TERM", 1).await
            && pump.run_until(TokioInstant::now() + plan.grace).await?;
        // Always: processes that ignore SIGTERM or left the command's session.
        let killed = signal(docker, plan.container, &plan.marker, "KILL", 20).await;
        if !ended && killed {
            ended = pump.run_until(TokioInstant::now() + plan.grace).await?;
        }
        if !ended {
            tracing::warn!(
                container = plan.container,
                "sandbox: restarting container to stop a timed-out command"
            );
            docker
                .restart_container(
                    plan.container,
                    Some(RestartContainerOptionsBuilder::default().t(0).build()),
                )
                .await?;
            restarted = true;
            if let Err(e) = pump.run_until(TokioInstant::now() + plan.grace).await {
                tracing::debug!(error = %e, "sandbox: output of a restarted container ended");
            }
        }
    }
    guard.armed = false;
    let exit = if timed_out {
        None
    } else {
        exit_code(docker, &exec_id).await?
    };
    let (stdout, stderr) = pump.finish().await;
    Ok(RawOutcome {
        exit_code: exit,
        timed_out,
        restarted,
        stdout,
        stderr,
    })
}
