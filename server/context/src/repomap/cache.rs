//! The on-disk cache of a workspace's file summaries.
//!
//! Invariants:
//! - One file per workspace in the caller's cache directory, written atomically (a temp
//!   file renamed over it); a missing, unreadable, corrupt or foreign (other root, other
//!   version) cache is ignored, never an error.
//! - Entries are trusted by size and modification time only when the file was last modified
//!   comfortably before the cache was saved ("racy" entries are re-hashed); otherwise the
//!   content hash decides whether a file is parsed again.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use super::scan::ProblemKind;
use super::summary::FileSummary;
use crate::error::ContextError;
use crate::language::Language;

/// Bumped whenever queries or the summary format change.
const CACHE_VERSION: u32 = 1;

/// File name of the cache inside the cache directory.
pub(crate) const CACHE_FILE: &str = "lathe-repomap.v1.bin";

/// Modification times this close to the save time (ns) are not trusted.
pub(crate) const RACY_NS: u128 = 2_000_000_000;

/// What is known about one file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct FileEntry {
    pub(crate) size: u64,
    pub(crate) mtime_ns: u128,
    pub(crate) hash: [u8; 32],
    pub(crate) language: Option<Language>,
    pub(crate) lossy: bool,
    pub(crate) summary: Option<FileSummary>,
    /// Why the file has no summary (binary, too large).
    pub(crate) problem: Option<ProblemKind>,
}

#[derive(Serialize, Deserialize)]
struct CacheFile {
    version: u32,
    root: String,
    saved_ns: u128,
    files: BTreeMap<String, FileEntry>,
}

pub(crate) fn cache_path(dir: &Path) -> PathBuf {
    dir.join(CACHE_FILE)
}

/// Loads the entries saved for `root`, and when they were saved.
pub(crate) fn load(dir: &Path, root: &Path) -> Option<(BTreeMap<String, FileEntry>, u128)> {
    let bytes = std::fs::read(cache_path(dir)).ok()?;
    let cache: CacheFile = postcard::from_bytes(&bytes).ok()?;
    (cache.version == CACHE_VERSION && cache.root == root.to_string_lossy())
        .then_some((cache.files, cache.saved_ns))
}

/// Saves the entries atomically.
pub(crate) fn save(
    dir: &Path,
    root: &Path,
    files: &BTreeMap<String, FileEntry>,
    saved_ns: u128,
) -> Result<(), ContextError> {
    #[derive(Serialize)]
    struct CacheRef<'a> {
        version: u32,
        root: String,
        saved_ns: u128,
        files: &'a BTreeMap<String, FileEntry>,
    }
    std::fs::create_dir_all(dir).map_err(|e| ContextError::io("create directory", dir, e))?;
    let bytes = postcard::to_stdvec(&CacheRef {
        version: CACHE_VERSION,
        root: root.to_string_lossy().into_owned(),
        saved_ns,
        files,
    })
    .map_err(|e| ContextError::Cache(e.to_string()))?;
    let path = cache_path(dir);
    let tmp = dir.join(format!("{CACHE_FILE}.{}.tmp", std::process::id()));
    std::fs::write(&tmp, bytes).map_err(|e| ContextError::io("write", &tmp, e))?;
    std::fs::rename(&tmp, &path).map_err(|e| ContextError::io("rename", &path, e))
}
