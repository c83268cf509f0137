//! Positions in any encoding, converted to and from byte offsets of a rope.
//!
//! Invariants:
//! - Lines are separated by `\n` (a preceding `\r` belongs to the line ending), so rope lines
//!   and tree-sitter rows agree. Columns count code units of the requested [`Encoding`].
//! - Conversion never panics: a position past the end of its line or of the document, or in
//!   the middle of a character, is clamped to the nearest valid boundary and the clamp is
//!   returned as a [`Clamp`].

use ropey::Rope;
use serde::{Deserialize, Serialize};

/// The unit of a position's `character` (LSP `PositionEncodingKind`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, Default)]
#[serde(rename_all = "kebab-case")]
pub enum Encoding {
    /// UTF-8 code units (bytes).
    #[default]
    Utf8,
    /// UTF-16 code units (the LSP default).
    Utf16,
    /// Unicode scalar values (characters).
    Utf32,
}

impl Encoding {
    fn units(self, c: char) -> usize {
        match self {
            Self::Utf8 => c.len_utf8(),
            Self::Utf16 => c.len_utf16(),
            Self::Utf32 => 1,
        }
    }
}

/// A zero-based position: line and column in code units of some [`Encoding`].
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize, Default,
)]
pub struct Position {
    /// Zero-based line.
    pub line: u32,
    /// Zero-based column in code units.
    pub character: u32,
}

impl Position {
    /// A position.
    pub fn new(line: u32, character: u32) -> Self {
        Self { line, character }
    }
}

/// A half-open range of positions.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, Default)]
pub struct TextRange {
    /// Start (inclusive).
    pub start: Position,
    /// End (exclusive).
    pub end: Position,
}

impl TextRange {
    /// A range.
    pub fn new(start: Position, end: Position) -> Self {
        Self { start, end }
    }

    /// The empty range at `at`.
    pub fn point(at: Position) -> Self {
        Self { start: at, end: at }
    }
}

/// Why a position was moved.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ClampReason {
    /// The line does not exist; clamped to the end of the document.
    PastEndOfDocument,
    /// The column is past the end of the line; clamped to the end of the line.
    PastEndOfLine,
    /// The column falls inside a character (e.g. between UTF-16 surrogates); clamped to the
    /// character's start.
    InsideCharacter,
    /// The range ended before it started; the ends were swapped.
    Reversed,
}

/// A position that was out of range and what it became.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Clamp {
    /// What the caller asked for.
    pub requested: Position,
    /// The valid position used instead.
    pub used: Position,
    /// Why.
    pub reason: ClampReason,
}

/// Byte offset of the end of `line`'s content (before `\n` or `\r\n`).
pub(crate) fn line_content_end(rope: &Rope, line: usize) -> usize {
    let start = rope.line_to_byte(line);
    let next = if line + 1 < rope.len_lines() {
        rope.line_to_byte(line + 1)
    } else {
        rope.len_bytes()
    };
    let mut end = next;
    if end > start && rope.byte(end - 1) == b'\n' {
        end -= 1;
        if end > start && rope.byte(end - 1) == b'\r' {
            end -= 1;
        }
    }
    end
}

/// Converts `pos` to a byte offset, clamping (and reporting) invalid positions.
pub(crate) fn position_to_byte(
    rope: &Rope,
    pos: Position,
    enc: Encoding,
) -> (usize, Option<Clamp>) {
    let line = pos.line as usize;
    if line >= rope.len_lines() {
        let end = rope.len_bytes();
        let used = byte_to_position(rope, end, enc);
        return (
            end,
            Some(Clamp {
                requested: pos,
                used,
                reason: ClampReason::PastEndOfDocument,
            }),
        );
    }
    let start = rope.line_to_byte(line);
    let end = line_content_end(rope, line);
    let wanted = pos.character as usize;
    if enc == Encoding::Utf8 {
        return utf8_column(rope, pos, start, end);
    }
    let mut units = 0usize;
    let mut byte = start;
    for c in rope.byte_slice(start..end).chars() {
        if units == wanted {
            return (byte, None);
        }
        let next = units + enc.units(c);
        if next > wanted {
            let used = Position::new(pos.line, units as u32);
            return (
                byte,
                Some(Clamp {
                    requested: pos,
                    used,
                    reason: ClampReason::InsideCharacter,
                }),
            );
        }
        units = next;
        byte += c.len_utf8();
    }
    if units == wanted {
        return (byte, None);
    }
    (
        end,
        Some(Clamp {
            requested: pos,
            used: Position::new(pos.line, units as u32),
            reason: ClampReason::PastEndOfLine,
        }),
    )
}

fn utf8_column(rope: &Rope, pos: Position, start: usize, end: usize) -> (usize, Option<Clamp>) {
    let wanted = pos.character as usize;
    if wanted > end - start {
        let used = Position::new(pos.line, (end - start) as u32);
        let reason = ClampReason::PastEndOfLine;
        return (
            end,
            Some(Clamp {
                requested: pos,
                used,
                reason,
            }),
        );
    }
    let byte = start + wanted;
    let floor = floor_char_boundary(rope, byte);
    if floor == byte {
        return (byte, None);
    }
    let used = Position::new(pos.line, (floor - start) as u32);
    let reason = ClampReason::InsideCharacter;
    (
        floor,
        Some(Clamp {
            requested: pos,
            used,
            reason,
        }),
    )
}

/// Converts a byte offset (clamped to the document, moved back to a character boundary) to
/// a position in `enc`.
pub(crate) fn byte_to_position(rope: &Rope, byte: usize, enc: Encoding) -> Position {
    let byte = floor_char_boundary(rope, byte.min(rope.len_bytes()));
    let line = rope.byte_to_line(byte);
    let line_start = rope.line_to_byte(line);
    let character = match enc {
        Encoding::Utf8 => byte - line_start,
        Encoding::Utf32 => rope.byte_to_char(byte) - rope.byte_to_char(line_start),
        Encoding::Utf16 => {
            rope.char_to_utf16_cu(rope.byte_to_char(byte))
                - rope.char_to_utf16_cu(rope.byte_to_char(line_start))
        }
    };
    Position::new(line as u32, character as u32)
}

/// The largest character boundary `<= byte`.
pub(crate) fn floor_char_boundary(rope: &Rope, byte: usize) -> usize {
    let byte = byte.min(rope.len_bytes());
    rope.char_to_byte(rope.byte_to_char(byte))
}

/// The tree-sitter point of a byte offset (row = `\n` count, column in bytes).
pub(crate) fn byte_to_point(rope: &Rope, byte: usize) -> tree_sitter::Point {
    let line = rope.byte_to_line(byte);
    tree_sitter::Point::new(line, byte - rope.line_to_byte(line))
}

/// Converts a range, clamping both ends and swapping reversed ends.
pub(crate) fn range_to_bytes(
    rope: &Rope,
    range: TextRange,
    enc: Encoding,
) -> (std::ops::Range<usize>, Vec<Clamp>) {
    let (mut start, c1) = position_to_byte(rope, range.start, enc);
    let (mut end, c2) = position_to_byte(rope, range.end, enc);
    let mut clamps: Vec<Clamp> = c1.into_iter().chain(c2).collect();
    if end < start {
        std::mem::swap(&mut start, &mut end);
        clamps.push(Clamp {
            requested: range.end,
            used: byte_to_position(rope, end, enc),
            reason: ClampReason::Reversed,
        });
    }
    (start..end, clamps)
}
