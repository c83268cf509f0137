//! Walking a workspace and reading its source files, reporting bad input as data.
//!
//! Invariants:
//! - The walk honours `.gitignore`, `.ignore` and git excludes (even outside a git
//!   repository), skips hidden files, follows symlinks but never leaves the workspace, and
//!   reports symlink loops instead of failing.
//! - Reading never fails the scan: a binary file, a file over the size cap, invalid UTF-8
//!   (decoded lossily), a file deleted between listing and reading, or an unreadable file
//!   becomes a [`Problem`].

use std::fs::Metadata;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::UNIX_EPOCH;

use serde::{Deserialize, Serialize};

/// Why a file is skipped or only partly understood.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum ProblemKind {
    /// Contains NUL bytes: skipped.
    Binary,
    /// Larger than the cap: listed by name only.
    TooLarge {
        /// Its size.
        bytes: u64,
        /// The cap.
        limit: u64,
    },
    /// Not valid UTF-8: decoded lossily (invalid bytes became U+FFFD).
    InvalidUtf8,
    /// Parsed with syntax errors: tree-sitter recovered and the file is mapped, but
    /// definitions in the broken parts may be missing.
    SyntaxErrors,
    /// Deleted (or replaced) between listing and reading: skipped.
    Vanished,
    /// A symlink that leads back to one of its ancestors: not followed.
    SymlinkLoop,
    /// A symlink to a path outside the workspace: not followed.
    OutsideWorkspace,
    /// Any other read or walk error.
    Unreadable {
        /// What the system said.
        message: String,
    },
    /// The index could not be saved to its cache directory (the path): this map is
    /// complete, the next cold scan parses again.
    CacheNotSaved {
        /// Why.
        reason: String,
    },
}

/// A problem with one path.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Problem {
    /// Workspace-relative, `/`-separated path.
    pub path: String,
    /// What went wrong.
    #[serde(flatten)]
    pub kind: ProblemKind,
}

/// A file found by the walk.
#[derive(Debug, Clone)]
pub(crate) struct Listed {
    pub(crate) rel: String,
    pub(crate) abs: PathBuf,
    pub(crate) size: u64,
    pub(crate) mtime_ns: u128,
}

/// Workspace-relative `/`-separated form of `path`.
pub(crate) fn relative(root: &Path, path: &Path) -> String {
    let rel = path.strip_prefix(root).unwrap_or(path);
    rel.components()
        .map(|c| c.as_os_str().to_string_lossy())
        .collect::<Vec<_>>()
        .join("/")
}

pub(crate) fn mtime_ns(meta: &Metadata) -> u128 {
    meta.modified()
        .ok()
        .and_then(|t| t.duration_since(UNIX_EPOCH).ok())
        .map_or(0, |d| d.as_nanos())
}

/// Lists the workspace's files (sorted by path) and the problems met on the way.
pub(crate) fn walk(root: &Path) -> (Vec<Listed>, Vec<Problem>) {
    let canonical_root = root.canonicalize().unwrap_or_else(|_| root.to_path_buf());
    let mut files = Vec::new();
    let mut problems = Vec::new();
    let escaped: Arc<Mutex<Vec<String>>> = Arc::default();
    let walker = {
        let escaped = Arc::clone(&escaped);
        let root = root.to_path_buf();
        let canonical_root = canonical_root.clone();
        ignore::WalkBuilder::new(&root)
            .follow_links(true)
            .require_git(false)
            .sort_by_file_path(|a, b| a.cmp(b))
            .filter_entry(move |entry| {
                let inside = !entry.path_is_symlink()
                    || entry
                        .path()
                        .canonicalize()
                        .is_ok_and(|p| p.starts_with(&canonical_root));
                if !inside && let Ok(mut escaped) = escaped.lock() {
                    escaped.push(relative(&root, entry.path()));
                }
                inside
            })
            .build()
    };
    for entry in walker {
        let entry = match entry {
            Ok(entry) => entry,
            Err(err) => {
                problems.push(walk_problem(root, &err));
                continue;
            }
        };
        if entry.depth() == 0 {
            continue;
        }
        let rel = relative(root, entry.path());
        if !entry.file_type().is_some_and(|t| t.is_file()) {
            continue;
        }
        match entry.metadata() {
            Ok(meta) => files.push(Listed {
                rel,
                abs: entry.into_path(),
                size: meta.len(),
                mtime_ns: mtime_ns(&meta),
            }),
            Err(err) => problems.push(Problem {
                path: rel,
                kind: classify_walk_error(&err),
            }),
        }
    }
    if let Ok(escaped) = escaped.lock() {
        problems.extend(escaped.iter().map(|path| Problem {
            path: path.clone(),
            kind: ProblemKind::OutsideWorkspace,
        }));
    }
    files.sort_by(|a, b| a.rel.cmp(&b.rel));
    (files, problems)
}

