//! Edit formats turned into [`WorkspaceDiff`]s, and LSP position conversion. Pure: no I/O.
//!
//! The agent's file-changing tools all end here: search/replace ([`edit_file`]), the Codex
//! `apply_patch` envelope and unified diffs ([`apply_patch`]), and whole-file writes
//! ([`write_file`]). Each reads the current files through a caller-supplied [`FileSource`]
//! and returns a [`WorkspaceDiff`] without writing anything; the caller (lathe-workspace on
//! disk, lathe-lsp through the editor) applies it later, and [`materialize`] refuses a diff
//! whose base hash no longer matches (someone else changed the file).
//!
//! Invariants:
//! - nothing here touches the file system or panics on any input; every failure is an
//!   [`EditError`] whose message tells a model what was wrong and how to retry;
//! - a produced diff, applied to the bytes it was computed from, gives exactly the text the
//!   edit describes (hunks are whole lines; a leading BOM and the file's line-ending style
//!   are preserved);
//! - positions are converted exactly between byte offsets and LSP positions in UTF-8, UTF-16
//!   and UTF-32 ([`LineIndex`]); char indices are never used.

mod apply;
mod build;
mod error;
mod hash;
mod locate;
mod matching;
mod patch;
mod position;
mod render;
mod replace;
mod source;
mod text;
mod text_edit;
mod tools;
mod unified;
mod write;

pub use apply::{FileWrite, apply_hunks, materialize};
pub use error::EditError;
pub use hash::content_hash;
pub use lathe_protocol::diff::{ContentHash, FileDiff, FileOp, Hunk, WorkspaceDiff};
pub use matching::MatchLevel;
pub use patch::apply_codex_patch;
pub use position::{LineIndex, Position, PositionEncoding, Range};
pub use render::{render_file_diff, render_unified_diff};
pub use replace::{EditFileArgs, edit_file};
pub use source::{FileSource, MemorySource, normalize_relative_path};
pub use text::as_text;
pub use text_edit::{DocumentEdit, TextEdit, document_edit, text_edits};
pub use tools::{
    APPLY_PATCH_DESCRIPTION, EDIT_FILE_DESCRIPTION, ToolSpec, WRITE_FILE_DESCRIPTION,
    apply_patch_schema, apply_patch_tool, edit_file_schema, edit_file_tool, write_file_schema,
    write_file_tool,
};
pub use unified::apply_unified_diff;
pub use write::{WriteFileArgs, write_file};

use serde::Deserialize;

/// What an edit produced: the diff to apply and notes for the model (for example that a
/// match needed a fallback), in the order they arose.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct EditOutcome {
    pub diff: WorkspaceDiff,
    pub notes: Vec<String>,
}

impl EditOutcome {
    /// One line per file plus the notes: what a tool result tells the model.
    pub fn summary(&self) -> String {
        let mut out = String::new();
        for file in &self.diff.files {
            let line = match &file.op {
                FileOp::Create { content } => {
                    format!(
                        "created {} ({} lines)",
                        file.path,
                        text::count_lines(content)
                    )
                }
                FileOp::Delete { .. } => format!("deleted {}", file.path),
                FileOp::Modify {
                    hunks, rename_to, ..
                } => {
                    let added: u32 = hunks.iter().map(|h| h.new_lines).sum();
                    let removed: u32 = hunks.iter().map(|h| h.old_lines).sum();
                    let moved = rename_to
                        .as_ref()
                        .map(|to| format!(" -> {to}"))
                        .unwrap_or_default();
                    format!(
                        "edited {}{moved}: {} hunk{}, +{added} -{removed}",
                        file.path,
                        hunks.len(),
                        if hunks.len() == 1 { "" } else { "s" }
                    )
                }
            };
            out.push_str(&line);
            out.push('\n');
        }
        for note in &self.notes {
            out.push_str("note: ");
            out.push_str(note);
            out.push('\n');
        }
        out
    }
}

/// Arguments of the `apply_patch` tool.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
pub struct ApplyPatchArgs {
    /// The patch: a Codex envelope (`*** Begin Patch` … `*** End Patch`) or a unified diff.
    #[serde(alias = "input")]
    pub patch: String,
}

/// Turns an `apply_patch` tool input into a diff: a Codex envelope when the text contains a
/// `*** Begin Patch` line, otherwise a unified diff.
pub fn apply_patch(src: &dyn FileSource, patch: &str) -> Result<EditOutcome, EditError> {
    if is_codex_envelope(patch) {
        apply_codex_patch(src, patch)
    } else {
        apply_unified_diff(src, patch)
    }
}

fn is_codex_envelope(patch: &str) -> bool {
    patch.lines().any(|l| l.trim() == patch::BEGIN)
}

/// The workspace paths an edit tool's call names, one per line, normalized, once each:
/// what the policy's path rules judge. For `apply_patch` they come from the same parser
/// that applies the patch, so a path the patch touches is never missed; a patch that does
/// not parse names none (and applies nothing). For `edit_file` and `write_file`, the path.
pub fn rule_paths(tool: &str, args: &serde_json::Value) -> Option<String> {
    let named = if tool == "apply_patch" {
        let patch = args.get("patch").or_else(|| args.get("input"))?.as_str()?;
        let parsed = if is_codex_envelope(patch) {
            patch::named_paths(patch)
        } else {
            unified::named_paths(patch)
        };
        parsed.unwrap_or_default()
    } else {
        vec![args.get("path")?.as_str()?.to_owned()]
    };
    let mut paths: Vec<String> = Vec::new();
    for raw in named {
        let path = normalize_relative_path(&raw).unwrap_or_else(|_| raw.trim().to_owned());
        if !paths.contains(&path) {
            paths.push(path);
        }
    }
    Some(paths.join("\n"))
}
