//! Applying a [`WorkspaceDiff`] to disk. Every path is confined and checked for `.git`
//! first, and every base hash is verified by `lathe_edits::materialize` before the first
//! write. Then, file by file, the current bytes are read again and re-hashed right before
//! the file is replaced atomically, so that a file changed in between is refused as stale
//! rather than overwritten; a file moved by `*** Move to:` keeps its permissions. A failure
//! part-way (a refused write, a stale file) restores the files already written and removes
//! the directories the apply created, so the workspace ends in the old state or the new
//! one, and the error names any file that could not be restored.

use crate::atomic::{self, Disk, RealDisk};
use crate::{ResolvedPath, Workspace, WorkspaceError};
use lathe_edits::{
    ContentHash, EditError, FileOp, FileWrite, WorkspaceDiff, content_hash, materialize,
};
use std::collections::HashMap;
use std::fs::{self, Permissions};
use std::io::ErrorKind;
use std::path::{Path, PathBuf};

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests;

/// What an apply changed.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ApplyReport {
    /// Files created or replaced, in order.
    pub written: Vec<String>,
    /// Files removed, in order.
    pub deleted: Vec<String>,
    /// Every path the apply changed and what it left there: the content hash, or `None`
    /// when it removed the file.
    pub left: Vec<(String, Option<ContentHash>)>,
}

/// A file's state before the apply touched it, to restore on failure.
struct Previous {
    rel: String,
    abs: PathBuf,
    content: Option<Vec<u8>>,
    permissions: Option<Permissions>,
    /// Directories the write creates (deepest first), removed again by a rollback.
    created_dirs: Vec<PathBuf>,
}

impl Workspace {
    /// Applies a diff atomically per file; refuses it whole when any base hash is stale,
    /// any path is outside the workspace or under `.git`, or any hunk does not fit.
    pub fn apply(&self, diff: &WorkspaceDiff) -> Result<ApplyReport, WorkspaceError> {
        self.apply_on(&RealDisk, diff)
    }

    fn apply_on(
        &self,
        disk: &dyn Disk,
        diff: &WorkspaceDiff,
    ) -> Result<ApplyReport, WorkspaceError> {
        for path in diff.touched_paths() {
            self.resolve_for_write(path)?;
        }
        let writes = materialize(self, diff)?;
        let moved = self.moved_permissions(diff)?;
        let mut done: Vec<Previous> = Vec::new();
        let mut report = ApplyReport::default();
        for write in writes {
            let permissions = moved.get(&write.path).cloned();
            if let Err(err) = self.write_one(disk, &write, permissions, &mut done) {
                return Err(with_rollback(err, rollback(disk, &done)));
            }
            report.left.push((
                write.path.clone(),
                write.content.as_deref().map(content_hash),
            ));
            match write.content {
                Some(_) => report.written.push(write.path),
                None => report.deleted.push(write.path),
            }
        }
        Ok(report)
    }

    /// The permissions each rename target takes from its source, read before any write.
    fn moved_permissions(
        &self,
        diff: &WorkspaceDiff,
    ) -> Result<HashMap<String, Permissions>, WorkspaceError> {
        let mut moved = HashMap::new();
        for file in &diff.files {
            if let FileOp::Modify {
                rename_to: Some(target),
                ..
            } = &file.op
            {
                let source = self.resolve(&file.path)?;
                let meta = fs::metadata(&source.abs)
                    .map_err(|err| WorkspaceError::io(&source.rel, err))?;
                moved.insert(target.clone(), meta.permissions());
            }
        }
        Ok(moved)
    }