fn walk_problem(root: &Path, err: &ignore::Error) -> Problem {
    let path = error_path(err)
        .map(|p| relative(root, p))
        .unwrap_or_default();
    Problem {
        path,
        kind: classify_walk_error(err),
    }
}

fn error_path(err: &ignore::Error) -> Option<&Path> {
    match err {
        ignore::Error::WithPath { path, .. } => Some(path),
        ignore::Error::Loop { child, .. } => Some(child),
        ignore::Error::WithDepth { err, .. } | ignore::Error::WithLineNumber { err, .. } => {
            error_path(err)
        }
        _ => None,
    }
}

fn classify_walk_error(err: &ignore::Error) -> ProblemKind {
    match err {
        ignore::Error::Loop { .. } => ProblemKind::SymlinkLoop,
        ignore::Error::WithPath { err, .. }
        | ignore::Error::WithDepth { err, .. }
        | ignore::Error::WithLineNumber { err, .. } => classify_walk_error(err),
        ignore::Error::Io(io) if io.kind() == std::io::ErrorKind::NotFound => ProblemKind::Vanished,
        other => ProblemKind::Unreadable {
            message: other.to_string(),
        },
    }
}

/// A source file's content, or why there is none.
#[derive(Debug)]
pub(crate) enum Read {
    Text {
        text: String,
        lossy: bool,
        size: u64,
        mtime_ns: u128,
    },
    Skipped(ProblemKind),
}

/// Bytes inspected for NUL when deciding whether a file is binary.
const BINARY_SNIFF: usize = 8192;

/// Reads a file for indexing, enforcing the size cap.
pub(crate) fn read_source(path: &Path, limit: u64) -> Read {
    let meta = match std::fs::metadata(path) {
        Ok(meta) => meta,
        Err(err) => return Read::Skipped(io_problem(&err)),
    };
    if meta.len() > limit {
        return Read::Skipped(ProblemKind::TooLarge {
            bytes: meta.len(),
            limit,
        });
    }
    let bytes = match std::fs::read(path) {
        Ok(bytes) => bytes,
        Err(err) => return Read::Skipped(io_problem(&err)),
    };
    if bytes.len() as u64 > limit {
        return Read::Skipped(ProblemKind::TooLarge {
            bytes: bytes.len() as u64,
            limit,
        });
    }
    if bytes[..bytes.len().min(BINARY_SNIFF)].contains(&0) {
        return Read::Skipped(ProblemKind::Binary);
    }
    let size = bytes.len() as u64;
    let (text, lossy) = match String::from_utf8(bytes) {
        Ok(text) => (text, false),
        Err(err) => (String::from_utf8_lossy(err.as_bytes()).into_owned(), true),
    };
    Read::Text {
        text,
        lossy,
        size,
        mtime_ns: mtime_ns(&meta),
    }
}

fn io_problem(err: &std::io::Error) -> ProblemKind {
    if err.kind() == std::io::ErrorKind::NotFound {
        ProblemKind::Vanished
    } else {
        ProblemKind::Unreadable {
            message: err.to_string(),
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn a_file_deleted_before_reading_is_vanished() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("gone.rs");
        std::fs::write(&path, "fn f() {}").unwrap();
        let (files, _) = walk(dir.path());
        std::fs::remove_file(&path).unwrap();
        assert_eq!(files.len(), 1);
        assert!(matches!(
            read_source(&files[0].abs, 1 << 20),
            Read::Skipped(ProblemKind::Vanished)
        ));
    }

    #[test]
    fn binary_and_oversized_files_are_skipped() {
        let dir = tempfile::tempdir().unwrap();
        let bin = dir.path().join("a.rs");
        std::fs::write(&bin, b"fn f() {}\0\0").unwrap();
        assert!(matches!(
            read_source(&bin, 1 << 20),
            Read::Skipped(ProblemKind::Binary)
        ));
        assert!(matches!(
            read_source(&bin, 4),
            Read::Skipped(ProblemKind::TooLarge {
                bytes: 11,
                limit: 4
            })
        ));
    }
}
