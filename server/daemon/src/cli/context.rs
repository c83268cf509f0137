//! `lathe context FILE:LINE:COL [--json] [--budget N]`: the code context the agent sees at a
//! position (1-based line and column, like compilers).

use crate::paths::Paths;
use lathe_context::{DEFAULT_CURSOR_BUDGET, IndexOptions, RepoIndex};
use std::process::ExitCode;

#[derive(Debug, clap::Args)]
pub struct ContextArgs {
    /// `path/to/file.rs:LINE:COL` (1-based).
    location: String,
    /// Token budget of the context.
    #[arg(long, default_value_t = DEFAULT_CURSOR_BUDGET)]
    budget: usize,
    /// Print JSON.
    #[arg(long)]
    json: bool,
}

pub fn run(args: ContextArgs, paths: Paths) -> anyhow::Result<ExitCode> {
    let (file, line, column) = lathe_context::parse_location(&args.location)?;
    let root = std::env::current_dir()?;
    let mut index = RepoIndex::open(
        &root,
        IndexOptions {
            cache_dir: Some(paths.repo_map_cache(&root)),
            ..IndexOptions::default()
        },
    )?;
    index.refresh()?;
    let context =
        lathe_context::cursor_context_for_file(&file, line, column, args.budget, Some(&index))?;
    if args.json {
        say!("{}", serde_json::to_string_pretty(&context)?);
    } else {
        say!("{}", context.render());
    }
    Ok(ExitCode::SUCCESS)
}
