//! Locating line hunks (from `apply_patch` envelopes and unified diffs) in a file, with the
//! same fallback levels as search/replace, and turning them into replacements.
//!
//! Rules, per hunk, in file order: `@@ anchor` lines are found first (the first match after
//! the previous hunk) and the hunk's old lines are then searched after the last anchor;
//! with an anchor or a line-number hint the first (resp. nearest) match is taken, without
//! either the match must be unique after the previous hunk. A hunk that only matches before
//! the previous one is refused as out of order.

use crate::build::Replacement;
use crate::error::EditError;
use crate::matching::{Haystack, MatchLevel, reindent};
use crate::replace::{closest_text, line_replacement};
use crate::text::{Eol, LineSpan};

/// One hunk in line form, as parsed from a patch.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(crate) struct LineHunk {
    /// `@@ context` lines to find first, in order.
    pub(crate) anchors: Vec<String>,
    /// Context and removed lines.
    pub(crate) old: Vec<String>,
    /// Context and added lines.
    pub(crate) new: Vec<String>,
    /// For each line of `new`: the index in `old` when it is a context line.
    pub(crate) context: Vec<Option<usize>>,
    /// 0-based line where the old lines start according to the patch (unified diffs).
    pub(crate) hint: Option<usize>,
    /// The old lines end at the end of the file (`*** End of File`).
    pub(crate) at_eof: bool,
    /// `\ No newline at end of file` follows the old side.
    pub(crate) old_no_newline: bool,
    /// `\ No newline at end of file` follows the new side.
    pub(crate) new_no_newline: bool,
}

impl LineHunk {
    pub(crate) fn push_context(&mut self, text: &str) {
        self.context.push(Some(self.old.len()));
        self.old.push(text.to_owned());
        self.new.push(text.to_owned());
    }

    pub(crate) fn push_removed(&mut self, text: &str) {
        self.old.push(text.to_owned());
    }

    pub(crate) fn push_added(&mut self, text: &str) {
        self.context.push(None);
        self.new.push(text.to_owned());
    }
}

/// Where and how each hunk of one file matched.
pub(crate) struct Located {
    pub(crate) replacements: Vec<Replacement>,
    pub(crate) notes: Vec<String>,
}

/// Locates every hunk of one file.
pub(crate) fn locate_hunks(
    path: &str,
    body: &str,
    spans: &[LineSpan],
    hunks: &[LineHunk],
    eol: Eol,
) -> Result<Located, EditError> {
    let hay = Haystack::new(body, spans);
    let n_lines = spans.len();
    let mut cursor = 0usize;
    let mut shift: i64 = 0;
    let mut out = Located {
        replacements: Vec::new(),
        notes: Vec::new(),
    };
    for (i, hunk) in hunks.iter().enumerate() {
        let number = i + 1;
        let mut anchored = false;
        for anchor in &hunk.anchors {
            let Some((line, _)) = first_match(&hay, &[anchor.as_str()], cursor) else {
                return Err(EditError::HunkNotFound {
                    path: path.to_owned(),
                    hunk: number,
                    after: after_text(cursor),
                    expected: format!("    @@ {anchor}\n"),
                    closest: closest_text(&hay, &[anchor.as_str()]),
                });
            };
            cursor = line + 1;
            anchored = true;
        }
        let hint = hunk
            .hint
            .map(|h| (h as i64 + shift).clamp(0, n_lines as i64) as usize);

        if hunk.old.is_empty() {
            let at = if anchored {
                cursor
            } else if let Some(h) = hint.filter(|_| !hunk.at_eof) {
                h.max(cursor)
            } else {
                n_lines
            };
            out.replacements.push(insertion(
                body,
                spans,
                at,
                &hunk.new,
                eol,
                hunk.new_no_newline,
            ));
            cursor = at;
            continue;
        }

        let (start, level, old, new) = find_hunk(path, number, &hay, hunk, cursor, hint, anchored)?;
        if level != MatchLevel::Exact {
            out.notes.push(format!(
                "{path}: hunk {number} matched {level} at line {}",
                start + 1
            ));
        }
        if let Some(h) = hunk.hint {
            shift = start as i64 - h as i64;
        }
        let window = &hay.lines()[start..start + old.len()];
        let mut new_lines: Vec<String> = if level.reindents() {
            reindent(&new, &old, window)
        } else {
            new.iter().map(|l| (*l).to_owned()).collect()
        };
        if level != MatchLevel::Exact {
            for (line, origin) in new_lines.iter_mut().zip(&hunk.context) {
                if let Some(actual) = origin.and_then(|k| window.get(k)) {
                    *line = (*actual).to_owned();
                }
            }
        }
        let mut rep = line_replacement(spans, start, old.len(), &new_lines, eol);
        let last = spans[start + old.len() - 1];
        let at_end = start + old.len() == n_lines;
        if at_end && !new_lines.is_empty() {
            let has_newline = last.next > last.end;
            if hunk.new_no_newline && has_newline {
                rep.end = last.next;
            } else if hunk.old_no_newline && !hunk.new_no_newline && !has_newline {
                rep.text.push_str(eol.as_str());
            }
        }
        out.replacements.push(rep);
        cursor = start + old.len();
    }
    Ok(out)
}

