//! The one error type of lathe-edits. Every variant is a refusal a model can act on: its
//! message says what was wrong and what to do instead. Errors are data: they carry the path,
//! the hunk and the candidate line numbers so that callers can also present them
//! structurally.

use crate::matching::MatchLevel;

/// Why an edit could not be turned into a diff, or a diff could not be applied.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum EditError {
    #[error("invalid path `{path}`: {reason}")]
    InvalidPath { path: String, reason: String },

    #[error("cannot read {path}: {reason}")]
    Read { path: String, reason: String },

    #[error(
        "{path} does not exist. To create it, use write_file (or `*** Add File:` in apply_patch)."
    )]
    FileNotFound { path: String },

    #[error(
        "{path} already exists. Edit it with edit_file or `*** Update File:`, or replace it whole with write_file."
    )]
    FileExists { path: String },

    #[error("{path} is a binary or non-UTF-8 file; only text files can be edited.")]
    Binary { path: String },

    #[error("the edit leaves {path} unchanged{}", if reason.is_empty() { String::new() } else { format!(": {reason}") })]
    NoChange { path: String, reason: String },

    #[error(
        "old_string is empty but {path} is not empty. Quote the text to replace in old_string, or use write_file to replace the whole file."
    )]
    EmptyOldString { path: String },

    #[error(
        "old_string was not found in {path} (tried exact, ignoring trailing whitespace, ignoring indentation and normalizing Unicode punctuation).\n{closest}Read the file again and copy old_string exactly, including whitespace."
    )]
    NotFound { path: String, closest: String },

    #[error(
        "old_string matches {} places in {path} ({level} match) at lines {}. Include more surrounding lines in old_string so that it matches exactly one place, or set replace_all to true to change every occurrence.",
        lines.len(), join_lines(lines)
    )]
    Ambiguous {
        path: String,
        level: MatchLevel,
        lines: Vec<usize>,
    },

    #[error(
        "hunk {hunk} of {path} does not match the file{after}: these lines were not found (tried exact, ignoring trailing whitespace, ignoring indentation and normalizing Unicode punctuation):\n{expected}{closest}Read the file again and make the context and `-` lines match it exactly."
    )]
    HunkNotFound {
        path: String,
        hunk: usize,
        after: String,
        expected: String,
        closest: String,
    },

    #[error(
        "hunk {hunk} of {path} matches {} places ({level} match) at lines {}. Add more context lines, or an `@@` line naming the enclosing function or class, so that it matches exactly one place.",
        lines.len(), join_lines(lines)
    )]
    HunkAmbiguous {
        path: String,
        hunk: usize,
        level: MatchLevel,
        lines: Vec<usize>,
    },

    #[error(
        "hunk {hunk} of {path} only matches at line {line}, before the end of the previous hunk (line {previous_end}). Hunks must be in file order and must not overlap; merge or reorder them."
    )]
    HunkOutOfOrder {
        path: String,
        hunk: usize,
        line: usize,
        previous_end: usize,
    },

    #[error("changes to {path} overlap (at line {line}); make each change touch different text.")]
    Overlap { path: String, line: usize },

    #[error("{format} parse error at line {line}: {message}")]
    Parse {
        format: &'static str,
        line: usize,
        message: String,
    },

    #[error("{path} appears more than once in one edit; put all changes to a file in one section.")]
    DuplicatePath { path: String },

    #[error(
        "{path} changed since the edit was prepared (its content hash no longer matches). Read the file again and redo the edit."
    )]
    Stale { path: String },

    #[error("hunk {hunk} of {path} does not fit the file: {reason}")]
    BadHunk {
        path: String,
        hunk: usize,
        reason: String,
    },

    #[error("the change to {path} is a {kind}, which is not a text edit of an open document")]
    NotTextEdit { path: String, kind: &'static str },
}

fn join_lines(lines: &[usize]) -> String {
    let shown: Vec<String> = lines.iter().take(20).map(|l| l.to_string()).collect();
    let mut text = shown.join(", ");
    if lines.len() > shown.len() {
        text.push_str(&format!(" and {} more", lines.len() - shown.len()));
    }
    text
}
