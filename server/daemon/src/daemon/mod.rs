//! `lathe serve`: the daemon.
//!
//! Start-up order matters: take the home's lock, clear the stale runtime files a dead
//! daemon left, open the store, bind the HTTP listener and the Unix socket, reap the dead
//! daemon's sandbox containers, and only then write `daemon.json`, so
//! that anyone who reads the runtime file can connect at once. Shutdown (SIGTERM, SIGINT or
//! a `shutdown` control request) stops accepting, lets open connections finish their
//! current message, cancels the dashboard's runs and waits (up to 10 s) for them to record
//! their end, stops the workspaces' MCP servers, releases the session sandboxes, and
//! removes the socket and runtime file.

mod approvals;
mod auth;
mod control;
mod dashboard;
mod http;
mod lsp;
mod metrics;
mod questions;
mod runs;
mod socket;
mod sse;
mod state;
mod workspaces;

pub use control::{ControlRequest, Status};
pub use socket::{Hello, SurfaceKind};

use crate::config;
use crate::instance::{self, DaemonInfo};
use crate::paths::Paths;
use crate::sandboxes::Sandboxes;
use anyhow::Context;
use state::DaemonState;
use std::path::Path;
use std::sync::Arc;
use tokio_util::sync::CancellationToken;
use workspaces::Workspaces;

/// Options of `lathe serve`.
#[derive(Clone, Debug)]
pub struct ServeOptions {
    /// Overrides `[daemon] port`; 0 picks a free port.
    pub port: Option<u16>,
}

/// The HTTP listener on loopback: the port asked for on the command line, else the
/// configured one, or (when that one is taken by another program) a free one, so that a
/// daemon started for an editor always comes up; `daemon.json` and the banner say where.
async fn listen(asked: Option<u16>, configured: u16) -> anyhow::Result<tokio::net::TcpListener> {
    let port = asked.unwrap_or(configured);
    match tokio::net::TcpListener::bind(("127.0.0.1", port)).await {
        Ok(listener) => Ok(listener),
        Err(error) if asked.is_none() && error.kind() == std::io::ErrorKind::AddrInUse => {
            tracing::warn!(port, "the configured port is in use; listening on a free one");
            Ok(tokio::net::TcpListener::bind(("127.0.0.1", 0)).await?)
        }
        Err(error) => Err(error).with_context(|| {
            format!("cannot listen on 127.0.0.1:{port}; is the port in use? (`lathe serve --port 0` picks a free one)")
        }),
    }
}

/// Runs the daemon until it is told to stop.
pub async fn serve(paths: Paths, options: ServeOptions) -> anyhow::Result<()> {
    paths
        .create()
        .with_context(|| format!("cannot create {}", paths.runtime_dir.display()))?;
    let _lock = instance::acquire(&paths)?;
    instance::clear_stale(&paths);

    let loaded = config::load(&paths, None);
    for problem in &loaded.problems {
        tracing::warn!(%problem, "configuration problem; the rest of the configuration applies");
    }
    let store = lathe_store::Store::open(&paths.store_file())?;
    let listener = listen(options.port, loaded.config.daemon.port).await?;
    let url = format!("http://{}", listener.local_addr()?);
    let socket = socket::bind(&paths.socket())?;

    let info = DaemonInfo {
        pid: std::process::id(),
        version: env!("CARGO_PKG_VERSION").to_owned(),
        socket: paths.socket(),
        url,
        token: instance::new_token()?,
        started_at: lathe_store::now_ms(),
    };
    let shutdown = CancellationToken::new();
    let sandboxes = Sandboxes::for_daemon(&paths);
    let workspaces = Arc::new(Workspaces::new(
        paths.clone(),
        store.clone(),
        Some(info.token.clone()),
        sandboxes,
        shutdown.clone(),
    ));
    // Containers of dead processes go in the background: a slow engine must not delay the
    // first answer, and this daemon's own containers carry its pid, so none is taken.
    tokio::spawn({
        let (workspaces, config) = (workspaces.clone(), loaded.config.sandbox.clone());
        async move { workspaces.sandboxes().reap_orphans(&config).await }
    });
    recover_interrupted(&workspaces, &store).await;
    let default_workspace = std::env::current_dir().context("reading the current directory")?;
    let state = Arc::new(DaemonState {
        info: info.clone(),
        config: loaded,
        store,
        started: std::time::Instant::now(),
        shutdown: shutdown.clone(),
        lsp: lsp::services(workspaces.clone(), Some(info.dashboard_url())),
        workspaces: workspaces.clone(),
        default_workspace,
        dashboard_runs: runs::DashboardRuns::default(),
    });

    let http_task = tokio::spawn(http::serve(listener, state.clone()));
    let socket_task = tokio::spawn(socket::accept_loop(socket, state.clone()));
    instance::write_info(&paths, &info)?;
    tracing::info!(url = %info.url, socket = %info.socket.display(), pid = info.pid, "daemon ready");
    say!("Lathe daemon ready");
    say!("  dashboard: {}", info.dashboard_url());
    say!(
        "  mcp:       {}/mcp (Authorization: Bearer <token from daemon.json>)",
        info.url
    );
    say!("  socket:    {}", info.socket.display());

    wait_for_stop(&shutdown).await;
    tracing::info!("shutting down");
    shutdown.cancel();
    let _ = http_task.await;
    let _ = socket_task.await;
    state
        .dashboard_runs
        .wait_idle(std::time::Duration::from_secs(10))
        .await;
    workspaces.shutdown().await;
    let _ = std::fs::remove_file(paths.socket());
    let _ = std::fs::remove_file(paths.daemon_file());
    Ok(())
}