type Found<'h> = (usize, MatchLevel, Vec<&'h str>, Vec<&'h str>);

fn find_hunk<'h>(
    path: &str,
    number: usize,
    hay: &Haystack<'_>,
    hunk: &'h LineHunk,
    cursor: usize,
    hint: Option<usize>,
    anchored: bool,
) -> Result<Found<'h>, EditError> {
    let old: Vec<&str> = hunk.old.iter().map(String::as_str).collect();
    let new: Vec<&str> = hunk.new.iter().map(String::as_str).collect();
    let mut attempts = vec![(old.clone(), new.clone())];
    if old.len() > 1 && old.last().is_some_and(|l| l.trim().is_empty()) {
        let trim_new = new.last().is_some_and(|l| l.trim().is_empty());
        let new_trimmed = if trim_new {
            new[..new.len() - 1].to_vec()
        } else {
            new.clone()
        };
        attempts.push((old[..old.len() - 1].to_vec(), new_trimmed));
    }
    let n_lines = hay.lines().len();
    for (old, new) in &attempts {
        for level in MatchLevel::ALL {
            let mut found = hay.find(old, level, cursor);
            if hunk.at_eof {
                found.retain(|s| s + old.len() == n_lines);
            }
            let Some(&first) = found.first() else {
                continue;
            };
            let start = if let Some(h) = hint {
                found
                    .iter()
                    .copied()
                    .min_by_key(|s| s.abs_diff(h))
                    .unwrap_or(first)
            } else if anchored || found.len() == 1 {
                first
            } else {
                return Err(EditError::HunkAmbiguous {
                    path: path.to_owned(),
                    hunk: number,
                    level,
                    lines: found.iter().map(|s| s + 1).collect(),
                });
            };
            return Ok((start, level, old.clone(), new.clone()));
        }
    }
    for level in MatchLevel::ALL {
        if let Some(&line) = hay.find(&old, level, 0).first() {
            return Err(EditError::HunkOutOfOrder {
                path: path.to_owned(),
                hunk: number,
                line: line + 1,
                previous_end: cursor,
            });
        }
    }
    let mut expected = String::new();
    for line in &old {
        expected.push_str("    ");
        expected.push_str(line);
        expected.push('\n');
    }
    Err(EditError::HunkNotFound {
        path: path.to_owned(),
        hunk: number,
        after: after_text(cursor),
        expected,
        closest: closest_text(hay, &old).trim_start().to_owned(),
    })
}

fn after_text(cursor: usize) -> String {
    if cursor == 0 {
        String::new()
    } else {
        format!(" after line {cursor}")
    }
}

fn first_match(hay: &Haystack<'_>, pattern: &[&str], from: usize) -> Option<(usize, MatchLevel)> {
    MatchLevel::ALL
        .into_iter()
        .find_map(|level| hay.find(pattern, level, from).first().map(|s| (*s, level)))
}

/// Inserts whole lines before line `at` (0-based; `spans.len()` = at the end).
fn insertion(
    body: &str,
    spans: &[LineSpan],
    at: usize,
    lines: &[String],
    eol: Eol,
    no_newline: bool,
) -> Replacement {
    let eol = eol.as_str();
    let joined = lines.join(eol);
    if let Some(span) = spans.get(at) {
        return Replacement {
            start: span.start,
            end: span.start,
            text: format!("{joined}{eol}"),
        };
    }
    let terminated = body.is_empty() || body.ends_with('\n');
    let text = match (terminated, no_newline) {
        (true, false) => format!("{joined}{eol}"),
        (true, true) => joined,
        (false, _) => format!("{eol}{joined}"),
    };
    Replacement {
        start: body.len(),
        end: body.len(),
        text,
    }
}
