//! `write_file`: create a file or replace its whole content. For an existing file the diff
//! is computed line by line (Myers), so even a whole rewrite becomes reviewable hunks and an
//! editor can apply it as text edits. The file's BOM and, for a CRLF file, its line endings
//! are kept.

use crate::build::{Replacement, build_hunks};
use crate::error::EditError;
use crate::hash::content_hash;
use crate::source::FileSource;
use crate::text::{BOM, Eol, decode, line_starts, split_bom, to_eol};
use crate::{EditOutcome, FileDiff, FileOp, WorkspaceDiff};
use serde::Deserialize;
use similar::{Algorithm, DiffOp, capture_diff_slices_deadline};
use std::time::{Duration, Instant};

/// Arguments of the `write_file` tool.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
pub struct WriteFileArgs {
    pub path: String,
    pub content: String,
}

/// Computes the diff of writing a whole file.
pub fn write_file(src: &dyn FileSource, args: &WriteFileArgs) -> Result<EditOutcome, EditError> {
    let path = src.resolve(&args.path)?;
    let Some(bytes) = src.read(&path)? else {
        return Ok(EditOutcome {
            diff: WorkspaceDiff {
                files: vec![FileDiff {
                    path,
                    op: FileOp::Create {
                        content: args.content.clone(),
                    },
                }],
            },
            notes: Vec::new(),
        });
    };
    let text = decode(&path, &bytes)?;
    let (_, body) = split_bom(text);
    let content = args.content.strip_prefix(BOM).unwrap_or(&args.content);
    let content = match Eol::detect(body) {
        Eol::CrLf => to_eol(content, Eol::CrLf),
        Eol::Lf => content.to_owned(),
    };
    let hunks = build_hunks(body, line_diff(body, &content)).map_err(|at| EditError::Overlap {
        path: path.clone(),
        line: at.0,
    })?;
    if hunks.is_empty() {
        return Err(EditError::NoChange {
            path,
            reason: "the content equals the file's current content".into(),
        });
    }
    Ok(EditOutcome {
        diff: WorkspaceDiff {
            files: vec![FileDiff {
                path,
                op: FileOp::Modify {
                    base_hash: content_hash(&bytes),
                    hunks,
                    rename_to: None,
                },
            }],
        },
        notes: Vec::new(),
    })
}

/// Lines including their terminators.
fn lines_inclusive(text: &str) -> Vec<&str> {
    text.split_inclusive('\n').collect()
}

/// Replacements turning `old` into `new`, one per changed run of lines.
pub(crate) fn line_diff(old: &str, new: &str) -> Vec<Replacement> {
    let old_lines = lines_inclusive(old);
    let new_lines = lines_inclusive(new);
    let old_starts = line_starts(old);
    let new_starts = line_starts(new);
    let deadline = Instant::now() + Duration::from_secs(2);
    let ops =
        capture_diff_slices_deadline(Algorithm::Myers, &old_lines, &new_lines, Some(deadline));
    let offset =
        |starts: &[usize], len: usize, i: usize| starts.get(i).copied().unwrap_or(len).min(len);
    ops.iter()
        .filter(|op| !matches!(op, DiffOp::Equal { .. }))
        .map(|op| {
            let (_, o, n) = op.as_tag_tuple();
            Replacement {
                start: offset(&old_starts, old.len(), o.start),
                end: offset(&old_starts, old.len(), o.end),
                text: new[offset(&new_starts, new.len(), n.start)
                    ..offset(&new_starts, new.len(), n.end)]
                    .to_owned(),
            }
        })
        .collect()
}
