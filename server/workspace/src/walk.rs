//! Listing the workspace's files the way a developer sees them: `.gitignore`, `.ignore`,
//! global git excludes and `.git/info/exclude` are honoured (even outside a git
//! repository), `.git` itself is never listed, and results are sorted.

use crate::{Workspace, WorkspaceError};
use ignore::WalkBuilder;

/// What [`Workspace::list_files`] returns.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct WalkOptions {
    /// Directory to list, relative to the root (`None` = the whole workspace).
    pub dir: Option<String>,
    /// Include dot-files (other than `.git`).
    pub hidden: bool,
    /// Stop after this many files.
    pub limit: usize,
}

impl Default for WalkOptions {
    fn default() -> Self {
        Self {
            dir: None,
            hidden: true,
            limit: 10_000,
        }
    }
}

impl Workspace {
    /// Workspace-relative paths of the files under `options.dir`, gitignore-aware and sorted.
    pub fn list_files(&self, options: &WalkOptions) -> Result<Vec<String>, WorkspaceError> {
        let start = match &options.dir {
            Some(dir) => self.resolve(dir)?.abs,
            None => self.root.clone(),
        };
        let walker = WalkBuilder::new(&start)
            .hidden(!options.hidden)
            .require_git(false)
            .parents(true)
            .filter_entry(|entry| entry.file_name() != ".git")
            .sort_by_file_name(|a, b| a.cmp(b))
            .build();
        let mut files = Vec::new();
        for entry in walker {
            let entry = entry.map_err(|err| WorkspaceError::Io {
                path: start.display().to_string(),
                source: std::io::Error::other(err.to_string()),
            })?;
            if !entry.file_type().is_some_and(|t| t.is_file()) {
                continue;
            }
            let Ok(rel) = entry.path().strip_prefix(&self.root) else {
                continue;
            };
            files.push(rel.to_string_lossy().replace('\\', "/"));
            if files.len() >= options.limit {
                break;
            }
        }
        files.sort();
        Ok(files)
    }
}
