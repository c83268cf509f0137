//! The Codex `apply_patch` envelope:
//!
//! ```text
//! *** Begin Patch
//! *** Add File: path        followed by `+` lines
//! *** Delete File: path
//! *** Update File: path
//! *** Move to: new/path     optional, right after Update File
//! @@ fn enclosing()         optional anchors, then ` ` context, `-` removed, `+` added
//! *** End of File           optional: the hunk ends at the end of the file
//! *** End Patch
//! ```
//!
//! Parsing is strict about structure (a truncated patch is refused, never half-applied) and
//! lenient about what models get wrong harmlessly: surrounding blank lines, a heredoc or
//! code-fence wrapper, blank lines inside hunks written without the leading space.

use crate::build::build_hunks;
use crate::error::EditError;
use crate::hash::content_hash;
use crate::locate::{LineHunk, locate_hunks};
use crate::source::FileSource;
use crate::text::{Eol, decode, line_spans, split_bom};
use crate::{EditOutcome, FileDiff, FileOp};
use std::collections::HashSet;

pub(crate) const BEGIN: &str = "*** Begin Patch";
const END: &str = "*** End Patch";
const ADD: &str = "*** Add File: ";
const DELETE: &str = "*** Delete File: ";
const UPDATE: &str = "*** Update File: ";
const MOVE: &str = "*** Move to: ";
const EOF_MARKER: &str = "*** End of File";
const FORMAT: &str = "apply_patch";

/// One file section of a patch.
#[derive(Clone, Debug, PartialEq, Eq)]
enum Section {
    Add {
        path: String,
        lines: Vec<String>,
    },
    Delete {
        path: String,
    },
    Update {
        path: String,
        move_to: Option<String>,
        hunks: Vec<LineHunk>,
    },
}

/// Every path a Codex envelope names (added, deleted, updated, moved-to), as written.
pub(crate) fn named_paths(patch: &str) -> Result<Vec<String>, EditError> {
    let mut paths = Vec::new();
    for section in parse(patch)? {
        match section {
            Section::Add { path, .. } | Section::Delete { path } => paths.push(path),
            Section::Update { path, move_to, .. } => {
                paths.push(path);
                paths.extend(move_to);
            }
        }
    }
    Ok(paths)
}

/// Computes the diff of a Codex `apply_patch` envelope.
pub fn apply_codex_patch(src: &dyn FileSource, patch: &str) -> Result<EditOutcome, EditError> {
    let sections = parse(patch)?;
    let mut seen = HashSet::new();
    let mut outcome = EditOutcome::default();
    for section in sections {
        let file = match section {
            Section::Add { path, lines } => {
                let path = claim(src, &mut seen, &path)?;
                if src.read(&path)?.is_some() {
                    return Err(EditError::FileExists { path });
                }
                let mut content = lines.join("\n");
                if !lines.is_empty() {
                    content.push('\n');
                }
                FileDiff {
                    path,
                    op: FileOp::Create { content },
                }
            }
            Section::Delete { path } => {
                let path = claim(src, &mut seen, &path)?;
                let Some(bytes) = src.read(&path)? else {
                    return Err(EditError::FileNotFound { path });
                };
                FileDiff {
                    op: FileOp::Delete {
                        base_hash: content_hash(&bytes),
                    },
                    path,
                }
            }
            Section::Update {
                path,
                move_to,
                hunks,
            } => {
                let path = claim(src, &mut seen, &path)?;
                let rename_to = match move_to {
                    Some(target) => {
                        let target = claim(src, &mut seen, &target)?;
                        if src.read(&target)?.is_some() {
                            return Err(EditError::FileExists { path: target });
                        }
                        Some(target)
                    }
                    None => None,
                };
                let (op, notes) = update(src, &path, rename_to, &hunks)?;
                outcome.notes.extend(notes);
                FileDiff { path, op }
            }
        };
        outcome.diff.files.push(file);
    }
    if outcome.diff.is_empty() {
        return Err(EditError::Parse {
            format: FORMAT,
            line: 1,
            message: "the patch contains no file sections".into(),
        });
    }
    Ok(outcome)
}

/// Resolves a path and refuses a second appearance in the same patch.
pub(crate) fn claim(
    src: &dyn FileSource,
    seen: &mut HashSet<String>,
    raw: &str,
) -> Result<String, EditError> {
    let path = src.resolve(raw)?;
    if !seen.insert(path.clone()) {
        return Err(EditError::DuplicatePath { path });
    }
    Ok(path)
}

