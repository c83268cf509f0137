//! `lathe lsp` and `lathe mcp`: stdio shims that pump bytes to the daemon.
//!
//! The shim never interprets the protocol; it connects (starting the daemon if needed),
//! sends the surface header, and copies stdin to the socket and the socket to stdout until
//! the daemon closes the connection. With `--in-process` the surface is served right here
//! on stdio, with no daemon. MCP serves one workspace: `--workspace`, else the current
//! directory (an editor names its workspace itself, in `initialize`).

use crate::client;
use crate::daemon::{Hello, SurfaceKind};
use crate::logging;
use crate::paths::Paths;
use anyhow::Context;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use tokio::io::{AsyncWriteExt, BufReader};

#[derive(Debug, clap::Args)]
pub struct ShimArgs {
    /// Serve the protocol in this process instead of through the daemon.
    #[arg(long)]
    in_process: bool,
    /// The workspace MCP clients work in (default: the current directory).
    #[arg(long, value_name = "DIR")]
    workspace: Option<PathBuf>,
}

pub async fn run(args: ShimArgs, kind: SurfaceKind, paths: Paths) -> anyhow::Result<ExitCode> {
    let _logs = logging::init(None, true);
    let workspace = match kind {
        SurfaceKind::Mcp => Some(mcp_workspace(args.workspace)?),
        _ => None,
    };
    if args.in_process {
        let shutdown = tokio_util::sync::CancellationToken::new();
        crate::daemon::serve_stdio(kind, &paths, workspace.as_deref(), &shutdown).await?;
        return Ok(ExitCode::SUCCESS);
    }
    let hello = Hello { kind, workspace };
    let stream = client::connect_or_start(&paths, &hello).await?;
    let (mut from_daemon, mut to_daemon) = stream.into_split();
    tokio::spawn(async move {
        let mut stdin = tokio::io::stdin();
        let _ = tokio::io::copy(&mut stdin, &mut to_daemon).await;
        let _ = to_daemon.shutdown().await;
    });
    let mut stdout = tokio::io::stdout();
    tokio::io::copy(&mut BufReader::new(&mut from_daemon), &mut stdout)
        .await
        .context("lost the connection to the Lathe daemon")?;
    stdout.flush().await?;
    Ok(ExitCode::SUCCESS)
}

/// The workspace an MCP shim serves: `--workspace`, else the current directory, unless
/// that is `/` or the home directory, where MCP clients (Claude Desktop among them) start
/// their servers: serving it would have the agent index and edit the whole disk.
fn mcp_workspace(given: Option<PathBuf>) -> anyhow::Result<PathBuf> {
    let explicit = given.is_some();
    let workspace = match given {
        Some(dir) => dir,
        None => std::env::current_dir().context("reading the current directory")?,
    };
    let workspace = workspace
        .canonicalize()
        .with_context(|| format!("workspace {}", workspace.display()))?;
    let home = std::env::var_os("HOME").and_then(|h| PathBuf::from(h).canonicalize().ok());
    anyhow::ensure!(
        explicit || (workspace != Path::new("/") && Some(&workspace) != home.as_ref()),
        "`lathe mcp` started in {} with no project to serve: add `\"--workspace\", \"/path/to/project\"` to its args in the MCP client's configuration",
        workspace.display()
    );
    anyhow::ensure!(
        !workspace.as_os_str().as_encoded_bytes().contains(&b'\n'),
        "the workspace path {} contains a line break",
        workspace.display()
    );
    Ok(workspace)
}
