//! lathe-mcp: MCP both ways, on rmcp (the only Lathe crate that imports it).
//!
//! - [`client`]: the hub of configured MCP servers ([`config`]: `[mcp_servers]` and
//!   `.mcp.json`). It supervises stdio children and streamable HTTP sessions, restarts them
//!   with backoff, reports their health, and offers their tools to the agent as
//!   `mcp__<server>__<tool>` through the agent's `ToolSource` trait.
//! - [`server`]: the agent as an MCP server — `run_task`, `reply`, `cancel`, `code_context`,
//!   `repo_map`, `sandbox_exec`, `list_sessions`; sessions as resources; skills as prompts —
//!   over stdio ([`server::serve_connection`]) and streamable HTTP ([`server::http_service`]).
//!
//! Wiring (the daemon):
//!
//! ```text
//! let servers = lathe_mcp::config::load(&config.mcp_servers, Some(&workspace));   // + problems
//! let built = lathe_mcp::server::assemble::build(BuildOptions { store, workspace, model,
//!     policy, mcp_servers: servers.servers, skills, commands, repo_map_cache })?;
//! // socket, after the `LATHE/1 mcp` header (the BufReader keeps what it buffered):
//! lathe_mcp::serve_connection(reader, write, built.shared.clone(), shutdown.clone()).await?;
//! // `lathe mcp --in-process`: the same on tokio::io::stdin()/stdout().
//! // HTTP: Router::nest_service("/mcp", lathe_mcp::http_service(built.shared.clone(),
//! //     HttpOptions { token: Some(info.token), shutdown })) — outside the dashboard's
//! //     token middleware or behind it: the service checks the bearer token itself.
//! // health for `lathe status` and /api: built.hub.health() (serde); stop: built.hub.shutdown().
//! ```
//!
//! Invariants: nothing here writes to stdout (stdio MCP owns it); a failing MCP peer never
//! panics or fails an agent run — it becomes a tool error the model reads or a health
//! entry a person reads.

pub mod client;
pub mod config;
mod error;
pub mod server;

pub use error::McpError;

pub use client::{Hub, HubOptions, HubTool, ServerHealth, ServerStatus};
pub use config::{ConfigProblem, LoadedServers, ServerConfig, ServerTransport};
pub use server::{HttpOptions, McpHttpService, Services, Shared, http_service, serve_connection};
