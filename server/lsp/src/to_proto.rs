//! Lathe's types into LSP types: positions, text edits, workspace edits and diagnostics.
//!
//! Invariant: a versioned `TextDocumentEdit` is used whenever the client supports
//! `documentChanges`, so that the editor refuses an edit computed against an older
//! version; only clients without it (Neovim 0.7) get the unversioned `changes` map, and
//! for those the hub has already checked the base against its copy of the buffer.

use lathe_edits::{DocumentEdit, PositionEncoding, TextEdit};
use std::collections::HashMap;
use tower_lsp_server::gen_lsp_types as lsp;

pub fn encoding_kind(encoding: PositionEncoding) -> lsp::PositionEncodingKind {
    match encoding {
        PositionEncoding::Utf8 => lsp::PositionEncodingKind::UTF8,
        PositionEncoding::Utf16 => lsp::PositionEncodingKind::UTF16,
        PositionEncoding::Utf32 => lsp::PositionEncodingKind::UTF32,
    }
}

pub fn position(position: lathe_edits::Position) -> lsp::Position {
    lsp::Position {
        line: position.line,
        character: position.character,
    }
}

pub fn range(range: lathe_edits::Range) -> lsp::Range {
    lsp::Range {
        start: position(range.start),
        end: position(range.end),
    }
}

pub fn text_edit(edit: TextEdit) -> lsp::TextEdit {
    lsp::TextEdit {
        range: range(edit.range),
        new_text: edit.new_text,
    }
}

/// The workspace edit that applies `edits` to the documents at their URIs.
pub fn workspace_edit(
    edits: Vec<(String, DocumentEdit)>,
    document_changes: bool,
) -> lsp::WorkspaceEdit {
    if document_changes {
        let changes = edits
            .into_iter()
            .map(|(uri, edit)| {
                lsp::DocumentChange::TextDocumentEdit(lsp::TextDocumentEdit {
                    text_document: lsp::OptionalVersionedTextDocumentIdentifier {
                        version: Some(edit.version),
                        text_document_identifier: lsp::TextDocumentIdentifier {
                            uri: lsp::Uri::from(uri),
                        },
                    },
                    edits: edit
                        .edits
                        .into_iter()
                        .map(|e| lsp::Edit::TextEdit(text_edit(e)))
                        .collect(),
                })
            })
            .collect();
        lsp::WorkspaceEdit {
            changes: None,
            document_changes: Some(changes),
            ..lsp::WorkspaceEdit::default()
        }
    } else {
        let mut changes: HashMap<lsp::Uri, Vec<lsp::TextEdit>> = HashMap::new();
        for (uri, edit) in edits {
            changes
                .entry(lsp::Uri::from(uri))
                .or_default()
                .extend(edit.edits.into_iter().map(text_edit));
        }
        lsp::WorkspaceEdit {
            changes: Some(changes),
            document_changes: None,
            ..lsp::WorkspaceEdit::default()
        }
    }
}

/// A diagnostic from Lathe (review findings), `source: "lathe"`.
pub fn diagnostic(
    range: lsp::Range,
    severity: lsp::DiagnosticSeverity,
    message: String,
    data: Option<serde_json::Value>,
) -> lsp::Diagnostic {
    lsp::Diagnostic {
        range,
        severity: Some(severity),
        source: Some("lathe".into()),
        message: lsp::Message::String(message),
        data,
        ..lsp::Diagnostic::default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use lathe_edits::{Position, Range};
    use pretty_assertions::assert_eq;

    fn edit() -> DocumentEdit {
        DocumentEdit {
            path: "a.rs".into(),
            version: 7,
            edits: vec![TextEdit {
                range: Range {
                    start: Position::new(1, 2),
                    end: Position::new(1, 4),
                },
                new_text: "x".into(),
            }],
        }
    }

    #[test]
    fn versioned_when_the_client_supports_document_changes() {
        let versioned = workspace_edit(vec![("file:///w/a.rs".into(), edit())], true);
        assert_eq!(
            serde_json::to_value(&versioned).ok(),
            Some(serde_json::json!({"documentChanges": [{
                "textDocument": {"uri": "file:///w/a.rs", "version": 7},
                "edits": [{"range": {"start": {"line": 1, "character": 2},
                                     "end": {"line": 1, "character": 4}}, "newText": "x"}]
            }]}))
        );
        let plain = workspace_edit(vec![("file:///w/a.rs".into(), edit())], false);
        assert_eq!(
            serde_json::to_value(&plain).ok(),
            Some(serde_json::json!({"changes": {"file:///w/a.rs": [
                {"range": {"start": {"line": 1, "character": 2},
                           "end": {"line": 1, "character": 4}}, "newText": "x"}
            ]}}))
        );
    }
}