/// The modification of one existing file by line hunks (used by unified diffs too).
pub(crate) fn update(
    src: &dyn FileSource,
    path: &str,
    rename_to: Option<String>,
    hunks: &[LineHunk],
) -> Result<(FileOp, Vec<String>), EditError> {
    let Some(bytes) = src.read(path)? else {
        return Err(EditError::FileNotFound {
            path: path.to_owned(),
        });
    };
    let base_hash = content_hash(&bytes);
    if hunks.is_empty() {
        return Ok((
            FileOp::Modify {
                base_hash,
                hunks: Vec::new(),
                rename_to,
            },
            Vec::new(),
        ));
    }
    let text = decode(path, &bytes)?;
    let (_, body) = split_bom(text);
    let spans = line_spans(body);
    let located = locate_hunks(path, body, &spans, hunks, Eol::of_lines(&spans))?;
    let hunks = build_hunks(body, located.replacements).map_err(|at| EditError::Overlap {
        path: path.to_owned(),
        line: at.0,
    })?;
    if hunks.is_empty() && rename_to.is_none() {
        return Err(EditError::NoChange {
            path: path.to_owned(),
            reason: "every hunk's new lines equal its old lines".into(),
        });
    }
    Ok((
        FileOp::Modify {
            base_hash,
            hunks,
            rename_to,
        },
        located.notes,
    ))
}

fn parse_error(line: usize, message: impl Into<String>) -> EditError {
    EditError::Parse {
        format: FORMAT,
        line,
        message: message.into(),
    }
}

/// The patch's lines between the markers, numbered from 1 as in the input.
fn envelope(patch: &str) -> Result<Vec<(usize, &str)>, EditError> {
    let lines: Vec<(usize, &str)> = patch
        .lines()
        .enumerate()
        .map(|(i, l)| (i + 1, l.strip_suffix('\r').unwrap_or(l)))
        .collect();
    let begin = lines
        .iter()
        .position(|(_, l)| l.trim() == BEGIN)
        .ok_or_else(|| parse_error(1, format!("the first line must be `{BEGIN}`")))?;
    let end = lines
        .iter()
        .rposition(|(_, l)| l.trim() == END)
        .filter(|e| *e > begin)
        .ok_or_else(|| {
            parse_error(
                lines.len(),
                format!("the last line must be `{END}` (was the patch cut off?)"),
            )
        })?;
    Ok(lines[begin + 1..end].to_vec())
}

fn parse(patch: &str) -> Result<Vec<Section>, EditError> {
    let lines = envelope(patch)?;
    let mut sections = Vec::new();
    let mut i = 0;
    while i < lines.len() {
        let (no, line) = lines[i];
        if line.trim().is_empty() {
            i += 1;
        } else if let Some(path) = line.strip_prefix(ADD) {
            i += 1;
            let mut content = Vec::new();
            while i < lines.len() && !lines[i].1.starts_with("*** ") {
                let (no, l) = lines[i];
                match l.strip_prefix('+') {
                    Some(text) => content.push(text.to_owned()),
                    None if only_blank_until_section(&lines[i..]) => {}
                    None => {
                        return Err(parse_error(
                            no,
                            "every line of an added file must start with `+`",
                        ));
                    }
                }
                i += 1;
            }
            sections.push(Section::Add {
                path: path.trim().to_owned(),
                lines: content,
            });
        } else if let Some(path) = line.strip_prefix(DELETE) {
            sections.push(Section::Delete {
                path: path.trim().to_owned(),
            });
            i += 1;
        } else if let Some(path) = line.strip_prefix(UPDATE) {
            i += 1;
            let mut move_to = None;
            if let Some(target) = lines.get(i).and_then(|(_, l)| l.strip_prefix(MOVE)) {
                move_to = Some(target.trim().to_owned());
                i += 1;
            }
            let (hunks, next) = parse_hunks(&lines, i)?;
            if hunks.is_empty() && move_to.is_none() {
                return Err(parse_error(
                    no,
                    format!("`{UPDATE}{}` has no hunks", path.trim()),
                ));
            }
            i = next;
            sections.push(Section::Update {
                path: path.trim().to_owned(),
                move_to,
                hunks,
            });
        } else {
            return Err(parse_error(
                no,
                format!(
                    "expected `{ADD}`, `{DELETE}` or `{UPDATE}` but found `{}`",
                    line.trim()
                ),
            ));
        }
    }
    Ok(sections)
}

