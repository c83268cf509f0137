//! Document sync: `didOpen`, `didChange`, `didClose`. Called by the connection's one sync
//! task, in the order the client sent them (never from concurrent handler futures), so the
//! documents always reflect every earlier notification.
//!
//! Invariant: bad input (a change to a document that is not open, a stale version,
//! positions out of range) never panics and never drops the connection: it is reported
//! to the client's log, and a refused change to the user as well.

use crate::connection::Conn;
use crate::from_proto;
use tower_lsp_server::gen_lsp_types as lsp;

/// Something to tell the client about a notification.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Notice {
    pub kind: lsp::MessageType,
    pub message: String,
    /// Also show it to the user (not only log it).
    pub show: bool,
}

fn log(message: String) -> Notice {
    Notice {
        kind: lsp::MessageType::Warning,
        message,
        show: false,
    }
}

pub fn did_open(conn: &Conn, params: lsp::DidOpenTextDocumentParams) -> Vec<Notice> {
    let item = params.text_document;
    let language = String::from(item.language_id);
    match conn
        .documents
        .open(item.uri.as_ref(), &language, item.version, &item.text)
    {
        Ok(()) => Vec::new(),
        Err(error) => vec![log(format!(
            "Lathe cannot track {}: {error}",
            item.uri.as_ref()
        ))],
    }
}

pub fn did_change(conn: &Conn, params: lsp::DidChangeTextDocumentParams) -> Vec<Notice> {
    let Ok(session) = conn.session() else {
        return Vec::new();
    };
    let uri = params.text_document.text_document_identifier.uri;
    let changes = params
        .content_changes
        .into_iter()
        .map(from_proto::content_change)
        .collect();
    let Some(report) = conn.documents.change(
        uri.as_ref(),
        params.text_document.version,
        changes,
        from_proto::encoding(session.encoding),
    ) else {
        return vec![log(format!(
            "didChange for {} which is not open; send didOpen first",
            uri.as_ref()
        ))];
    };
    let mut notices = Vec::new();
    if let Some(reason) = report.refused {
        notices.push(Notice {
            kind: lsp::MessageType::Warning,
            message: format!(
                "Lathe lost track of {}: {reason}; close and reopen it",
                uri.as_ref()
            ),
            show: true,
        });
    }
    for clamp in report.clamps {
        notices.push(log(format!(
            "didChange for {}: position {}:{} is out of range ({:?}); used {}:{}",
            uri.as_ref(),
            clamp.requested.line,
            clamp.requested.character,
            clamp.reason,
            clamp.used.line,
            clamp.used.character
        )));
    }
    notices
}

pub fn did_close(conn: &Conn, params: lsp::DidCloseTextDocumentParams) -> Vec<Notice> {
    let uri = params.text_document.uri;
    if conn.documents.close(uri.as_ref()) {
        Vec::new()
    } else {
        vec![log(format!(
            "didClose for {} which is not open",
            uri.as_ref()
        ))]
    }
}
