//! Agent edits through the editor: exact multibyte ranges in UTF-16 and UTF-8, refusals
//! and silence reported to the agent and the user, files routed to the editor that has
//! them open (or the disk), cancellation, and runs that outlive their editor.

use crate::editor::{OnApplyEdit, modern_caps, utf16_caps};
use crate::support::{Harness, connect_with, session_of};
use lathe_protocol::EventPayload;
use lathe_tests::scripted_model::{Expect, Reply, Step, StreamFault};
use pretty_assertions::assert_eq;
use serde_json::{Value, json};
use std::time::Duration;

const MAIN: &str = "fn main() {\n    let s = \"漢字😀e\u{301}x\";\n}\n";

fn edit_step(path: &str, old: &str, new: &str) -> Step {
    Step::tool_calls([(
        "edit_file",
        json!({"path": path, "old_string": old, "new_string": new}),
    )])
}

fn answer_expecting(result: &str) -> Step {
    Step::text("Done.").expecting(Expect {
        tool_result_contains: Some(result.into()),
        ..Expect::default()
    })
}

fn range(l1: u32, c1: u32, l2: u32, c2: u32) -> Value {
    json!({"start": {"line": l1, "character": c1}, "end": {"line": l2, "character": c2}})
}

/// An editor with today's capabilities whose runs need no approval.
async fn auto_editor(harness: &Harness) -> crate::editor::Editor {
    let mut editor = harness.connect();
    editor
        .initialize(
            &harness.root_uri(),
            modern_caps(),
            json!({"approval": "auto"}),
        )
        .await;
    editor
}

async fn start(editor: &mut crate::editor::Editor, uri: &str, action: &str) -> Value {
    editor
        .call(
            "workspace/executeCommand",
            json!({"command": "lathe.action.run",
                   "arguments": [{"action": action, "uri": uri, "range": range(1, 4, 1, 4)}]}),
        )
        .await
}

#[tokio::test]
async fn multibyte_edit_ranges_are_exact_in_utf16_and_utf8() {
    for (caps, end) in [(utf16_caps(), 20), (modern_caps(), 27)] {
        let steps = vec![
            edit_step("src/main.rs", "😀e\u{301}x", "🎉e\u{301}y"),
            answer_expecting("applied in the editor"),
        ];
        let harness = Harness::new(steps, &[("src/main.rs", MAIN)]).await;
        let mut editor = harness.connect();
        editor
            .initialize(&harness.root_uri(), caps, json!({"approval": "auto"}))
            .await;
        let uri = harness.uri("src/main.rs");
        editor.open(&uri, "rust", MAIN).await;
        let started = start(&mut editor, &uri, "refactor").await;
        let applied = editor.wait_method("workspace/applyEdit").await;
        let edit = &applied["params"]["edit"];
        let edits = edit["documentChanges"][0]["edits"].clone();
        let edits = if edits.is_null() {
            edit["changes"][&uri].clone()
        } else {
            edits
        };
        let start_column = if end == 20 { 15 } else { 19 };
        assert_eq!(
            edits,
            json!([{"range": range(1, start_column, 1, end), "newText": "🎉e\u{301}y"}])
        );
        harness.run_end(&session_of(&started)).await;
        assert_eq!(
            editor.text(&uri),
            MAIN.replace("😀e\u{301}x", "🎉e\u{301}y")
        );
        harness.model.assert_played();
    }
}