/// Closes the runs a killed process left open in the store (see `lathe_agent::RunRegistry`).
async fn recover_interrupted(workspaces: &Workspaces, store: &lathe_store::Store) {
    match workspaces.runs().recover(store).await {
        Ok(closed) if closed.is_empty() => {}
        Ok(closed) => tracing::warn!(
            sessions = closed.len(),
            "closed the runs a stopped process left open (`interrupted`)"
        ),
        Err(error) => tracing::error!(%error, "cannot close interrupted runs"),
    }
}

async fn wait_for_stop(shutdown: &CancellationToken) {
    use tokio::signal::unix::{SignalKind, signal};
    let mut term = match signal(SignalKind::terminate()) {
        Ok(term) => term,
        Err(error) => {
            tracing::error!(%error, "cannot watch SIGTERM");
            shutdown.cancelled().await;
            return;
        }
    };
    tokio::select! {
        _ = term.recv() => {}
        _ = tokio::signal::ctrl_c() => {}
        _ = shutdown.cancelled() => {}
    }
}

/// Serves a surface on this process's stdin and stdout (`--in-process`); `workspace` is
/// the MCP server's workspace (required for MCP).
pub async fn serve_stdio(
    kind: SurfaceKind,
    paths: &Paths,
    workspace: Option<&Path>,
    shutdown: &CancellationToken,
) -> anyhow::Result<()> {
    paths
        .create()
        .with_context(|| format!("cannot create {}", paths.state_dir.display()))?;
    let store = lathe_store::Store::open(&paths.store_file()).with_context(|| {
        format!(
            "cannot open the store; if a daemon runs, use `lathe {}` without --in-process",
            kind.name()
        )
    })?;
    let workspaces = Arc::new(Workspaces::new(
        paths.clone(),
        store,
        None,
        Sandboxes::for_process(paths),
        shutdown.clone(),
    ));
    recover_interrupted(&workspaces, workspaces.store()).await;
    let served = match kind {
        SurfaceKind::Lsp => {
            let services = lsp::services(workspaces.clone(), None);
            tokio::select! {
                () = lathe_lsp::serve_connection(tokio::io::stdin(), tokio::io::stdout(), services) => Ok(()),
                () = shutdown.cancelled() => Ok(()),
            }
        }
        SurfaceKind::Control => Err(anyhow::anyhow!(
            "the control surface is only served by the daemon"
        )),
        SurfaceKind::Mcp => serve_mcp_stdio(&workspaces, workspace, shutdown).await,
    };
    workspaces.shutdown().await;
    served
}

async fn serve_mcp_stdio(
    workspaces: &Workspaces,
    workspace: Option<&Path>,
    shutdown: &CancellationToken,
) -> anyhow::Result<()> {
    let workspace = workspace.context("MCP needs a workspace to serve")?;
    let shared = workspaces.mcp(workspace).await?;
    lathe_mcp::serve_connection(
        tokio::io::stdin(),
        tokio::io::stdout(),
        shared,
        shutdown.clone(),
    )
    .await?;
    Ok(())
}
