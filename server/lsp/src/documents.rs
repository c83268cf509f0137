//! The open documents of one editor connection, on lathe-context [`Document`]s.
//!
//! Invariants:
//! - changes are applied in the order the client sent them, by the connection's one sync
//!   task, and [`Documents::synced`] tells a request when every earlier one is applied;
//! - a document's version only grows; a `didChange` whose version does not is not applied
//!   and marks the document desynchronized (agent edits to it are refused) until a
//!   full-text change or a new `didOpen` resynchronizes it;
//! - positions past the end of a line or of the document are clamped, never a panic, and
//!   the clamps are reported to the caller;
//! - a document is parsed when it is first changed or asked about, not when it is opened,
//!   and only the most recently used documents keep their syntax tree: at most [`PARSED`]
//!   of them, and only while their texts add up to [`PARSED_TEXT`] bytes (a tree costs
//!   about as much memory as 50 times its text), the most recent one always; the others
//!   are plain ropes, parsed again when they are changed or asked about;
//! - every applied change bumps the connection's change counter, so a task waiting for an
//!   edit of its own to show up wakes up;
//! - a keystroke whose reparse outlasts its budget leaves the document with its previous
//!   tree, edited (lathe-context's `Document::settle`); [`Documents::settle`] finishes such
//!   reparses in slices while no change is waiting.

use lathe_context::{Clamp, Document, Encoding, Language, TextRange};
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError, RwLock};
use std::time::Duration;
use tokio::sync::watch;

/// How many documents keep their syntax tree, at most.
pub const PARSED: usize = 3;

/// How much text (bytes) the documents that keep their syntax tree may add up to, beyond
/// the most recently used one: 640 KiB, about 32 MB of trees.
pub const PARSED_TEXT: usize = 640 << 10;

/// One content change of a `didChange`, in lathe-context terms.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ContentChange {
    /// The whole text (full sync, or a client resending everything).
    Full(String),
    /// `range` (in the connection's encoding) replaced by `text`.
    Range { range: TextRange, text: String },
}

/// An open document.
pub struct OpenDocument {
    pub uri: String,
    /// The file, for `file:` URIs (canonical when the file exists).
    pub path: Option<PathBuf>,
    pub language_id: String,
    /// The document's language (its tree may have been dropped, see [`PARSED`]).
    pub language: Option<Language>,
    pub version: i32,
    pub doc: Document,
    /// Why the document is out of sync with the editor, if it is.
    pub desynced: Option<String>,
}

impl std::fmt::Debug for OpenDocument {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OpenDocument")
            .field("uri", &self.uri)
            .field("version", &self.version)
            .field("desynced", &self.desynced)
            .finish_non_exhaustive()
    }
}

impl OpenDocument {
    /// Gives the document its syntax tree (parsed lazily, or dropped as least recently
    /// used). A language whose grammar fails to load degrades to plain text for good.
    pub fn ensure_parsed(&mut self) {
        if self.language.is_none() || self.doc.language().is_some() {
            return;
        }
        match Document::new(&self.doc.text(), self.language) {
            Ok(doc) => self.doc = doc,
            Err(error) => {
                tracing::warn!(uri = %self.uri, %error, "no grammar; the document is plain text");
                self.language = None;
            }
        }
    }

    fn drop_tree(&mut self) {
        if self.doc.language().is_some()
            && let Ok(doc) = Document::new(&self.doc.text(), None)
        {
            self.doc = doc;
        }
    }
}

/// Whether a URI names a chat document.
pub fn is_chat_uri(uri: &str) -> bool {
    uri.ends_with(".lathe.md")
}

/// What a `didChange` did.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ChangeReport {
    /// Positions the client sent that were out of range.
    pub clamps: Vec<Clamp>,
    /// Set when the change was refused, with the reason.
    pub refused: Option<String>,
}

/// Shared handle to one document.
pub type DocHandle = Arc<Mutex<OpenDocument>>;

/// Locks a document, recovering from a poisoned lock (a panicking handler must not take
/// the document down with it: its state is updated atomically per change).
pub fn lock(handle: &DocHandle) -> MutexGuard<'_, OpenDocument> {
    handle.lock().unwrap_or_else(PoisonError::into_inner)
}

