//! The hub: every configured MCP server, supervised, with its tools offered to the agent as
//! `mcp__<server>__<tool>` (it implements the agent's [`ToolSource`]).
//!
//! ```text
//! Hub::start(servers, HubOptions { .. })   spawns one supervisor per enabled server
//!   .ready().await                         waits for every first connection attempt
//!   .tools()  .call(name, args, cancel)    what the agent sees and calls
//!   .health() .restart(name)  .shutdown()  for `lathe status`, the dashboard and the daemon
//! ```
//!
//! Invariants: a call never fails the run — a down, crashed or hung server, an unknown
//! tool, a timeout or a cancellation is a [`ToolOutput`] with `is_error` whose text says
//! what happened and what Lathe does about it; tool names are recomputed over every known
//! tool of every server (in configuration order) so they stay stable while a server
//! restarts; a call that times out pings the server and restarts it when the ping fails
//! too (a hung server).

mod convert;
mod handler;
mod managed;
mod names;

pub use convert::{DEFAULT_OUTPUT_CAP, cap_text, result_text};
pub use handler::{AskTheUser, ElicitationSink};
pub use managed::{ServerHealth, ServerStatus};
pub use names::{MAX_NAME_BYTES, sanitize};

use crate::config::ServerConfig;
use futures::future::BoxFuture;
use lathe_agent::model::ToolSpec;
use lathe_agent::tools::{ExternalTool, ToolOutput, ToolSource};
use managed::ManagedServer;
use rmcp::model::CallToolRequestParams;
use serde::Serialize;
use serde_json::Value;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::watch;
use tokio_util::sync::CancellationToken;

/// How long a hung-server check waits for a ping.
const PING_TIMEOUT: Duration = Duration::from_secs(5);

/// How the hub runs.
#[derive(Clone, Default)]
pub struct HubOptions {
    /// The workspace root: stdio servers start there, relative `cwd`s resolve against it.
    pub workspace: Option<PathBuf>,
    /// Largest tool result the model sees, in bytes (0: [`DEFAULT_OUTPUT_CAP`]).
    pub output_cap: usize,
    /// Where servers' elicitation requests go ([`AskTheUser`]: the user's surfaces);
    /// without one they are declined.
    pub elicitation: Option<Arc<dyn ElicitationSink>>,
}

impl std::fmt::Debug for HubOptions {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HubOptions")
            .field("workspace", &self.workspace)
            .field("output_cap", &self.output_cap)
            .field("elicitation", &self.elicitation.is_some())
            .finish()
    }
}

/// One tool the hub offers.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct HubTool {
    /// `mcp__<server>__<tool>`, what the model calls.
    pub name: String,
    pub server: String,
    /// The server's own name for the tool.
    pub tool: String,
    pub description: String,
    /// JSON schema of the arguments.
    pub input_schema: Value,
    /// The server declares it read-only (`readOnlyHint`).
    pub read_only: bool,
}

/// The hub of configured MCP servers. Cheap to clone.
#[derive(Clone)]
pub struct Hub {
    inner: Arc<Inner>,
}

struct Inner {
    servers: Vec<Arc<ManagedServer>>,
    output_cap: usize,
    changed: watch::Sender<u64>,
    shutdown: CancellationToken,
}

impl std::fmt::Debug for Hub {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Hub")
            .field(
                "servers",
                &self
                    .inner
                    .servers
                    .iter()
                    .map(|s| s.name())
                    .collect::<Vec<_>>(),
            )
            .finish()
    }
}

