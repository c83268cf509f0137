//! `lathe skills [--json]`: every skill with its source (built-in, user, workspace,
//! Claude-style), aliases and problems. Exit 1 when a skill file has an error.

use crate::paths::Paths;
use std::process::ExitCode;

#[derive(Debug, clap::Args)]
pub struct SkillsArgs {
    /// Print JSON.
    #[arg(long)]
    json: bool,
}

pub fn run(args: SkillsArgs, paths: Paths) -> anyhow::Result<ExitCode> {
    let workspace = std::env::current_dir()?;
    let registry = lathe_skills::Registry::new(paths.skill_roots(Some(&workspace)));
    let listing = registry.snapshot().listing(None);
    if args.json {
        println!("{}", serde_json::to_string_pretty(&listing)?);
    } else {
        print!("{}", listing.to_text());
    }
    Ok(if listing.has_errors() {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    })
}
