//! Text helpers shared by every edit format: byte order marks, line-ending styles, line
//! spans and the text/binary decision.
//!
//! The edit engine's line model: a line ends after `\n`; a `\r` right before the `\n` is part
//! of the terminator; only the last line may lack a terminator. (LSP positions additionally
//! treat a lone `\r` as a terminator; see `position`.)

use crate::error::EditError;

/// The UTF-8 byte order mark.
pub(crate) const BOM: &str = "\u{feff}";

/// Splits a leading byte order mark off the text.
pub(crate) fn split_bom(text: &str) -> (&str, &str) {
    match text.strip_prefix(BOM) {
        Some(body) => (BOM, body),
        None => ("", text),
    }
}

/// How far into a file a NUL byte marks it as binary (git's heuristic).
const BINARY_SNIFF: usize = 8000;

/// Lathe's one text/binary rule: bytes are text when the first 8000 bytes hold no NUL
/// byte (as git decides) and the whole is valid UTF-8. lathe-workspace uses it for reads
/// and `git diff`, so a file is binary everywhere or nowhere.
pub fn as_text(bytes: &[u8]) -> Option<&str> {
    if bytes[..bytes.len().min(BINARY_SNIFF)].contains(&0) {
        return None;
    }
    std::str::from_utf8(bytes).ok()
}

/// Decodes file bytes as text, refusing binary data ([`as_text`]).
pub(crate) fn decode<'a>(path: &str, bytes: &'a [u8]) -> Result<&'a str, EditError> {
    as_text(bytes).ok_or_else(|| EditError::Binary {
        path: path.to_owned(),
    })
}

/// A file's line-ending style.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Eol {
    Lf,
    CrLf,
}

impl Eol {
    /// The dominant style of the text (CRLF when at least half the lines use it).
    pub(crate) fn detect(text: &str) -> Self {
        Self::of_lines(&line_spans(text))
    }

    /// The dominant style of already split lines.
    pub(crate) fn of_lines(spans: &[LineSpan]) -> Self {
        let lf = spans.iter().filter(|s| s.next > s.end).count();
        let crlf = spans.iter().filter(|s| s.next == s.end + 2).count();
        if crlf > 0 && crlf * 2 >= lf {
            Eol::CrLf
        } else {
            Eol::Lf
        }
    }

    pub(crate) fn as_str(self) -> &'static str {
        match self {
            Eol::Lf => "\n",
            Eol::CrLf => "\r\n",
        }
    }
}

/// Rewrites every line ending of model-supplied text to the file's style.
pub(crate) fn to_eol(text: &str, eol: Eol) -> String {
    let lf = text.replace("\r\n", "\n");
    match eol {
        Eol::Lf => lf,
        Eol::CrLf => lf.replace('\n', "\r\n"),
    }
}

/// One line of a text: `start..end` is its content, `end..next` its terminator.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct LineSpan {
    pub(crate) start: usize,
    pub(crate) end: usize,
    pub(crate) next: usize,
}

/// The lines of a text (an empty text has none; a final terminator starts no new line).
pub(crate) fn line_spans(text: &str) -> Vec<LineSpan> {
    let bytes = text.as_bytes();
    let mut spans = Vec::with_capacity(bytes.len() / 32 + 1);
    let mut start = 0;
    for (nl, _) in text.match_indices('\n') {
        let end = if nl > start && bytes[nl - 1] == b'\r' {
            nl - 1
        } else {
            nl
        };
        spans.push(LineSpan {
            start,
            end,
            next: nl + 1,
        });
        start = nl + 1;
    }
    if start < text.len() {
        spans.push(LineSpan {
            start,
            end: text.len(),
            next: text.len(),
        });
    }
    spans
}

/// Splits model-supplied text into lines without terminators, ignoring one final newline.
pub(crate) fn split_lines(text: &str) -> Vec<&str> {
    let text = text.strip_suffix('\n').unwrap_or(text);
    let text = text.strip_suffix('\r').unwrap_or(text);
    if text.is_empty() {
        return vec![""];
    }
    text.split('\n')
        .map(|l| l.strip_suffix('\r').unwrap_or(l))
        .collect()
}