impl Hub {
    /// Starts a supervisor for every enabled server (on the current tokio runtime). Returns
    /// at once; [`Hub::ready`] waits for the first connections.
    pub fn start(servers: Vec<ServerConfig>, options: HubOptions) -> Hub {
        let (changed, _) = watch::channel(0);
        let shutdown = CancellationToken::new();
        let servers: Vec<Arc<ManagedServer>> = servers
            .into_iter()
            .map(|config| {
                ManagedServer::new(
                    config,
                    options.workspace.clone(),
                    options.elicitation.clone(),
                    changed.clone(),
                    shutdown.child_token(),
                )
            })
            .collect();
        for server in &servers {
            tokio::spawn(server.clone().supervise());
        }
        Hub {
            inner: Arc::new(Inner {
                servers,
                output_cap: if options.output_cap == 0 {
                    DEFAULT_OUTPUT_CAP
                } else {
                    options.output_cap
                },
                changed,
                shutdown,
            }),
        }
    }

    /// Waits until every enabled server's first connection attempt succeeded or failed
    /// (each is bounded by its `startup_timeout_sec`).
    pub async fn ready(&self) {
        for server in &self.inner.servers {
            server.first_attempt_done().await;
        }
    }

    /// A receiver that sees every change of a server's status or tools (the value counts
    /// changes).
    pub fn watch(&self) -> watch::Receiver<u64> {
        self.inner.changed.subscribe()
    }

    /// Waits until `done` holds for the hub, re-checking after every change.
    pub async fn wait_until(&self, mut done: impl FnMut(&Hub) -> bool) {
        let mut changes = self.watch();
        while !done(self) {
            if changes.changed().await.is_err() {
                return;
            }
        }
    }

    /// Every server's health, in configuration order.
    pub fn health(&self) -> Vec<ServerHealth> {
        self.inner.servers.iter().map(|s| s.health()).collect()
    }

    /// Reconnects a server now. False when no server has that name.
    pub fn restart(&self, server: &str) -> bool {
        match self.server(server) {
            Some(server) => {
                server.request_restart("restart requested".into());
                true
            }
            None => false,
        }
    }

    /// Stops every server (closing stdio children) and waits for the supervisors to
    /// notice, up to a few seconds.
    pub async fn shutdown(&self) {
        self.inner.shutdown.cancel();
        let stopped = self.wait_until(|hub| {
            hub.inner
                .servers
                .iter()
                .all(|s| matches!(s.status(), ServerStatus::Stopped | ServerStatus::Disabled))
        });
        let _ = tokio::time::timeout(Duration::from_secs(5), stopped).await;
    }

    fn server(&self, name: &str) -> Option<&Arc<ManagedServer>> {
        self.inner.servers.iter().find(|s| s.name() == name)
    }

    /// Every tool known from every enabled server (including servers being restarted, so
    /// that a call says what is wrong instead of the tool vanishing), named for the model.
    pub fn tools(&self) -> Vec<HubTool> {
        let mut pairs = Vec::new();
        for server in &self.inner.servers {
            if matches!(
                server.status(),
                ServerStatus::Disabled | ServerStatus::Stopped
            ) {
                continue;
            }
            for tool in server.tools() {
                pairs.push((server.clone(), tool));
            }
        }
        let names = names::assign(
            pairs
                .iter()
                .map(|(server, tool)| (server.name(), tool.name.as_ref())),
        );
        pairs
            .into_iter()
            .zip(names)
            .map(|((server, tool), name)| HubTool {
                name,
                server: server.name().to_owned(),
                tool: tool.name.to_string(),
                description: tool
                    .description
                    .as_deref()
                    .or(tool.title.as_deref())
                    .unwrap_or_default()
                    .to_owned(),
                input_schema: Value::Object((*tool.input_schema).clone()),
                read_only: tool
                    .annotations
                    .as_ref()
                    .and_then(|a| a.read_only_hint)
                    .unwrap_or(false),
            })
            .collect()
    }

