//! Applying a [`WorkspaceDiff`] to disk. Every path is confined and checked for `.git`
//! first, every base hash is verified by `lathe_edits::materialize` before the first write,
//! each file is replaced atomically, and a failure part-way restores the files already
//! written, so the workspace ends in the old state or the new one.

use crate::{Workspace, WorkspaceError, atomic};
use lathe_edits::{WorkspaceDiff, materialize};
use std::fs::Permissions;
use std::path::PathBuf;

/// What an apply changed.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ApplyReport {
    /// Files created or replaced, in order.
    pub written: Vec<String>,
    /// Files removed, in order.
    pub deleted: Vec<String>,
}

/// A file's state before the apply, to restore on failure.
struct Previous {
    abs: PathBuf,
    content: Option<Vec<u8>>,
    permissions: Option<Permissions>,
}

impl Workspace {
    /// Applies a diff atomically per file; refuses it whole when any base hash is stale,
    /// any path is outside the workspace or under `.git`, or any hunk does not fit.
    pub fn apply(&self, diff: &WorkspaceDiff) -> Result<ApplyReport, WorkspaceError> {
        for path in diff.touched_paths() {
            self.resolve_for_write(path)?;
        }
        let writes = materialize(self, diff)?;
        let mut done: Vec<Previous> = Vec::new();
        let mut report = ApplyReport::default();
        for write in writes {
            match self.write_one(&write.path, write.content.as_deref()) {
                Ok(previous) => {
                    done.push(previous);
                    match write.content {
                        Some(_) => report.written.push(write.path),
                        None => report.deleted.push(write.path),
                    }
                }
                Err(source) => {
                    let rolled_back = rollback(&done);
                    return Err(WorkspaceError::Write {
                        path: write.path,
                        source,
                        rolled_back,
                    });
                }
            }
        }
        Ok(report)
    }

    /// Writes (or removes) one file, returning its previous state.
    fn write_one(&self, path: &str, content: Option<&[u8]>) -> std::io::Result<Previous> {
        let target = self
            .resolve_for_write(path)
            .map_err(|e| std::io::Error::other(e.to_string()))?;
        let previous = Previous {
            content: self
                .read_optional(&target)
                .map_err(|e| std::io::Error::other(e.to_string()))?,
            permissions: std::fs::metadata(&target.abs).ok().map(|m| m.permissions()),
            abs: target.abs.clone(),
        };
        match content {
            Some(bytes) => atomic::write(&target.abs, bytes, None)?,
            None => atomic::remove(&target.abs)?,
        }
        Ok(previous)
    }
}

/// Restores files in reverse order; true when every restore succeeded.
fn rollback(done: &[Previous]) -> bool {
    let mut ok = true;
    for previous in done.iter().rev() {
        let result = match &previous.content {
            Some(bytes) => atomic::write(&previous.abs, bytes, previous.permissions.clone()),
            None => atomic::remove(&previous.abs),
        };
        ok &= result.is_ok();
    }
    ok
}
