//! Property tests of byte offset <-> LSP position conversion against a naive reference
//! walk, in UTF-8, UTF-16 and UTF-32, over texts mixing LF, CRLF, lone CR, multi-byte
//! characters, surrogate pairs, BOMs and missing final newlines.

use lathe_edits::{LineIndex, Position, PositionEncoding};
use proptest::prelude::*;

const ENCODINGS: [PositionEncoding; 3] = [
    PositionEncoding::Utf8,
    PositionEncoding::Utf16,
    PositionEncoding::Utf32,
];

fn text() -> impl Strategy<Value = String> {
    let piece = prop::sample::select(vec![
        "a", "Z", " ", "\t", "é", "中", "😀", "𝄞", "\n", "\r\n", "\r", "\u{feff}",
    ]);
    (any::<bool>(), prop::collection::vec(piece, 0..40)).prop_map(|(bom, pieces)| {
        let mut s = String::new();
        if bom {
            s.push('\u{feff}');
        }
        for p in pieces {
            s.push_str(p);
        }
        s
    })
}

fn units(c: char, encoding: PositionEncoding) -> u32 {
    match encoding {
        PositionEncoding::Utf8 => c.len_utf8() as u32,
        PositionEncoding::Utf16 => c.len_utf16() as u32,
        PositionEncoding::Utf32 => 1,
    }
}

/// The position of every byte offset, by walking the text once.
fn reference(text: &str, encoding: PositionEncoding) -> Vec<Position> {
    let bom = if text.starts_with('\u{feff}') { 3 } else { 0 };
    let mut out = vec![Position::default(); text.len() + 1];
    let (mut line, mut col) = (0u32, 0u32);
    let chars: Vec<(usize, char)> = text.char_indices().collect();
    let mut k = 0;
    while k < chars.len() {
        let (i, c) = chars[k];
        if i < bom {
            k += 1;
            continue;
        }
        for slot in &mut out[i..i + c.len_utf8()] {
            *slot = Position::new(line, col);
        }
        match c {
            '\r' if chars.get(k + 1).map(|x| x.1) == Some('\n') => {
                out[i + 1] = Position::new(line, col);
                line += 1;
                col = 0;
                k += 2;
                continue;
            }
            '\n' | '\r' => {
                line += 1;
                col = 0;
            }
            _ => col += units(c, encoding),
        }
        k += 1;
    }
    out[text.len()] = Position::new(line, col);
    out
}

fn inside_crlf(text: &str, offset: usize) -> bool {
    offset > 0
        && text.as_bytes().get(offset - 1) == Some(&b'\r')
        && text.as_bytes().get(offset) == Some(&b'\n')
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn positions_match_the_reference_walk(text in text()) {
        let index = LineIndex::new(&text);
        for encoding in ENCODINGS {
            let expected = reference(&text, encoding);
            for offset in 0..=text.len() {
                let mut floor = offset;
                while !text.is_char_boundary(floor) {
                    floor -= 1;
                }
                prop_assert_eq!(index.position(offset, encoding), expected[floor], "offset {} in {:?}", offset, text);
            }
        }
    }

    #[test]
    fn offsets_round_trip_through_positions(text in text()) {
        let index = LineIndex::new(&text);
        let bom = if text.starts_with('\u{feff}') { 3 } else { 0 };
        for encoding in ENCODINGS {
            for offset in bom..=text.len() {
                if !text.is_char_boundary(offset) || inside_crlf(&text, offset) {
                    continue;
                }
                let position = index.position(offset, encoding);
                prop_assert_eq!(index.offset(position, encoding), offset, "{:?} {:?}", position, text);
            }
        }
    }

    #[test]
    fn any_position_clamps_to_a_valid_offset(text in text(), line in 0u32..12, character in 0u32..40) {
        let index = LineIndex::new(&text);
        for encoding in ENCODINGS {
            let wanted = Position::new(line, character);
            let offset = index.offset(wanted, encoding);
            prop_assert!(text.is_char_boundary(offset));
            prop_assert!(!inside_crlf(&text, offset));
            let back = index.position(offset, encoding);
            if (line as usize) < index.line_count() {
                prop_assert_eq!(back.line, line);
                prop_assert!(back.character <= character);
            } else {
                prop_assert_eq!(offset, text.len());
            }
        }
    }

    #[test]
    fn positions_are_monotonic(text in text()) {
        let index = LineIndex::new(&text);
        for encoding in ENCODINGS {
            let mut previous = Position::default();
            for offset in 0..=text.len() {
                let position = index.position(offset, encoding);
                prop_assert!(position >= previous);
                previous = position;
            }
        }
    }
}
