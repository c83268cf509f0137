//! Documents: edits in every encoding, clamping, and the incremental-reparse property.

use lathe_context::{
    Clamp, ClampReason, Document, EditOutcome, Encoding, Language, Position, TextRange,
};
use pretty_assertions::assert_eq;
use proptest::prelude::*;
use std::ops::Range;
use std::time::Duration;

use tree_sitter::{InputEdit, Parser, Point, Tree};

fn range(l1: u32, c1: u32, l2: u32, c2: u32) -> TextRange {
    TextRange::new(Position::new(l1, c1), Position::new(l2, c2))
}

#[test]
fn edits_in_each_encoding_hit_the_same_place() {
    // "😀" is 4 UTF-8 bytes, 2 UTF-16 units, 1 scalar; "é" is 2, 1, 1.
    let text = "let s = \"é😀x\";\n";
    for (enc, col) in [
        (Encoding::Utf8, 15),
        (Encoding::Utf16, 12),
        (Encoding::Utf32, 11),
    ] {
        let mut doc = Document::new(text, Some(Language::Rust)).unwrap();
        let outcome = doc.apply_edit(range(0, col, 0, col + 1), "y", enc);
        assert_eq!(
            outcome,
            EditOutcome {
                clamps: vec![],
                reparsed: true
            }
        );
        assert_eq!(doc.text(), "let s = \"é😀y\";\n", "{enc:?}");
    }
}

#[test]
fn out_of_range_positions_are_clamped_and_reported() {
    let mut doc = Document::new("ab😀\ncd\n", Some(Language::Python)).unwrap();
    // Column past the end of line 1, and a line past the end of the document.
    let outcome = doc.apply_edit(range(1, 10, 9, 0), "!", Encoding::Utf16);
    assert_eq!(
        outcome.clamps,
        vec![
            Clamp {
                requested: Position::new(1, 10),
                used: Position::new(1, 2),
                reason: ClampReason::PastEndOfLine,
            },
            Clamp {
                requested: Position::new(9, 0),
                used: Position::new(2, 0),
                reason: ClampReason::PastEndOfDocument,
            },
        ]
    );
    assert_eq!(doc.text(), "ab😀\ncd!");
    // Between the two UTF-16 units of 😀: clamped to its start.
    let outcome = doc.apply_edit(range(0, 3, 0, 3), "-", Encoding::Utf16);
    assert_eq!(
        outcome.clamps,
        vec![
            Clamp {
                requested: Position::new(0, 3),
                used: Position::new(0, 2),
                reason: ClampReason::InsideCharacter,
            };
            2
        ]
    );
    assert_eq!(doc.text(), "ab-😀\ncd!");
    // Reversed ranges are swapped.
    let outcome = doc.apply_edit(range(0, 2, 0, 0), "", Encoding::Utf8);
    assert_eq!(outcome.clamps.len(), 1);
    assert_eq!(outcome.clamps[0].reason, ClampReason::Reversed);
    assert_eq!(doc.text(), "-😀\ncd!");
}

#[test]
fn crlf_lines_count_once() {
    let mut doc = Document::new("a\r\nbc\r\n", None).unwrap();
    doc.apply_edit(range(1, 2, 1, 2), "d", Encoding::Utf8);
    assert_eq!(doc.text(), "a\r\nbcd\r\n");
}

#[test]
fn syntax_errors_still_give_an_outline() {
    let mut doc = Document::new(
        "fn ok() {}\nfn broken( {\nstruct S;\n",
        Some(Language::Rust),
    )
    .unwrap();
    assert!(doc.has_syntax_errors());
    let names: Vec<String> = doc
        .outline(Encoding::Utf8)
        .into_iter()
        .map(|s| s.name)
        .collect();
    assert!(names.contains(&"ok".to_owned()), "{names:?}");
}

const RUST_BASE: &str = "use std::fmt;\n\nstruct Point { x: i32 }\n\nimpl Point {\n    fn new() -> Self {\n        Point { x: 0 }\n    }\n}\n\nfn main() {\n    let p = Point::new();\n    println!(\"{}\", p.x);\n}\n";