#[tokio::test]
async fn a_refused_edit_is_reported_to_the_agent_and_the_user() {
    let steps = vec![
        edit_step("src/main.rs", "fn main", "fn start"),
        answer_expecting("refused the edit: read-only buffer"),
    ];
    let harness = Harness::new(steps, &[("src/main.rs", MAIN)]).await;
    let mut editor = auto_editor(&harness).await;
    editor.behave(|b| b.on_apply_edit = OnApplyEdit::Refuse("read-only buffer".into()));
    let uri = harness.uri("src/main.rs");
    editor.open(&uri, "rust", MAIN).await;
    let started = start(&mut editor, &uri, "refactor").await;
    let warning = editor
        .wait_for("the refusal", |m| {
            m["method"] == "window/showMessage" && m["params"]["type"] == 2
        })
        .await;
    assert_eq!(
        warning["params"]["message"],
        format!("Lathe: test-editor refused the edit: read-only buffer ({uri})")
    );
    harness.run_end(&session_of(&started)).await;
    harness.model.assert_played();
    assert_eq!(editor.text(&uri), MAIN);
    assert_eq!(
        harness.read("src/main.rs"),
        MAIN,
        "a refused edit is not written to disk"
    );
}

#[tokio::test]
async fn an_edit_the_editor_skipped_while_its_user_typed_is_not_taken_as_applied() {
    let steps = vec![
        edit_step("src/main.rs", "fn main", "fn start"),
        answer_expecting("the buffer does not hold it"),
    ];
    let harness = Harness::new(steps, &[("src/main.rs", MAIN)]).await;
    let mut editor = auto_editor(&harness).await;
    editor.behave(|b| b.on_apply_edit = OnApplyEdit::SkipWhileTyping("// typing\n".into()));
    let uri = harness.uri("src/main.rs");
    editor.open(&uri, "rust", MAIN).await;
    let started = start(&mut editor, &uri, "refactor").await;
    harness.run_end(&session_of(&started)).await;
    harness.model.assert_played();
    assert_eq!(editor.text(&uri), format!("{MAIN}// typing\n"));
    assert_eq!(harness.read("src/main.rs"), MAIN, "nor written to disk");
}

#[tokio::test]
async fn the_agent_reads_and_searches_open_files_as_the_editor_has_them() {
    let unsaved = MAIN.replace("fn main", "fn unsaved_name");
    let steps = vec![
        Step::tool_calls([("read_file", json!({"path": "src/main.rs"}))]),
        Step::tool_calls([("search", json!({"pattern": "unsaved_name"}))]).expecting(Expect {
            tool_result_contains: Some(
                "1\tfn unsaved_name() {\n2\t    let s = \"漢字😀e\u{301}x\";\n3\t}\n[as open in the \
                 editor, with unsaved changes: commands see the saved file]"
                    .into(),
            ),
            ..Expect::default()
        }),
        answer_expecting("src/main.rs:1: fn unsaved_name() {"),
    ];
    let harness = Harness::new(steps, &[("src/main.rs", MAIN)]).await;
    let mut editor = auto_editor(&harness).await;
    let uri = harness.uri("src/main.rs");
    editor.open(&uri, "rust", &unsaved).await;
    let started = start(&mut editor, &uri, "explain").await;
    harness.run_end(&session_of(&started)).await;
    harness.model.assert_played();
}

#[tokio::test]
async fn an_editor_that_never_answers_apply_edit_times_out() {
    let steps = vec![
        edit_step("src/main.rs", "fn main", "fn start"),
        answer_expecting("did not answer workspace/applyEdit within 1 s"),
    ];
    let mut harness = Harness::new(steps, &[("src/main.rs", MAIN)]).await;
    harness.services.timeouts.apply_edit = Duration::from_secs(1);
    let mut editor = auto_editor(&harness).await;
    editor.behave(|b| b.on_apply_edit = OnApplyEdit::Ignore);
    let uri = harness.uri("src/main.rs");
    editor.open(&uri, "rust", MAIN).await;
    let started = start(&mut editor, &uri, "refactor").await;
    let end = harness.run_end(&session_of(&started)).await;
    assert!(matches!(end, EventPayload::RunFinished { .. }), "{end:?}");
    harness.model.assert_played();
    // The server still serves this editor.
    editor.call("lathe/status", json!(null)).await;
}