/// The open documents of a connection.
#[derive(Debug)]
pub struct Documents {
    map: RwLock<HashMap<String, DocHandle>>,
    changes: watch::Sender<u64>,
    /// The sequence number of the last sync notification applied.
    applied: watch::Sender<u64>,
    /// URIs by recent use, most recent first (the first [`PARSED`] keep their trees).
    recent: Mutex<Vec<String>>,
}

impl Default for Documents {
    fn default() -> Self {
        Self {
            map: RwLock::default(),
            changes: watch::channel(0).0,
            applied: watch::channel(0).0,
            recent: Mutex::new(Vec::new()),
        }
    }
}

impl Documents {
    /// Opens (or reopens, replacing) a document, unparsed (see [`OpenDocument::ensure_parsed`]).
    pub fn open(
        &self,
        uri: &str,
        language_id: &str,
        version: i32,
        text: &str,
    ) -> Result<(), lathe_context::ContextError> {
        let path = crate::uri::to_path(uri).map(|p| p.canonicalize().unwrap_or(p));
        let language = path
            .as_deref()
            .and_then(|path| Language::for_source(path, text))
            .or_else(|| Language::from_name(language_id));
        let doc = Document::new(text, None)?;
        let open = OpenDocument {
            uri: uri.to_owned(),
            path,
            language_id: language_id.to_owned(),
            language,
            version,
            doc,
            desynced: None,
        };
        self.write_map()
            .insert(uri.to_owned(), Arc::new(Mutex::new(open)));
        self.touch(uri);
        self.bump();
        Ok(())
    }

    /// Applies a `didChange`. `None` when the document is not open.
    pub fn change(
        &self,
        uri: &str,
        version: i32,
        changes: Vec<ContentChange>,
        encoding: Encoding,
    ) -> Option<ChangeReport> {
        let handle = self.get(uri)?;
        self.touch(uri);
        let mut open = lock(&handle);
        open.ensure_parsed();
        let mut report = ChangeReport::default();
        let resync = changes.iter().any(|c| matches!(c, ContentChange::Full(_)));
        if version <= open.version && !resync {
            let reason = format!(
                "didChange version {version} is not newer than {}; the change was not applied",
                open.version
            );
            open.desynced = Some(reason.clone());
            report.refused = Some(reason);
            return Some(report);
        }
        for change in changes {
            match change {
                ContentChange::Full(text) => {
                    open.doc.set_text(&text);
                    open.desynced = None;
                }
                ContentChange::Range { range, text } => {
                    let outcome = open.doc.apply_edit(range, &text, encoding);
                    report.clamps.extend(outcome.clamps);
                }
            }
        }
        open.version = version;
        drop(open);
        self.bump();
        Some(report)
    }

    /// Marks `uri` most recently used and drops the trees of the documents past [`PARSED`]
    /// or [`PARSED_TEXT`].
    fn touch(&self, uri: &str) {
        let recent: Vec<String> = {
            let mut recent = self.recent.lock().unwrap_or_else(PoisonError::into_inner);
            recent.retain(|u| u != uri);
            recent.insert(0, uri.to_owned());
            recent.clone()
        };
        let mut kept_text = 0;
        for (rank, uri) in recent.iter().enumerate().skip(1) {
            let Some(handle) = self.get(uri) else {
                continue;
            };
            let mut open = lock(&handle);
            kept_text += open.doc.rope().len_bytes();
            if rank >= PARSED || kept_text > PARSED_TEXT {
                open.drop_tree();
            }
        }
    }

    /// Works for up to about `budget` on a reparse that an edit left paused (the most
    /// recently used document first); true while some document still has one.
    pub fn settle(&self, budget: Duration) -> bool {
        let recent = self
            .recent
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone();
        let mut worked = false;
        for uri in recent.iter().take(PARSED) {
            let Some(handle) = self.get(uri) else {
                continue;
            };
            let mut open = lock(&handle);
            if open.doc.is_settled() {
                continue;
            }
            if worked || !open.doc.settle(Some(budget)) {
                return true;
            }
            worked = true;
        }
        false
    }

    /// Closes a document; `false` when it was not open.
    pub fn close(&self, uri: &str) -> bool {
        self.recent
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .retain(|u| u != uri);
        let removed = self.write_map().remove(uri).is_some();
        self.bump();
        removed
    }

    /// The document at `uri`.
    pub fn get(&self, uri: &str) -> Option<DocHandle> {
        self.read_map().get(uri).cloned()
    }

