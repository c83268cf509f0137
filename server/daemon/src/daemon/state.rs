//! What every connection and request of the daemon shares.

use crate::config::LoadedConfig;
use crate::instance::DaemonInfo;
use lathe_store::Store;
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
}

impl DaemonState {
    pub fn new(
        info: DaemonInfo,
        config: LoadedConfig,
        store: Store,
        shutdown: CancellationToken,
        lsp: lathe_lsp::LspServices,
    ) -> Self {
        Self {
            info,
            config,
            store,
            started: Instant::now(),
            shutdown,
            lsp,
        }
    }
}
