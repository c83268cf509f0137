//! `lathe sessions [--json]`: the stored sessions, most recent first.
//!
//! Reads the store directly; it is shared safely with a running daemon.

use crate::paths::Paths;
use std::process::ExitCode;

#[derive(Debug, clap::Args)]
pub struct SessionsArgs {
    /// Print JSON.
    #[arg(long)]
    json: bool,
}

pub fn run(args: SessionsArgs, paths: Paths) -> anyhow::Result<ExitCode> {
    let store = lathe_store::Store::open(&paths.store_file())?;
    let sessions = store.sessions()?;
    if args.json {
        say!("{}", serde_json::to_string(&sessions)?);
        return Ok(ExitCode::SUCCESS);
    }
    if sessions.is_empty() {
        say!(
            "No sessions yet. Start one with `lathe run \"<task>\"`, from your editor, or over MCP."
        );
        return Ok(ExitCode::SUCCESS);
    }
    say!(
        "{:<36}  {:<9}  {:<8}  {:>15}  {:>9}  TITLE",
        "ID",
        "STATUS",
        "FROM",
        "TOKENS IN/OUT",
        "COST"
    );
    for session in sessions {
        let status = serde_json::to_value(session.status)?;
        let usage = session.usage;
        let cost = match usage.cost_micro_usd {
            0 => "-".to_owned(),
            micro => format!("${:.4}", micro as f64 / 1e6),
        };
        say!(
            "{:<36}  {:<9}  {:<8}  {:>15}  {:>9}  {}",
            session.id,
            status.as_str().unwrap_or_default(),
            session.origin,
            format!("{}/{}", usage.input_tokens, usage.output_tokens),
            cost,
            session.title
        );
    }
    Ok(ExitCode::SUCCESS)
}