#[tokio::test]
async fn edits_go_to_the_editor_holding_the_file_and_to_disk_otherwise() {
    let steps = vec![
        Step::tool_calls([
            (
                "edit_file",
                json!({"path": "src/main.rs", "old_string": "fn main", "new_string": "fn start"}),
            ),
            (
                "edit_file",
                json!({"path": "README.md", "old_string": "hello", "new_string": "hi"}),
            ),
        ]),
        Step::text("Done.").expecting(Expect {
            tool_result_contains: Some(
                "applied in the editor (unsaved there): src/main.rs (in holder)".into(),
            ),
            ..Expect::default()
        }),
    ];
    let harness = Harness::new(
        steps,
        &[
            ("src/main.rs", MAIN),
            ("README.md", "hello\n"),
            ("b.rs", "fn b() {}\n"),
        ],
    )
    .await;
    let mut holder = harness.connect();
    holder
        .initialize_as("holder", &harness.root_uri(), modern_caps(), json!(null))
        .await;
    let main_uri = harness.uri("src/main.rs");
    holder.open(&main_uri, "rust", MAIN).await;
    holder.call("lathe/status", json!(null)).await;

    let mut starter = connect_with(harness.services.clone());
    starter
        .initialize(
            &harness.root_uri(),
            modern_caps(),
            json!({"approval": "auto"}),
        )
        .await;
    let b_uri = harness.uri("b.rs");
    starter.open(&b_uri, "rust", "fn b() {}\n").await;
    let started = start(&mut starter, &b_uri, "refactor").await;
    harness.run_end(&session_of(&started)).await;
    assert_eq!(holder.text(&main_uri), MAIN.replace("fn main", "fn start"));
    assert_eq!(harness.read("src/main.rs"), MAIN);
    assert_eq!(harness.read("README.md"), "hi\n");
    harness.model.assert_played();
    // The checkpoint of the disk write is what undo restores, but not over a later change
    // unless the user says so.
    std::fs::write(harness.root().join("README.md"), "hi\nmine\n").unwrap();
    starter.behave(|b| b.press = Some("Keep my changes".into()));
    let kept = starter
        .call(
            "workspace/executeCommand",
            json!({"command": "lathe.undo", "arguments": [{}]}),
        )
        .await;
    assert_eq!(kept["undone"], false, "{kept}");
    assert!(
        kept["report"]
            .as_str()
            .unwrap()
            .contains("undo would lose changes made after the run to README.md"),
        "{kept}"
    );
    let asked = starter.wait_method("window/showMessageRequest").await;
    assert_eq!(
        asked["params"]["actions"],
        json!([{"title": "Undo anyway"}, {"title": "Keep my changes"}])
    );
    assert_eq!(harness.read("README.md"), "hi\nmine\n");
    starter.behave(|b| b.press = Some("Undo anyway".into()));
    let undone = starter
        .call(
            "workspace/executeCommand",
            json!({"command": "lathe.undo", "arguments": [{}]}),
        )
        .await;
    assert_eq!(harness.read("README.md"), "hello\n");
    assert_eq!(undone["undone"], true);
    assert!(
        undone["report"]
            .as_str()
            .unwrap()
            .contains("restored README.md"),
        "{undone}"
    );
}

fn stalling() -> Vec<Step> {
    vec![Step::reply(Reply {
        content: Some("Thinking about it for a long while".into()),
        chunk_chars: Some(4),
        fault: Some(StreamFault::StallAfter { after_chunks: 2 }),
        ..Reply::default()
    })]
}

#[tokio::test]
async fn progress_cancel_cancels_the_run() {
    let harness = Harness::new(stalling(), &[("src/main.rs", MAIN)]).await;
    let mut editor = harness.connect();
    editor
        .initialize(&harness.root_uri(), modern_caps(), json!(null))
        .await;
    let uri = harness.uri("src/main.rs");
    editor.open(&uri, "rust", MAIN).await;
    let started = start(&mut editor, &uri, "refactor").await;
    let token = started["progressToken"].clone();
    harness.model.wait_for_requests(1).await;
    editor
        .notify("window/workDoneProgress/cancel", json!({"token": token}))
        .await;
    let progress = editor.progress_until_end(&token).await;
    assert_eq!(
        progress.last().unwrap(),
        &json!({"kind": "end", "message": "Lathe: Refactor `main` was cancelled"})
    );
    let end = harness.run_end(&session_of(&started)).await;
    assert!(
        matches!(end, EventPayload::RunError { ref code, .. } if code.as_deref() == Some("cancelled")),
        "{end:?}"
    );
}

