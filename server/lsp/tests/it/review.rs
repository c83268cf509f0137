//! Review findings as diagnostics with quick fixes (resolved lazily, refused when stale),
//! and explanations shown as markdown documents.

use crate::editor::{modern_caps, utf16_caps};
use crate::support::{Harness, session_of};
use lathe_tests::scripted_model::Step;
use pretty_assertions::assert_eq;
use serde_json::{Value, json};

const LIB: &str = "pub fn add(a: i32, b: i32) -> i32 {\n    a + b\n}\n";

fn range(l1: u32, c1: u32, l2: u32, c2: u32) -> Value {
    json!({"start": {"line": l1, "character": c1}, "end": {"line": l2, "character": c2}})
}

/// Two findings: one in the open `src/lib.rs`, spelled as models do (`./`), one in no file.
fn review_answer() -> Step {
    Step::text(
        "Mostly fine.\n\n```json\n{\"findings\": [{\"file\": \"./src/lib.rs\", \"line\": 2, \"end_line\": 2, \
         \"severity\": \"warning\", \"message\": \"overflows on large inputs\", \
         \"suggestion\": \"    a.wrapping_add(b)\"}, {\"file\": \"gone.rs\", \"line\": 1, \
         \"message\": \"lost\"}]}\n```\n",
    )
}

async fn run(editor: &mut crate::editor::Editor, uri: &str, action: &str) -> Value {
    editor
        .call(
            "workspace/executeCommand",
            json!({"command": "lathe.action.run",
                   "arguments": [{"action": action, "uri": uri, "range": range(1, 4, 1, 4)}]}),
        )
        .await
}

#[tokio::test]
async fn findings_become_diagnostics_with_quick_fixes() {
    let harness = Harness::new(vec![review_answer()], &[("src/lib.rs", LIB)]).await;
    let mut editor = harness.connect();
    editor
        .initialize(&harness.root_uri(), modern_caps(), json!(null))
        .await;
    let uri = harness.uri("src/lib.rs");
    editor.open(&uri, "rust", LIB).await;
    run(&mut editor, &uri, "review").await;
    let published = editor.wait_method("textDocument/publishDiagnostics").await;
    let diagnostic = json!({"range": range(1, 0, 1, 9), "severity": 2, "source": "lathe",
                            "message": "overflows on large inputs",
                            "data": {"lathe": "finding", "index": 0}});
    assert_eq!(
        published["params"],
        json!({"uri": uri, "version": 1, "diagnostics": [diagnostic]})
    );
    let said = editor.wait_method("window/showMessage").await;
    assert_eq!(
        said["params"]["message"],
        "Lathe: Review `add`: 2 findings (1 point at files or lines that do not exist)"
    );

    let listed = editor
        .call(
            "textDocument/codeAction",
            json!({"textDocument": {"uri": uri}, "range": range(1, 6, 1, 6),
                   "context": {"diagnostics": [diagnostic], "only": ["quickfix"]}}),
        )
        .await;
    let fix = listed.as_array().unwrap().last().unwrap().clone();
    assert_eq!(
        fix["title"],
        "Lathe: apply suggestion: overflows on large inputs"
    );
    assert_eq!(fix["isPreferred"], true);
    assert_eq!(fix.get("edit"), None, "resolved lazily");
    let resolved = editor.call("codeAction/resolve", fix.clone()).await;
    assert_eq!(
        resolved["edit"],
        json!({"documentChanges": [{"textDocument": {"uri": uri, "version": 1},
               "edits": [{"range": range(1, 0, 2, 0), "newText": "    a.wrapping_add(b)\n"}]}]})
    );
    editor.edit(&uri, range(1, 4, 1, 5), "x").await;
    let stale = editor.call("codeAction/resolve", fix).await;
    assert_eq!(
        stale["disabled"],
        json!({"reason": "the code changed since the review"})
    );
    assert_eq!(stale.get("edit"), None);
}

#[tokio::test]
async fn clients_without_resolve_get_the_edit_at_once() {
    let harness = Harness::new(vec![review_answer()], &[("src/lib.rs", LIB)]).await;
    let mut editor = harness.connect();
    editor
        .initialize(&harness.root_uri(), utf16_caps(), json!(null))
        .await;
    let uri = harness.uri("src/lib.rs");
    editor.open(&uri, "rust", LIB).await;
    let started = run(&mut editor, &uri, "review").await;
    harness.run_end(&session_of(&started)).await;
    editor.wait_method("textDocument/publishDiagnostics").await;
    let listed = editor
        .call(
            "textDocument/codeAction",
            json!({"textDocument": {"uri": uri}, "range": range(1, 0, 1, 3), "context": {"diagnostics": []}}),
        )
        .await;
    let fix = listed.as_array().unwrap().last().unwrap();
    assert_eq!(
        fix["edit"],
        json!({"changes": {uri.clone(): [{"range": range(1, 0, 2, 0), "newText": "    a.wrapping_add(b)\n"}]}})
    );
}

#[tokio::test]
async fn explanations_open_as_markdown_documents() {
    let harness = Harness::new(
        vec![Step::text("It adds `a` and `b`.")],
        &[("src/lib.rs", LIB)],
    )
    .await;
    let mut editor = harness.connect();
    editor
        .initialize(&harness.root_uri(), modern_caps(), json!(null))
        .await;
    let uri = harness.uri("src/lib.rs");
    editor.open(&uri, "rust", LIB).await;
    let started = run(&mut editor, &uri, "explain").await;
    let shown = editor.wait_method("window/showDocument").await;
    let path = harness
        .state
        .path()
        .join("explanations")
        .join(format!("{}.md", session_of(&started)));
    assert_eq!(
        shown["params"],
        json!({"uri": lathe_lsp::file_uri(&path), "external": false, "takeFocus": true})
    );
    assert_eq!(
        std::fs::read_to_string(path).unwrap(),
        "# Lathe: Explain `add`\n\nIt adds `a` and `b`.\n"
    );
}
