//! `edit_file`: search/replace. The old text must identify exactly one place in the file
//! (unless `replace_all`); matching falls back from exact substring search to line-based
//! matching that ignores trailing whitespace, then indentation, then Unicode punctuation.
//! An ambiguous match is refused with the candidates' line numbers; no match is refused
//! with the most similar lines of the file. After a fallback match, lines the edit leaves
//! unchanged keep the file's own text.

use crate::build::{Replacement, build_hunks};
use crate::error::EditError;
use crate::hash::content_hash;
use crate::matching::{Haystack, MatchLevel, reindent};
use crate::source::FileSource;
use crate::text::{Eol, LineSpan, decode, line_spans, line_starts, split_bom, split_lines, to_eol};
use crate::{EditOutcome, FileDiff, FileOp, WorkspaceDiff};
use serde::Deserialize;
use similar::{Algorithm, DiffOp, capture_diff_slices_deadline};
use std::time::{Duration, Instant};

/// Arguments of the `edit_file` tool.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
pub struct EditFileArgs {
    pub path: String,
    #[serde(alias = "old_str")]
    pub old_string: String,
    #[serde(alias = "new_str")]
    pub new_string: String,
    #[serde(default)]
    pub replace_all: bool,
}

/// Computes the diff of one search/replace edit.
pub fn edit_file(src: &dyn FileSource, args: &EditFileArgs) -> Result<EditOutcome, EditError> {
    let path = src.resolve(&args.path)?;
    let Some(bytes) = src.read(&path)? else {
        if args.old_string.is_empty() {
            return Ok(EditOutcome {
                diff: WorkspaceDiff {
                    files: vec![FileDiff {
                        path,
                        op: FileOp::Create {
                            content: args.new_string.clone(),
                        },
                    }],
                },
                notes: Vec::new(),
            });
        }
        return Err(EditError::FileNotFound { path });
    };
    let text = decode(&path, &bytes)?;
    let (_, body) = split_bom(text);
    let eol = Eol::detect(body);
    let old = to_eol(args.old_string.trim_start_matches('\u{feff}'), eol);
    let new = to_eol(args.new_string.trim_start_matches('\u{feff}'), eol);
    if old == new {
        return Err(EditError::NoChange {
            path,
            reason: "old_string and new_string are identical".into(),
        });
    }
    let mut notes = Vec::new();
    let reps = if old.is_empty() {
        if !body.is_empty() {
            return Err(EditError::EmptyOldString { path });
        }
        vec![Replacement {
            start: 0,
            end: 0,
            text: new,
        }]
    } else {
        locate(&path, body, &old, &new, eol, args.replace_all, &mut notes)?
    };
    let hunks = build_hunks(body, reps).map_err(|at| EditError::Overlap {
        path: path.clone(),
        line: at.0,
    })?;
    if hunks.is_empty() {
        return Err(EditError::NoChange {
            path,
            reason: String::new(),
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
        notes,
    })
}

fn locate(
    path: &str,
    body: &str,
    old: &str,
    new: &str,
    eol: Eol,
    replace_all: bool,
    notes: &mut Vec<String>,
) -> Result<Vec<Replacement>, EditError> {
    let exact: Vec<usize> = if replace_all {
        body.match_indices(old).map(|(i, _)| i).collect()
    } else {
        overlapping_matches(body, old)
    };
    if !exact.is_empty() {
        if exact.len() > 1 && !replace_all {
            let starts = line_starts(body);
            let lines = exact
                .iter()
                .map(|o| starts.partition_point(|s| s <= o))
                .collect();
            return Err(EditError::Ambiguous {
                path: path.to_owned(),
                level: MatchLevel::Exact,
                lines,
            });
        }
        return Ok(exact
            .into_iter()
            .map(|start| Replacement {
                start,
                end: start + old.len(),
                text: new.to_owned(),
            })
            .collect());
    }

    let spans = line_spans(body);
    let hay = Haystack::new(body, &spans);
    let pattern = split_lines(old);
    let new_lines = if new.is_empty() {
        Vec::new()
    } else {
        split_lines(new)
    };
    if pattern.iter().all(|l| l.trim().is_empty()) {
        return Err(not_found(path, &hay, &pattern));
    }
    for level in &MatchLevel::ALL[1..] {
        let found = hay.find(&pattern, *level, 0);
        if found.is_empty() {
            continue;
        }
        let starts = non_overlapping(found, pattern.len());
        if starts.len() > 1 && !replace_all {
            return Err(EditError::Ambiguous {
                path: path.to_owned(),
                level: *level,
                lines: starts.iter().map(|s| s + 1).collect(),
            });
        }
        let lines: Vec<String> = starts.iter().map(|s| (s + 1).to_string()).collect();
        notes.push(format!(
            "{path}: old_string matched {level} at line {}",
            lines.join(", ")
        ));
        let kept = unchanged_lines(&pattern, &new_lines);
        return Ok(starts
            .into_iter()
            .map(|start| {
                let window = &hay.lines()[start..start + pattern.len()];
                let mut replaced = if level.reindents() {
                    reindent(&new_lines, &pattern, window)
                } else {
                    new_lines.iter().map(|l| (*l).to_owned()).collect()
                };
                // The lines the model left as they were stay as the file has them (its
                // curly quotes, its trailing spaces), not as the model retyped them.
                for (line, origin) in replaced.iter_mut().zip(&kept) {
                    if let Some(actual) = origin.and_then(|k| window.get(k)) {
                        *line = (*actual).to_owned();
                    }
                }
                line_replacement(&spans, start, pattern.len(), &replaced, eol)
            })
            .collect());
    }
    Err(not_found(path, &hay, &pattern))
}

/// For each line of `new`, the line of `old` it leaves unchanged (the two are equal and
/// aligned by a line diff), if any.
fn unchanged_lines(old: &[&str], new: &[&str]) -> Vec<Option<usize>> {
    let mut kept = vec![None; new.len()];
    let deadline = Instant::now() + Duration::from_millis(200);
    for op in capture_diff_slices_deadline(Algorithm::Myers, old, new, Some(deadline)) {
        if let DiffOp::Equal {
            old_index,
            new_index,
            len,
        } = op
        {
            for i in 0..len {
                kept[new_index + i] = Some(old_index + i);
            }
        }
    }
    kept
}

/// Replaces lines `start..start + len` by `lines`, keeping the last line's terminator;
/// no lines removes the window with its terminators.
pub(crate) fn line_replacement(
    spans: &[LineSpan],
    start: usize,
    len: usize,
    lines: &[String],
    eol: Eol,
) -> Replacement {
    let first = spans[start];
    let last = spans[start + len - 1];
    if lines.is_empty() {
        Replacement {
            start: first.start,
            end: last.next,
            text: String::new(),
        }
    } else {
        Replacement {
            start: first.start,
            end: last.end,
            text: lines.join(eol.as_str()),
        }
    }
}

fn overlapping_matches(body: &str, needle: &str) -> Vec<usize> {
    let mut found = Vec::new();
    let mut from = 0;
    while let Some(i) = body[from..].find(needle) {
        found.push(from + i);
        let step = body[from + i..].chars().next().map_or(1, char::len_utf8);
        from += i + step;
        if found.len() > 1000 {
            break;
        }
    }
    found
}

fn non_overlapping(starts: Vec<usize>, len: usize) -> Vec<usize> {
    let mut out: Vec<usize> = Vec::with_capacity(starts.len());
    for s in starts {
        if out.last().is_none_or(|prev| s >= prev + len) {
            out.push(s);
        }
    }
    out
}

/// The not-found error, quoting the most similar lines of the file.
pub(crate) fn not_found(path: &str, hay: &Haystack<'_>, pattern: &[&str]) -> EditError {
    EditError::NotFound {
        path: path.to_owned(),
        closest: closest_text(hay, pattern),
    }
}

/// "The most similar lines … are a-b:\n<numbered lines>\n", or empty when no line is similar.
pub(crate) fn closest_text(hay: &Haystack<'_>, pattern: &[&str]) -> String {
    let Some((start, equal)) = hay.closest(pattern) else {
        return String::new();
    };
    let lines = hay.lines();
    let end = (start + pattern.len().max(1))
        .min(lines.len())
        .min(start + 12);
    let mut out = format!(
        "The most similar lines ({equal} of {} lines agree) are {}-{}:\n",
        pattern.len(),
        start + 1,
        end
    );
    for (i, line) in lines[start..end].iter().enumerate() {
        out.push_str(&format!("{:>5}| {line}\n", start + i + 1));
    }
    out
}
