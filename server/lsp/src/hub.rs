//! [`EditorHub`]: the open documents of every connected editor, and the way the agent's
//! edits reach them.
//!
//! The agent's edit tools read a file through [`EditorHub::open_text`] (the editor's buffer,
//! unsaved changes included, wins over the disk) and apply a file's diff through
//! [`EditorHub::apply`]: when an editor has the file open, the diff becomes a versioned
//! `TextDocumentEdit` sent with `workspace/applyEdit`, so the editor's undo works and an
//! edit computed against an older version is refused; otherwise the answer is
//! [`EditorApply::NotInEditor`] and the caller writes the file through lathe-workspace.
//!
//! Invariants: an edit is sent only if its base hash matches the hub's copy of the buffer;
//! a refusal, an error or no answer within the timeout is an `Err` naming the editor and
//! the reason, and the editor's user is told too; an applied edit returns only once the
//! editor's `didChange` for it has arrived (or the echo timeout passed), so the next read
//! sees the new text, and an echo without the edit in it is a refusal.

use crate::documents::{Documents, lock};
use crate::error::LspError;
use crate::services::Timeouts;
use crate::to_proto;
use lathe_edits::{DocumentEdit, FileDiff, FileOp, PositionEncoding};
use std::collections::BTreeMap;
use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use tower_lsp_server::Client;
use tower_lsp_server::gen_lsp_types as lsp;

/// The text of a file as an editor has it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EditorText {
    pub text: String,
    /// The document version in that editor.
    pub version: i32,
    /// The editor's name (from `clientInfo`).
    pub editor: String,
}

/// What [`EditorHub::apply`] did.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum EditorApply {
    /// An editor applied the edit to its open buffer.
    Applied { editor: String },
    /// No editor has the file open (or the change is a create, delete or rename): write
    /// it to disk.
    NotInEditor,
}

/// What a client said it supports for edits.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) struct EditCaps {
    pub apply_edit: bool,
    pub document_changes: bool,
}

/// One connected editor, as the hub sees it.
pub(crate) struct Peer {
    pub name: String,
    pub client: Client,
    pub documents: Arc<Documents>,
    pub encoding: PositionEncoding,
    pub caps: EditCaps,
    pub timeouts: Timeouts,
}

impl std::fmt::Debug for Peer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Peer")
            .field("name", &self.name)
            .field("encoding", &self.encoding)
            .field("caps", &self.caps)
            .finish_non_exhaustive()
    }
}

impl Peer {
    /// Sends `edit` of the document at `uri` and waits for the answer and the echo; `holds`
    /// tells whether the echoed text holds the edit. An editor may answer `applied` and
    /// still skip the edit (Neovim does when its buffer is newer than the edit's version,
    /// as when the user typed and the `didChange` is still debounced): that is a refusal.
    pub async fn apply_document_edit(
        &self,
        uri: &str,
        edit: DocumentEdit,
        label: Option<&str>,
        holds: &(dyn Fn(&str) -> bool + Sync),
    ) -> Result<(), LspError> {
        if !self.caps.apply_edit {
            return Err(LspError::Client(format!(
                "{} does not support workspace/applyEdit",
                self.name
            )));
        }
        let version = edit.version;
        let mut echo = self.documents.watch();
        echo.mark_unchanged();
        let params = lsp::ApplyWorkspaceEditParams {
            label: label.map(str::to_owned),
            edit: to_proto::workspace_edit(
                vec![(uri.to_owned(), edit)],
                self.caps.document_changes,
            ),
            metadata: None,
        };
        let answer = tokio::time::timeout(
            self.timeouts.apply_edit,
            self.client
                .send_request::<lsp::ApplyWorkspaceEditRequest>(params),
        )
        .await;
        let refusal = match answer {
            Err(_) => format!(
                "did not answer workspace/applyEdit within {} s",
                self.timeouts.apply_edit.as_secs()
            ),
            Ok(Err(error)) => format!("failed the edit: {}", error.message),
            Ok(Ok(result)) if result.applied => {
                let echoed = self.wait_for_echo(uri, version, &mut echo).await;
                let text = self.documents.get(uri).map(|h| lock(&h).doc.text());
                if !echoed || text.is_none_or(|text| holds(&text)) {
                    return Ok(());
                }
                "said it applied the edit, but the buffer does not hold it (it changed in \
                 between); read the file again and redo the edit"
                    .to_owned()
            }
            Ok(Ok(result)) => format!(
                "refused the edit: {}",
                result
                    .failure_reason
                    .unwrap_or_else(|| "no reason given".into())
            ),
        };
        let message = format!("{} {refusal} ({uri})", self.name);
        self.client
            .show_message(lsp::MessageType::Warning, format!("Lathe: {message}"))
            .await;
        Err(LspError::Client(message))
    }