/// Number of `\n` bytes. Counting into `u8` lanes per 255-byte block lets the compiler
/// vectorize the loop with byte-wide SIMD lanes.
pub(crate) fn count_newlines(bytes: &[u8]) -> usize {
    bytes
        .chunks(255)
        .map(|block| {
            block
                .iter()
                .fold(0u8, |n, b| n.wrapping_add(u8::from(*b == b'\n'))) as usize
        })
        .sum()
}

/// The offset where the line `n` lines after the line starting at `from` starts (`n = 0`
/// is `from` itself; one past the last line is the text's length when it ends with a
/// terminator), or `None` when the text has fewer lines.
pub(crate) fn advance_lines(text: &str, from: usize, n: usize) -> Option<usize> {
    if n == 0 {
        return Some(from);
    }
    let bytes = text.as_bytes();
    let mut left = n;
    let mut at = from;
    for chunk in bytes[from..].chunks(64) {
        let count = count_newlines(chunk);
        if count < left {
            left -= count;
            at += chunk.len();
            continue;
        }
        for (i, b) in chunk.iter().enumerate() {
            if *b == b'\n' {
                left -= 1;
                if left == 0 {
                    return Some(at + i + 1);
                }
            }
        }
    }
    None
}

/// Number of lines in a text: terminators, plus one for an unterminated last line.
pub(crate) fn count_lines(text: &str) -> usize {
    let newlines = count_newlines(text.as_bytes());
    if text.is_empty() || text.ends_with('\n') {
        newlines
    } else {
        newlines + 1
    }
}

/// Byte offsets at which lines start (always begins with 0).
pub(crate) fn line_starts(text: &str) -> Vec<usize> {
    let mut starts = Vec::with_capacity(text.len() / 32 + 1);
    starts.push(0);
    starts.extend(text.match_indices('\n').map(|(i, _)| i + 1));
    starts
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;
    use pretty_assertions::assert_eq;

    #[test]
    fn text_is_nul_free_at_the_start_and_valid_utf8() {
        assert_eq!(as_text("é\n".as_bytes()), Some("é\n"));
        assert_eq!(as_text(b"a\0b"), None);
        assert_eq!(as_text(b"\xff\xfe"), None);
        let late_nul = [vec![b'a'; BINARY_SNIFF], vec![0]].concat();
        assert!(
            as_text(&late_nul).is_some(),
            "git looks at the first 8000 bytes only"
        );
    }

    #[test]
    fn spans_cover_lf_crlf_and_unterminated_lines() {
        let text = "a\r\nbb\n\nc";
        assert_eq!(
            line_spans(text),
            vec![
                LineSpan {
                    start: 0,
                    end: 1,
                    next: 3
                },
                LineSpan {
                    start: 3,
                    end: 5,
                    next: 6
                },
                LineSpan {
                    start: 6,
                    end: 6,
                    next: 7
                },
                LineSpan {
                    start: 7,
                    end: 8,
                    next: 8
                },
            ]
        );
        assert_eq!(line_spans("x\n").len(), 1);
        assert_eq!(line_spans("").len(), 0);
    }

    #[test]
    fn detects_and_rewrites_line_endings() {
        assert_eq!(Eol::detect("a\r\nb\r\nc\n"), Eol::CrLf);
        assert_eq!(Eol::detect("a\nb\nc\r\n"), Eol::Lf);
        assert_eq!(to_eol("a\nb\r\n", Eol::CrLf), "a\r\nb\r\n");
        assert_eq!(to_eol("a\r\nb\n", Eol::Lf), "a\nb\n");
        assert_eq!(split_lines("a\r\nb\n"), vec!["a", "b"]);
        assert_eq!(count_lines("a\nb"), 2);
        assert_eq!(line_starts("a\nb\n"), vec![0, 2, 4]);
        let long = "x\n".repeat(100);
        assert_eq!(advance_lines(&long, 0, 70), Some(140));
        assert_eq!(advance_lines(&long, 4, 96), Some(196));
        assert_eq!(advance_lines(&long, 4, 98), Some(200));
        assert_eq!(advance_lines(&long, 4, 99), None);
    }
}
