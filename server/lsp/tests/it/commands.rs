//! The commands of DESIGN.md §10 not covered elsewhere, run as an editor runs them: Fix
//! with the diagnostics in range, `lathe.skill.run`, "Run skill…" asking which skill,
//! `lathe.run.cancel`, `lathe.session.new` with the chat's "Send" action, and
//! `lathe.dashboard.open`; and requests that answer while the model is busy.

use crate::editor::modern_caps;
use crate::support::{Harness, connect_with, session_of};
use lathe_lsp::{AgentBackend, FixedAgent, LspServices};
use lathe_protocol::EventPayload;
use lathe_tests::scripted_model::{Expect, Reply, Step, StreamFault};
use pretty_assertions::assert_eq;
use serde_json::{Value, json};
use std::sync::Arc;

const LIB: &str = "pub fn add(a: i32, b: i32) -> i32 {\n    a + b\n}\n";

fn point(line: u32, character: u32) -> Value {
    json!({"start": {"line": line, "character": character}, "end": {"line": line, "character": character}})
}

fn user_contains(text: &str) -> Expect {
    Expect {
        user_contains: Some(text.into()),
        ..Expect::default()
    }
}

#[tokio::test]
async fn fix_sends_the_diagnostics_in_range_to_the_model() {
    let steps = vec![Step::text("The types now match.").expecting(user_contains(
        "src/lib.rs:2:5: error: mismatched types: expected `i32`",
    ))];
    let harness = Harness::new(steps, &[("src/lib.rs", LIB)]).await;
    let mut editor = harness.connect();
    editor
        .initialize(
            &harness.root_uri(),
            modern_caps(),
            json!({"approval": "auto"}),
        )
        .await;
    let uri = harness.uri("src/lib.rs");
    editor.open(&uri, "rust", LIB).await;
    let diagnostic = json!({"range": {"start": {"line": 1, "character": 4}, "end": {"line": 1, "character": 9}},
        "severity": 1, "source": "rustc", "message": "mismatched types: expected `i32`"});
    let actions = editor
        .call(
            "textDocument/codeAction",
            json!({"textDocument": {"uri": uri}, "range": point(1, 6),
                   "context": {"diagnostics": [diagnostic]}}),
        )
        .await;
    let fix = &actions[0];
    assert_eq!(fix["title"], "Lathe: Fix 1 problem");
    let started = editor
        .call(
            "workspace/executeCommand",
            json!({"command": fix["command"]["command"], "arguments": fix["command"]["arguments"]}),
        )
        .await;
    let progress = editor.progress_until_end(&started["progressToken"]).await;
    assert_eq!(progress[0]["title"], "Lathe: Fix `add`");
    assert_eq!(progress.last().unwrap()["message"], "done");
    harness.model.assert_played();
}

#[tokio::test]
async fn skill_run_and_run_skill_ask_which_skill_then_run_it() {
    let steps = vec![
        Step::text("Use a fold.").expecting(user_contains("make it shorter")),
        Step::text("Already minimal.").expecting(user_contains("## Code context")),
    ];
    let harness = Harness::new(steps, &[("src/lib.rs", LIB)]).await;
    let mut editor = harness.connect();
    editor
        .initialize(
            &harness.root_uri(),
            modern_caps(),
            json!({"approval": "auto"}),
        )
        .await;
    let uri = harness.uri("src/lib.rs");
    editor.open(&uri, "rust", LIB).await;

    let started = editor
        .call(
            "workspace/executeCommand",
            json!({"command": "lathe.skill.run", "arguments": [{"skill": "refactor",
                   "input": "make it shorter", "uri": uri, "range": point(1, 4)}]}),
        )
        .await;
    let progress = editor.progress_until_end(&started["progressToken"]).await;
    assert_eq!(progress[0]["title"], "Lathe: /refactor `add`");
    let shown = editor.wait_method("window/showMessage").await;
    assert_eq!(
        shown["params"]["message"],
        "Lathe: /refactor `add`: Use a fold."
    );

    // "Run skill…" without a skill: the editor is asked which one, then it runs.
    editor.behave(|b| b.press = Some("refactor".into()));
    let run_skill = editor
        .call(
            "codeAction/resolve",
            json!({"title": "Lathe: Run skill…", "kind": "source",
                   "data": {"action": "run-skill", "uri": uri, "range": point(1, 4)}}),
        )
        .await;
    let asked = editor
        .call(
            "workspace/executeCommand",
            json!({"command": run_skill["command"]["command"],
                   "arguments": run_skill["command"]["arguments"]}),
        )
        .await;
    assert_eq!(asked, json!({"asked": "skill"}));
    let question = editor.wait_method("window/showMessageRequest").await;
    assert_eq!(question["params"]["message"], "Run which Lathe skill?");
    let offered: Vec<&str> = question["params"]["actions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["title"].as_str().unwrap())
        .collect();
    assert!(
        offered.contains(&"refactor") && offered.contains(&"fix"),
        "{offered:?}"
    );
    let shown = editor.wait_method("window/showMessage").await;
    assert_eq!(
        shown["params"]["message"],
        "Lathe: /refactor `add`: Already minimal."
    );
    harness.model.assert_played();
}

#[tokio::test]
async fn run_skill_without_a_skill_says_how_when_the_editor_cannot_offer_a_choice() {
    let lib = "pub fn add(a: i32, b: i32) -> i32 {\n    a + b\n}\n";
    let harness = Harness::new(vec![], &[("src/lib.rs", lib)]).await;
    let mut editor = harness.connect();
    let without_prompts = json!({"workspace": {"applyEdit": true}});
    editor
        .initialize(&harness.root_uri(), without_prompts, json!(null))
        .await;
    let uri = harness.uri("src/lib.rs");
    editor.open(&uri, "rust", lib).await;
    let refused = editor
        .request(
            "workspace/executeCommand",
            json!({"command": "lathe.action.run",
                   "arguments": [{"action": "run-skill", "uri": uri, "range": point(1, 4)}]}),
        )
        .await;
    let message = refused["error"]["message"].as_str().unwrap_or_default();
    assert!(
        message.contains("cannot show a choice of skills") && message.contains("/refactor"),
        "{refused}"
    );
}

#[tokio::test]
async fn requests_answer_while_the_model_stalls_and_run_cancel_stops_the_run() {
    let steps = vec![Step::reply(Reply {
        content: Some("Thinking about it for a long while".into()),
        chunk_chars: Some(4),
        fault: Some(StreamFault::StallAfter { after_chunks: 2 }),
        ..Reply::default()
    })];
    let harness = Harness::new(steps, &[("src/lib.rs", LIB)]).await;
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
                   "arguments": [{"action": "refactor", "uri": uri, "range": point(1, 4)}]}),
        )
        .await;
    let session = session_of(&started);
    harness.model.wait_for_requests(1).await;

    // The model is stuck mid-answer; the editor is not.
    editor.edit(&uri, point(1, 4), "// sum\n    ").await;
    let actions = editor
        .call(
            "textDocument/codeAction",
            json!({"textDocument": {"uri": uri}, "range": point(2, 4), "context": {"diagnostics": []}}),
        )
        .await;
    assert_eq!(actions.as_array().unwrap().len(), 7);
    let status = editor.call("lathe/status", json!(null)).await;
    assert_eq!(
        status["runs"],
        json!([{"sessionId": session, "title": "Lathe: Refactor `add`"}])
    );

    let cancelled = editor
        .call(
            "workspace/executeCommand",
            json!({"command": "lathe.run.cancel", "arguments": [{"sessionId": session}]}),
        )
        .await;
    assert_eq!(cancelled, json!({"cancelled": 1}));
    let end = harness.run_end(&session).await;
    assert!(
        matches!(end, EventPayload::RunError { ref code, .. } if code.as_deref() == Some("cancelled")),
        "{end:?}"
    );
    let progress = editor.progress_until_end(&started["progressToken"]).await;
    assert_eq!(
        progress.last().unwrap(),
        &json!({"kind": "end", "message": "Lathe: Refactor `add` was cancelled"})
    );
}

