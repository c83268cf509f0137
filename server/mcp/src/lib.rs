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
//! The daemon (`server/daemon/src/daemon/workspaces.rs`) starts one [`Hub`] per workspace,
//! builds the agent with the hub as a tool source, and serves [`Services`] over its socket
//! ([`serve_connection`] after the `LATHE/1 mcp <workspace>` header, and on stdio for
//! `lathe mcp --in-process`) and at `/mcp` ([`http_service`], which checks the bearer
//! token itself). [`server::assemble`] builds the same from plain options, for the crate's
//! own tests and example.
//!
//! MCP servers' elicitations reach the user through the agent's question broker
//! (`lathe_agent::questions`): the hub's sink ([`AskTheUser`]) asks it for the workspace,
//! and it asks every surface attached for that workspace — the editors, and the MCP clients
//! connected to Lathe through the workspace's [`ElicitationRelay`] (see `server::relay`,
//! given to the MCP server as [`Services::elicitation`]) — while the dashboard, which
//! watches every workspace, may answer too. The first reply wins and the MCP clients still
//! asking are told it is withdrawn; with no surface that can answer, it is declined.
//!
//! Invariants: nothing here writes to stdout (stdio MCP owns it); a failing MCP peer never
//! panics or fails an agent run — it becomes a tool error the model reads or a health
//! entry a person reads.

pub mod client;
pub mod config;
mod error;
pub mod server;

pub use error::McpError;

pub use client::{
    AskTheUser, ElicitationSink, Hub, HubOptions, HubTool, ServerHealth, ServerStatus,
};
pub use config::{ConfigProblem, LoadedServers, ServerConfig, ServerTransport};
pub use server::{
    ElicitationRelay, HttpOptions, McpHttpService, Services, Shared, http_service, serve_connection,
};
