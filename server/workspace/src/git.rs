//! The `git` tool's read-only operations through gix: `status` (short format), `diff` of
//! the work tree or the index against HEAD, and `log`. They return text for the model and
//! never write to the repository (the index is read, not refreshed).

use crate::{Workspace, WorkspaceError};
use gix::bstr::{BString, ByteSlice};
use gix::diff::index::ChangeRef;
use gix::status::index_worktree::iter::Summary;
use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;

/// Which comparison `git_diff` shows.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum GitDiffTarget {
    /// Work tree against the index (`git diff`).
    Unstaged,
    /// Index against HEAD (`git diff --staged`).
    Staged,
    /// Work tree against HEAD (`git diff HEAD`).
    Head,
}

/// One side of a file comparison.
enum Side {
    Absent,
    Blob(gix::ObjectId),
    WorkTree,
}

#[derive(Default)]
struct StatusSets {
    /// Path -> status letter of HEAD vs index.
    staged: BTreeMap<String, char>,
    /// Path -> status letter of index vs work tree (`?` = untracked).
    worktree: BTreeMap<String, char>,
    /// Path -> index blob of work-tree changes.
    index_ids: BTreeMap<String, gix::ObjectId>,
    /// Path -> (HEAD side, index side) of staged changes.
    staged_sides: BTreeMap<String, (Option<gix::ObjectId>, Option<gix::ObjectId>)>,
}

fn path_text(path: &[u8]) -> String {
    path.to_str_lossy().into_owned()
}

impl Workspace {
    fn status_sets(&self, repo: &gix::Repository) -> Result<StatusSets, WorkspaceError> {
        let platform = repo
            .status(gix::progress::Discard)
            .map_err(WorkspaceError::git)?
            .untracked_files(gix::status::UntrackedFiles::Files)
            .index_worktree_rewrites(None);
        let iter = platform
            .into_iter(Vec::<BString>::new())
            .map_err(WorkspaceError::git)?;
        let mut sets = StatusSets::default();
        for item in iter {
            match item.map_err(WorkspaceError::git)? {
                gix::status::Item::IndexWorktree(item) => {
                    let Some(summary) = item.summary() else {
                        continue;
                    };
                    let path = path_text(item.rela_path());
                    let code = match summary {
                        Summary::Removed => 'D',
                        Summary::Added => '?',
                        Summary::Modified => 'M',
                        Summary::TypeChange => 'T',
                        Summary::Renamed => 'R',
                        Summary::Copied => 'C',
                        Summary::IntentToAdd => 'A',
                        Summary::Conflict => 'U',
                    };
                    if let gix::status::index_worktree::Item::Modification { entry, .. } = &item {
                        sets.index_ids.insert(path.clone(), entry.id);
                    }
                    sets.worktree.insert(path, code);
                }
                gix::status::Item::TreeIndex(change) => {
                    let (code, old, new) = match &change {
                        ChangeRef::Addition { id, .. } => {
                            ('A', None, Some(id.clone().into_owned()))
                        }
                        ChangeRef::Deletion { id, .. } => {
                            ('D', Some(id.clone().into_owned()), None)
                        }
                        ChangeRef::Modification {
                            previous_id, id, ..
                        } => (
                            'M',
                            Some(previous_id.clone().into_owned()),
                            Some(id.clone().into_owned()),
                        ),
                        ChangeRef::Rewrite { source_id, id, .. } => (
                            'R',
                            Some(source_id.clone().into_owned()),
                            Some(id.clone().into_owned()),
                        ),
                    };
                    let path = path_text(change.location());
                    sets.staged.insert(path.clone(), code);
                    sets.staged_sides.insert(path, (old, new));
                }
            }
        }
        Ok(sets)
    }

    /// `git status --short`, with the branch on the first line.
    pub fn git_status(&self) -> Result<String, WorkspaceError> {
        let repo = self.repo()?;
        let head = repo.head().map_err(WorkspaceError::git)?;
        let branch = head
            .referent_name()
            .map(|n| n.shorten().to_str_lossy().into_owned())
            .unwrap_or_else(|| "HEAD (detached)".into());
        let mut out = if head.is_unborn() {
            format!("## No commits yet on {branch}\n")
        } else {
            format!("## {branch}\n")
        };
        let sets = self.status_sets(&repo)?;
        let paths: BTreeSet<&String> = sets.staged.keys().chain(sets.worktree.keys()).collect();
        if paths.is_empty() {
            out.push_str("nothing to commit, working tree clean\n");
        }
        for path in paths {
            let x = sets.staged.get(path).copied().unwrap_or(' ');
            let y = sets.worktree.get(path).copied().unwrap_or(' ');
            let _ = match (x, y) {
                (_, '?') => writeln!(out, "?? {path}"),
                _ => writeln!(out, "{x}{y} {path}"),
            };
        }
        Ok(out)
    }