#[tokio::test]
async fn session_new_gives_the_chat_a_fresh_session_and_dashboard_open_shows_it() {
    let steps = vec![Step::text("Hello again.")];
    let harness = Harness::new(steps, &[]).await;
    let backend = AgentBackend::new(harness.agent.clone())
        .with_dashboard("http://127.0.0.1:7070/?token=secret");
    let services = LspServices {
        agents: Arc::new(FixedAgent(Arc::new(backend))),
        ..harness.services.clone()
    };
    let mut editor = connect_with(services);
    editor
        .initialize(&harness.root_uri(), modern_caps(), json!(null))
        .await;
    let chat = harness.uri("c.lathe.md");
    editor.open(&chat, "markdown", "## You\n\nhello\n").await;

    let fresh = editor
        .call(
            "workspace/executeCommand",
            json!({"command": "lathe.session.new", "arguments": [{"uri": chat}]}),
        )
        .await;
    // The chat document's one code action, "Send", runs the last user block.
    let actions = editor
        .call(
            "textDocument/codeAction",
            json!({"textDocument": {"uri": chat}, "range": point(2, 0), "context": {"diagnostics": []}}),
        )
        .await;
    let [send] = actions.as_array().unwrap().as_slice() else {
        panic!("one action in a chat document: {actions}");
    };
    assert_eq!(send["title"], "Lathe: Send");
    let sent = editor
        .call(
            "workspace/executeCommand",
            json!({"command": send["command"]["command"], "arguments": send["command"]["arguments"]}),
        )
        .await;
    assert_eq!(sent["sessionId"], fresh["sessionId"]);
    editor.progress_until_end(&sent["progressToken"]).await;
    let session = session_of(&sent);
    assert_eq!(
        editor.text(&chat),
        format!(
            "## You\n\nhello\n\n## Lathe <!-- session: {session} -->\n\nHello again.\n\n## You\n\n"
        )
    );
    harness.model.assert_played();

    let opened = editor
        .call(
            "workspace/executeCommand",
            json!({"command": "lathe.dashboard.open", "arguments": []}),
        )
        .await;
    let on_session = format!("http://127.0.0.1:7070/?token=secret#/session/{session}");
    assert_eq!(
        opened,
        json!({ "url": on_session }),
        "the editor's last session"
    );
    let shown = editor.wait_method("window/showDocument").await;
    assert_eq!(
        shown["params"],
        json!({"uri": on_session, "external": true, "takeFocus": true})
    );
    let named = editor
        .call(
            "workspace/executeCommand",
            json!({"command": "lathe.dashboard.open", "arguments": [{"sessionId": "s-9"}]}),
        )
        .await;
    assert_eq!(
        named,
        json!({"url": "http://127.0.0.1:7070/?token=secret#/session/s-9"})
    );

    // Without a dashboard the command says how to get one.
    let mut plain = harness.connect();
    plain
        .initialize(&harness.root_uri(), modern_caps(), json!(null))
        .await;
    let refused = plain
        .request(
            "workspace/executeCommand",
            json!({"command": "lathe.dashboard.open", "arguments": []}),
        )
        .await;
    assert_eq!(
        refused["error"]["message"],
        "no dashboard is running; `lathe serve` starts one"
    );
}
