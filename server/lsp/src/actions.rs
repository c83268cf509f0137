//! The code actions Lathe offers, and how choosing one becomes an agent run.
//!
//! Listing is instant: it reads the request's range and diagnostics and never calls the
//! model or computes context. Each action carries its command (`lathe.action.run` with the
//! action, URI and range), so clients without `codeAction/resolve` can run it as listed.
//! Executing an action computes the cursor context (lathe-context) on the document as it
//! is then, renders the action's skill with it and starts a run.
//!
//! Invariants: action kinds are `quickfix` (Fix), `refactor.rewrite` (Refactor, Document,
//! Write tests) and `source` (Explain, Review, Run skill…, Send); the client's `only`
//! filter is honoured by kind prefix.

use crate::documents::{OpenDocument, lock};
use crate::error::LspError;
use crate::from_proto;
use lathe_context::{CursorRequest, DEFAULT_CURSOR_BUDGET, TextRange};
use lathe_edits::PositionEncoding;
use lathe_protocol::skill::SkillVars;
use serde::{Deserialize, Serialize};
use std::path::Path;
use tower_lsp_server::gen_lsp_types as lsp;

/// A code action of Lathe's.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Action {
    Explain,
    Fix,
    Refactor,
    Document,
    WriteTests,
    Review,
    RunSkill,
    /// Chat documents: run the last user message.
    Send,
}

/// What happens with a run's result.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Outcome {
    /// The agent edits files (through the editor when they are open); the answer is a
    /// short message.
    Edits,
    /// The answer is an explanation, shown as a markdown document.
    Explanation,
    /// The answer carries findings, published as diagnostics.
    Review,
    /// The answer streams into the chat document at this URI.
    Chat { uri: String },
}

impl Action {
    /// Actions offered on code, in menu order.
    pub const ON_CODE: [Action; 7] = [
        Action::Fix,
        Action::Explain,
        Action::Document,
        Action::Refactor,
        Action::WriteTests,
        Action::Review,
        Action::RunSkill,
    ];

    pub fn title(self) -> &'static str {
        match self {
            Action::Explain => "Lathe: Explain",
            Action::Fix => "Lathe: Fix",
            Action::Refactor => "Lathe: Refactor",
            Action::Document => "Lathe: Document",
            Action::WriteTests => "Lathe: Write tests",
            Action::Review => "Lathe: Review",
            Action::RunSkill => "Lathe: Run skill…",
            Action::Send => "Lathe: Send",
        }
    }

    pub fn kind(self) -> lsp::CodeActionKind {
        match self {
            Action::Fix => lsp::CodeActionKind::QuickFix,
            Action::Refactor | Action::Document | Action::WriteTests => {
                lsp::CodeActionKind::RefactorRewrite
            }
            Action::Explain | Action::Review | Action::RunSkill | Action::Send => {
                lsp::CodeActionKind::Source
            }
        }
    }

    /// The built-in skill the action runs.
    pub fn skill(self) -> Option<&'static str> {
        match self {
            Action::Explain => Some("explain"),
            Action::Fix => Some("fix"),
            Action::Refactor => Some("refactor"),
            Action::Document => Some("docs"),
            Action::WriteTests => Some("test"),
            Action::Review => Some("review"),
            Action::RunSkill | Action::Send => None,
        }
    }

    /// What the run's result becomes.
    pub fn outcome(self) -> Outcome {
        match self {
            Action::Explain => Outcome::Explanation,
            Action::Review => Outcome::Review,
            _ => Outcome::Edits,
        }
    }

    /// Whether the client's `only` filter admits this action.
    pub fn admitted(self, only: Option<&[lsp::CodeActionKind]>) -> bool {
        kind_admitted(&self.kind(), only)
    }
}

