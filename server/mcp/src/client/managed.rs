//! One configured MCP server under supervision: connect (spawn the child or open the HTTP
//! session), initialize, list every tool page, serve calls, and reconnect with exponential
//! backoff when the connection ends.
//!
//! Invariants: exactly one supervisor task per server owns the connection; `state` is the
//! only thing calls read (a peer handle to call through, the last known tools, the health);
//! a server that fails to start within `startup_timeout`, exits or drops its connection is
//! restarted after 0.5 s, 1 s, 2 s … up to 30 s (reset after 60 s of being up); a stdio
//! child's stderr goes to the log line by line and its last lines explain a crash; on
//! shutdown the child's stdin is closed first and it is killed only if it does not exit.

use super::handler::{ElicitationSink, HubClient};
use crate::config::{ServerConfig, ServerTransport};
use rmcp::model::Tool;
use rmcp::service::{Peer, RoleClient, RunningService};
use rmcp::transport::StreamableHttpClientTransport;
use rmcp::transport::streamable_http_client::StreamableHttpClientTransportConfig;
use serde::Serialize;
use std::collections::{HashMap, VecDeque};
use std::path::PathBuf;
use std::process::Stdio;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};
use tokio::io::AsyncBufReadExt;
use tokio::process::{Child, Command};
use tokio::sync::{Notify, watch};
use tokio_util::sync::CancellationToken;

const STDERR_LINES_KEPT: usize = 20;
const BACKOFF_FIRST: Duration = Duration::from_millis(500);
const BACKOFF_MAX: Duration = Duration::from_secs(30);
const STABLE_AFTER: Duration = Duration::from_secs(60);
const CHILD_EXIT_GRACE: Duration = Duration::from_secs(2);

/// Where a server stands.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ServerStatus {
    /// Connecting for the first time.
    Starting,
    /// Connected and initialized; calls go through.
    Up,
    /// Reconnecting after a crash, a hang or a failed start.
    Restarting,
    /// Waiting for the next attempt after a failure.
    Down,
    /// `enabled = false` in the configuration.
    Disabled,
    /// The hub was shut down.
    Stopped,
}

/// A server's health, for `lathe status`, the dashboard and `/api`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct ServerHealth {
    pub name: String,
    /// `stdio` or `http`.
    pub transport: &'static str,
    pub status: ServerStatus,
    /// Tools offered (after `enabled_tools`/`disabled_tools`).
    pub tool_count: usize,
    pub last_error: Option<String>,
    /// Times the server was reconnected after being up or failing to start.
    pub restarts: u32,
    /// The child's process id (stdio servers that are up).
    pub pid: Option<u32>,
    /// The server's own name and version, from `initialize`.
    pub server_info: Option<String>,
}

#[derive(Default)]
struct State {
    status: Option<ServerStatus>,
    peer: Option<Peer<RoleClient>>,
    /// The server's tools (already filtered by the configuration), kept while it is down.
    tools: Vec<Tool>,
    last_error: Option<String>,
    restarts: u32,
    pid: Option<u32>,
    server_info: Option<String>,
}

pub(crate) struct ManagedServer {
    pub(crate) config: ServerConfig,
    workspace: Option<PathBuf>,
    elicitation: Option<Arc<dyn ElicitationSink>>,
    state: Mutex<State>,
    restart: Notify,
    tools_changed: Arc<Notify>,
    /// Bumped when a server's tools or status change.
    hub_changed: watch::Sender<u64>,
    shutdown: CancellationToken,
    /// Cancelled once the first connection attempt has ended either way.
    first_attempt: CancellationToken,
}

/// A live connection and what ending it needs.
struct Connection {
    running: RunningService<RoleClient, HubClient>,
    child: Option<Child>,
    stderr_tail: Arc<Mutex<VecDeque<String>>>,
}

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