    /// Waits until the document's version moved past `version` (the editor's `didChange`
    /// for our edit), at most the echo timeout; false when it did not.
    async fn wait_for_echo(
        &self,
        uri: &str,
        version: i32,
        echo: &mut tokio::sync::watch::Receiver<u64>,
    ) -> bool {
        let moved = |docs: &Documents| {
            docs.get(uri)
                .is_none_or(|handle| lock(&handle).version > version)
        };
        let wait = async {
            while !moved(&self.documents) {
                if echo.changed().await.is_err() {
                    return;
                }
            }
        };
        if tokio::time::timeout(self.timeouts.edit_echo, wait)
            .await
            .is_err()
        {
            tracing::debug!(%uri, version, "no didChange echoed the applied edit in time");
            return false;
        }
        true
    }
}

struct Registry {
    next: AtomicU64,
    peers: Mutex<BTreeMap<u64, Arc<Peer>>>,
}

/// The documents of every connected editor. Cheap to clone; clones share the editors.
#[derive(Clone)]
pub struct EditorHub {
    registry: Arc<Registry>,
}

impl std::fmt::Debug for EditorHub {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EditorHub")
            .field("editors", &self.editors())
            .finish()
    }
}

impl Default for EditorHub {
    fn default() -> Self {
        Self::new()
    }
}

/// Keeps an editor registered; dropping it unregisters the editor.
pub(crate) struct Registration {
    registry: Arc<Registry>,
    id: u64,
}

impl Drop for Registration {
    fn drop(&mut self) {
        self.registry
            .peers
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .remove(&self.id);
    }
}

impl EditorHub {
    /// A hub with no editors.
    pub fn new() -> Self {
        Self {
            registry: Arc::new(Registry {
                next: AtomicU64::new(1),
                peers: Mutex::new(BTreeMap::new()),
            }),
        }
    }

    pub(crate) fn register(&self, peer: Arc<Peer>) -> Registration {
        let id = self.registry.next.fetch_add(1, Ordering::Relaxed);
        self.peers_mut().insert(id, peer);
        Registration {
            registry: self.registry.clone(),
            id,
        }
    }

    fn peers_mut(&self) -> std::sync::MutexGuard<'_, BTreeMap<u64, Arc<Peer>>> {
        self.registry
            .peers
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
    }

    /// The names of the connected editors, oldest connection first.
    pub fn editors(&self) -> Vec<String> {
        self.peers_mut().values().map(|p| p.name.clone()).collect()
    }

    /// The editor holding `path` open (the most recent connection wins) and the document.
    fn holder(&self, path: &Path) -> Option<(Arc<Peer>, crate::documents::DocHandle)> {
        let peers: Vec<Arc<Peer>> = self.peers_mut().values().rev().cloned().collect();
        peers
            .into_iter()
            .find_map(|peer| peer.documents.by_path(path).map(|doc| (peer, doc)))
    }

    /// The text of `path` (absolute) in an editor that has it open.
    pub fn open_text(&self, path: &Path) -> Option<EditorText> {
        let (peer, handle) = self.holder(path)?;
        let open = lock(&handle);
        Some(EditorText {
            text: open.doc.text(),
            version: open.version,
            editor: peer.name.clone(),
        })
    }

    /// Applies one file's change through the editor that has it open; see the module docs.
    /// `workspace` is the root the diff's paths are relative to.
    pub async fn apply(&self, workspace: &Path, file: &FileDiff) -> Result<EditorApply, LspError> {
        let FileOp::Modify {
            rename_to: None,
            hunks,
            ..
        } = &file.op
        else {
            return Ok(EditorApply::NotInEditor);
        };
        let Some((peer, handle)) = self.holder(&workspace.join(&file.path)) else {
            return Ok(EditorApply::NotInEditor);
        };
        let (uri, edit, expected) = {
            let open = lock(&handle);
            if let Some(reason) = &open.desynced {
                return Err(LspError::Client(format!(
                    "{} has {} out of sync ({reason}); close and reopen it",
                    peer.name, file.path
                )));
            }
            let base = open.doc.text();
            let edit = lathe_edits::document_edit(&base, file, open.version, peer.encoding)?;
            let expected = lathe_edits::apply_hunks(&file.path, &base, hunks)?;
            (open.uri.clone(), edit, expected)
        };
        let label = format!("Lathe: edit {}", file.path);
        peer.apply_document_edit(&uri, edit, Some(&label), &|now| now == expected)
            .await?;
        Ok(EditorApply::Applied {
            editor: peer.name.clone(),
        })
    }
}
