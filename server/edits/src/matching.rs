//! Finding a block of lines in a file, with the fallbacks models need: exact, then ignoring
//! trailing whitespace, then ignoring indentation (relative indentation must still agree),
//! then also normalizing Unicode punctuation (curly quotes, dashes, ellipses, odd spaces).
//!
//! Invariant: a level only accepts what every stricter level accepts, and the caller always
//! tries the levels in order, so a fallback is used only when stricter matching found
//! nothing. Lookups go through per-level hash tables of the file's lines, built lazily, so
//! locating many hunks in a large file stays linear.

use crate::text::LineSpan;
use std::borrow::Cow;
use std::cell::OnceCell;
use std::collections::HashMap;
use std::fmt;

/// How strictly a block of lines matched.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum MatchLevel {
    Exact,
    TrailingWhitespace,
    Indentation,
    Unicode,
}

impl MatchLevel {
    /// Every level, strictest first.
    pub const ALL: [MatchLevel; 4] = [
        MatchLevel::Exact,
        MatchLevel::TrailingWhitespace,
        MatchLevel::Indentation,
        MatchLevel::Unicode,
    ];

    /// Whether this level may re-indent the replacement.
    pub(crate) fn reindents(self) -> bool {
        self >= MatchLevel::Indentation
    }

    fn index(self) -> usize {
        self as usize
    }
}

impl fmt::Display for MatchLevel {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            MatchLevel::Exact => "exact",
            MatchLevel::TrailingWhitespace => "ignoring trailing whitespace",
            MatchLevel::Indentation => "ignoring indentation",
            MatchLevel::Unicode => "normalizing Unicode punctuation",
        })
    }
}

/// Maps typographic punctuation and unusual spaces to their ASCII counterparts.
pub(crate) fn normalize_unicode(text: &str) -> Cow<'_, str> {
    if text.is_ascii() {
        return Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '\u{2018}' | '\u{2019}' | '\u{201A}' | '\u{201B}' | '\u{2032}' => out.push('\''),
            '\u{201C}' | '\u{201D}' | '\u{201E}' | '\u{201F}' | '\u{2033}' => out.push('"'),
            '\u{2010}' | '\u{2011}' | '\u{2012}' | '\u{2013}' | '\u{2014}' | '\u{2015}'
            | '\u{2212}' => out.push('-'),
            '\u{2026}' => out.push_str("..."),
            '\u{00A0}' | '\u{2002}'..='\u{200A}' | '\u{202F}' | '\u{205F}' | '\u{3000}' => {
                out.push(' ')
            }
            '\u{200B}' | '\u{FEFF}' => {}
            other => out.push(other),
        }
    }
    Cow::Owned(out)
}

/// The key a line is indexed and compared by at a level.
fn key(level: MatchLevel, line: &str) -> Cow<'_, str> {
    match level {
        MatchLevel::Exact => Cow::Borrowed(line),
        MatchLevel::TrailingWhitespace => Cow::Borrowed(line.trim_end()),
        MatchLevel::Indentation => Cow::Borrowed(line.trim()),
        MatchLevel::Unicode => match normalize_unicode(line) {
            Cow::Borrowed(s) => Cow::Borrowed(s.trim()),
            Cow::Owned(s) => Cow::Owned(s.trim().to_owned()),
        },
    }
}

fn leading_ws(line: &str) -> &str {
    &line[..line.len() - line.trim_start().len()]
}

fn common_prefix<'a>(a: &'a str, b: &str) -> &'a str {
    let n = a
        .char_indices()
        .zip(b.chars())
        .find(|((_, x), y)| x != y)
        .map_or(a.len().min(b.len()), |((i, _), _)| i);
    &a[..n]
}

/// The indentation shared by every non-blank line of a block.
pub(crate) fn common_indent<'a>(lines: &[&'a str]) -> &'a str {
    let mut common: Option<&str> = None;
    for line in lines.iter().filter(|l| !l.trim().is_empty()) {
        let lead = leading_ws(line);
        common = Some(match common {
            None => lead,
            Some(c) => common_prefix(c, lead),
        });
    }
    common.unwrap_or("")
}

/// Whether two blocks agree line by line once their common indentation is removed.
fn same_relative_indent(window: &[&str], pattern: &[&str]) -> bool {
    let wi = common_indent(window).len();
    let pi = common_indent(pattern).len();
    window.iter().zip(pattern).all(|(w, p)| {
        let (wb, pb) = (w.trim().is_empty(), p.trim().is_empty());
        if wb || pb {
            return wb && pb;
        }
        leading_ws(w).get(wi..) == leading_ws(p).get(pi..)
    })
}