    /// Writes (or removes) one file once its current bytes are re-checked against the
    /// write's base. Its previous state is pushed to `done` before it is touched, so that
    /// a rollback also covers this write when it fails after its rename.
    fn write_one(
        &self,
        disk: &dyn Disk,
        write: &FileWrite,
        permissions: Option<Permissions>,
        done: &mut Vec<Previous>,
    ) -> Result<(), WorkspaceError> {
        let target = self.resolve_for_write(&write.path)?;
        let content = self.read_optional(&target)?;
        if content.as_deref().map(content_hash) != write.base {
            return Err(WorkspaceError::Edit(EditError::Stale { path: target.rel }));
        }
        let failed = |source| WorkspaceError::Write {
            path: write.path.clone(),
            source,
            unrestored: Vec::new(),
        };
        let previous_permissions = match fs::metadata(&target.abs) {
            Ok(meta) => Some(meta.permissions()),
            Err(err) if err.kind() == ErrorKind::NotFound => None,
            Err(err) => return Err(failed(err)),
        };
        let removed = write
            .content
            .is_none()
            .then(|| self.removal_target(&target));
        done.push(Previous {
            created_dirs: self.missing_dirs(&target.abs),
            rel: target.rel,
            abs: target.abs.clone(),
            content,
            permissions: previous_permissions,
        });
        match (&write.content, removed) {
            (Some(bytes), _) => atomic::write(disk, &target.abs, bytes, permissions),
            (None, removed) => atomic::remove(removed.as_deref().unwrap_or(&target.abs)),
        }
        .map_err(failed)
    }

    /// What deleting (or moving away) `target` removes: a symbolic link itself, not the
    /// file it points to (`rm CLAUDE.md` where `CLAUDE.md -> AGENTS.md` keeps `AGENTS.md`).
    fn removal_target(&self, target: &ResolvedPath) -> PathBuf {
        let literal = self.root.join(&target.rel);
        let is_link = fs::symlink_metadata(&literal).is_ok_and(|m| m.file_type().is_symlink());
        let parent_inside = literal
            .parent()
            .and_then(|dir| dir.canonicalize().ok())
            .is_some_and(|dir| dir.starts_with(&self.root));
        if is_link && parent_inside {
            literal
        } else {
            target.abs.clone()
        }
    }

    /// The ancestors of `abs` inside the root that do not exist yet, deepest first.
    pub(crate) fn missing_dirs(&self, abs: &Path) -> Vec<PathBuf> {
        abs.ancestors()
            .skip(1)
            .take_while(|dir| dir.starts_with(&self.root) && *dir != self.root)
            .take_while(|dir| !dir.exists())
            .map(PathBuf::from)
            .collect()
    }
}

/// Restores, newest first, every file of `done` that no longer holds its previous state,
/// and removes the directories the apply created; returns the files it could not restore.
fn rollback(disk: &dyn Disk, done: &[Previous]) -> Vec<String> {
    let mut unrestored = Vec::new();
    for previous in done.iter().rev() {
        let current = match fs::read(&previous.abs) {
            Ok(bytes) => Some(bytes),
            Err(err) if err.kind() == ErrorKind::NotFound => None,
            Err(_) => {
                unrestored.push(previous.rel.clone());
                continue;
            }
        };
        if current != previous.content {
            let restored = match &previous.content {
                Some(bytes) => {
                    atomic::write(disk, &previous.abs, bytes, previous.permissions.clone())
                }
                None => atomic::remove(&previous.abs),
            };
            if restored.is_err() {
                unrestored.push(previous.rel.clone());
                continue;
            }
        }
        for dir in &previous.created_dirs {
            // Only empty directories go; one still holding a file stops the walk up.
            if fs::remove_dir(dir).is_err() {
                break;
            }
        }
    }
    unrestored
}

/// The error of a failed apply once the rollback ran: an I/O failure becomes a write
/// error that says what the rollback left; any other cause (a stale or refused path) is
/// wrapped only when some file could not be restored.
fn with_rollback(err: WorkspaceError, unrestored: Vec<String>) -> WorkspaceError {
    match err {
        WorkspaceError::Write { path, source, .. } | WorkspaceError::Io { path, source } => {
            WorkspaceError::Write {
                path,
                source,
                unrestored,
            }
        }
        err if unrestored.is_empty() => err,
        err => WorkspaceError::PartlyApplied {
            cause: Box::new(err),
            unrestored,
        },
    }
}
