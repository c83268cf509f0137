//! Parsed documents kept between `code_context` calls, so that asking about the same file
//! again costs reading it and comparing bytes, not a tree-sitter parse, a tags query and
//! tokenizing every line (the document keeps its tags and its memo of line token counts).
//!
//! A document is checked out for one call and checked back in after it, so concurrent
//! calls on the same file never wait for each other: a call that finds none free builds
//! its own, and up to [`PER_PATH`] of them are kept per file.
//!
//! Invariants: every call reads the file; a kept document is used only when its bytes are
//! exactly the file's current bytes, otherwise its text is replaced (the parser and the
//! token memo are reused) — a result never comes from stale text. At most [`MAX_PATHS`]
//! files are kept (the least recently used goes first), none larger than [`MAX_BYTES`].

use lathe_context::{ContextError, Document};
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

/// Files whose documents are kept.
const MAX_PATHS: usize = 64;
/// Documents kept per file (concurrent calls on one file each need their own).
const PER_PATH: usize = 4;
/// Larger files are parsed for the call and dropped.
const MAX_BYTES: usize = 1 << 20;

struct Kept {
    /// The file's bytes the document was built from.
    bytes: Vec<u8>,
    document: Document,
}

#[derive(Default)]
struct Slot {
    free: Vec<Kept>,
    /// When the file was last asked for (a counter, for eviction).
    used: u64,
}

/// The documents kept for the workspace's files. Shared by every connection.
#[derive(Default)]
pub(crate) struct Documents {
    slots: Mutex<(u64, HashMap<PathBuf, Slot>)>,
}

impl std::fmt::Debug for Documents {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let slots = self.slots.lock().map(|s| s.1.len()).unwrap_or_default();
        f.debug_struct("Documents").field("files", &slots).finish()
    }
}

impl Documents {
    /// Runs `work` on the current document of the file at `path` (read now; binary files
    /// refused and invalid UTF-8 decoded lossily, as `lathe_context::read_document` does).
    pub(crate) fn with<T>(
        &self,
        path: &Path,
        work: impl FnOnce(&mut Document) -> T,
    ) -> Result<T, ContextError> {
        let bytes = std::fs::read(path).map_err(|source| ContextError::Io {
            op: "read",
            path: path.to_owned(),
            source,
        })?;
        let mut kept = match self.check_out(path) {
            Some(kept) if kept.bytes == bytes => kept,
            Some(mut stale) => {
                let (text, lossy) = lathe_context::decode_source(path, bytes.clone())?;
                stale.document.set_text(&text);
                stale.document.set_invalid_utf8(lossy);
                stale.bytes = bytes;
                stale
            }
            None => {
                let (text, lossy) = lathe_context::decode_source(path, bytes.clone())?;
                let mut document = Document::for_path(path, &text)?;
                document.set_invalid_utf8(lossy);
                Kept { bytes, document }
            }
        };
        let result = work(&mut kept.document);
        self.check_in(path, kept);
        Ok(result)
    }

    fn check_out(&self, path: &Path) -> Option<Kept> {
        let mut guard = self.slots.lock().unwrap_or_else(|e| e.into_inner());
        let (clock, slots) = &mut *guard;
        *clock += 1;
        let slot = slots.get_mut(path)?;
        slot.used = *clock;
        slot.free.pop()
    }

    fn check_in(&self, path: &Path, kept: Kept) {
        if kept.bytes.len() > MAX_BYTES {
            return;
        }
        let mut guard = self.slots.lock().unwrap_or_else(|e| e.into_inner());
        let (clock, slots) = &mut *guard;
        if !slots.contains_key(path) && slots.len() >= MAX_PATHS {
            let oldest = slots
                .iter()
                .min_by_key(|(_, slot)| slot.used)
                .map(|(path, _)| path.clone());
            if let Some(oldest) = oldest {
                slots.remove(&oldest);
            }
        }
        let slot = slots.entry(path.to_owned()).or_default();
        slot.used = slot.used.max(*clock);
        if slot.free.len() < PER_PATH {
            slot.free.push(kept);
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use super::*;
    use pretty_assertions::assert_eq;

    fn names(documents: &Documents, path: &Path) -> String {
        documents.with(path, |d| d.text()).unwrap()
    }

    #[test]
    fn a_changed_file_is_read_again_and_an_unchanged_one_reused() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("a.rs");
        std::fs::write(&path, "fn one() {}\n").unwrap();
        let documents = Documents::default();
        assert_eq!(names(&documents, &path), "fn one() {}\n");
        // Same length, different bytes: never served stale.
        std::fs::write(&path, "fn two() {}\n").unwrap();
        assert_eq!(names(&documents, &path), "fn two() {}\n");
        let kept = documents.slots.lock().unwrap().1[&path].free.len();
        assert_eq!(kept, 1);
        std::fs::remove_file(&path).unwrap();
        assert!(documents.with(&path, |_| ()).is_err());
    }

    #[test]
    fn concurrent_calls_get_their_own_document_and_files_are_evicted() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("a.rs");
        std::fs::write(&path, "fn one() {}\n").unwrap();
        let documents = Documents::default();
        let nested = documents
            .with(&path, |_| documents.with(&path, |d| d.text()).unwrap())
            .unwrap();
        assert_eq!(nested, "fn one() {}\n");
        assert_eq!(documents.slots.lock().unwrap().1[&path].free.len(), 2);
        for i in 0..=MAX_PATHS {
            let other = dir.path().join(format!("f{i}.rs"));
            std::fs::write(&other, format!("fn f{i}() {{}}\n")).unwrap();
            documents.with(&other, |_| ()).unwrap();
        }
        let slots = &documents.slots.lock().unwrap().1;
        assert_eq!(slots.len(), MAX_PATHS);
        assert!(
            !slots.contains_key(&path),
            "the least recently used file goes"
        );
    }
}
