//! Document sync: incremental changes applied strictly in order, in the negotiated
//! encoding, and every bad input reported without losing the connection.

use crate::editor::{modern_caps, utf16_caps};
use crate::support::Harness;
use pretty_assertions::assert_eq;
use serde_json::json;

fn range(l1: u32, c1: u32, l2: u32, c2: u32) -> serde_json::Value {
    json!({"start": {"line": l1, "character": c1}, "end": {"line": l2, "character": c2}})
}

#[tokio::test]
async fn a_burst_of_changes_is_applied_in_order_before_the_next_request() {
    let harness = Harness::new(Vec::new(), &[("src/lib.rs", "fn a() {}\n")]).await;
    let mut editor = harness.connect();
    editor
        .initialize(&harness.root_uri(), modern_caps(), json!(null))
        .await;
    let uri = harness.uri("src/lib.rs");
    editor.open(&uri, "rust", "fn a() {}\n").await;
    for i in 0..300 {
        // Each insertion lands right after the previous one: any reordering scrambles it.
        editor.edit(&uri, range(1, i, 1, i), "x").await;
    }
    editor.edit(&uri, range(1, 0, 1, 3), "y").await;
    editor.call("lathe/status", json!(null)).await;
    let seen = harness
        .services
        .hub
        .open_text(&harness.root().join("src/lib.rs"))
        .unwrap();
    assert_eq!(seen.text, format!("fn a() {{}}\ny{}", "x".repeat(297)));
    assert_eq!(seen.version, 302);
    assert_eq!(seen.text, editor.text(&uri));
}

#[tokio::test]
async fn multibyte_changes_use_the_negotiated_encoding() {
    let text = "let s = \"日本😀é\";\n";
    // (capabilities, emoji start, emoji end, column before the closing quote)
    for (caps, start, end, column) in [(utf16_caps(), 11, 13, 14), (modern_caps(), 15, 19, 21)] {
        let harness = Harness::new(Vec::new(), &[("a.rs", text)]).await;
        let mut editor = harness.connect();
        editor
            .initialize(&harness.root_uri(), caps, json!(null))
            .await;
        let uri = harness.uri("a.rs");
        editor.open(&uri, "rust", text).await;
        editor.edit(&uri, range(0, start, 0, end), "🎉").await;
        // Insert after `é`, just before the quote.
        editor.edit(&uri, range(0, column, 0, column), "!").await;
        editor.call("lathe/status", json!(null)).await;
        let seen = harness
            .services
            .hub
            .open_text(&harness.root().join("a.rs"))
            .unwrap();
        assert_eq!(seen.text, "let s = \"日本🎉é!\";\n");
    }
}

#[tokio::test]
async fn stale_versions_unopened_documents_and_positions_past_the_end() {
    let harness = Harness::new(Vec::new(), &[("a.py", "x = 1\n")]).await;
    let mut editor = harness.connect();
    editor
        .initialize(&harness.root_uri(), modern_caps(), json!(null))
        .await;
    let uri = harness.uri("a.py");
    editor.open(&uri, "python", "x = 1\n").await;

    editor
        .notify(
            "textDocument/didChange",
            json!({"textDocument": {"uri": harness.uri("never-opened.py"), "version": 2},
                   "contentChanges": [{"text": "y"}]}),
        )
        .await;
    let logged = editor.wait_method("window/logMessage").await;
    assert!(
        logged["params"]["message"]
            .as_str()
            .unwrap()
            .contains("not open")
    );

    editor
        .notify(
            "textDocument/didChange",
            json!({"textDocument": {"uri": uri, "version": 2},
                   "contentChanges": [{"range": range(9, 0, 9, 4), "text": "# end"}]}),
        )
        .await;
    let clamped = editor.wait_method("window/logMessage").await;
    let message = clamped["params"]["message"].as_str().unwrap();
    assert!(
        message.contains("out of range") && message.contains("PastEndOfDocument"),
        "{message}"
    );

    editor
        .notify(
            "textDocument/didChange",
            json!({"textDocument": {"uri": uri, "version": 2},
                   "contentChanges": [{"range": range(0, 0, 0, 0), "text": "dup "}]}),
        )
        .await;
    let warned = editor.wait_method("window/showMessage").await;
    assert!(
        warned["params"]["message"]
            .as_str()
            .unwrap()
            .contains("not newer than 2")
    );
    editor.call("lathe/status", json!(null)).await;
    let seen = harness
        .services
        .hub
        .open_text(&harness.root().join("a.py"))
        .unwrap();
    assert_eq!((seen.text.as_str(), seen.version), ("x = 1\n# end", 2));

    // A full-text change resynchronizes; a close forgets the document.
    editor
        .notify(
            "textDocument/didChange",
            json!({"textDocument": {"uri": uri, "version": 3}, "contentChanges": [{"text": "z = 3\n"}]}),
        )
        .await;
    editor.call("lathe/status", json!(null)).await;
    let seen = harness
        .services
        .hub
        .open_text(&harness.root().join("a.py"))
        .unwrap();
    assert_eq!((seen.text.as_str(), seen.version), ("z = 3\n", 3));
    editor
        .notify(
            "textDocument/didClose",
            json!({"textDocument": {"uri": uri}}),
        )
        .await;
    editor.call("lathe/status", json!(null)).await;
    assert_eq!(
        harness.services.hub.open_text(&harness.root().join("a.py")),
        None
    );
}