impl ManagedServer {
    pub(crate) fn new(
        config: ServerConfig,
        workspace: Option<PathBuf>,
        elicitation: Option<Arc<dyn ElicitationSink>>,
        hub_changed: watch::Sender<u64>,
        shutdown: CancellationToken,
    ) -> Arc<Self> {
        let status = if config.enabled {
            ServerStatus::Starting
        } else {
            ServerStatus::Disabled
        };
        let server = Arc::new(Self {
            config,
            workspace,
            elicitation,
            state: Mutex::new(State {
                status: Some(status),
                ..State::default()
            }),
            restart: Notify::new(),
            tools_changed: Arc::new(Notify::new()),
            hub_changed,
            shutdown,
            first_attempt: CancellationToken::new(),
        });
        if !server.config.enabled {
            server.first_attempt.cancel();
        }
        server
    }

    pub(crate) fn name(&self) -> &str {
        &self.config.name
    }

    pub(crate) fn status(&self) -> ServerStatus {
        lock(&self.state).status.unwrap_or(ServerStatus::Down)
    }

    pub(crate) fn tools(&self) -> Vec<Tool> {
        lock(&self.state).tools.clone()
    }

    /// The peer to call through, or a sentence saying why there is none.
    pub(crate) fn peer(&self) -> Result<Peer<RoleClient>, String> {
        let state = lock(&self.state);
        match (&state.peer, state.status.unwrap_or(ServerStatus::Down)) {
            (Some(peer), ServerStatus::Up) => Ok(peer.clone()),
            (_, status) => {
                let mut why = match status {
                    ServerStatus::Disabled => "is disabled in the configuration".to_owned(),
                    ServerStatus::Stopped => "was stopped".to_owned(),
                    ServerStatus::Starting => "is still starting".to_owned(),
                    _ => "is down; Lathe is restarting it".to_owned(),
                };
                if let Some(error) = &state.last_error {
                    why.push_str(&format!(" (last error: {error})"));
                }
                Err(why)
            }
        }
    }

    pub(crate) fn health(&self) -> ServerHealth {
        let state = lock(&self.state);
        ServerHealth {
            name: self.config.name.clone(),
            transport: match self.config.transport {
                ServerTransport::Stdio { .. } => "stdio",
                ServerTransport::Http { .. } => "http",
            },
            status: state.status.unwrap_or(ServerStatus::Down),
            tool_count: state.tools.len(),
            last_error: state.last_error.clone(),
            restarts: state.restarts,
            pid: state.pid,
            server_info: state.server_info.clone(),
        }
    }

    /// Drops the current connection and reconnects now, giving `reason` as the last error.
    pub(crate) fn request_restart(&self, reason: String) {
        tracing::warn!(server = %self.config.name, %reason, "restarting MCP server");
        lock(&self.state).last_error = Some(reason);
        self.restart.notify_one();
    }

    /// Resolves once the first connection attempt succeeded or failed.
    pub(crate) async fn first_attempt_done(&self) {
        self.first_attempt.cancelled().await;
    }

    fn set(&self, update: impl FnOnce(&mut State)) {
        update(&mut lock(&self.state));
        self.hub_changed.send_modify(|n| *n += 1);
    }