const PYTHON_BASE: &str = "import os\n\nclass A:\n    def f(self, x):\n        return g(x)\n\ndef g(y):\n    return os.path.join(y, 'é')\n";

const PIECES: &[&str] = &[
    "",
    "a",
    "fn ",
    "(",
    ")",
    "{",
    "}",
    "\n",
    " ",
    "é",
    "😀",
    ":",
    "def h():\n    pass\n",
    "struct S;",
    "impl S { fn m(&self) {} }",
    "//",
    "\"",
    "let x = 1;",
    "class B:\n",
    "    ",
];

#[derive(Debug, Clone)]
struct Edit {
    start: (u32, u32),
    end: (u32, u32),
    text: String,
}

fn edit_strategy() -> impl Strategy<Value = Edit> {
    (
        0u32..18,
        0u32..24,
        0u32..3,
        0u32..12,
        proptest::sample::select(PIECES),
        proptest::sample::select(PIECES),
    )
        .prop_map(|(l, c, dl, dc, a, b)| Edit {
            start: (l, c),
            end: (l + dl, if dl == 0 { c + dc } else { dc }),
            text: format!("{a}{b}"),
        })
}

/// Byte offset of a position in `text`, by an independent reading of the clamping rules:
/// a missing line means the end of the text, a column past the line means its end, a column
/// inside a character means that character's start.
fn reference_offset(text: &str, (line, col): (u32, u32), encoding: Encoding) -> usize {
    let mut offset = 0;
    for (i, content) in text.split('\n').enumerate() {
        if i == line as usize {
            let mut units = 0;
            for (at, c) in content.char_indices() {
                let width = match encoding {
                    Encoding::Utf8 => c.len_utf8(),
                    Encoding::Utf16 => c.len_utf16(),
                    Encoding::Utf32 => 1,
                };
                if units + width > col as usize {
                    return offset + at;
                }
                units += width;
            }
            return offset + content.len();
        }
        offset += content.len() + 1;
    }
    text.len()
}

fn point(text: &str, byte: usize) -> Point {
    let before = &text[..byte];
    Point::new(
        before.matches('\n').count(),
        byte - before.rfind('\n').map_or(0, |i| i + 1),
    )
}

/// One node of a tree as the equality checks see it: unlike `to_sexp`, which prints only the
/// kinds of named nodes, this includes anonymous nodes, byte ranges and points, so a wrong
/// row or column in an `InputEdit` shows.
#[derive(Debug, Clone, PartialEq, Eq)]
struct NodeShape {
    kind: String,
    named: bool,
    missing: bool,
    bytes: Range<usize>,
    start: Point,
    end: Point,
}

/// Every node of `tree`, in preorder.
fn shape(tree: &Tree) -> Vec<NodeShape> {
    let mut nodes = Vec::new();
    let mut cursor = tree.walk();
    loop {
        let node = cursor.node();
        nodes.push(NodeShape {
            kind: node.kind().to_owned(),
            named: node.is_named(),
            missing: node.is_missing(),
            bytes: node.byte_range(),
            start: node.start_position(),
            end: node.end_position(),
        });
        if cursor.goto_first_child() || cursor.goto_next_sibling() {
            continue;
        }
        loop {
            if !cursor.goto_parent() {
                return nodes;
            }
            if cursor.goto_next_sibling() {
                break;
            }
        }
    }
}

/// Panics with the first differing node (and its index in preorder) unless the trees have
/// the same shape.
fn assert_same_tree(actual: &[NodeShape], expected: &[NodeShape], what: &dyn std::fmt::Display) {
    if let Some(i) =
        (0..actual.len().max(expected.len())).find(|&i| actual.get(i) != expected.get(i))
    {
        panic!(
            "{what}: trees differ at node {i}:\n  got      {:?}\n  expected {:?}",
            actual.get(i),
            expected.get(i)
        );
    }
}