    /// Calls a tool by its hub name. Every failure is an error output, never a panic.
    pub async fn call(&self, name: &str, args: Value, cancel: CancellationToken) -> ToolOutput {
        let Some(tool) = self.tools().into_iter().find(|t| t.name == name) else {
            return ToolOutput::error(format!(
                "no MCP tool `{name}`; the MCP tools offered now are listed in your tools"
            ));
        };
        let Some(server) = self.server(&tool.server).cloned() else {
            return ToolOutput::error(format!("MCP server `{}` is not configured", tool.server));
        };
        let arguments = match args {
            Value::Object(map) => Some(map),
            Value::Null => None,
            other => {
                return ToolOutput::error(format!(
                    "the arguments of `{name}` must be a JSON object, got {other}"
                ));
            }
        };
        let peer = match server.peer() {
            Ok(peer) => peer,
            Err(why) => {
                return ToolOutput::error(format!("MCP server `{}` {why}", tool.server));
            }
        };
        let mut params = CallToolRequestParams::new(tool.tool.clone());
        params.arguments = arguments;
        let timeout = server.config.tool_timeout;
        let call = tokio::time::timeout(timeout, peer.call_tool_once(params));
        let outcome = tokio::select! {
            () = cancel.cancelled() => {
                return ToolOutput::error(format!("`{name}` was cancelled"));
            }
            outcome = call => outcome,
        };
        match outcome {
            Ok(Ok(rmcp::model::CallToolResponse::Complete(result))) => {
                let (text, is_error) = result_text(&result, self.inner.output_cap);
                ToolOutput {
                    content: text,
                    is_error,
                }
            }
            Ok(Ok(_)) => ToolOutput::error(format!(
                "MCP server `{}` asked for input or started a task for `{}`, which Lathe's hub does not drive",
                tool.server, tool.tool
            )),
            Ok(Err(rmcp::ServiceError::McpError(error))) => ToolOutput::error(format!(
                "MCP server `{}` rejected `{}`: {} (code {})",
                tool.server, tool.tool, error.message, error.code.0
            )),
            Ok(Err(error)) => {
                let reason = format!("the connection failed during `{}`: {error}", tool.tool);
                server.request_restart(reason.clone());
                ToolOutput::error(format!(
                    "MCP server `{}` crashed or disconnected: {reason}. Lathe is restarting it; try again shortly.",
                    tool.server
                ))
            }
            Err(_) => {
                let alive = matches!(
                    tokio::time::timeout(
                        PING_TIMEOUT,
                        peer.send_request(rmcp::model::ClientRequest::PingRequest(
                            Default::default()
                        ))
                    )
                    .await,
                    Ok(Ok(_))
                );
                let secs = timeout.as_secs_f64();
                if alive {
                    ToolOutput::error(format!(
                        "MCP tool `{}` of server `{}` did not answer within {secs} s (tool_timeout_sec); the call was cancelled",
                        tool.tool, tool.server
                    ))
                } else {
                    server.request_restart(format!(
                        "hung: `{}` did not answer within {secs} s and the server did not answer a ping",
                        tool.tool
                    ));
                    ToolOutput::error(format!(
                        "MCP server `{}` hung: `{}` did not answer within {secs} s and the server does not answer pings. Lathe is restarting it.",
                        tool.server, tool.tool
                    ))
                }
            }
        }
    }
}

impl ToolSource for Hub {
    fn tools(&self) -> Vec<ExternalTool> {
        Hub::tools(self)
            .into_iter()
            .map(|tool| ExternalTool {
                spec: ToolSpec {
                    name: tool.name,
                    description: format!("[MCP server {}] {}", tool.server, tool.description),
                    parameters: tool.input_schema,
                },
                read_only: tool.read_only,
            })
            .collect()
    }

    fn call(
        &self,
        name: &str,
        args: Value,
        cancel: CancellationToken,
    ) -> BoxFuture<'static, ToolOutput> {
        let hub = self.clone();
        let name = name.to_owned();
        Box::pin(async move { hub.call(&name, args, cancel).await })
    }

    fn ready(&self) -> BoxFuture<'static, ()> {
        let hub = self.clone();
        Box::pin(async move { hub.ready().await })
    }
}
