//! `textDocument/codeAction` and `codeAction/resolve`.
//!
//! Listing never calls the model and never computes context: it costs a document lookup
//! and a pass over the review findings of the document. Review quick fixes compute their
//! edit at resolve time when the client can resolve `edit` (VS Code, Neovim), else at list
//! time; an edit is only produced while the finding's lines are unchanged.

use crate::actions::{Action, ActionArgs, kind_admitted};
use crate::connection::Conn;
use crate::documents::{OpenDocument, lock};
use crate::error::LspError;
use crate::ext::ACTION_RUN;
use crate::review::{self, Finding};
use crate::to_proto;
use lathe_edits::DocumentEdit;
use serde::{Deserialize, Serialize};
use tower_lsp_server::gen_lsp_types as lsp;

/// The `data` of a review quick fix.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
struct FindingRef {
    lathe: String,
    uri: String,
    index: usize,
}

const FINDING: &str = "finding";

pub fn list(
    conn: &Conn,
    params: lsp::CodeActionParams,
) -> Result<Vec<lsp::CodeActionResponse>, LspError> {
    let session = conn.session()?;
    let uri = params.text_document.uri.as_ref().to_owned();
    let handle = conn
        .documents
        .get(&uri)
        .ok_or_else(|| LspError::NotOpen { uri: uri.clone() })?;
    let only = params.context.only.as_deref();
    let mut actions = Vec::new();
    // By name, without the document's lock (a change being applied holds it).
    let is_chat = crate::documents::is_chat_uri(&uri);
    let listed: &[Action] = if is_chat {
        &[Action::Send]
    } else {
        &Action::ON_CODE
    };
    for &action in listed {
        if !action.admitted(only) {
            continue;
        }
        let diagnostics: Vec<lsp::Diagnostic> = if action == Action::Fix {
            params
                .context
                .diagnostics
                .iter()
                .filter(|d| d.source.as_deref() != Some("lathe"))
                .cloned()
                .collect()
        } else {
            Vec::new()
        };
        let title = match (action, diagnostics.len()) {
            (Action::Fix, 1) => "Lathe: Fix 1 problem".to_owned(),
            (Action::Fix, n) if n > 1 => format!("Lathe: Fix {n} problems"),
            _ => action.title().to_owned(),
        };
        let args = ActionArgs {
            action,
            uri: uri.clone(),
            range: params.range,
            diagnostics: diagnostics.clone(),
            skill: None,
            input: None,
        };
        let args = serde_json::to_value(&args)
            .map_err(|e| LspError::bad_arguments("codeAction", e.to_string()))?;
        actions.push(lsp::CodeActionResponse::CodeAction(lsp::CodeAction {
            title: title.clone(),
            kind: Some(action.kind()),
            diagnostics: (!diagnostics.is_empty()).then_some(diagnostics),
            command: Some(lsp::Command {
                title,
                tooltip: None,
                command: ACTION_RUN.to_owned(),
                arguments: Some(vec![args]),
            }),
            ..lsp::CodeAction::default()
        }));
    }
    let findings = conn.findings(&uri);
    if !findings.is_empty() && kind_admitted(&lsp::CodeActionKind::QuickFix, only) {
        let open = lock(&handle);
        let range = lathe_edits::Range {
            start: lathe_edits::Position::new(
                params.range.start.line,
                params.range.start.character,
            ),
            end: lathe_edits::Position::new(params.range.end.line, params.range.end.character),
        };
        let text = open.doc.text();
        for (index, finding) in findings.iter().enumerate() {
            if finding.raw.suggestion.is_none() || !review::touches(finding, range) {
                continue;
            }
            let mut action = quick_fix(&uri, index, finding, &text, session.encoding);
            if !session.caps.resolve_edit {
                fill_edit(&mut action, finding, &open, session);
            }
            actions.push(lsp::CodeActionResponse::CodeAction(action));
        }
    }
    Ok(actions)
}

fn quick_fix(
    uri: &str,
    index: usize,
    finding: &Finding,
    text: &str,
    encoding: lathe_edits::PositionEncoding,
) -> lsp::CodeAction {
    let data = serde_json::to_value(FindingRef {
        lathe: FINDING.into(),
        uri: uri.to_owned(),
        index,
    })
    .ok();
    let diagnostic = to_proto::diagnostic(
        to_proto::range(review::diagnostic_range(finding, text, encoding)),
        review::severity(&finding.raw),
        finding.raw.message.clone(),
        Some(serde_json::json!({"lathe": FINDING, "index": index})),
    );
    lsp::CodeAction {
        title: format!(
            "Lathe: apply suggestion: {}",
            first_line(&finding.raw.message)
        ),
        kind: Some(lsp::CodeActionKind::QuickFix),
        diagnostics: Some(vec![diagnostic]),
        is_preferred: Some(true),
        data,
        ..lsp::CodeAction::default()
    }
}

fn first_line(text: &str) -> &str {
    text.lines().next().unwrap_or_default()
}

/// Sets the quick fix's edit, or disables it with the reason.
fn fill_edit(
    action: &mut lsp::CodeAction,
    finding: &Finding,
    open: &OpenDocument,
    session: &crate::connection::Session,
) {
    match review::suggestion_edit(finding, &open.doc.text(), session.encoding) {
        Ok(edit) => {
            let edit = DocumentEdit {
                path: open.uri.clone(),
                version: open.version,
                edits: vec![edit],
            };
            action.edit = Some(to_proto::workspace_edit(
                vec![(open.uri.clone(), edit)],
                session.caps.edit.document_changes,
            ));
        }
        Err(reason) => action.disabled = Some(lsp::CodeActionDisabled { reason }),
    }
}

pub fn resolve(conn: &Conn, mut action: lsp::CodeAction) -> Result<lsp::CodeAction, LspError> {
    let Some(data) = action.data.clone() else {
        return Ok(action);
    };
    if let Ok(reference) = serde_json::from_value::<FindingRef>(data.clone())
        && reference.lathe == FINDING
    {
        let session = conn.session()?;
        let handle = conn
            .documents
            .get(&reference.uri)
            .ok_or_else(|| LspError::NotOpen {
                uri: reference.uri.clone(),
            })?;
        let findings = conn.findings(&reference.uri);
        let finding = findings.get(reference.index).ok_or_else(|| {
            LspError::bad_arguments(
                "codeAction/resolve",
                "the review this fix came from was replaced",
            )
        })?;
        fill_edit(&mut action, finding, &lock(&handle), session);
        return Ok(action);
    }
    if action.command.is_none() && serde_json::from_value::<ActionArgs>(data.clone()).is_ok() {
        action.command = Some(lsp::Command {
            title: action.title.clone(),
            tooltip: None,
            command: ACTION_RUN.to_owned(),
            arguments: Some(vec![data]),
        });
    }
    Ok(action)
}
