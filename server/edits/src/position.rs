//! Exact conversion between byte offsets and LSP positions.
//!
//! LSP positions are (line, character) where lines end at `\n`, `\r\n` or `\r`, and
//! `character` counts code units of the negotiated encoding: bytes (UTF-8), UTF-16 code
//! units, or code points (UTF-32). Invariants: a leading byte order mark is a signature, not
//! text (editors strip it): every offset inside it maps to (0, 0) and (0, 0) maps to the
//! first byte after it. Offsets past the end clamp to the end; offsets inside a character
//! or inside a `\r\n` clamp back to the character's start or the line's end. A character
//! past the end of its line clamps to the line's end (as LSP requires), and a position in
//! the middle of a UTF-16 surrogate pair or UTF-8 sequence clamps to the character's start.

use serde::{Deserialize, Serialize};

/// The unit of `Position::character`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum PositionEncoding {
    #[serde(rename = "utf-8")]
    Utf8,
    #[serde(rename = "utf-16")]
    Utf16,
    #[serde(rename = "utf-32")]
    Utf32,
}

impl PositionEncoding {
    /// The LSP name (`utf-8`, `utf-16`, `utf-32`).
    pub fn as_lsp(self) -> &'static str {
        match self {
            PositionEncoding::Utf8 => "utf-8",
            PositionEncoding::Utf16 => "utf-16",
            PositionEncoding::Utf32 => "utf-32",
        }
    }

    /// Parses an LSP name.
    pub fn from_lsp(name: &str) -> Option<Self> {
        match name {
            "utf-8" => Some(PositionEncoding::Utf8),
            "utf-16" => Some(PositionEncoding::Utf16),
            "utf-32" => Some(PositionEncoding::Utf32),
            _ => None,
        }
    }

    /// The encoding Lathe picks from a client's offered `positionEncodings`: UTF-8 when
    /// offered, else UTF-16 (the LSP default).
    pub fn negotiate<'a>(offered: impl IntoIterator<Item = &'a str>) -> Self {
        if offered.into_iter().any(|name| name == "utf-8") {
            PositionEncoding::Utf8
        } else {
            PositionEncoding::Utf16
        }
    }

    fn units(self, text: &str) -> usize {
        if text.is_ascii() {
            return text.len();
        }
        match self {
            PositionEncoding::Utf8 => text.len(),
            PositionEncoding::Utf16 => text.chars().map(char::len_utf16).sum(),
            PositionEncoding::Utf32 => text.chars().count(),
        }
    }

    fn char_units(self, c: char) -> usize {
        match self {
            PositionEncoding::Utf8 => c.len_utf8(),
            PositionEncoding::Utf16 => c.len_utf16(),
            PositionEncoding::Utf32 => 1,
        }
    }
}

/// A zero-based LSP position.
#[derive(
    Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize,
)]
pub struct Position {
    pub line: u32,
    pub character: u32,
}

impl Position {
    pub fn new(line: u32, character: u32) -> Self {
        Self { line, character }
    }
}

/// A half-open LSP range.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Range {
    pub start: Position,
    pub end: Position,
}

/// Line table of one text for position conversion.
#[derive(Clone, Debug)]
pub struct LineIndex<'a> {
    text: &'a str,
    bom: usize,
    /// Byte offset where each line's content starts.
    starts: Vec<usize>,
    /// Byte offset where each line's content ends (its terminator starts).
    ends: Vec<usize>,
}

impl<'a> LineIndex<'a> {
    pub fn new(text: &'a str) -> Self {
        let bom = if text.starts_with('\u{feff}') { 3 } else { 0 };
        let bytes = text.as_bytes();
        let mut starts = vec![bom];
        let mut ends = Vec::new();
        let mut i = bom;
        while i < bytes.len() {
            match bytes[i] {
                b'\n' => {
                    ends.push(i);
                    starts.push(i + 1);
                    i += 1;
                }
                b'\r' => {
                    ends.push(i);
                    let len = if bytes.get(i + 1) == Some(&b'\n') {
                        2
                    } else {
                        1
                    };
                    starts.push(i + len);
                    i += len;
                }
                _ => i += 1,
            }
        }
        ends.push(text.len());
        Self {
            text,
            bom,
            starts,
            ends,
        }
    }

