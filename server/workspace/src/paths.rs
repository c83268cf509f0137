//! Path confinement. A model-supplied path (relative, or absolute inside the root) becomes a
//! [`ResolvedPath`] only if it stays inside the workspace: `..` components are refused
//! outright, and the deepest existing ancestor is canonicalized so that a symbolic link
//! pointing outside the root is caught. Writes are further refused anywhere under a `.git`
//! directory (or the repository's git dir, wherever it lives).

use crate::{Workspace, WorkspaceError};
use lathe_edits::{EditError, FileSource, normalize_relative_path};
use std::io::ErrorKind;
use std::path::{Component, Path, PathBuf};

/// A path inside the workspace.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ResolvedPath {
    /// Workspace-relative, `/`-separated (the key used in diffs and checkpoints).
    pub rel: String,
    /// Absolute path on disk, with symbolic links of existing ancestors resolved.
    pub abs: PathBuf,
}

impl Workspace {
    /// Resolves a path for reading, refusing anything outside the workspace.
    pub fn resolve(&self, raw: &str) -> Result<ResolvedPath, WorkspaceError> {
        let rel = self.relative_key(raw)?;
        let joined = self.root.join(&rel);
        let abs = self.confine(&rel, &joined)?;
        Ok(ResolvedPath { rel, abs })
    }

    /// Resolves a path for writing: also refuses paths under `.git`.
    pub fn resolve_for_write(&self, raw: &str) -> Result<ResolvedPath, WorkspaceError> {
        let resolved = self.resolve(raw)?;
        // By name, and where a symbolic link leads (`x -> vendor/lib/.git`).
        let is_dot_git = |part: &std::ffi::OsStr| part.eq_ignore_ascii_case(".git");
        let in_dot_git = Path::new(&resolved.rel)
            .iter()
            .chain(
                resolved
                    .abs
                    .strip_prefix(&self.root)
                    .unwrap_or(&resolved.abs),
            )
            .any(is_dot_git);
        let in_git_dir = self
            .repo
            .as_ref()
            .and_then(|r| r.git_dir().canonicalize().ok())
            .is_some_and(|git_dir| resolved.abs.starts_with(git_dir));
        if in_dot_git || in_git_dir {
            return Err(WorkspaceError::GitDir { path: resolved.rel });
        }
        Ok(resolved)
    }

    /// The normalized workspace-relative key of a raw path.
    fn relative_key(&self, raw: &str) -> Result<String, WorkspaceError> {
        let trimmed = raw.trim();
        let path = Path::new(trimmed);
        let relative = if path.is_absolute() {
            let lexical = lexical_normalize(path).ok_or_else(|| WorkspaceError::InvalidPath {
                path: raw.to_owned(),
                reason: "`..` is not allowed; stay inside the workspace".into(),
            })?;
            let inside = lexical
                .strip_prefix(&self.root)
                .ok()
                .map(Path::to_path_buf)
                .ok_or_else(|| WorkspaceError::OutsideWorkspace {
                    path: raw.to_owned(),
                    root: self.root.display().to_string(),
                })?;
            inside.to_string_lossy().into_owned()
        } else {
            trimmed.to_owned()
        };
        normalize_relative_path(&relative).map_err(|err| match err {
            EditError::InvalidPath { reason, .. } => WorkspaceError::InvalidPath {
                path: raw.to_owned(),
                reason,
            },
            other => WorkspaceError::Edit(other),
        })
    }

    /// Resolves symbolic links of the deepest existing ancestor and checks the result is
    /// still inside the root.
    fn confine(&self, rel: &str, joined: &Path) -> Result<PathBuf, WorkspaceError> {
        let mut existing = joined.to_path_buf();
        let mut tail = Vec::new();
        let canonical = loop {
            match existing.canonicalize() {
                Ok(c) => break c,
                Err(err) if err.kind() == ErrorKind::NotFound => {
                    let Some(name) = existing.file_name().map(|n| n.to_os_string()) else {
                        return Err(WorkspaceError::io(rel, err));
                    };
                    tail.push(name);
                    if !existing.pop() {
                        return Err(WorkspaceError::io(rel, err));
                    }
                }
                Err(err) => return Err(WorkspaceError::io(rel, err)),
            }
        };
        if !canonical.starts_with(&self.root) {
            return Err(WorkspaceError::SymlinkEscape {
                path: rel.to_owned(),
            });
        }
        let mut abs = canonical;
        for name in tail.into_iter().rev() {
            abs.push(name);
        }
        Ok(abs)
    }

    /// The bytes of a file.
    pub fn read(&self, raw: &str) -> Result<Vec<u8>, WorkspaceError> {
        let resolved = self.resolve(raw)?;
        std::fs::read(&resolved.abs).map_err(|err| match err.kind() {
            ErrorKind::NotFound => WorkspaceError::NotFound { path: resolved.rel },
            _ => WorkspaceError::io(&resolved.rel, err),
        })
    }

    /// The text of a file (refusing binary and non-UTF-8 files).
    pub fn read_text(&self, raw: &str) -> Result<String, WorkspaceError> {
        let bytes = self.read(raw)?;
        let rel = self.relative_key(raw)?;
        lathe_edits::as_text(&bytes)
            .map(str::to_owned)
            .ok_or(WorkspaceError::Binary { path: rel })
    }

    /// The bytes of a file, or `None` when it does not exist.
    pub(crate) fn read_optional(
        &self,
        resolved: &ResolvedPath,
    ) -> Result<Option<Vec<u8>>, WorkspaceError> {
        match std::fs::read(&resolved.abs) {
            Ok(bytes) => Ok(Some(bytes)),
            Err(err) if err.kind() == ErrorKind::NotFound => Ok(None),
            Err(err) => Err(WorkspaceError::io(&resolved.rel, err)),
        }
    }
}

/// Removes `.` components; `None` when the path has a `..` component.
fn lexical_normalize(path: &Path) -> Option<PathBuf> {
    let mut out = PathBuf::new();
    for component in path.components() {
        match component {
            Component::ParentDir => return None,
            Component::CurDir => {}
            other => out.push(other),
        }
    }
    Some(out)
}

/// Edits read the workspace's files through this: paths are confined exactly as for the
/// workspace's own operations.
impl FileSource for Workspace {
    fn resolve(&self, raw: &str) -> Result<String, EditError> {
        Workspace::resolve(self, raw)
            .map(|r| r.rel)
            .map_err(|err| EditError::InvalidPath {
                path: raw.to_owned(),
                reason: match err {
                    WorkspaceError::InvalidPath { reason, .. } => reason,
                    other => other.to_string(),
                },
            })
    }

    fn read(&self, path: &str) -> Result<Option<Vec<u8>>, EditError> {
        let resolved = Workspace::resolve(self, path).map_err(|err| EditError::InvalidPath {
            path: path.to_owned(),
            reason: err.to_string(),
        })?;
        if resolved.abs.is_dir() {
            return Err(EditError::Read {
                path: resolved.rel,
                reason: "it is a directory".into(),
            });
        }
        self.read_optional(&resolved)
            .map_err(|err| EditError::Read {
                path: path.to_owned(),
                reason: err.to_string(),
            })
    }
}
