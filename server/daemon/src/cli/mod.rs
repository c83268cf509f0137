//! The command line: one module per command, each a thin layer over the library crates.

mod context;
mod doctor;
mod repo_map;
mod run;
mod sandbox;
mod serve;
mod sessions;
mod shim;
mod skills;
mod status;
mod trust;

use crate::paths::Paths;
use clap::{Parser, Subcommand};
use std::process::ExitCode;

/// Lathe: a coding agent for your editor, MCP clients and the command line.
#[derive(Debug, Parser)]
#[command(name = "lathe", version, propagate_version = true)]
pub struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Start the daemon (in the background unless --foreground) and print where to reach it.
    Serve(serve::ServeArgs),
    /// Language server for editors on stdio (connects to the daemon, starting it if needed).
    Lsp(shim::ShimArgs),
    /// MCP server for MCP clients on stdio (connects to the daemon, starting it if needed).
    Mcp(shim::ShimArgs),
    /// Show whether the daemon runs, where, and its health.
    Status(status::StatusArgs),
    /// List sessions.
    Sessions(sessions::SessionsArgs),
    /// Check the setup and say exactly what is missing.
    Doctor,
    /// Show the code context the agent sees at FILE:LINE:COL.
    Context(context::ContextArgs),
    /// Show the ranked repository map the agent sees.
    RepoMap(repo_map::RepoMapArgs),
    /// List skills with their source and problems.
    Skills(skills::SkillsArgs),
    /// Run commands in the workspace's sandbox.
    Sandbox(sandbox::SandboxArgs),
    /// Run one agent task headless in a workspace (default: the current directory).
    Run(run::RunArgs),
    /// Let a workspace's MCP servers, policy, sandbox and model endpoint settings apply.
    Trust(trust::TrustArgs),
}

/// Runs a parsed command line and returns the process exit code.
pub async fn run(cli: Cli) -> ExitCode {
    let paths = Paths::from_env();
    let result = match cli.command {
        Command::Serve(args) => serve::run(args, paths).await,
        Command::Lsp(args) => shim::run(args, crate::daemon::SurfaceKind::Lsp, paths).await,
        Command::Mcp(args) => shim::run(args, crate::daemon::SurfaceKind::Mcp, paths).await,
        Command::Status(args) => status::run(args, paths).await,
        Command::Sessions(args) => sessions::run(args, paths),
        Command::Doctor => doctor::run(paths).await,
        Command::Context(args) => context::run(args, paths),
        Command::RepoMap(args) => repo_map::run(args, paths),
        Command::Skills(args) => skills::run(args, paths).await,
        Command::Sandbox(args) => sandbox::run(args, paths).await,
        Command::Run(args) => run::run(args, paths).await,
        Command::Trust(args) => trust::run(args, paths),
    };
    match result {
        Ok(code) => code,
        Err(error) => {
            eprintln!("lathe: {error:#}");
            ExitCode::FAILURE
        }
    }
}
