//! Property tests of the diff pipeline: for random files (LF or CRLF, BOM or not, final
//! newline or not, multi-byte text) and random rewrites, the write_file diff, its rendered
//! unified diff replayed, and its LSP text edits in every encoding all reach the same text;
//! a unique line replaced through edit_file gives exactly the string replacement.

use lathe_edits::{
    EditFileArgs, FileOp, LineIndex, MemorySource, PositionEncoding, WriteFileArgs,
    apply_unified_diff, edit_file, materialize, render_unified_diff, text_edits, write_file,
};
use proptest::prelude::*;

fn line() -> impl Strategy<Value = String> {
    prop::sample::select(vec![
        "fn a() {",
        "}",
        "",
        "    x += 1;",
        "let é = \"中\";",
        "// 😀 note",
        "\treturn;",
        "a  ",
    ])
    .prop_map(str::to_owned)
}

#[derive(Debug, Clone)]
struct Shape {
    crlf: bool,
    bom: bool,
    final_newline: bool,
}

fn shape() -> impl Strategy<Value = Shape> {
    (any::<bool>(), any::<bool>(), any::<bool>()).prop_map(|(crlf, bom, final_newline)| Shape {
        crlf,
        bom,
        final_newline,
    })
}

fn render(lines: &[String], shape: &Shape) -> String {
    let eol = if shape.crlf { "\r\n" } else { "\n" };
    let mut text = String::new();
    if shape.bom {
        text.push('\u{feff}');
    }
    text.push_str(&lines.join(eol));
    if shape.final_newline && !lines.is_empty() {
        text.push_str(eol);
    }
    text
}

fn new_text(src: &MemorySource, outcome: &lathe_edits::EditOutcome) -> String {
    let writes = materialize(src, &outcome.diff).unwrap();
    String::from_utf8(writes[0].content.clone().unwrap()).unwrap()
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn write_file_diff_replays_through_every_path(
        old in prop::collection::vec(line(), 1..30),
        new in prop::collection::vec(line(), 1..30),
        shape in shape(),
    ) {
        let base = render(&old, &shape);
        let target = render(&new, &shape);
        prop_assume!(base != target);
        let mut src = MemorySource::new();
        src.insert("f.txt", base.clone());
        let content = target.strip_prefix('\u{feff}').unwrap_or(&target).to_owned();
        let outcome = write_file(&src, &WriteFileArgs { path: "f.txt".into(), content }).unwrap();
        prop_assert_eq!(new_text(&src, &outcome), target.clone());

        // A file without any line terminator has no line-ending style: lines a diff adds
        // to it get LF, so the CRLF target is only reachable through write_file itself.
        if base.contains('\n') || !shape.crlf {
            let rendered = render_unified_diff(&outcome.diff);
            let replayed = apply_unified_diff(&src, &rendered).unwrap();
            prop_assert_eq!(new_text(&src, &replayed), target.clone(), "{}", rendered);
        }

        let FileOp::Modify { hunks, .. } = &outcome.diff.files[0].op else { panic!("not a modification") };
        for encoding in [PositionEncoding::Utf8, PositionEncoding::Utf16, PositionEncoding::Utf32] {
            let edits = text_edits("f.txt", &base, hunks, encoding).unwrap();
            let index = LineIndex::new(&base);
            let mut text = base.clone();
            for edit in edits.iter().rev() {
                let range = index.offset(edit.range.start, encoding)..index.offset(edit.range.end, encoding);
                text.replace_range(range, &edit.new_text);
            }
            prop_assert_eq!(&text, &target);
        }
    }

    #[test]
    fn edit_file_replaces_a_unique_line_exactly(
        lines in prop::collection::vec(line(), 1..20),
        pick in any::<prop::sample::Index>(),
        shape in shape(),
    ) {
        let mut lines = lines;
        let at = pick.index(lines.len());
        lines[at] = "UNIQUE MARKER".into();
        let base = render(&lines, &shape);
        let mut src = MemorySource::new();
        src.insert("f.txt", base.clone());
        let args = EditFileArgs {
            path: "f.txt".into(),
            old_string: "UNIQUE MARKER".into(),
            new_string: "replaced ✓".into(),
            replace_all: false,
        };
        let outcome = edit_file(&src, &args).unwrap();
        prop_assert_eq!(new_text(&src, &outcome), base.replace("UNIQUE MARKER", "replaced ✓"));
    }
}
