//! `textDocument/completion`: slash commands at the start of a line in chat documents,
//! from the skills registry (names and aliases, with their descriptions).
//!
//! Invariant: only chat documents get completions, and only while the line up to the
//! cursor is a `/` followed by a command name; the edit replaces exactly that prefix, in the
//! negotiated encoding.

use crate::connection::Conn;
use crate::documents::lock;
use crate::error::LspError;
use lathe_edits::{LineIndex, Position};
use tower_lsp_server::gen_lsp_types as lsp;

pub fn complete(
    conn: &Conn,
    params: lsp::CompletionParams,
) -> Result<Option<lsp::CompletionResponse>, LspError> {
    let session = conn.session()?;
    let at = params.text_document_position_params;
    let uri = at.text_document.uri.as_ref().to_owned();
    let handle = conn
        .documents
        .get(&uri)
        .ok_or_else(|| LspError::NotOpen { uri: uri.clone() })?;
    let prefix = {
        let open = lock(&handle);
        if !crate::documents::is_chat_uri(&open.uri) {
            return Ok(None);
        }
        let rope = open.doc.rope();
        let line = at.position.line as usize;
        if line >= rope.len_lines() {
            return Ok(None);
        }
        let text = rope.line(line).to_string();
        let index = LineIndex::new(&text);
        let end = index.offset(Position::new(0, at.position.character), session.encoding);
        text[..end].to_owned()
    };
    let Some(typed) = prefix.strip_prefix('/') else {
        return Ok(None);
    };
    if typed.chars().any(char::is_whitespace) {
        return Ok(None);
    }
    let range = lsp::Range {
        start: lsp::Position {
            line: at.position.line,
            character: 0,
        },
        end: at.position,
    };
    let snapshot = session.skills.snapshot();
    let items = snapshot
        .commands()
        .filter(|(name, _)| name.starts_with(typed))
        .map(|(name, skill)| {
            let alias = name != skill.name();
            let detail = if alias {
                format!("alias of /{}", skill.name())
            } else {
                skill
                    .spec()
                    .category
                    .clone()
                    .unwrap_or_else(|| "skill".into())
            };
            lsp::CompletionItem {
                label: format!("/{name}"),
                kind: Some(lsp::CompletionItemKind::Function),
                detail: Some(detail),
                documentation: Some(lsp::Documentation::String(skill.spec().description.clone())),
                sort_text: Some(format!("{}{name}", u8::from(alias))),
                filter_text: Some(format!("/{name}")),
                text_edit: Some(lsp::CompletionItemTextEdit::TextEdit(lsp::TextEdit {
                    range,
                    new_text: format!("/{name} "),
                })),
                ..lsp::CompletionItem::default()
            }
        })
        .collect();
    Ok(Some(lsp::CompletionResponse::CompletionList(
        lsp::CompletionList {
            is_incomplete: false,
            items,
            ..lsp::CompletionList::default()
        },
    )))
}