#[tokio::test]
async fn a_run_outlives_the_editor_that_started_it() {
    let steps = vec![Step::reply(Reply {
        content: Some("A slow but complete answer.".into()),
        chunk_chars: Some(2),
        token_delay_ms: 20,
        ..Reply::default()
    })];
    let harness = Harness::new(steps, &[("src/main.rs", MAIN)]).await;
    let mut editor = harness.connect();
    editor
        .initialize(&harness.root_uri(), modern_caps(), json!(null))
        .await;
    let uri = harness.uri("src/main.rs");
    editor.open(&uri, "rust", MAIN).await;
    let started = start(&mut editor, &uri, "refactor").await;
    harness.model.wait_for_requests(1).await;
    editor.close().await;
    let end = harness.run_end(&session_of(&started)).await;
    assert!(matches!(end, EventPayload::RunFinished { .. }), "{end:?}");
    assert!(
        harness.services.hub.editors().is_empty(),
        "the editor left the hub"
    );
}

/// Waits until the hub has forgotten every editor (a closed connection is noticed).
async fn until_no_editor(harness: &Harness) {
    tokio::time::timeout(crate::editor::PATIENCE, async {
        while !harness.services.hub.editors().is_empty() {
            tokio::task::yield_now().await;
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    })
    .await
    .expect("the closed editor stayed in the hub");
}

#[tokio::test]
async fn a_client_that_exits_while_asked_leaves_the_run_to_other_surfaces() {
    let steps = vec![
        edit_step("src/main.rs", "fn main", "fn start"),
        answer_expecting("src/main.rs"),
    ];
    let harness = Harness::new(steps, &[("src/main.rs", MAIN)]).await;
    let mut leaving = harness.connect();
    leaving
        .initialize_as("leaving", &harness.root_uri(), modern_caps(), json!(null))
        .await;
    leaving.behave(|b| b.press = None);
    let uri = harness.uri("src/main.rs");
    leaving.open(&uri, "rust", MAIN).await;
    let started = start(&mut leaving, &uri, "refactor").await;
    let session = session_of(&started);
    leaving.wait_method("window/showMessageRequest").await;
    leaving.close().await;
    until_no_editor(&harness).await;

    // The run waits in the daemon, its approval visible to every other surface.
    let pending = harness.agent.broker().pending();
    assert_eq!(
        pending
            .iter()
            .map(|p| p.session_id.clone())
            .collect::<Vec<_>>(),
        vec![session.clone()]
    );
    let mut other = harness.connect();
    other
        .initialize_as("other", &harness.root_uri(), modern_caps(), json!(null))
        .await;
    let answered = other
        .call(
            "workspace/executeCommand",
            json!({"command": "lathe.approval.answer",
                   "arguments": [{"id": pending[0].id, "decision": "allow_once"}]}),
        )
        .await;
    assert_eq!(answered, json!({"answered": pending[0].id}));

    let end = harness.run_end(&session).await;
    assert!(matches!(end, EventPayload::RunFinished { .. }), "{end:?}");
    harness.model.assert_played();
    assert_eq!(
        harness.read("src/main.rs"),
        MAIN.replace("fn main", "fn start"),
        "with no editor holding the file, the edit is written to disk"
    );
    let approvals = harness.store.approvals(Some(&session)).unwrap();
    assert!(
        matches!(
            &approvals[0].status,
            lathe_protocol::ApprovalStatus::Resolved { who: Some(who), .. } if who == "other"
        ),
        "{approvals:?}"
    );
}
