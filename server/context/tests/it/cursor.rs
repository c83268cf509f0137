//! Cursor context: renderings, budgets, diagnostics, cross-file lookup, selections, bad files.

use expect_test::{expect, expect_file};
use lathe_context::{
    ContextError, CursorRequest, Diagnostic, Document, Encoding, FocusSource, IndexOptions,
    Language, MAX_DOCUMENT_BYTES, Position, RepoIndex, Severity, TextRange, TokenCounter,
    cursor_context_for_file, decode_source, read_document,
};
use pretty_assertions::assert_eq;

use crate::fixtures;

#[test]
fn rust_method_in_impl_renders_for_prompts() {
    let path = fixtures().join("shapes-rust/src/shapes.rs");
    let ctx = cursor_context_for_file(&path, 46, 14, 1024, None).unwrap();
    let rendered = ctx
        .render()
        .replace(&fixtures().to_string_lossy().into_owned(), "<fixtures>");
    expect_file!["snapshots/cursor_rust.txt"].assert_eq(&rendered);
    let exact = TokenCounter::o200k().unwrap().count(&ctx.render());
    assert!(
        ctx.tokens >= exact && ctx.tokens <= exact * 105 / 100,
        "{} vs {exact}",
        ctx.tokens
    );
}

#[test]
fn referenced_definitions_come_from_the_workspace() {
    let root = fixtures().join("shapes-rust");
    let mut index = RepoIndex::open(&root, IndexOptions::default()).unwrap();
    index.refresh().unwrap();
    let ctx =
        cursor_context_for_file(&root.join("src/render.rs"), 5, 10, 1024, Some(&index)).unwrap();
    let referenced: String = ctx
        .referenced
        .iter()
        .map(|s| {
            format!(
                "{}:{} {}\n",
                s.path.as_deref().unwrap_or("-"),
                s.line + 1,
                s.signature
            )
        })
        .collect();
    expect![[r#"
        src/lib.rs:11 pub trait Shape: fmt::Debug {
        src/lib.rs:13     fn name(&self) -> &'static str;
        src/shapes.rs:39     fn name(&self) -> &'static str {
        src/shapes.rs:49     fn name(&self) -> &'static str {
        src/lib.rs:19 pub fn total_area(shapes: &[Box<dyn Shape>]) -> f64 {
        src/lib.rs:4 pub mod shapes;
    "#]]
    .assert_eq(&referenced);
}

fn long_function(lines: usize) -> String {
    let mut text = String::from(
        "fn helper(x: u32) -> u32 {\n    x + 1\n}\n\nfn long(a: u32) -> u32 {\n    let mut total = a;\n",
    );
    for i in 0..lines {
        text.push_str(&format!(
            "    total = helper(total) + {i}; // step {i} of the long computation\n"
        ));
    }
    text.push_str("    total\n}\n");
    text
}

#[test]
fn long_symbols_become_budgeted_excerpts_around_the_cursor() {
    let text = long_function(400);
    let mut doc = Document::new(&text, Some(Language::Rust)).unwrap();
    let mut request = CursorRequest::at(Position::new(206, 10), Encoding::Utf8);
    request.budget = 600;
    let ctx = doc.cursor_context(&request, None).unwrap();
    assert!(ctx.focus.truncated);
    assert!(ctx.tokens <= 600, "{} {}", ctx.tokens, ctx.render());
    assert!(ctx.tokens >= 420, "{}", ctx.tokens);
    let focus = &ctx.focus.text;
    assert!(
        focus.starts_with("fn long(a: u32) -> u32 {\n⋮\n"),
        "{focus}"
    );
    assert!(focus.contains("step 200 of"), "{focus}");
    assert!(focus.ends_with("⋮\n}"), "{focus}");
    assert_eq!(ctx.referenced[0].signature, "fn helper(x: u32) -> u32 {");
}

#[test]
fn diagnostics_in_the_focus_are_included() {
    let text = long_function(3);
    let mut doc = Document::new(&text, Some(Language::Rust)).unwrap();
    let diag = |line: u32, message: &str| Diagnostic {
        range: TextRange::new(Position::new(line, 4), Position::new(line, 9)),
        severity: Severity::Error,
        message: message.to_owned(),
        source: Some("rustc".to_owned()),
    };
    let mut request = CursorRequest::at(Position::new(6, 5), Encoding::Utf16);
    request.diagnostics = vec![diag(1, "outside"), diag(7, "inside")];
    let ctx = doc.cursor_context(&request, None).unwrap();
    assert_eq!(ctx.diagnostics, vec![diag(7, "inside")]);
    assert!(ctx.render().contains("- error at 8:5 [rustc]: inside"));
}

#[test]
fn selection_outside_definitions_and_clamped_positions() {
    let mut doc = Document::new("import os\nx = 1\ny = 2\n", Some(Language::Python)).unwrap();
    let request = CursorRequest {
        path: None,
        selection: TextRange::new(Position::new(1, 0), Position::new(2, 99)),
        encoding: Encoding::Utf16,
        budget: 256,
        diagnostics: vec![],
    };
    let ctx = doc.cursor_context(&request, None).unwrap();
    assert_eq!(ctx.focus.source, FocusSource::Selection);
    assert_eq!(ctx.focus.text, "x = 1\ny = 2");
    assert_eq!(ctx.clamps.len(), 1);
    assert!(
        ctx.render().contains(
            "Note: line 3, column 100 is past the end of its line; line 3, column 6 is shown instead."
        ),
        "the model is told: {}",
        ctx.render()
    );
    assert_eq!(ctx.imports, vec!["import os".to_owned()]);
    let names: Vec<&str> = ctx.siblings.iter().map(|s| s.name.as_str()).collect();
    assert_eq!(names, Vec::<&str>::new());
}

#[test]
fn symbols_are_found_by_path() {
    let path = fixtures().join("shapes-rust/src/shapes.rs");
    let text = std::fs::read_to_string(&path).unwrap();
    let mut doc = Document::for_path(&path, &text).unwrap();
    let range = doc.find_symbol("Square::area", Encoding::Utf8).unwrap();
    assert_eq!(
        range,
        TextRange::new(Position::new(44, 7), Position::new(44, 11))
    );
    assert_eq!(doc.find_symbol("Nope", Encoding::Utf8), None);
}

#[test]
fn invalid_utf8_files_are_decoded_lossily_and_binary_files_refused() {
    let dir = tempfile::tempdir().unwrap();
    let latin = dir.path().join("a.py");
    std::fs::write(&latin, b"def f():\n    return '\xe9'\n").unwrap();
    let ctx = cursor_context_for_file(&latin, 2, 5, 512, None).unwrap();
    assert!(ctx.invalid_utf8);
    assert_eq!(ctx.enclosing[0].name, "f");
    let bin = dir.path().join("b.rs");
    std::fs::write(&bin, b"\0\0\0").unwrap();
    let err = cursor_context_for_file(&bin, 1, 1, 512, None).unwrap_err();
    assert!(err.to_string().ends_with("is a binary file"), "{err}");
}

#[test]
fn huge_files_are_refused_and_say_so() {
    let dir = tempfile::tempdir().unwrap();
    let huge = dir.path().join("huge.rs");
    // Sparse: one byte over the cap, without writing 8 MiB. Refused for its size before
    // anything is read (otherwise its NUL bytes would make it "binary").
    std::fs::File::create(&huge)
        .unwrap()
        .set_len(MAX_DOCUMENT_BYTES + 1)
        .unwrap();
    let err = cursor_context_for_file(&huge, 1, 1, 512, None).unwrap_err();
    assert!(
        matches!(err, ContextError::TooLarge { bytes, limit, .. }
            if bytes == MAX_DOCUMENT_BYTES + 1 && limit == MAX_DOCUMENT_BYTES),
        "{err:?}"
    );
    assert!(
        err.to_string().contains("too large for code context"),
        "{err}"
    );
    assert!(matches!(
        read_document(&huge),
        Err(ContextError::TooLarge { .. })
    ));
    // Callers that read the bytes themselves get the same cap.
    let bytes = vec![b'\n'; usize::try_from(MAX_DOCUMENT_BYTES).unwrap() + 1];
    assert!(matches!(
        decode_source(&huge, bytes),
        Err(ContextError::TooLarge { .. })
    ));
}