/// Whether `kind` passes the client's `only` filter (a prefix match on `.` boundaries).
pub fn kind_admitted(kind: &lsp::CodeActionKind, only: Option<&[lsp::CodeActionKind]>) -> bool {
    let Some(only) = only else {
        return true;
    };
    let kind = String::from(kind.clone());
    only.iter().any(|wanted| {
        let wanted = String::from(wanted.clone());
        wanted.is_empty() || kind == wanted || kind.starts_with(&format!("{wanted}."))
    })
}

/// The arguments of `lathe.action.run` (also the `data` of a listed action).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ActionArgs {
    pub action: Action,
    pub uri: String,
    pub range: lsp::Range,
    /// The diagnostics in range when the action was listed (Fix uses them).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub diagnostics: Vec<lsp::Diagnostic>,
    /// A skill to run (Run skill…); chosen by the user when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub skill: Option<String>,
    /// Extra instructions.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub input: Option<String>,
}

/// What a run needs from the document it is about.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CodeFocus {
    pub vars: SkillVars,
    /// The rendered cursor context, appended to the prompt.
    pub context: String,
    /// The enclosing symbol's name, for titles.
    pub symbol: Option<String>,
}

/// Computes the skill variables and cursor context of `range` in a document.
pub fn focus(
    open: &mut OpenDocument,
    workspace: &Path,
    range: TextRange,
    diagnostics: &[lsp::Diagnostic],
    encoding: PositionEncoding,
) -> Result<CodeFocus, LspError> {
    let file = open
        .path
        .as_deref()
        .map(|p| {
            p.strip_prefix(workspace)
                .unwrap_or(p)
                .to_string_lossy()
                .into_owned()
        })
        .unwrap_or_else(|| open.uri.clone());
    let request = CursorRequest {
        path: Some(file.clone()),
        selection: range,
        encoding: from_proto::encoding(encoding),
        budget: DEFAULT_CURSOR_BUDGET,
        diagnostics: diagnostics.iter().map(from_proto::diagnostic).collect(),
    };
    open.ensure_parsed();
    let context = open.doc.cursor_context(&request, None)?;
    let selection = if range.start == range.end {
        context.focus.text.clone()
    } else {
        selected_text(open, context.selection, encoding)
    };
    let symbol = (!context.enclosing.is_empty()).then(|| {
        context
            .enclosing
            .iter()
            .map(|s| s.name.as_str())
            .collect::<Vec<_>>()
            .join("::")
    });
    let diagnostics = context
        .diagnostics
        .iter()
        .map(|d| {
            format!(
                "{file}:{}:{}: {}: {}",
                d.range.start.line + 1,
                d.range.start.character + 1,
                serde_json::to_value(d.severity)
                    .ok()
                    .and_then(|v| v.as_str().map(str::to_owned))
                    .unwrap_or_default(),
                d.message
            )
        })
        .collect::<Vec<_>>()
        .join("\n");
    Ok(CodeFocus {
        vars: SkillVars {
            selection,
            file,
            language: open.language_id.clone(),
            diagnostics,
            symbol: symbol.clone().unwrap_or_default(),
            ..SkillVars::default()
        },
        context: context.render(),
        symbol,
    })
}

/// The text of a (clamped) range of the document.
fn selected_text(open: &OpenDocument, range: TextRange, encoding: PositionEncoding) -> String {
    let text = open.doc.text();
    let index = lathe_edits::LineIndex::new(&text);
    let at = |p: lathe_context::Position| {
        index.offset(lathe_edits::Position::new(p.line, p.character), encoding)
    };
    text.get(at(range.start)..at(range.end))
        .unwrap_or_default()
        .to_owned()
}

/// Runs `f` on the open document at `uri`.
pub fn with_document<T>(
    documents: &crate::documents::Documents,
    uri: &str,
    f: impl FnOnce(&mut OpenDocument) -> Result<T, LspError>,
) -> Result<T, LspError> {
    let handle = documents.get(uri).ok_or_else(|| LspError::NotOpen {
        uri: uri.to_owned(),
    })?;
    let mut open = lock(&handle);
    f(&mut open)
}
