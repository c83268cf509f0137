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
    say!("{:<36}  {:<9}  {:<8}  TITLE", "ID", "STATUS", "FROM");
    for session in sessions {
        let status = serde_json::to_value(session.status)?;
        say!(
            "{:<36}  {:<9}  {:<8}  {}",
            session.id,
            status.as_str().unwrap_or_default(),
            session.origin,
            session.title
        );
    }
    Ok(ExitCode::SUCCESS)
}
