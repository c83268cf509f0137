//! `lathe status [--json]`: is the daemon up, where, and how is it.

use crate::client;
use crate::daemon::{ControlRequest, Status};
use crate::paths::Paths;
use std::process::ExitCode;

#[derive(Debug, clap::Args)]
pub struct StatusArgs {
    /// Print JSON.
    #[arg(long)]
    json: bool,
}

/// Exit code when no daemon runs (as `systemctl status` does).
const NOT_RUNNING: u8 = 3;

pub async fn run(args: StatusArgs, paths: Paths) -> anyhow::Result<ExitCode> {
    let answer = match client::control(&paths, &ControlRequest::Status).await {
        Ok(answer) => answer,
        Err(_) => {
            if args.json {
                say!("{}", serde_json::json!({"running": false}));
            } else {
                say!("Lathe daemon: not running (start it with `lathe serve`)");
            }
            return Ok(ExitCode::from(NOT_RUNNING));
        }
    };
    let status: Status = serde_json::from_value(answer)?;
    let token = crate::instance::read_info(&paths).map(|info| info.token);
    if args.json {
        let mut value = serde_json::to_value(&status)?;
        value["running"] = true.into();
        say!("{value}");
        return Ok(ExitCode::SUCCESS);
    }
    say!(
        "Lathe daemon: running (pid {}, version {}, up {}s)",
        status.pid,
        status.version,
        status.uptime_secs
    );
    match token {
        Some(token) => say!("  dashboard: {}/?token={token}", status.url),
        None => say!("  dashboard: {}", status.url),
    }
    say!("  socket:    {}", status.socket);
    say!("  sessions:  {}", status.sessions);
    say!(
        "  store:     {} ({} bytes)",
        status.store_path,
        status.store_bytes
    );
    match (&status.model.base_url, &status.model.model) {
        (Some(url), Some(model)) => say!("  model:     {model} at {url}"),
        _ => say!(
            "  model:     not configured ({})",
            crate::config::NO_MODEL_HELP
        ),
    }
    for problem in &status.config_problems {
        say!("  config problem: {problem}");
    }
    say!("  mcp:       {}/mcp", status.url);
    for workspace in &status.mcp {
        say!("  MCP servers of {}:", workspace.workspace);
        if workspace.mcp_servers.is_empty() {
            say!("    none configured");
        }
        for problem in &workspace.problems {
            say!("    problem: {problem}");
        }
        for server in &workspace.mcp_servers {
            let error = server
                .last_error
                .as_deref()
                .map(|e| format!(", last error: {e}"))
                .unwrap_or_default();
            say!(
                "    {} ({}): {}, {} tools, {} restarts{error}",
                server.name,
                server.transport,
                server.status,
                server.tool_count,
                server.restarts
            );
        }
    }
    Ok(ExitCode::SUCCESS)
}
