//! Code actions: listed instantly with the right kinds, and "Document" run end to end —
//! cursor context in the prompt, approval through `showMessageRequest`, the edit applied
//! by the editor as a versioned `TextDocumentEdit`, progress from begin to end.

use crate::editor::{modern_caps, utf16_caps};
use crate::support::{Harness, session_of};
use lathe_protocol::{ApprovalStatus, EventPayload, Surface};
use lathe_tests::scripted_model::{Expect, Step};
use pretty_assertions::assert_eq;
use serde_json::{Value, json};

const LIB: &str = "pub fn add(a: i32, b: i32) -> i32 {\n    a + b\n}\n";

fn titles(actions: &Value) -> Vec<(String, String)> {
    actions
        .as_array()
        .unwrap()
        .iter()
        .map(|a| {
            (
                a["title"].as_str().unwrap().to_owned(),
                a["kind"].as_str().unwrap().to_owned(),
            )
        })
        .collect()
}

fn pairs(items: &[(&str, &str)]) -> Vec<(String, String)> {
    items
        .iter()
        .map(|(a, b)| ((*a).to_owned(), (*b).to_owned()))
        .collect()
}

fn point(line: u32, character: u32) -> Value {
    json!({"start": {"line": line, "character": character}, "end": {"line": line, "character": character}})
}

#[tokio::test]
async fn actions_are_listed_by_kind_and_filtered_by_only() {
    let harness = Harness::new(
        Vec::new(),
        &[("src/lib.rs", LIB), ("notes.lathe.md", "## You\n\nhi\n")],
    )
    .await;
    let mut editor = harness.connect();
    editor
        .initialize(&harness.root_uri(), modern_caps(), json!(null))
        .await;
    let uri = harness.uri("src/lib.rs");
    editor.open(&uri, "rust", LIB).await;
    let diagnostic = json!({"range": point(1, 4), "severity": 1, "source": "rustc", "message": "mismatched types"});
    let all = editor
        .call(
            "textDocument/codeAction",
            json!({"textDocument": {"uri": uri}, "range": point(1, 4),
                   "context": {"diagnostics": [diagnostic]}}),
        )
        .await;
    assert_eq!(
        titles(&all),
        pairs(&[
            ("Lathe: Fix 1 problem", "quickfix"),
            ("Lathe: Explain", "source"),
            ("Lathe: Document", "refactor.rewrite"),
            ("Lathe: Refactor", "refactor.rewrite"),
            ("Lathe: Write tests", "refactor.rewrite"),
            ("Lathe: Review", "source"),
            ("Lathe: Run skill…", "source"),
        ])
    );
    assert_eq!(all[0]["diagnostics"], json!([diagnostic]));
    assert_eq!(
        all[2]["command"],
        json!({"title": "Lathe: Document", "command": "lathe.action.run",
               "arguments": [{"action": "document", "uri": uri, "range": point(1, 4)}]})
    );
    let refactors = editor
        .call(
            "textDocument/codeAction",
            json!({"textDocument": {"uri": uri}, "range": point(0, 0),
                   "context": {"diagnostics": [], "only": ["refactor"]}}),
        )
        .await;
    assert_eq!(
        titles(&refactors),
        pairs(&[
            ("Lathe: Document", "refactor.rewrite"),
            ("Lathe: Refactor", "refactor.rewrite"),
            ("Lathe: Write tests", "refactor.rewrite"),
        ])
    );
    let chat = harness.uri("notes.lathe.md");
    editor.open(&chat, "markdown", "## You\n\nhi\n").await;
    let send = editor
        .call(
            "textDocument/codeAction",
            json!({"textDocument": {"uri": chat}, "range": point(2, 0), "context": {"diagnostics": []}}),
        )
        .await;
    assert_eq!(titles(&send), pairs(&[("Lathe: Send", "source")]));
    // Resolve keeps a listed action runnable.
    let resolved = editor.call("codeAction/resolve", all[2].clone()).await;
    assert_eq!(resolved, all[2]);
}

fn document_script() -> Vec<Step> {
    vec![
        Step::tool_calls([(
            "edit_file",
            json!({"path": "src/lib.rs", "old_string": "pub fn add",
                   "new_string": "/// Adds `a` and `b`.\npub fn add"}),
        )])
        .expecting(Expect {
            user_contains: Some("## Code context".into()),
            ..Expect::default()
        }),
        Step::text("Documented `add`.").expecting(Expect {
            tool_result_contains: Some("applied in the editor".into()),
            ..Expect::default()
        }),
    ]
}

