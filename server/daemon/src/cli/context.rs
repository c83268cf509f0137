//! `lathe context FILE:LINE:COL [--json] [--budget N]`: the code context the agent sees at a
//! position (1-based line and column, like compilers), with the file's workspace (see
//! `workspace_of`) as the index of references.

use crate::paths::Paths;
use lathe_context::{DEFAULT_CURSOR_BUDGET, IndexOptions, RepoIndex};
use std::path::{Path, PathBuf};
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
    let root = workspace_of(&file)?;
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

/// The workspace of `file`: the nearest directory above it that holds `.git` or `.lathe`
/// or is the current directory, else the file's own directory (so that a file named from
/// far above its project never has the whole current directory indexed).
fn workspace_of(file: &Path) -> anyhow::Result<PathBuf> {
    let cwd = std::env::current_dir()?;
    let cwd = cwd.canonicalize().unwrap_or(cwd);
    let file = cwd.join(file);
    let file = file.canonicalize().unwrap_or(file);
    let root = file
        .ancestors()
        .skip(1)
        .find(|dir| *dir == cwd || dir.join(".git").exists() || dir.join(".lathe").is_dir());
    Ok(root
        .or_else(|| file.parent())
        .map_or(cwd.clone(), Path::to_path_buf))
}