/// A fast non-cryptographic hash of a line key (FxHash-style, 8 bytes at a time).
fn hash_key(text: &str) -> u64 {
    const K: u64 = 0x517c_c1b7_2722_0a95;
    let mut h: u64 = text.len() as u64;
    let mut chunks = text.as_bytes().chunks_exact(8);
    for chunk in &mut chunks {
        let mut word = [0u8; 8];
        word.copy_from_slice(chunk);
        h = (h.rotate_left(5) ^ u64::from_le_bytes(word)).wrapping_mul(K);
    }
    for byte in chunks.remainder() {
        h = (h.rotate_left(5) ^ u64::from(*byte)).wrapping_mul(K);
    }
    h
}

/// Lines bucketed by key hash: chains of line indexes in ascending order.
struct LineTable {
    hashes: Vec<u64>,
    heads: Vec<u32>,
    counts: Vec<u32>,
    next: Vec<u32>,
    mask: u64,
}

const NONE: u32 = u32::MAX;

impl LineTable {
    fn new(lines: &[&str], level: MatchLevel) -> Self {
        let size = (lines.len() * 2).next_power_of_two().max(16);
        let mask = size as u64 - 1;
        let hashes: Vec<u64> = lines.iter().map(|l| hash_key(&key(level, l))).collect();
        let mut heads = vec![NONE; size];
        let mut counts = vec![0u32; size];
        let mut next = vec![NONE; lines.len()];
        for (i, h) in hashes.iter().enumerate().rev() {
            let bucket = (h & mask) as usize;
            next[i] = heads[bucket];
            heads[bucket] = u32::try_from(i).unwrap_or(NONE);
            counts[bucket] += 1;
        }
        Self {
            hashes,
            heads,
            counts,
            next,
            mask,
        }
    }

    fn bucket_len(&self, hash: u64) -> u32 {
        self.counts[(hash & self.mask) as usize]
    }

    /// Ascending indexes of the lines whose key hash is `hash`.
    fn lines_with(&self, hash: u64) -> impl Iterator<Item = usize> + '_ {
        let mut at = self.heads[(hash & self.mask) as usize];
        std::iter::from_fn(move || {
            while at != NONE {
                let i = at as usize;
                at = self.next[i];
                if self.hashes[i] == hash {
                    return Some(i);
                }
            }
            None
        })
    }
}

/// The lines of one file, with lazily built lookup tables per match level.
pub(crate) struct Haystack<'a> {
    lines: Vec<&'a str>,
    tables: [OnceCell<LineTable>; 4],
}

impl<'a> Haystack<'a> {
    pub(crate) fn new(body: &'a str, spans: &[LineSpan]) -> Self {
        Self {
            lines: spans.iter().map(|s| &body[s.start..s.end]).collect(),
            tables: Default::default(),
        }
    }

    pub(crate) fn lines(&self) -> &[&'a str] {
        &self.lines
    }

    fn table(&self, level: MatchLevel) -> &LineTable {
        self.tables[level.index()].get_or_init(|| LineTable::new(&self.lines, level))
    }

    /// Whether the window starting at line `at` matches the pattern at `level`.
    pub(crate) fn matches_at(&self, pattern: &[&str], at: usize, level: MatchLevel) -> bool {
        let Some(window) = self.lines.get(at..at + pattern.len()) else {
            return false;
        };
        let keys_equal = window
            .iter()
            .zip(pattern)
            .all(|(w, p)| key(level, w) == key(level, p));
        if !keys_equal {
            return false;
        }
        match level {
            MatchLevel::Exact | MatchLevel::TrailingWhitespace => true,
            MatchLevel::Indentation => same_relative_indent(window, pattern),
            MatchLevel::Unicode => {
                let w: Vec<Cow<str>> = window.iter().map(|l| normalize_unicode(l)).collect();
                let p: Vec<Cow<str>> = pattern.iter().map(|l| normalize_unicode(l)).collect();
                let w: Vec<&str> = w.iter().map(|c| c.as_ref()).collect();
                let p: Vec<&str> = p.iter().map(|c| c.as_ref()).collect();
                same_relative_indent(&w, &p)
            }
        }
    }

    /// Starts (0-based line indexes, ascending, `>= from`) of every window matching the
    /// non-empty pattern at `level`.
    pub(crate) fn find(&self, pattern: &[&str], level: MatchLevel, from: usize) -> Vec<usize> {
        if pattern.is_empty() || pattern.len() > self.lines.len() {
            return Vec::new();
        }
        let table = self.table(level);
        let mut best: Option<(usize, u64, u32)> = None;
        for (k, line) in pattern.iter().enumerate() {
            let hash = hash_key(&key(level, line));
            let len = table.bucket_len(hash);
            if len == 0 {
                return Vec::new();
            }
            if best.is_none_or(|(_, _, b)| len < b) {
                best = Some((k, hash, len));
            }
        }
        let Some((k, hash, _)) = best else {
            return Vec::new();
        };
        table
            .lines_with(hash)
            .filter(|i| *i >= from + k)
            .map(|i| i - k)
            .filter(|start| self.matches_at(pattern, *start, level))
            .collect()
    }

