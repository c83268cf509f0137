//! What a finished run leaves in the editor: a message for edit runs, a markdown document
//! for explanations, diagnostics for review findings, the end of the answer in a chat
//! document. Each returns the message that ends the run's progress.
//!
//! Invariants: a failed or cancelled run is always reported with its reason; review
//! diagnostics replace the previous review's (files no longer mentioned are cleared), and
//! each finding's diagnostic carries its index so its quick fix finds it.

use crate::chat;
use crate::connection::Conn;
use crate::error::LspError;
use crate::review::{self, Finding};
use crate::services::{AgentService, RunSummary};
use crate::{to_proto, uri};
use lathe_protocol::{SessionId, SessionStatus};
use std::collections::HashMap;
use std::path::Path;
use std::sync::Arc;
use tokio::task::JoinHandle;
use tower_lsp_server::gen_lsp_types as lsp;

/// Longest answer shown in a message; longer ones are cut with a note.
const MESSAGE_CHARS: usize = 1_500;

/// One file's findings, their diagnostics and the document version they were made for.
type Published = (Vec<Finding>, Vec<lsp::Diagnostic>, Option<i32>);

/// A run that ended, with what the outcome needs.
pub struct Done {
    pub conn: Arc<Conn>,
    pub agent: Arc<dyn AgentService>,
    pub session: SessionId,
    pub title: String,
    pub summary: RunSummary,
}

fn shorten(text: &str) -> String {
    if text.chars().count() <= MESSAGE_CHARS {
        return text.to_owned();
    }
    let cut: String = text.chars().take(MESSAGE_CHARS).collect();
    format!("{cut}…")
}

impl Done {
    async fn say(&self, kind: lsp::MessageType, message: String) {
        self.conn.client.show_message(kind, message).await;
    }

    /// Reports a run that did not finish; `None` when it finished.
    async fn unfinished(&self) -> Option<String> {
        let reason = self.summary.error.clone().unwrap_or_default();
        let (kind, message) = match self.summary.status {
            SessionStatus::Finished => return None,
            SessionStatus::Cancelled => (
                lsp::MessageType::Info,
                format!("{} was cancelled", self.title),
            ),
            _ => (
                lsp::MessageType::Error,
                format!("{} failed: {reason}", self.title),
            ),
        };
        self.say(kind, message.clone()).await;
        Some(message)
    }

    /// An edit run: its answer as a message.
    pub async fn edits(self) -> String {
        if let Some(message) = self.unfinished().await {
            return message;
        }
        let answer = self.summary.answer.trim();
        self.say(
            lsp::MessageType::Info,
            format!("{}: {}", self.title, shorten(answer)),
        )
        .await;
        "done".into()
    }

    /// An explanation: written under the state directory and shown as a document.
    pub async fn explanation(self) -> String {
        if let Some(message) = self.unfinished().await {
            return message;
        }
        let dir = self.conn.services.state_dir.join("explanations");
        let path = dir.join(format!("{}.md", self.session));
        let text = format!("# {}\n\n{}\n", self.title, self.summary.answer.trim());
        let written = async {
            tokio::fs::create_dir_all(&dir).await?;
            tokio::fs::write(&path, &text).await
        }
        .await;
        if let Err(source) = written {
            let error = LspError::Io {
                path: path.display().to_string(),
                source,
            };
            self.say(lsp::MessageType::Error, format!("{}: {error}", self.title))
                .await;
            return error.to_string();
        }
        let shown = match self.conn.session() {
            Ok(session) if session.caps.show_document => {
                let request = self.conn.client.show_document(lsp::ShowDocumentParams {
                    uri: lsp::Uri::from(uri::from_path(&path)),
                    external: Some(false),
                    take_focus: Some(true),
                    selection: None,
                });
                matches!(
                    tokio::time::timeout(self.conn.services.timeouts.request, request).await,
                    Ok(Ok(true))
                )
            }
            _ => false,
        };
        if !shown {
            self.say(
                lsp::MessageType::Info,
                format!(
                    "{}:\n{}\n(full text: {})",
                    self.title,
                    shorten(self.summary.answer.trim()),
                    path.display()
                ),
            )
            .await;
        }
        format!("explanation in {}", path.display())
    }