    /// The document whose file is `path` (compared canonically when possible).
    pub fn by_path(&self, path: &Path) -> Option<DocHandle> {
        let wanted = path.canonicalize().unwrap_or_else(|_| path.to_owned());
        self.read_map()
            .values()
            .find(|h| lock(h).path.as_deref() == Some(wanted.as_path()))
            .cloned()
    }

    /// Every open document.
    pub fn all(&self) -> Vec<DocHandle> {
        self.read_map().values().cloned().collect()
    }

    /// Records that the sync notification numbered `seq` was applied.
    pub fn mark_applied(&self, seq: u64) {
        self.applied.send_replace(seq);
    }

    /// Waits until every sync notification up to `seq` is applied.
    pub async fn synced(&self, seq: u64) {
        let mut applied = self.applied.subscribe();
        // The sender lives as long as `self`, so the wait cannot fail while we borrow it.
        let _ = applied.wait_for(|done| *done >= seq).await;
    }

    /// A receiver woken by every open, change and close.
    pub fn watch(&self) -> watch::Receiver<u64> {
        self.changes.subscribe()
    }

    fn bump(&self) {
        self.changes.send_modify(|n| *n = n.wrapping_add(1));
    }

    fn read_map(&self) -> std::sync::RwLockReadGuard<'_, HashMap<String, DocHandle>> {
        self.map.read().unwrap_or_else(PoisonError::into_inner)
    }

    fn write_map(&self) -> std::sync::RwLockWriteGuard<'_, HashMap<String, DocHandle>> {
        self.map.write().unwrap_or_else(PoisonError::into_inner)
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn parsed(documents: &Documents, uri: &str) -> bool {
        lock(&documents.get(uri).unwrap()).doc.tree().is_some()
    }

    fn keystroke(documents: &Documents, uri: &str, version: i32) {
        let change = ContentChange::Range {
            range: TextRange::point(lathe_context::Position::new(0, 0)),
            text: " ".into(),
        };
        documents.change(uri, version, vec![change], Encoding::Utf16);
    }

    #[test]
    fn trees_are_kept_for_the_most_recent_documents_within_the_text_budget() {
        let documents = Documents::default();
        let small = "fn f() {}\n";
        let big = "fn f() {}\n".repeat(PARSED_TEXT / 10 / 2 + 1);
        for (i, text) in [small, small, small, small].into_iter().enumerate() {
            documents
                .open(&format!("file:///s{i}.rs"), "rust", 1, text)
                .unwrap();
            keystroke(&documents, &format!("file:///s{i}.rs"), 2);
        }
        let kept: Vec<bool> = (0..4)
            .map(|i| parsed(&documents, &format!("file:///s{i}.rs")))
            .collect();
        assert_eq!(kept, [false, true, true, true], "at most PARSED trees");

        for i in 0..3 {
            documents
                .open(&format!("file:///b{i}.rs"), "rust", 1, &big)
                .unwrap();
            keystroke(&documents, &format!("file:///b{i}.rs"), 2);
        }
        let kept: Vec<bool> = (0..3)
            .map(|i| parsed(&documents, &format!("file:///b{i}.rs")))
            .collect();
        assert_eq!(
            kept,
            [false, true, true],
            "each big text is over half the budget"
        );
        assert!(!parsed(&documents, "file:///s3.rs"));
    }

    #[test]
    fn paused_reparses_are_finished_in_slices() {
        let documents = Documents::default();
        let uri = "file:///big.rs";
        let text = "fn f(a: u32) -> u32 {\n    a + 1\n}\n".repeat(3000);
        documents.open(uri, "rust", 1, &text).unwrap();
        keystroke(&documents, uri, 2);
        let handle = documents.get(uri).unwrap();
        lock(&handle).doc.set_edit_budget(Duration::ZERO);
        let error = ContentChange::Range {
            range: TextRange::point(lathe_context::Position::new(4501, 0)),
            text: "x".into(),
        };
        documents.change(uri, 3, vec![error], Encoding::Utf16);
        assert!(
            !lock(&handle).doc.is_settled(),
            "the keystroke's reparse paused"
        );

        let mut slices = 0;
        while documents.settle(Duration::from_micros(200)) {
            slices += 1;
            assert!(slices < 100_000, "settling makes progress");
        }
        let open = lock(&handle);
        assert!(open.doc.is_settled());
        assert!(open.doc.has_syntax_errors(), "the tree is the new text's");
    }
}
