//! `lathe sandbox exec [--workspace DIR] [--read-only] [--timeout SECS] -- CMD...`: run a
//! command in the workspace's sandbox, streaming its output; exits with its exit code.

use crate::config;
use crate::paths::Paths;
use lathe_sandbox::WorkspaceAccess;
use lathe_sandbox::cli::CliExec;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

#[derive(Debug, clap::Args)]
pub struct SandboxArgs {
    #[command(subcommand)]
    command: SandboxCommand,
}

#[derive(Debug, clap::Subcommand)]
enum SandboxCommand {
    /// Run a command in the sandbox.
    Exec {
        /// The workspace to mount at /workspace (default: the current directory).
        #[arg(long)]
        workspace: Option<PathBuf>,
        /// Mount the workspace read-only.
        #[arg(long)]
        read_only: bool,
        /// Kill the command after this many seconds.
        #[arg(long)]
        timeout: Option<u64>,
        /// The command and its arguments.
        #[arg(last = true, required = true)]
        argv: Vec<String>,
    },
}

pub async fn run(args: SandboxArgs, paths: Paths) -> anyhow::Result<ExitCode> {
    let SandboxCommand::Exec {
        workspace,
        read_only,
        timeout,
        argv,
    } = args.command;
    let workspace = match workspace {
        Some(dir) => dir,
        None => std::env::current_dir()?,
    };
    let loaded = config::load(&paths, Some(&workspace));
    for problem in &loaded.problems {
        eprintln!("lathe: config: {problem}");
    }
    let exec = CliExec {
        workspace,
        argv,
        access: if read_only {
            WorkspaceAccess::ReadOnly
        } else {
            WorkspaceAccess::WorkspaceWrite
        },
        timeout: timeout.map(Duration::from_secs),
    };
    let code =
        lathe_sandbox::cli::run_exec_cli(&loaded.config.sandbox, &paths.state_dir, exec).await?;
    Ok(ExitCode::from(u8::try_from(code).unwrap_or(1)))
}
