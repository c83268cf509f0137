//! `lathe serve [--port N] [--foreground]`.

use crate::client;
use crate::daemon::{self, ControlRequest, ServeOptions};
use crate::instance;
use crate::logging;
use crate::paths::Paths;
use std::process::ExitCode;
use std::time::{Duration, Instant};

#[derive(Debug, clap::Args)]
pub struct ServeArgs {
    /// HTTP port on 127.0.0.1 (default 7878, or [daemon] port); 0 picks a free port.
    #[arg(long)]
    port: Option<u16>,
    /// Run in this process instead of starting a background daemon.
    #[arg(long)]
    foreground: bool,
}

pub async fn run(args: ServeArgs, paths: Paths) -> anyhow::Result<ExitCode> {
    if args.foreground {
        // Everything goes to the rolling log; stderr repeats it for a person at a terminal,
        // and only warnings when it is a file (`daemon.out` of an autostarted daemon).
        let quiet = !std::io::IsTerminal::is_terminal(&std::io::stderr());
        let _logs = logging::init(Some(&paths.log_dir()), quiet);
        daemon::serve(paths, ServeOptions { port: args.port }).await?;
        return Ok(ExitCode::SUCCESS);
    }
    if instance::is_locked(&paths) {
        let at = instance::read_info(&paths)
            .map(|info| format!(" (pid {}, {})", info.pid, info.dashboard_url()))
            .unwrap_or_default();
        anyhow::bail!("a Lathe daemon is already running for this home{at}");
    }
    let mut child = client::start_background(&paths, args.port)?;
    let deadline = Instant::now() + Duration::from_secs(15);
    loop {
        let answers = client::control(&paths, &ControlRequest::Status)
            .await
            .is_ok();
        if let (true, Some(info)) = (answers, instance::read_info(&paths)) {
            say!("Lathe daemon running (pid {})", info.pid);
            say!("  dashboard: {}", info.dashboard_url());
            say!("  editors:   run `lathe lsp` as the language server");
            say!("  MCP:       run `lathe mcp` as the MCP server");
            return Ok(ExitCode::SUCCESS);
        }
        if let Ok(Some(status)) = child.try_wait() {
            anyhow::bail!(
                "the daemon exited ({status}); see {}",
                paths.log_dir().join("daemon.out").display()
            );
        }
        if Instant::now() > deadline {
            anyhow::bail!(
                "the daemon did not answer within 15s; see {}",
                paths.log_dir().display()
            );
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}