    /// A review: findings published as diagnostics.
    pub async fn review(self) -> String {
        if let Some(message) = self.unfinished().await {
            return message;
        }
        let raw = review::parse_findings(&self.summary.answer);
        let Ok(session) = self.conn.session() else {
            return "not initialized".into();
        };
        let encoding = session.encoding;
        let workspace = self.agent.workspace().to_owned();
        let total = raw.len();
        let mut by_uri: HashMap<String, Published> = HashMap::new();
        let mut lost = 0;
        for finding in raw {
            let path = workspace.join(&finding.file);
            let Some((file_uri, text, version)) = self.text_of(&path).await else {
                lost += 1;
                continue;
            };
            let Some(located) = review::locate(finding, &text, encoding) else {
                lost += 1;
                continue;
            };
            let entry = by_uri.entry(file_uri).or_default();
            let range = review::diagnostic_range(&located, &text, encoding);
            entry.1.push(to_proto::diagnostic(
                to_proto::range(range),
                review::severity(&located.raw),
                located.raw.message.clone(),
                Some(serde_json::json!({"lathe": "finding", "index": entry.0.len()})),
            ));
            entry.0.push(located);
            entry.2 = version;
        }
        let findings = by_uri
            .iter()
            .map(|(uri, (findings, _, _))| (uri.clone(), findings.clone()))
            .collect();
        for old in self.conn.replace_findings(findings) {
            if !by_uri.contains_key(&old) {
                self.conn
                    .client
                    .publish_diagnostics(lsp::Uri::from(old), Vec::new(), None)
                    .await;
            }
        }
        for (file_uri, (_, diagnostics, version)) in by_uri {
            self.conn
                .client
                .publish_diagnostics(lsp::Uri::from(file_uri), diagnostics, version)
                .await;
        }
        let mut message = match total {
            0 => format!("{}: no findings", self.title),
            1 => format!("{}: 1 finding", self.title),
            n => format!("{}: {n} findings", self.title),
        };
        if lost > 0 {
            message.push_str(&format!(
                " ({lost} point at files or lines that do not exist)"
            ));
        }
        self.say(lsp::MessageType::Info, message.clone()).await;
        message
    }

    /// The URI, text and version (when open) of the file at `path`, however the model
    /// spelled it (`./src/x.rs`, through a symlink): the editor's buffer under the URI the
    /// editor opened it with, else the disk.
    async fn text_of(&self, path: &Path) -> Option<(String, String, Option<i32>)> {
        if let Some(handle) = self.conn.documents.by_path(path) {
            let open = crate::documents::lock(&handle);
            return Some((open.uri.clone(), open.doc.text(), Some(open.version)));
        }
        let path = path.canonicalize().ok()?;
        let text = tokio::fs::read_to_string(&path).await.ok()?;
        Some((uri::from_path(&path), text, None))
    }

    /// A chat answer: waits for the stream to be written, then closes the turn.
    pub async fn chat(
        self,
        chat_uri: &str,
        writer: JoinHandle<Result<(), LspError>>,
        lagged: bool,
    ) -> String {
        let written = match writer.await {
            Ok(result) => result,
            Err(join) => Err(LspError::Client(format!("chat writer crashed: {join}"))),
        };
        let Ok(session) = self.conn.session() else {
            return "not initialized".into();
        };
        let peer = session.peer.clone();
        if let Err(error) = written {
            self.say(
                lsp::MessageType::Error,
                format!(
                    "{}: could not write the answer into {chat_uri}: {error}",
                    self.title
                ),
            )
            .await;
            return error.to_string();
        }
        let mut tail = String::new();
        if lagged && self.summary.status == SessionStatus::Finished {
            tail.push_str("\n\n---\n\n");
            tail.push_str(self.summary.answer.trim());
        }
        match self.summary.status {
            SessionStatus::Finished => {}
            SessionStatus::Cancelled => tail.push_str("\n\n*(cancelled)*"),
            _ => tail.push_str(&format!(
                "\n\n*(failed: {})*",
                self.summary.error.clone().unwrap_or_default()
            )),
        }
        tail.push_str(chat::NEXT_TURN);
        if let Err(error) = chat::append(&peer, &self.conn.documents, chat_uri, &tail).await {
            return error.to_string();
        }
        match self.summary.status {
            SessionStatus::Finished => "answered".into(),
            _ => self.unfinished().await.unwrap_or_default(),
        }
    }
}