    /// A unified diff (3 lines of context) of the chosen comparison.
    pub fn git_diff(&self, target: GitDiffTarget) -> Result<String, WorkspaceError> {
        let repo = self.repo()?;
        let sets = self.status_sets(&repo)?;
        let head_tree = repo
            .head_tree_id_or_empty()
            .and_then(|id| repo.find_tree(id))
            .map_err(WorkspaceError::git)?;
        let head_side = |path: &str| -> Result<Side, WorkspaceError> {
            let entry = head_tree
                .lookup_entry_by_path(path)
                .map_err(WorkspaceError::git)?;
            Ok(entry.map_or(Side::Absent, |e| Side::Blob(e.object_id())))
        };
        let mut pairs: Vec<(String, Side, Side)> = Vec::new();
        match target {
            GitDiffTarget::Staged => {
                for (path, (old, new)) in &sets.staged_sides {
                    let side = |id: &Option<gix::ObjectId>| id.map_or(Side::Absent, Side::Blob);
                    pairs.push((path.clone(), side(old), side(new)));
                }
            }
            GitDiffTarget::Unstaged => {
                for (path, code) in &sets.worktree {
                    let Some(id) = sets.index_ids.get(path) else {
                        continue;
                    };
                    let new = if *code == 'D' {
                        Side::Absent
                    } else {
                        Side::WorkTree
                    };
                    pairs.push((path.clone(), Side::Blob(*id), new));
                }
            }
            GitDiffTarget::Head => {
                let tracked: BTreeSet<&String> = sets
                    .staged
                    .keys()
                    .chain(
                        sets.worktree
                            .iter()
                            .filter(|(_, c)| **c != '?')
                            .map(|(p, _)| p),
                    )
                    .collect();
                for path in tracked {
                    let workdir = repo.workdir().map(|w| w.join(path));
                    let new = if workdir.is_some_and(|p| p.is_file()) {
                        Side::WorkTree
                    } else {
                        Side::Absent
                    };
                    pairs.push((path.clone(), head_side(path)?, new));
                }
            }
        }
        let mut out = String::new();
        for (path, old, new) in pairs {
            let old_bytes = self.side_bytes(&repo, &path, &old)?;
            let new_bytes = self.side_bytes(&repo, &path, &new)?;
            out.push_str(&file_diff(
                &path,
                old_bytes.as_deref(),
                new_bytes.as_deref(),
            ));
        }
        Ok(out)
    }

    fn side_bytes(
        &self,
        repo: &gix::Repository,
        path: &str,
        side: &Side,
    ) -> Result<Option<Vec<u8>>, WorkspaceError> {
        match side {
            Side::Absent => Ok(None),
            Side::Blob(id) => Ok(Some(
                repo.find_blob(*id)
                    .map_err(WorkspaceError::git)?
                    .detach()
                    .data,
            )),
            Side::WorkTree => {
                let Some(workdir) = repo.workdir() else {
                    return Ok(None);
                };
                let full = workdir.join(path);
                std::fs::read(&full)
                    .map(Some)
                    .map_err(|e| WorkspaceError::io(path, e))
            }
        }
    }

    /// The last `max` commits reachable from HEAD: `<short id> <date> <author>: <subject>`.
    pub fn git_log(&self, max: usize) -> Result<String, WorkspaceError> {
        let repo = self.repo()?;
        let head = repo.head().map_err(WorkspaceError::git)?;
        if head.is_unborn() {
            return Ok("No commits yet.\n".into());
        }
        let tip = repo.head_id().map_err(WorkspaceError::git)?.detach();
        let walk = repo.rev_walk([tip]).all().map_err(WorkspaceError::git)?;
        let mut out = String::new();
        for info in walk.take(max) {
            let info = info.map_err(WorkspaceError::git)?;
            let commit = repo.find_commit(info.id).map_err(WorkspaceError::git)?;
            let author = commit.author().map_err(WorkspaceError::git)?;
            let date = commit
                .time()
                .ok()
                .and_then(|t| t.format(gix::date::time::format::SHORT).ok())
                .unwrap_or_default();
            let message = commit.message().map_err(WorkspaceError::git)?;
            let _ = writeln!(
                out,
                "{} {date} {}: {}",
                info.id.to_hex_with_len(7),
                author.name.to_str_lossy(),
                message.summary().to_str_lossy()
            );
        }
        Ok(out)
    }
}

/// One file's diff with git-style headers.
fn file_diff(path: &str, old: Option<&[u8]>, new: Option<&[u8]>) -> String {
    let mut out = format!("diff --git a/{path} b/{path}\n");
    match (old, new) {
        (None, Some(_)) => out.push_str("new file mode 100644\n"),
        (Some(_), None) => out.push_str("deleted file mode 100644\n"),
        _ => {}
    }
    let a = old.map_or_else(|| "/dev/null".to_owned(), |_| format!("a/{path}"));
    let b = new.map_or_else(|| "/dev/null".to_owned(), |_| format!("b/{path}"));
    let (old, new) = (old.unwrap_or_default(), new.unwrap_or_default());
    if old == new {
        return out;
    }
    let (Some(old_text), Some(new_text)) = (lathe_edits::as_text(old), lathe_edits::as_text(new))
    else {
        let _ = writeln!(out, "Binary files {a} and {b} differ");
        return out;
    };
    let diff = similar::TextDiff::from_lines(old_text, new_text);
    let _ = write!(
        out,
        "{}",
        diff.unified_diff().context_radius(3).header(&a, &b)
    );
    out
}
