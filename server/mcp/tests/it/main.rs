//! lathe-mcp's integration tests: the hub against real MCP servers, and Lathe's MCP server
//! driven by the Python SDK's client and the official conformance suite.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod cancel;
mod conformance;
mod hub;
mod relay;
mod server_py;
mod server_tools;
mod support;