#[tokio::test]
async fn document_runs_with_approval_progress_and_an_editor_edit() {
    let harness = Harness::new(document_script(), &[("src/lib.rs", LIB)]).await;
    let mut editor = harness.connect();
    editor
        .initialize(&harness.root_uri(), modern_caps(), json!(null))
        .await;
    let uri = harness.uri("src/lib.rs");
    editor.open(&uri, "rust", LIB).await;
    let started = editor
        .call(
            "workspace/executeCommand",
            json!({"command": "lathe.action.run",
                   "arguments": [{"action": "document", "uri": uri, "range": point(1, 4)}]}),
        )
        .await;
    let session = session_of(&started);
    let token = started["progressToken"].clone();
    let progress = editor.progress_until_end(&token).await;
    assert_eq!(progress[0]["kind"], "begin");
    assert_eq!(progress[0]["title"], "Lathe: Document `add`");
    let reports: Vec<&str> = progress
        .iter()
        .filter_map(|p| p["message"].as_str())
        .collect();
    assert!(reports.contains(&"running edit_file"), "{reports:?}");
    assert!(
        reports
            .iter()
            .any(|r| r.starts_with("waiting for approval")),
        "{reports:?}"
    );
    assert_eq!(progress.last().unwrap()["message"], "done");

    let asked = editor.wait_method("window/showMessageRequest").await;
    assert_eq!(
        asked["params"]["actions"],
        json!([{"title": "Allow once"}, {"title": "Allow for session"}, {"title": "Deny"}])
    );
    let applied = editor.wait_method("workspace/applyEdit").await;
    assert_eq!(
        applied["params"]["edit"],
        json!({"documentChanges": [{"textDocument": {"uri": uri, "version": 1},
            "edits": [{"range": point(0, 0), "newText": "/// Adds `a` and `b`.\n"}]}]})
    );
    let done = editor.wait_method("window/showMessage").await;
    assert_eq!(
        done["params"]["message"],
        "Lathe: Document `add`: Documented `add`."
    );
    assert_eq!(editor.text(&uri), format!("/// Adds `a` and `b`.\n{LIB}"));
    assert_eq!(
        harness.read("src/lib.rs"),
        LIB,
        "the disk is the editor's to save"
    );
    harness.model.assert_played();
    let approvals = harness.store.approvals(Some(&session)).unwrap();
    assert!(matches!(
        &approvals[0].status,
        ApprovalStatus::Resolved { by: Surface::Lsp, who: Some(who), .. } if who == "test-editor"
    ));
    let changed = harness
        .events(&session)
        .iter()
        .any(|e| matches!(&e.payload, EventPayload::Custom(lathe_protocol::CustomEvent::FileChanged(f)) if f.path == "src/lib.rs"));
    assert!(changed);
}

#[tokio::test]
async fn an_old_client_gets_unversioned_changes_and_no_progress_when_it_refuses_tokens() {
    let harness = Harness::new(document_script(), &[("src/lib.rs", LIB)]).await;
    let mut editor = harness.connect();
    editor
        .initialize(
            &harness.root_uri(),
            utf16_caps(),
            json!({"approval": "auto"}),
        )
        .await;
    editor.behave(|b| b.accept_progress = false);
    let uri = harness.uri("src/lib.rs");
    editor.open(&uri, "rust", LIB).await;
    let started = editor
        .call(
            "workspace/executeCommand",
            json!({"command": "lathe.action.run",
                   "arguments": [{"action": "document", "uri": uri, "range": point(0, 3)}]}),
        )
        .await;
    let applied = editor.wait_method("workspace/applyEdit").await;
    assert_eq!(
        applied["params"]["edit"],
        json!({"changes": {uri.clone(): [{"range": point(0, 0), "newText": "/// Adds `a` and `b`.\n"}]}})
    );
    harness.run_end(&session_of(&started)).await;
    editor.wait_method("window/showMessage").await;
    assert!(
        !editor
            .backlog()
            .iter()
            .any(|m| m["method"] == "$/progress" || m["method"] == "window/showMessageRequest"),
        "auto approval asks nothing and a refused token gets no progress: {:#?}",
        editor.backlog()
    );
}