/// Applies the edits to a document and, independently, to a string parsed incrementally by
/// plain tree-sitter. After every edit: same text, same tree (every node's kind, byte range
/// and points); the tree equals a fresh parse whenever the fresh parse has no syntax error
/// (tree-sitter's error recovery may depend on the edit history); and the incrementally
/// maintained tags equal the tags of a fresh document whenever the trees agree.
///
/// With `pause_every_edit`, each edit's reparse gets no time and [`Document::settle`]
/// finishes it; without, it gets all the time it needs. A paused and resumed reparse gives
/// the very same tree wherever the text is valid; in error recovery it may differ from the
/// uninterrupted one, as error recovery depends on history.
fn check_incremental(
    base: &str,
    language: Language,
    encoding: Encoding,
    edits: &[Edit],
    pause_every_edit: bool,
) {
    let grammar: tree_sitter::Language = match language {
        Language::Rust => tree_sitter_rust::LANGUAGE.into(),
        _ => tree_sitter_python::LANGUAGE.into(),
    };
    let mut parser = Parser::new();
    parser.set_language(&grammar).unwrap();
    let mut text = base.to_owned();
    let mut tree = parser.parse(&text, None).unwrap();
    let mut doc = Document::new(base, Some(language)).unwrap();
    doc.set_edit_budget(if pause_every_edit {
        Duration::ZERO
    } else {
        Duration::from_secs(3600)
    });
    // Prime the tag cache so that later reads are incremental.
    doc.tags(encoding);
    for edit in edits {
        let r = range(edit.start.0, edit.start.1, edit.end.0, edit.end.1);
        doc.apply_edit(r, &edit.text, encoding);
        assert!(doc.settle(None), "a reparse without a budget finishes");

        let a = reference_offset(&text, edit.start, encoding);
        let b = reference_offset(&text, edit.end, encoding);
        let (start, end) = (a.min(b), a.max(b));
        let (start_position, old_end_position) = (point(&text, start), point(&text, end));
        text.replace_range(start..end, &edit.text);
        let new_end = start + edit.text.len();
        tree.edit(&InputEdit {
            start_byte: start,
            old_end_byte: end,
            new_end_byte: new_end,
            start_position,
            old_end_position,
            new_end_position: point(&text, new_end),
        });
        tree = parser.parse(&text, Some(&tree)).unwrap();

        assert_eq!(doc.text(), text, "text after {edit:?}");
        let what = format!("after {edit:?} on {text:?}");
        let incremental = shape(doc.tree().unwrap());
        if !pause_every_edit || !tree.root_node().has_error() {
            assert_same_tree(&incremental, &shape(&tree), &what);
        }
        let mut fresh = Document::new(&text, Some(language)).unwrap();
        let fresh_shape = shape(fresh.tree().unwrap());
        if !fresh.has_syntax_errors() {
            assert_same_tree(&incremental, &fresh_shape, &what);
        }
        if incremental == fresh_shape {
            assert_eq!(doc.tags(encoding), fresh.tags(encoding), "tags {what}");
        }
    }
}

