//! Turns byte-range replacements on a file's body into whole-line [`Hunk`]s and the new
//! body. Every edit format locates its changes as [`Replacement`]s and ends here, so the
//! hunk invariants (sorted, non-overlapping, whole lines, minimal: no unchanged leading or
//! trailing lines) hold for all of them.

use crate::text::{count_lines, count_newlines};
use lathe_protocol::diff::Hunk;

/// Replace `body[start..end]` with `text`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Replacement {
    pub(crate) start: usize,
    pub(crate) end: usize,
    pub(crate) text: String,
}

/// Two replacements overlap; the 1-based line where the second one starts.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct OverlapAt(pub(crate) usize);

/// The hunks that apply the replacements to `body` (the body itself is not rebuilt:
/// [`crate::apply_hunks`] does that from the hunks).
pub(crate) fn build_hunks(body: &str, mut reps: Vec<Replacement>) -> Result<Vec<Hunk>, OverlapAt> {
    reps.sort_by_key(|r| (r.start, r.end));
    for pair in reps.windows(2) {
        if pair[1].start < pair[0].end {
            let line = 1 + count_newlines(&body.as_bytes()[..pair[1].start]);
            return Err(OverlapAt(line));
        }
    }
    let lines = Lines { body };
    let mut hunks = Vec::new();
    let mut delta: i64 = 0;
    let mut counted = (0usize, 1usize);
    let mut i = 0;
    while i < reps.len() {
        let ls = lines.start_of(reps[i].start);
        let mut le = lines.end_after(reps[i].end);
        let mut group_end = i + 1;
        let mut new_text;
        loop {
            while group_end < reps.len() && lines.start_of(reps[group_end].start) < le {
                le = le.max(lines.end_after(reps[group_end].end));
                group_end += 1;
            }
            new_text = stitch(body, ls, le, &reps[i..group_end]);
            if !new_text.is_empty() && !new_text.ends_with('\n') && le < body.len() {
                le = lines.line_end(le);
                continue;
            }
            break;
        }
        let (ls, le, new_text) = trim_common_lines(body, ls, le, new_text);
        if body[ls..le] != new_text {
            let old_text = &body[ls..le];
            let old_start = counted.1 + count_newlines(&body.as_bytes()[counted.0..ls]);
            counted = (ls, old_start);
            let old_lines = count_lines(old_text);
            let new_lines = count_lines(&new_text);
            let new_start = old_start as i64 + delta;
            delta += new_lines as i64 - old_lines as i64;
            hunks.push(Hunk {
                old_start: to_u32(old_start),
                old_lines: to_u32(old_lines),
                new_start: to_u32(new_start.max(1) as usize),
                new_lines: to_u32(new_lines),
                old_text: old_text.to_owned(),
                new_text,
            });
        }
        i = group_end;
    }
    Ok(hunks)
}

fn to_u32(n: usize) -> u32 {
    u32::try_from(n).unwrap_or(u32::MAX)
}

struct Lines<'a> {
    body: &'a str,
}

impl Lines<'_> {
    /// Start of the line containing `offset`.
    fn start_of(&self, offset: usize) -> usize {
        self.body[..offset].rfind('\n').map_or(0, |i| i + 1)
    }

    fn is_line_start(&self, offset: usize) -> bool {
        offset == 0 || self.body.as_bytes().get(offset - 1) == Some(&b'\n')
    }

    /// End (after the terminator) of the line containing `offset`.
    fn line_end(&self, offset: usize) -> usize {
        match self.body[offset..].find('\n') {
            Some(i) => offset + i + 1,
            None => self.body.len(),
        }
    }

    /// The whole-line end of a region ending at `offset`.
    fn end_after(&self, offset: usize) -> usize {
        if self.is_line_start(offset) {
            offset
        } else {
            self.line_end(offset)
        }
    }
}

fn stitch(body: &str, ls: usize, le: usize, reps: &[Replacement]) -> String {
    let mut out = String::new();
    let mut at = ls;
    for rep in reps {
        out.push_str(&body[at..rep.start]);
        out.push_str(&rep.text);
        at = rep.end;
    }
    if at < le {
        out.push_str(&body[at..le]);
    }
    out
}

/// Drops whole lines that the old and new text share at their start and end.
fn trim_common_lines(
    body: &str,
    mut ls: usize,
    mut le: usize,
    new: String,
) -> (usize, usize, String) {
    let mut new_start = 0;
    let mut new_end = new.len();
    loop {
        let old = &body[ls..le];
        let fresh = &new[new_start..new_end];
        let (Some(o), Some(n)) = (old.find('\n'), fresh.find('\n')) else {
            break;
        };
        if old[..=o] != fresh[..=n] {
            break;
        }
        ls += o + 1;
        new_start += n + 1;
    }
    loop {
        let old = &body[ls..le];
        let fresh = &new[new_start..new_end];
        if !old.ends_with('\n') || !fresh.ends_with('\n') {
            break;
        }
        let o = old[..old.len() - 1].rfind('\n').map_or(0, |i| i + 1);
        let n = fresh[..fresh.len() - 1].rfind('\n').map_or(0, |i| i + 1);
        if old[o..] != fresh[n..] {
            break;
        }
        le = ls + o;
        new_end = new_start + n;
    }
    (ls, le, new[new_start..new_end].to_owned())
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;
    use crate::apply::apply_hunks;
    use pretty_assertions::assert_eq;

    fn build(body: &str, reps: Vec<Replacement>) -> (Vec<Hunk>, String) {
        let hunks = build_hunks(body, reps).unwrap();
        let new = apply_hunks("t", body, &hunks).unwrap();
        (hunks, new)
    }

    fn rep(start: usize, end: usize, text: &str) -> Replacement {
        Replacement {
            start,
            end,
            text: text.to_owned(),
        }
    }

    fn hunk(os: u32, ol: u32, ns: u32, nl: u32, old: &str, new: &str) -> Hunk {
        Hunk {
            old_start: os,
            old_lines: ol,
            new_start: ns,
            new_lines: nl,
            old_text: old.into(),
            new_text: new.into(),
        }
    }

    #[test]
    fn expands_to_whole_lines_and_trims_context() {
        let body = "a\nbcd\ne\nf\n";
        let (hunks, new) = build(body, vec![rep(3, 4, "X"), rep(8, 10, "")]);
        assert_eq!(new, "a\nbXd\ne\n");
        assert_eq!(
            hunks,
            vec![
                hunk(2, 1, 2, 1, "bcd\n", "bXd\n"),
                hunk(4, 1, 4, 0, "f\n", "")
            ]
        );
    }

    #[test]
    fn merges_replacements_on_one_line_and_joins_lines() {
        let body = "one two\nthree\n";
        let (hunks, new) = build(body, vec![rep(0, 3, "1"), rep(4, 8, "2 ")]);
        assert_eq!(new, "1 2 three\n");
        assert_eq!(
            hunks,
            vec![hunk(1, 2, 1, 1, "one two\nthree\n", "1 2 three\n")]
        );
    }

    #[test]
    fn inserts_at_end_of_unterminated_file() {
        let (hunks, new) = build("a\nb", vec![rep(3, 3, "\nc")]);
        assert_eq!(new, "a\nb\nc");
        assert_eq!(hunks, vec![hunk(2, 1, 2, 2, "b", "b\nc")]);
    }

    #[test]
    fn refuses_overlaps() {
        assert_eq!(
            build_hunks("abc\ndef\n", vec![rep(0, 5, ""), rep(4, 6, "")]),
            Err(OverlapAt(2))
        );
    }
}