/// Parses the hunks of an Update section starting at `i`; returns them and the index of
/// the next section's first line.
fn parse_hunks(lines: &[(usize, &str)], mut i: usize) -> Result<(Vec<LineHunk>, usize), EditError> {
    let mut hunks: Vec<LineHunk> = Vec::new();
    let mut current = LineHunk::default();
    let mut has_changes = false;
    let mut started = false;
    let mut hunk_line = lines.get(i).map_or(0, |(n, _)| *n);
    while i < lines.len() {
        let (no, line) = lines[i];
        if line.starts_with("*** ") && line.trim() != EOF_MARKER {
            break;
        }
        if line.trim() == EOF_MARKER {
            current.at_eof = true;
        } else if let Some(anchor) = line.strip_prefix("@@") {
            if started && (has_changes || !current.old.is_empty()) {
                finish(&mut hunks, &mut current, &mut has_changes, hunk_line)?;
                hunk_line = no;
            }
            started = true;
            let anchor = anchor.trim();
            if !anchor.is_empty() {
                current.anchors.push(anchor.to_owned());
            }
        } else if let Some(text) = line.strip_prefix('+') {
            started = true;
            has_changes = true;
            current.push_added(text);
        } else if let Some(text) = line.strip_prefix('-') {
            started = true;
            has_changes = true;
            current.push_removed(text);
        } else if let Some(text) = line.strip_prefix(' ') {
            started = true;
            current.push_context(text);
        } else if line.is_empty() {
            if started && !only_blank_until_section(&lines[i..]) {
                current.push_context("");
            }
        } else if line.starts_with('\\') {
            // `\ No newline at end of file`: the file keeps its own final-newline state.
        } else {
            return Err(parse_error(
                no,
                format!(
                    "unexpected line `{line}` in an update hunk: hunk lines start with ` ` (context), `-` (removed), `+` (added) or `@@`"
                ),
            ));
        }
        i += 1;
    }
    if has_changes || !current.old.is_empty() {
        finish(&mut hunks, &mut current, &mut has_changes, hunk_line)?;
    }
    Ok((hunks, i))
}

fn finish(
    hunks: &mut Vec<LineHunk>,
    current: &mut LineHunk,
    has_changes: &mut bool,
    line: usize,
) -> Result<(), EditError> {
    if !*has_changes {
        return Err(parse_error(
            line,
            "a hunk has context lines but no `-` or `+` lines",
        ));
    }
    hunks.push(std::mem::take(current));
    *has_changes = false;
    Ok(())
}

/// Whether only blank lines remain before the next `***` line (separator padding).
fn only_blank_until_section(lines: &[(usize, &str)]) -> bool {
    lines
        .iter()
        .take_while(|(_, l)| !l.starts_with("*** "))
        .all(|(_, l)| l.trim().is_empty())
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;
    use pretty_assertions::assert_eq;

    #[test]
    fn parses_every_section_kind() {
        let patch = "*** Begin Patch\n*** Add File: a.txt\n+hello\n*** Delete File: b.txt\n*** Update File: c.txt\n*** Move to: d.txt\n@@ fn main\n ctx\n-old\n+new\n*** End of File\n*** End Patch\n";
        assert_eq!(
            parse(patch),
            Ok(vec![
                Section::Add {
                    path: "a.txt".into(),
                    lines: vec!["hello".into()]
                },
                Section::Delete {
                    path: "b.txt".into()
                },
                Section::Update {
                    path: "c.txt".into(),
                    move_to: Some("d.txt".into()),
                    hunks: vec![LineHunk {
                        anchors: vec!["fn main".into()],
                        old: vec!["ctx".into(), "old".into()],
                        new: vec!["ctx".into(), "new".into()],
                        context: vec![Some(0), None],
                        at_eof: true,
                        ..LineHunk::default()
                    }]
                }
            ])
        );
    }

    #[test]
    fn refuses_truncated_patches() {
        let err = parse("*** Begin Patch\n*** Update File: a\n-x\n+y\n");
        assert!(
            matches!(err, Err(EditError::Parse { line: 4, .. })),
            "{err:?}"
        );
    }
}