    /// The supervisor: runs until the hub shuts down.
    pub(crate) async fn supervise(self: Arc<Self>) {
        if !self.config.enabled {
            return;
        }
        let mut failures: u32 = 0;
        loop {
            let attempt = tokio::select! {
                () = self.shutdown.cancelled() => break,
                attempt = tokio::time::timeout(self.config.startup_timeout, self.connect()) => attempt,
            };
            match attempt {
                Ok(Ok((connection, tools))) => {
                    let peer = connection.running.peer().clone();
                    let server_info = peer
                        .peer_info()
                        .and_then(|info| info.server_info.clone())
                        .map(|info| format!("{} {}", info.name, info.version));
                    let pid = connection.child.as_ref().and_then(Child::id);
                    self.set(|state| {
                        state.status = Some(ServerStatus::Up);
                        state.peer = Some(peer);
                        state.tools = tools;
                        state.pid = pid;
                        state.server_info = server_info;
                    });
                    tracing::info!(server = %self.config.name, tools = self.tools().len(), "MCP server up");
                    self.first_attempt.cancel();
                    let up_since = Instant::now();
                    let ended = self.serve(connection).await;
                    if up_since.elapsed() >= STABLE_AFTER {
                        failures = 0;
                    }
                    match ended {
                        None => break,
                        Some(reason) => self.set(|state| {
                            state.peer = None;
                            state.pid = None;
                            state.status = Some(ServerStatus::Restarting);
                            state.last_error = Some(reason);
                        }),
                    }
                }
                Ok(Err(error)) => self.failed(error),
                Err(_) => self.failed(format!(
                    "did not start within {} s (startup_timeout_sec)",
                    self.config.startup_timeout.as_secs_f64()
                )),
            }
            self.first_attempt.cancel();
            failures += 1;
            let delay = BACKOFF_FIRST
                .saturating_mul(1 << failures.saturating_sub(1).min(10))
                .min(BACKOFF_MAX);
            tokio::select! {
                () = self.shutdown.cancelled() => break,
                () = tokio::time::sleep(delay) => {}
                () = self.restart.notified() => {}
            }
            self.set(|state| {
                state.status = Some(ServerStatus::Restarting);
                state.restarts += 1;
            });
        }
        self.set(|state| {
            state.status = Some(ServerStatus::Stopped);
            state.peer = None;
            state.pid = None;
        });
    }

    fn failed(&self, error: String) {
        tracing::warn!(server = %self.config.name, %error, "MCP server failed");
        self.set(|state| {
            state.status = Some(ServerStatus::Down);
            state.peer = None;
            state.pid = None;
            state.last_error = Some(error);
        });
    }

    /// Serves one connection until it ends (`Some(reason)`) or the hub shuts down (`None`).
    async fn serve(&self, connection: Connection) -> Option<String> {
        let Connection {
            running,
            mut child,
            stderr_tail,
        } = connection;
        let peer = running.peer().clone();
        let token = running.cancellation_token();
        let stop = CancellationToken::new();
        let stopper = stop.clone();
        tokio::spawn(async move {
            stopper.cancelled().await;
            token.cancel();
        });
        let _stop_on_exit = stop.clone().drop_guard();
        let waiting = running.waiting();
        tokio::pin!(waiting);
        let mut reason = loop {
            tokio::select! {
                _ = &mut waiting => break Some("the connection closed".to_owned()),
                () = self.restart.notified() => {
                    stop.cancel();
                    let _ = (&mut waiting).await;
                    break Some(lock(&self.state).last_error.clone().unwrap_or_else(|| "restart requested".into()));
                }
                () = self.shutdown.cancelled() => {
                    stop.cancel();
                    let _ = (&mut waiting).await;
                    break None;
                }
                () = self.tools_changed.notified() => {
                    // Bounded, so that a server that hangs on the listing cannot keep this
                    // loop from restarts and shutdown.
                    match tokio::time::timeout(self.config.tool_timeout, list_tools(&self.config, &peer)).await {
                        Ok(Ok(tools)) => self.set(|state| state.tools = tools),
                        Ok(Err(error)) => tracing::warn!(server = %self.config.name, %error, "re-listing tools failed"),
                        Err(_) => tracing::warn!(server = %self.config.name, "re-listing tools timed out (tool_timeout_sec)"),
                    }
                }
            }
        };
        if let Some(child) = child.as_mut() {
            let status = match tokio::time::timeout(CHILD_EXIT_GRACE, child.wait()).await {
                Ok(Ok(status)) => Some(status),
                _ => {
                    let _ = child.start_kill();
                    child.wait().await.ok()
                }
            };
            if let (Some(status), Some(text)) = (status, reason.as_mut()) {
                if !status.success() {
                    text.push_str(&format!("; the process exited ({status})"));
                }
                let tail = lock(&stderr_tail);
                if let Some(last) = tail.back() {
                    text.push_str(&format!("; last stderr line: {last}"));
                }
            }
        }
        reason
    }

