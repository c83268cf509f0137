//! Snapshots per language: outline, tags and enclosing symbol on `fixtures/workspaces`.

use std::fmt::Write as _;

use expect_test::{ExpectFile, expect_file};
use lathe_context::{
    CursorRequest, Document, Encoding, Language, Position, TagRole, render_outline,
};

use crate::fixtures;

/// Outline, tags and the enclosing chain at `line:col` (1-based) of a fixture file.
fn snapshot(rel: &str, line: u32, col: u32) -> String {
    let path = fixtures().join(rel);
    let text = std::fs::read_to_string(&path).unwrap();
    let mut doc = Document::for_path(&path, &text).unwrap();
    let mut out = String::new();
    let _ = writeln!(out, "language: {:?}", doc.language().map(Language::name));
    out.push_str("== outline\n");
    out.push_str(&render_outline(&doc.outline(Encoding::Utf8)));
    out.push_str("== tags\n");
    for tag in doc.tags(Encoding::Utf8) {
        let role = match (tag.role, tag.kind) {
            (TagRole::Definition, Some(kind)) => format!("def {}", kind.as_str()),
            _ => "ref".to_owned(),
        };
        let _ = writeln!(
            out,
            "{}:{} {role} {}",
            tag.range.start.line + 1,
            tag.range.start.character + 1,
            tag.name
        );
    }
    out.push_str("== imports\n");
    for import in doc.imports() {
        let _ = writeln!(out, "{import}");
    }
    let request = CursorRequest::at(Position::new(line - 1, col - 1), Encoding::Utf8);
    let ctx = doc.cursor_context(&request, None).unwrap();
    let _ = writeln!(out, "== enclosing at {line}:{col}");
    for scope in &ctx.enclosing {
        let _ = writeln!(out, "{} {}", scope.kind.as_str(), scope.name);
    }
    out
}

fn check(rel: &str, line: u32, col: u32, expect: ExpectFile) {
    expect.assert_eq(&snapshot(rel, line, col));
}

#[test]
fn rust() {
    check(
        "shapes-rust/src/shapes.rs",
        36,
        9,
        expect_file!["snapshots/rust.txt"],
    );
}

#[test]
fn rust_lib() {
    check(
        "shapes-rust/src/lib.rs",
        21,
        5,
        expect_file!["snapshots/rust_lib.txt"],
    );
}

#[test]
fn python() {
    check(
        "inventory-python/inventory/store.py",
        20,
        13,
        expect_file!["snapshots/python.txt"],
    );
}

#[test]
fn python_models() {
    check(
        "inventory-python/inventory/models.py",
        14,
        9,
        expect_file!["snapshots/python_models.txt"],
    );
}

#[test]
fn typescript() {
    check(
        "todo-ts/src/store.ts",
        27,
        9,
        expect_file!["snapshots/typescript.txt"],
    );
}

#[test]
fn typescript_types() {
    check(
        "todo-ts/src/todo.ts",
        19,
        40,
        expect_file!["snapshots/typescript_types.txt"],
    );
}

#[test]
fn tsx() {
    check(
        "todo-ts/src/App.tsx",
        10,
        10,
        expect_file!["snapshots/tsx.txt"],
    );
}

#[test]
fn javascript() {
    check(
        "utils-js/lib/strings.js",
        15,
        10,
        expect_file!["snapshots/javascript.txt"],
    );
}

#[test]
fn go() {
    check("kv-go/kv/store.go", 31, 5, expect_file!["snapshots/go.txt"]);
}

#[test]
fn java() {
    check(
        "bank-java/src/bank/Bank.java",
        24,
        13,
        expect_file!["snapshots/java.txt"],
    );
}

#[test]
fn c() {
    check("list-c/list.c", 17, 9, expect_file!["snapshots/c.txt"]);
}

#[test]
fn c_header() {
    check(
        "list-c/list.h",
        10,
        5,
        expect_file!["snapshots/c_header.txt"],
    );
}

#[test]
fn cpp() {
    check(
        "matrix-cpp/matrix.cpp",
        17,
        13,
        expect_file!["snapshots/cpp.txt"],
    );
}

#[test]
fn cpp_header() {
    check(
        "matrix-cpp/matrix.hpp",
        11,
        20,
        expect_file!["snapshots/cpp_header.txt"],
    );
}

#[test]
fn a_dot_h_header_is_cpp_when_it_reads_as_cpp() {
    let cpp =
        "#pragma once\nnamespace geo {\nclass Point {\npublic:\n    double x() const;\n};\n}\n";
    let c =
        "#ifndef LIST_H\nstruct list { int len; };\nint list_len(const struct list *l);\n#endif\n";
    assert_eq!(
        Language::for_source("geo.h".as_ref(), cpp),
        Some(Language::Cpp)
    );
    assert_eq!(
        Language::for_source("list.h".as_ref(), c),
        Some(Language::C)
    );
    assert_eq!(
        Language::for_source("list.c".as_ref(), cpp),
        Some(Language::C)
    );
    let mut doc = Document::for_path("geo.h".as_ref(), cpp).unwrap();
    let names: Vec<String> = doc
        .outline(Encoding::Utf8)
        .iter()
        .flat_map(|s| {
            std::iter::once(s.name.clone()).chain(s.children.iter().map(|c| c.name.clone()))
        })
        .collect();
    assert!(
        names.iter().any(|n| n == "Point"),
        "the class is in the outline: {names:?}"
    );
}

#[test]
fn every_query_compiles() {
    for lang in Language::ALL {
        Document::new("", Some(lang)).unwrap();
    }
}

#[test]
fn unknown_language_is_plain_text() {
    let mut doc = Document::for_path("notes.md".as_ref(), "# Title\n\nSome text.\n").unwrap();
    assert_eq!(doc.language(), None);
    assert_eq!(doc.outline(Encoding::Utf8), vec![]);
    let ctx = doc
        .cursor_context(
            &CursorRequest::at(Position::new(2, 3), Encoding::Utf8),
            None,
        )
        .unwrap();
    assert_eq!(ctx.focus.text, "# Title\n\nSome text.\n");
}