/// The shape comparison sees what `to_sexp` misses: an edit whose old end is one byte short
/// (deleting the `f` of `fmt` announced as an empty edit) reparses to the s-expression of a
/// fresh parse, with wrong byte ranges. (Wrong rows or columns, with the right bytes, leave
/// no trace at all: tree-sitter recomputes the positions of every node an edit touches.)
#[test]
fn tree_shapes_see_ranges_that_sexp_misses() {
    let mut parser = Parser::new();
    parser
        .set_language(&tree_sitter_rust::LANGUAGE.into())
        .unwrap();
    let mut tree = parser.parse(RUST_BASE, None).unwrap();
    let new = RUST_BASE.replacen("fmt", "mt", 1);
    tree.edit(&InputEdit {
        start_byte: 9,
        old_end_byte: 9,
        new_end_byte: 9,
        start_position: Point::new(0, 9),
        old_end_position: Point::new(0, 9),
        new_end_position: Point::new(0, 9),
    });
    let wrong = parser.parse(&new, Some(&tree)).unwrap();
    let fresh = parser.parse(&new, None).unwrap();
    assert_eq!(wrong.root_node().to_sexp(), fresh.root_node().to_sexp());
    assert_ne!(shape(&wrong), shape(&fresh));
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(
        std::env::var("PROPTEST_CASES").ok().and_then(|c| c.parse().ok()).unwrap_or(64),
    ))]

    #[test]
    fn incremental_rust_utf8(edits in proptest::collection::vec(edit_strategy(), 1..12)) {
        check_incremental(RUST_BASE, Language::Rust, Encoding::Utf8, &edits, false);
    }

    #[test]
    fn incremental_rust_utf16(edits in proptest::collection::vec(edit_strategy(), 1..12)) {
        check_incremental(RUST_BASE, Language::Rust, Encoding::Utf16, &edits, false);
    }

    #[test]
    fn incremental_python_utf16(edits in proptest::collection::vec(edit_strategy(), 1..12)) {
        check_incremental(PYTHON_BASE, Language::Python, Encoding::Utf16, &edits, false);
    }

    #[test]
    fn incremental_python_utf8(edits in proptest::collection::vec(edit_strategy(), 1..12)) {
        check_incremental(PYTHON_BASE, Language::Python, Encoding::Utf8, &edits, false);
    }

    #[test]
    fn paused_reparses_resume_to_the_same_tree(edits in proptest::collection::vec(edit_strategy(), 1..12)) {
        check_incremental(RUST_BASE, Language::Rust, Encoding::Utf16, &edits, true);
    }
}

/// A keystroke that makes a syntax error in a large file: the reparse pauses at once (no
/// budget), readers get the previous tree edited to the new text, more keystrokes restart
/// the paused reparse from it, and settling gives the fresh parse, tags included.
#[test]
fn a_paused_reparse_keeps_an_edited_tree_until_settled() {
    let item = "fn item_N(a: u32) -> u32 {\n    let b = a + 1;\n    b * 2\n}\n";
    let base: String = (0..2000)
        .map(|i| item.replace('N', &i.to_string()))
        .collect();
    let mut doc = Document::new(&base, Some(Language::Rust)).unwrap();
    doc.tags(Encoding::Utf8);
    doc.set_edit_budget(Duration::ZERO);
    // Line 4001 is `    let b = a + 1;` of item_1000.
    doc.apply_edit(range(4001, 0, 4001, 0), "x", Encoding::Utf8);
    assert!(!doc.is_settled());
    let stale = doc.tree().unwrap().root_node();
    assert_eq!(
        stale.end_byte(),
        base.len() + 1,
        "the tree covers the new text"
    );
    let tags = doc.tags(Encoding::Utf8);
    assert!(
        tags.iter().any(|t| t.name == "item_1999"),
        "tags come from the edited tree"
    );

    doc.apply_edit(range(4001, 1, 4001, 1), "y", Encoding::Utf8);
    assert!(doc.settle(None));
    assert!(doc.text().contains("\nxy    let b = a + 1;\n"));
    assert!(doc.has_syntax_errors());

    doc.apply_edit(range(4001, 0, 4001, 2), "", Encoding::Utf8);
    doc.apply_edit(range(0, 3, 0, 3), "z", Encoding::Utf8);
    assert!(!doc.is_settled());
    assert!(doc.settle(None));
    let mut fresh = Document::new(&doc.text(), Some(Language::Rust)).unwrap();
    assert_eq!(
        doc.tree().unwrap().root_node().to_sexp(),
        fresh.tree().unwrap().root_node().to_sexp()
    );
    assert_eq!(doc.tags(Encoding::Utf8), fresh.tags(Encoding::Utf8));
    assert!(doc.tags(Encoding::Utf8).iter().any(|t| t.name == "zitem_0"));
}