    async fn connect(&self) -> Result<(Connection, Vec<Tool>), String> {
        let handler = HubClient {
            server: self.config.name.clone(),
            tools_changed: self.tools_changed.clone(),
            elicitation: self.elicitation.clone(),
            tool_timeout: self.config.tool_timeout,
        };
        let stderr_tail = Arc::new(Mutex::new(VecDeque::new()));
        let (running, child) = match &self.config.transport {
            ServerTransport::Stdio {
                command,
                args,
                env,
                cwd,
            } => {
                let mut cmd = Command::new(command);
                cmd.args(args)
                    .envs(env)
                    .stdin(Stdio::piped())
                    .stdout(Stdio::piped())
                    .stderr(Stdio::piped())
                    .kill_on_drop(true);
                if let Some(dir) = cwd.as_ref().map(|dir| match &self.workspace {
                    Some(root) if dir.is_relative() => root.join(dir),
                    _ => dir.clone(),
                }) {
                    cmd.current_dir(dir);
                } else if let Some(root) = &self.workspace {
                    cmd.current_dir(root);
                }
                let mut child = cmd
                    .spawn()
                    .map_err(|e| format!("cannot start `{command}`: {e}"))?;
                let (Some(stdout), Some(stdin)) = (child.stdout.take(), child.stdin.take()) else {
                    return Err("the child's stdio could not be captured".into());
                };
                if let Some(stderr) = child.stderr.take() {
                    tokio::spawn(forward_stderr(
                        self.config.name.clone(),
                        stderr,
                        stderr_tail.clone(),
                    ));
                }
                let running = rmcp::serve_client(handler, (stdout, stdin))
                    .await
                    .map_err(|e| {
                        let tail = lock(&stderr_tail);
                        match tail.back() {
                            Some(line) => format!("initialize failed: {e}; stderr: {line}"),
                            None => format!("initialize failed: {e}"),
                        }
                    })?;
                (running, Some(child))
            }
            ServerTransport::Http { url, headers } => {
                let mut config = StreamableHttpClientTransportConfig::with_uri(url.as_str());
                let mut custom = HashMap::new();
                for (name, value) in headers {
                    if name.eq_ignore_ascii_case("authorization")
                        && let Some(token) = value.strip_prefix("Bearer ")
                    {
                        config = config.auth_header(token);
                        continue;
                    }
                    let name = http::HeaderName::try_from(name.as_str())
                        .map_err(|e| format!("bad header name {name:?}: {e}"))?;
                    let value = http::HeaderValue::try_from(value.as_str())
                        .map_err(|e| format!("bad value for header {name}: {e}"))?;
                    custom.insert(name, value);
                }
                let transport =
                    StreamableHttpClientTransport::from_config(config.custom_headers(custom));
                let running = rmcp::serve_client(handler, transport)
                    .await
                    .map_err(|e| format!("cannot connect to {url}: {e}"))?;
                (running, None)
            }
        };
        let tools = list_tools(&self.config, running.peer()).await?;
        Ok((
            Connection {
                running,
                child,
                stderr_tail,
            },
            tools,
        ))
    }
}

/// Every page of the server's tools, filtered by the configuration.
async fn list_tools(config: &ServerConfig, peer: &Peer<RoleClient>) -> Result<Vec<Tool>, String> {
    let all = peer
        .list_all_tools()
        .await
        .map_err(|e| format!("tools/list failed: {e}"))?;
    Ok(all
        .into_iter()
        .filter(|tool| config.offers(&tool.name))
        .collect())
}

async fn forward_stderr(
    server: String,
    stderr: tokio::process::ChildStderr,
    tail: Arc<Mutex<VecDeque<String>>>,
) {
    let mut lines = tokio::io::BufReader::new(stderr).lines();
    while let Ok(Some(line)) = lines.next_line().await {
        tracing::info!(server = %server, "stderr: {line}");
        let mut tail = lock(&tail);
        if tail.len() == STDERR_LINES_KEPT {
            tail.pop_front();
        }
        tail.push_back(line);
    }
}
