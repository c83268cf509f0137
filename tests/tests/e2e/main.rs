//! End-to-end tests: the real `lathe` binary, each test under its own `LATHE_HOME`.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod approvals_api;
mod cli_checks;
mod crash_recovery;
mod daemon_lifecycle;
mod dashboard;
mod editor_neovim;
mod mcp_shim;
mod mcp_surface;
mod run_cli;
mod run_mcp_tools;
mod run_slow_lane;
mod sandbox_lifecycle;
mod shims;
