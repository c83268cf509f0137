//! `lathe skills [--json]`: every skill with its source (built-in, user, workspace,
//! Claude-style), aliases, problems, and the tools it needs that this workspace does not
//! offer (with how to get them). Exit 1 when a skill file has an error.
//!
//! The tools on offer are Lathe's built-ins and the tools of the MCP servers the workspace
//! configures, which are started for the listing (within their startup timeouts) and
//! stopped after.

use crate::agents;
use crate::config;
use crate::paths::Paths;
use std::path::Path;
use std::process::ExitCode;

#[derive(Debug, clap::Args)]
pub struct SkillsArgs {
    /// Print JSON.
    #[arg(long)]
    json: bool,
}

pub async fn run(args: SkillsArgs, paths: Paths) -> anyhow::Result<ExitCode> {
    let workspace = std::env::current_dir()?;
    let registry = lathe_skills::Registry::new(paths.skill_roots(Some(&workspace)));
    let available = available_tools(&paths, &workspace).await;
    let listing = registry.snapshot().listing(Some(&available));
    if args.json {
        say!("{}", serde_json::to_string_pretty(&listing)?);
    } else {
        say_raw!("{}", listing.to_text());
    }
    Ok(if listing.has_errors() {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    })
}

/// The tools an agent of `workspace` is offered: the built-ins and the tools of its MCP
/// servers (none when it configures none).
pub async fn available_tools(paths: &Paths, workspace: &Path) -> Vec<String> {
    let mut tools: Vec<String> = lathe_skills::BUILTIN_TOOLS
        .iter()
        .map(|t| (*t).to_owned())
        .collect();
    let loaded = config::load(paths, Some(workspace));
    let (hub, _) = agents::start_hub(paths, &loaded.config, workspace, None);
    hub.ready().await;
    tools.extend(hub.tools().into_iter().map(|t| t.name));
    hub.shutdown().await;
    tools
}
