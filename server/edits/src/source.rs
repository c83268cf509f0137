//! Where edits read the current files from. The crate does no I/O itself: the caller passes
//! a [`FileSource`] (lathe-workspace for the disk, an editor overlay for open buffers, or
//! [`MemorySource`] in tests).
//!
//! Invariant: keys returned by [`FileSource::resolve`] are workspace-relative, `/`-separated
//! and free of `.`/`..` components; they are the paths that appear in a `WorkspaceDiff`.

use crate::error::EditError;
use std::collections::BTreeMap;

/// Read access to the workspace's current files.
pub trait FileSource {
    /// Turns a path as the model wrote it into the workspace-relative key of the file,
    /// refusing paths outside the workspace.
    fn resolve(&self, raw: &str) -> Result<String, EditError>;

    /// The current bytes of a resolved path, or `None` when no such file exists.
    fn read(&self, path: &str) -> Result<Option<Vec<u8>>, EditError>;
}

/// Lexically normalizes a relative path: strips `./` and empty components, and refuses
/// absolute paths, `..` components, NUL bytes and empty paths.
pub fn normalize_relative_path(raw: &str) -> Result<String, EditError> {
    let invalid = |reason: &str| EditError::InvalidPath {
        path: raw.to_owned(),
        reason: reason.to_owned(),
    };
    let trimmed = raw.trim();
    if trimmed.contains('\0') {
        return Err(invalid("it contains a NUL byte"));
    }
    if trimmed.starts_with('/') {
        return Err(invalid("use a path relative to the workspace root"));
    }
    let mut parts = Vec::new();
    for part in trimmed.split('/') {
        match part {
            "" | "." => {}
            ".." => return Err(invalid("`..` is not allowed; stay inside the workspace")),
            other => parts.push(other),
        }
    }
    if parts.is_empty() {
        return Err(invalid("the path is empty"));
    }
    Ok(parts.join("/"))
}

/// An in-memory file tree keyed by normalized relative path.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct MemorySource {
    files: BTreeMap<String, Vec<u8>>,
}

impl MemorySource {
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds or replaces a file (the path is taken as already normalized).
    pub fn insert(&mut self, path: impl Into<String>, content: impl Into<Vec<u8>>) {
        self.files.insert(path.into(), content.into());
    }

    /// Removes a file, returning its content.
    pub fn remove(&mut self, path: &str) -> Option<Vec<u8>> {
        self.files.remove(path)
    }

    /// The files, sorted by path.
    pub fn files(&self) -> &BTreeMap<String, Vec<u8>> {
        &self.files
    }
}

impl FromIterator<(String, Vec<u8>)> for MemorySource {
    fn from_iter<I: IntoIterator<Item = (String, Vec<u8>)>>(iter: I) -> Self {
        Self {
            files: iter.into_iter().collect(),
        }
    }
}

impl FileSource for MemorySource {
    fn resolve(&self, raw: &str) -> Result<String, EditError> {
        normalize_relative_path(raw)
    }

    fn read(&self, path: &str) -> Result<Option<Vec<u8>>, EditError> {
        Ok(self.files.get(path).cloned())
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;

    #[test]
    fn normalizes_and_refuses() {
        assert_eq!(
            normalize_relative_path("./src//lib.rs").as_deref(),
            Ok("src/lib.rs")
        );
        assert!(normalize_relative_path("../etc/passwd").is_err());
        assert!(normalize_relative_path("/etc/passwd").is_err());
        assert!(normalize_relative_path("./").is_err());
        assert!(normalize_relative_path("a/../b").is_err());
    }
}
