//! `lathe trust [--workspace DIR]`: lets a workspace's `.mcp.json` and the guarded settings
//! of its `.lathe/config.toml` apply, exactly as they are now (see `trust.rs`); prints the
//! MCP servers it trusted, so the user sees the commands.

use crate::paths::Paths;
use anyhow::Context;
use lathe_mcp::config::ServerTransport;
use std::path::PathBuf;
use std::process::ExitCode;

#[derive(Debug, clap::Args)]
pub struct TrustArgs {
    /// The workspace (default: the current directory).
    #[arg(long)]
    workspace: Option<PathBuf>,
}

pub fn run(args: TrustArgs, paths: Paths) -> anyhow::Result<ExitCode> {
    let workspace = match args.workspace {
        Some(dir) => dir,
        None => std::env::current_dir().context("reading the current directory")?,
    };
    let workspace = workspace
        .canonicalize()
        .with_context(|| format!("workspace {}", workspace.display()))?;
    let trusted = crate::trust::trust(&paths, &workspace)?;
    if trusted.files.is_empty() {
        say!("{} sets nothing that needs trust", workspace.display());
        return Ok(ExitCode::SUCCESS);
    }
    let config = crate::config::load(&paths, Some(&workspace)).config;
    let servers = lathe_mcp::config::load(&config.mcp_servers, Some(&workspace));
    say!(
        "trusted {}; its MCP servers will start:",
        workspace.display()
    );
    for server in &servers.servers {
        match &server.transport {
            ServerTransport::Stdio { command, args, .. } => {
                say!("  {}: {command} {}", server.name, args.join(" "));
            }
            ServerTransport::Http { url, .. } => say!("  {}: {url}", server.name),
        }
    }
    for problem in &servers.problems {
        say!("  problem: {problem}");
    }
    Ok(ExitCode::SUCCESS)
}