    /// The text the index was built for.
    pub fn text(&self) -> &'a str {
        self.text
    }

    /// Number of lines (a final terminator starts an empty last line).
    pub fn line_count(&self) -> usize {
        self.starts.len()
    }

    /// The position of a byte offset.
    pub fn position(&self, offset: usize, encoding: PositionEncoding) -> Position {
        let mut offset = offset.min(self.text.len()).max(self.bom);
        while !self.text.is_char_boundary(offset) {
            offset -= 1;
        }
        let line = self.starts.partition_point(|s| *s <= offset) - 1;
        let end = offset.min(self.ends[line]);
        let character = encoding.units(&self.text[self.starts[line]..end]);
        Position {
            line: to_u32(line),
            character: to_u32(character),
        }
    }

    /// The byte offset of a position.
    pub fn offset(&self, position: Position, encoding: PositionEncoding) -> usize {
        let line = position.line as usize;
        let (Some(&start), Some(&end)) = (self.starts.get(line), self.ends.get(line)) else {
            return self.text.len();
        };
        let content = &self.text[start..end];
        let wanted = position.character as usize;
        if content.is_ascii() || encoding == PositionEncoding::Utf8 {
            let mut at = start + wanted.min(content.len());
            while !self.text.is_char_boundary(at) {
                at -= 1;
            }
            return at;
        }
        let mut units = 0;
        for (i, c) in content.char_indices() {
            let next = units + encoding.char_units(c);
            if next > wanted {
                return start + i;
            }
            units = next;
        }
        end
    }

    /// The range of a byte range.
    pub fn range(&self, bytes: std::ops::Range<usize>, encoding: PositionEncoding) -> Range {
        Range {
            start: self.position(bytes.start, encoding),
            end: self.position(bytes.end, encoding),
        }
    }
}

fn to_u32(n: usize) -> u32 {
    u32::try_from(n).unwrap_or(u32::MAX)
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;
    use pretty_assertions::assert_eq;

    #[test]
    fn converts_across_encodings_and_terminators() {
        let text = "\u{feff}a😀b\r\nx\ré\n";
        let idx = LineIndex::new(text);
        assert_eq!(idx.line_count(), 4);
        let b = text.find('b').unwrap();
        assert_eq!(idx.position(b, PositionEncoding::Utf8), Position::new(0, 5));
        assert_eq!(
            idx.position(b, PositionEncoding::Utf16),
            Position::new(0, 3)
        );
        assert_eq!(
            idx.position(b, PositionEncoding::Utf32),
            Position::new(0, 2)
        );
        assert_eq!(
            idx.position(0, PositionEncoding::Utf16),
            Position::new(0, 0)
        );
        assert_eq!(idx.offset(Position::new(0, 0), PositionEncoding::Utf16), 3);
        assert_eq!(idx.offset(Position::new(0, 2), PositionEncoding::Utf16), 4);
        assert_eq!(
            idx.offset(Position::new(0, 99), PositionEncoding::Utf16),
            b + 1
        );
        let e = text.find('é').unwrap();
        assert_eq!(
            idx.position(e, PositionEncoding::Utf16),
            Position::new(2, 0)
        );
        assert_eq!(
            idx.position(text.len(), PositionEncoding::Utf16),
            Position::new(3, 0)
        );
        assert_eq!(
            idx.position(b + 2, PositionEncoding::Utf16),
            Position::new(0, 4)
        );
        assert_eq!(
            PositionEncoding::negotiate(["utf-16", "utf-8"]),
            PositionEncoding::Utf8
        );
        assert_eq!(
            PositionEncoding::negotiate(["utf-32"]),
            PositionEncoding::Utf16
        );
    }
}
