//! `lathe repo-map [--budget N] [--focus FILE ...] [--mention IDENT ...] [--json]`: the
//! ranked map of the workspace the agent sees, packed to a token budget.

use crate::paths::Paths;
use lathe_context::{MapRequest, RepoMap};
use std::path::PathBuf;
use std::process::ExitCode;

#[derive(Debug, clap::Args)]
pub struct RepoMapArgs {
    /// Token budget of the map.
    #[arg(long, default_value_t = 1024)]
    budget: usize,
    /// Files to rank toward (repeatable).
    #[arg(long)]
    focus: Vec<PathBuf>,
    /// Identifiers to rank toward, as a prompt mentioning them would (repeatable).
    #[arg(long)]
    mention: Vec<String>,
    /// Print JSON (includes the token count).
    #[arg(long)]
    json: bool,
}

pub fn run(args: RepoMapArgs, paths: Paths) -> anyhow::Result<ExitCode> {
    let root = std::env::current_dir()?;
    let request = MapRequest {
        budget: args.budget,
        focus: args.focus,
        mentioned: args.mention,
    };
    let map = RepoMap::build(&root, Some(&paths.repo_map_cache(&root)), &request)?;
    say!(
        "{}",
        if args.json {
            map.to_json()
        } else {
            map.render()
        }
    );
    Ok(ExitCode::SUCCESS)
}