    /// The window most similar to the pattern (most lines equal ignoring surrounding
    /// whitespace) as `(start, equal lines)`, if any line at all is similar.
    pub(crate) fn closest(&self, pattern: &[&str]) -> Option<(usize, usize)> {
        if pattern.is_empty() || self.lines.is_empty() {
            return None;
        }
        let level = MatchLevel::Unicode;
        let table = self.table(level);
        let mut score: HashMap<usize, usize> = HashMap::new();
        for (k, line) in pattern.iter().enumerate() {
            let pk = key(level, line);
            if pk.is_empty() {
                continue;
            }
            for hit in table.lines_with(hash_key(&pk)) {
                if key(level, self.lines[hit]) != pk {
                    continue;
                }
                if let Some(start) = hit.checked_sub(k) {
                    *score.entry(start).or_default() += 1;
                }
            }
        }
        score
            .into_iter()
            .max_by_key(|(start, n)| (*n, std::cmp::Reverse(*start)))
            .map(|(start, n)| (start.min(self.lines.len() - 1), n))
    }
}

/// Re-indents replacement lines matched at a relaxed level: lines keep their indentation
/// relative to the pattern, rebased onto the indentation the file actually has.
pub(crate) fn reindent(new_lines: &[&str], pattern: &[&str], window: &[&str]) -> Vec<String> {
    let from = common_indent(pattern);
    let to = common_indent(window);
    if from == to {
        return new_lines.iter().map(|l| (*l).to_owned()).collect();
    }
    new_lines
        .iter()
        .map(|line| {
            if line.trim().is_empty() {
                return (*line).to_owned();
            }
            if let Some(rest) = line.strip_prefix(from) {
                return format!("{to}{rest}");
            }
            let lead = leading_ws(line);
            if from.starts_with(lead) {
                let dedent = from.len() - lead.len();
                let keep = to.len().saturating_sub(dedent);
                return format!("{}{}", &to[..keep], line.trim_start());
            }
            format!("{to}{}", line.trim_start())
        })
        .collect()
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;
    use crate::text::line_spans;
    use pretty_assertions::assert_eq;

    fn hay(text: &str) -> (Vec<LineSpan>, &str) {
        (line_spans(text), text)
    }

    #[test]
    fn levels_fall_back_in_order() {
        let text = "fn a() {\n    let x = “hi”;  \n}\n";
        let (spans, body) = hay(text);
        let h = Haystack::new(body, &spans);
        let exact = ["    let x = “hi”;  "];
        let trailing = ["    let x = “hi”;"];
        let indent = ["let x = “hi”;"];
        let unicode = ["  let x = \"hi\";"];
        assert_eq!(h.find(&exact, MatchLevel::Exact, 0), vec![1]);
        assert_eq!(h.find(&trailing, MatchLevel::Exact, 0), Vec::<usize>::new());
        assert_eq!(
            h.find(&trailing, MatchLevel::TrailingWhitespace, 0),
            vec![1]
        );
        assert_eq!(
            h.find(&indent, MatchLevel::TrailingWhitespace, 0),
            Vec::<usize>::new()
        );
        assert_eq!(h.find(&indent, MatchLevel::Indentation, 0), vec![1]);
        assert_eq!(
            h.find(&unicode, MatchLevel::Indentation, 0),
            Vec::<usize>::new()
        );
        assert_eq!(h.find(&unicode, MatchLevel::Unicode, 0), vec![1]);
    }

    #[test]
    fn relative_indentation_must_agree() {
        let text = "if a:\n    b\n";
        let (spans, body) = hay(text);
        let h = Haystack::new(body, &spans);
        assert_eq!(
            h.find(&["  if a:", "      b"], MatchLevel::Indentation, 0),
            vec![0]
        );
        assert_eq!(
            h.find(&["if a:", "b"], MatchLevel::Indentation, 0),
            Vec::<usize>::new()
        );
    }

    #[test]
    fn reindents_onto_the_file() {
        let out = reindent(
            &["if x:", "    y", "z"],
            &["if x:", "    y"],
            &["        if x:", "            y"],
        );
        assert_eq!(out, vec!["        if x:", "            y", "        z"]);
        let out = reindent(&["    a", "b"], &["    a"], &["\ta"]);
        assert_eq!(out, vec!["\ta", "b"]);
    }
}
