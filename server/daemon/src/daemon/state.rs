//! What every connection and request of the daemon shares.

use super::runs::DashboardRuns;
use super::workspaces::Workspaces;
use crate::config::LoadedConfig;
use crate::instance::DaemonInfo;
use lathe_store::Store;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Instant;
use tokio_util::sync::CancellationToken;

pub(crate) struct DaemonState {
    pub info: DaemonInfo,
    pub config: LoadedConfig,
    pub store: Store,
    pub started: Instant,
    /// Cancelled once to stop the whole daemon.
    pub shutdown: CancellationToken,
    /// What every LSP connection shares (agents per workspace, the editor hub).
    pub lsp: lathe_lsp::LspServices,
    /// Per workspace: the MCP servers' hub and the MCP server.
    pub workspaces: Arc<Workspaces>,
    /// The workspace `/mcp` serves when the request names none: the directory the daemon
    /// was started in.
    pub default_workspace: PathBuf,
    /// The runs the dashboard started, while they run.
    pub dashboard_runs: DashboardRuns,
}
