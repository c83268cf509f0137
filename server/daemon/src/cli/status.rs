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
                println!("{}", serde_json::json!({"running": false}));
            } else {
                println!("Lathe daemon: not running (start it with `lathe serve`)");
            }
            return Ok(ExitCode::from(NOT_RUNNING));
        }
    };
    let status: Status = serde_json::from_value(answer)?;
    let token = crate::instance::read_info(&paths).map(|info| info.token);
    if args.json {
        let mut value = serde_json::to_value(&status)?;
        value["running"] = true.into();
        println!("{value}");
        return Ok(ExitCode::SUCCESS);
    }
    println!(
        "Lathe daemon: running (pid {}, version {}, up {}s)",
        status.pid, status.version, status.uptime_secs
    );
    match token {
        Some(token) => println!("  dashboard: {}/?token={token}", status.url),
        None => println!("  dashboard: {}", status.url),
    }
    println!("  socket:    {}", status.socket);
    println!("  sessions:  {}", status.sessions);
    println!(
        "  store:     {} ({} bytes)",
        status.store_path, status.store_bytes
    );
    match (&status.model.base_url, &status.model.model) {
        (Some(url), Some(model)) => println!("  model:     {model} at {url}"),
        _ => println!(
            "  model:     not configured ({})",
            crate::config::NO_MODEL_HELP
        ),
    }
    for problem in &status.config_problems {
        println!("  config problem: {problem}");
    }
    println!("  mcp:       {}/mcp", status.url);
    for workspace in &status.mcp {
        println!("  MCP servers of {}:", workspace.workspace);
        if workspace.mcp_servers.is_empty() {
            println!("    none configured");
        }
        for server in &workspace.mcp_servers {
            let error = server
                .last_error
                .as_deref()
                .map(|e| format!(", last error: {e}"))
                .unwrap_or_default();
            println!(
                "    {} ({}): {}, {} tools, {} restarts{error}",
                server.name, server.transport, server.status, server.tool_count, server.restarts
            );
        }
    }
    Ok(ExitCode::SUCCESS)
}
