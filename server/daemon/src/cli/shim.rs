//! `lathe lsp` and `lathe mcp`: stdio shims that pump bytes to the daemon.
//!
//! The shim never interprets the protocol; it connects (starting the daemon if needed),
//! sends the surface header, and copies stdin to the socket and the socket to stdout until
//! the daemon closes the connection. With `--in-process` the surface is served right here
//! on stdio, with no daemon.

use crate::client;
use crate::daemon::SurfaceKind;
use crate::logging;
use crate::paths::Paths;
use anyhow::Context;
use std::process::ExitCode;
use tokio::io::{AsyncWriteExt, BufReader};

#[derive(Debug, clap::Args)]
pub struct ShimArgs {
    /// Serve the protocol in this process instead of through the daemon.
    #[arg(long)]
    in_process: bool,
}

pub async fn run(args: ShimArgs, kind: SurfaceKind, paths: Paths) -> anyhow::Result<ExitCode> {
    let _logs = logging::init(None, true);
    if args.in_process {
        let shutdown = tokio_util::sync::CancellationToken::new();
        crate::daemon::serve_stdio(kind, &paths, &shutdown).await?;
        return Ok(ExitCode::SUCCESS);
    }
    let stream = client::connect_or_start(&paths, kind).await?;
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
