//! LSP types into Lathe's: positions, ranges, content changes, diagnostics, the
//! negotiated encoding and `initializationOptions`.
//!
//! Invariant: this module and `to_proto.rs` are the only places that convert between LSP
//! types and lathe-context / lathe-edits types; positions keep their encoding (nothing is
//! converted to char indices).

use crate::documents::ContentChange;
use crate::error::LspError;
use crate::services::EditorOverrides;
use lathe_context::{Encoding, Position, Severity, TextRange};
use lathe_edits::PositionEncoding;
use tower_lsp_server::gen_lsp_types as lsp;

/// The encoding Lathe uses with a client: UTF-8 when offered, else UTF-16.
pub fn negotiate(capabilities: &lsp::ClientCapabilities) -> PositionEncoding {
    let offered: Vec<String> = capabilities
        .general
        .as_ref()
        .and_then(|g| g.position_encodings.clone())
        .unwrap_or_default()
        .into_iter()
        .map(String::from)
        .collect();
    PositionEncoding::negotiate(offered.iter().map(String::as_str))
}

/// lathe-edits' encoding as lathe-context's.
pub fn encoding(encoding: PositionEncoding) -> Encoding {
    match encoding {
        PositionEncoding::Utf8 => Encoding::Utf8,
        PositionEncoding::Utf16 => Encoding::Utf16,
        PositionEncoding::Utf32 => Encoding::Utf32,
    }
}

pub fn position(position: lsp::Position) -> Position {
    Position::new(position.line, position.character)
}

pub fn range(range: lsp::Range) -> TextRange {
    TextRange::new(position(range.start), position(range.end))
}

/// One `didChange` content change.
pub fn content_change(change: lsp::TextDocumentContentChangeEvent) -> ContentChange {
    match change {
        lsp::TextDocumentContentChangeEvent::TextDocumentContentChangePartial(partial) => {
            ContentChange::Range {
                range: range(partial.range),
                text: partial.text,
            }
        }
        lsp::TextDocumentContentChangeEvent::TextDocumentContentChangeWholeDocument(whole) => {
            ContentChange::Full(whole.text)
        }
    }
}

/// A diagnostic of the client, for cursor context and skill templates.
pub fn diagnostic(diagnostic: &lsp::Diagnostic) -> lathe_context::Diagnostic {
    let severity = match diagnostic.severity {
        Some(lsp::DiagnosticSeverity::Warning) => Severity::Warning,
        Some(lsp::DiagnosticSeverity::Information) => Severity::Information,
        Some(lsp::DiagnosticSeverity::Hint) => Severity::Hint,
        _ => Severity::Error,
    };
    let message = match &diagnostic.message {
        lsp::Message::String(text) => text.clone(),
        lsp::Message::MarkupContent(markup) => markup.value.clone(),
    };
    lathe_context::Diagnostic {
        range: range(diagnostic.range),
        severity,
        message,
        source: diagnostic.source.clone(),
    }
}

/// What `initializationOptions` may hold: the per-editor overrides and where the default
/// chat document lives.
#[derive(Clone, Debug, Default, PartialEq, Eq, serde::Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct InitOptions {
    #[serde(default)]
    pub model: Option<String>,
    #[serde(default)]
    pub approval: Option<lathe_protocol::config::ApprovalMode>,
    #[serde(default)]
    pub sandbox: Option<crate::services::SandboxChoice>,
    /// Workspace-relative path of the default chat document.
    #[serde(default)]
    pub chat_file: Option<String>,
}

impl InitOptions {
    /// The overrides the agent provider sees.
    pub fn overrides(&self) -> EditorOverrides {
        EditorOverrides {
            model: self.model.clone(),
            approval: self.approval,
            sandbox: self.sandbox,
        }
    }
}

/// Parses `initializationOptions` (absent or `null`: no overrides).
pub fn init_options(value: Option<lsp::LspAny>) -> Result<InitOptions, LspError> {
    match value {
        None | Some(serde_json::Value::Null) => Ok(InitOptions::default()),
        Some(value) => {
            serde_json::from_value(value).map_err(|e| LspError::InitOptions(e.to_string()))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use lathe_protocol::config::ApprovalMode;
    use pretty_assertions::assert_eq;

    #[test]
    fn init_options_parse_and_refuse_typos() {
        let parsed = init_options(Some(serde_json::json!({
            "model": "gpt-4o-mini", "approval": "read-only", "sandbox": "bwrap",
            "chatFile": "notes/chat.lathe.md"
        })));
        assert_eq!(
            parsed.ok(),
            Some(InitOptions {
                model: Some("gpt-4o-mini".into()),
                approval: Some(ApprovalMode::ReadOnly),
                sandbox: Some(crate::services::SandboxChoice::Bwrap),
                chat_file: Some("notes/chat.lathe.md".into()),
            })
        );
        let typo = init_options(Some(serde_json::json!({"aproval": "ask"})));
        assert!(
            matches!(&typo, Err(LspError::InitOptions(m)) if m.contains("aproval")),
            "{typo:?}"
        );
        let bad = init_options(Some(serde_json::json!({"approval": "sometimes"})));
        assert!(matches!(bad, Err(LspError::InitOptions(_))));
        assert_eq!(init_options(None).ok(), Some(InitOptions::default()));
    }
}
