//! Chat documents: Send streams the answer into the document through applyEdit and
//! continues the session; `/` completes the skills; built-in slash actions answer inline;
//! approvals race the other surfaces.

use crate::editor::modern_caps;
use crate::support::{Harness, session_of};
use lathe_agent::Answer;
use lathe_protocol::{ApprovalDecision, CustomEvent, EventPayload, Surface};
use lathe_tests::scripted_model::{Expect, Reply, Step};
use pretty_assertions::assert_eq;
use serde_json::json;

fn slow_text(text: &str) -> Step {
    Step::reply(Reply {
        content: Some(text.into()),
        chunk_chars: Some(3),
        token_delay_ms: 5,
        ..Reply::default()
    })
}

#[tokio::test]
async fn send_streams_the_answer_and_continues_the_session() {
    let steps = vec![
        slow_text("Four, as 2 + 2 = 4.").expecting(Expect {
            user_contains: Some("What is 2+2?".into()),
            ..Expect::default()
        }),
        Step::text("Six.").expecting(Expect {
            user_contains: Some("And 3+3?".into()),
            ..Expect::default()
        }),
    ];
    let harness = Harness::new(steps, &[]).await;
    let mut editor = harness.connect();
    editor
        .initialize(&harness.root_uri(), modern_caps(), json!(null))
        .await;
    let uri = harness.uri(".lathe/chat.lathe.md");
    let first = "## You\n\nWhat is 2+2?\n";
    editor.open(&uri, "markdown", first).await;
    let started = editor
        .call(
            "workspace/executeCommand",
            json!({"command": "lathe.chat.send", "arguments": [{"uri": uri}]}),
        )
        .await;
    let session = session_of(&started);
    editor.progress_until_end(&started["progressToken"]).await;
    let answered = format!(
        "{first}\n## Lathe <!-- session: {session} -->\n\nFour, as 2 + 2 = 4.\n\n## You\n\n"
    );
    assert_eq!(editor.text(&uri), answered);
    let writes = editor
        .backlog()
        .iter()
        .filter(|m| m["method"] == "workspace/applyEdit")
        .count();
    assert!(
        writes >= 3,
        "the heading, the streamed chunks and the next turn: {writes}"
    );

    let end = answered.lines().count() as u32 + 1;
    editor
        .edit(
            &uri,
            json!({"start": {"line": end, "character": 0}, "end": {"line": end, "character": 0}}),
            "And 3+3?\n",
        )
        .await;
    let again = editor
        .call(
            "workspace/executeCommand",
            json!({"command": "lathe.chat.send", "arguments": [{}]}),
        )
        .await;
    assert_eq!(
        session_of(&again),
        session,
        "the chat continues its session"
    );
    editor.progress_until_end(&again["progressToken"]).await;
    assert_eq!(
        editor.text(&uri),
        format!("{answered}And 3+3?\n\n## Lathe <!-- session: {session} -->\n\nSix.\n\n## You\n\n")
    );
    harness.model.assert_played();
}

#[tokio::test]
async fn a_second_send_while_the_answer_streams_is_refused() {
    let steps = vec![Step::reply(Reply {
        content: Some("Four, as 2 + 2 = 4.".into()),
        chunk_chars: Some(2),
        token_delay_ms: 40,
        ..Reply::default()
    })];
    let harness = Harness::new(steps, &[]).await;
    let mut editor = harness.connect();
    editor
        .initialize(&harness.root_uri(), modern_caps(), json!(null))
        .await;
    let uri = harness.uri(".lathe/chat.lathe.md");
    editor
        .open(&uri, "markdown", "## You\n\nWhat is 2+2?\n")
        .await;
    let send = json!({"command": "lathe.chat.send", "arguments": [{"uri": uri}]});
    let started = editor.call("workspace/executeCommand", send.clone()).await;
    let again = editor.request("workspace/executeCommand", send).await;
    assert!(
        again["error"]["message"]
            .as_str()
            .is_some_and(|m| m.contains("still streaming")),
        "{again}"
    );
    editor.progress_until_end(&started["progressToken"]).await;
    let text = editor.text(&uri);
    assert_eq!(text.matches("## Lathe").count(), 1, "{text}");
    assert!(
        text.ends_with("Four, as 2 + 2 = 4.\n\n## You\n\n"),
        "{text}"
    );
    harness.model.assert_played();
}

#[tokio::test]
async fn slash_commands_complete_from_the_skills_and_help_answers_inline() {
    let harness = Harness::new(Vec::new(), &[]).await;
    let mut editor = harness.connect();
    editor
        .initialize(&harness.root_uri(), modern_caps(), json!(null))
        .await;
    let uri = harness.uri("chat.lathe.md");
    editor.open(&uri, "markdown", "## You\n\n/rev").await;
    let listed = editor
        .call(
            "textDocument/completion",
            json!({"textDocument": {"uri": uri}, "position": {"line": 2, "character": 4}}),
        )
        .await;
    let items = listed["items"].as_array().unwrap();
    let review = items
        .iter()
        .find(|i| i["label"] == "/review")
        .expect("/review is offered");
    assert_eq!(review["detail"], "quality");
    assert!(
        review["documentation"]
            .as_str()
            .unwrap()
            .starts_with("Review code or a change")
    );
    assert_eq!(
        review["textEdit"],
        json!({"range": {"start": {"line": 2, "character": 0}, "end": {"line": 2, "character": 4}},
               "newText": "/review "})
    );
    assert!(
        items
            .iter()
            .all(|i| i["label"].as_str().unwrap().starts_with("/rev"))
    );
    let prose = editor
        .call(
            "textDocument/completion",
            json!({"textDocument": {"uri": uri}, "position": {"line": 0, "character": 2}}),
        )
        .await;
    assert_eq!(prose, json!(null));

    editor
        .edit(
            &uri,
            json!({"start": {"line": 2, "character": 0}, "end": {"line": 2, "character": 4}}),
            "/help",
        )
        .await;
    editor
        .call(
            "workspace/executeCommand",
            json!({"command": "lathe.chat.send", "arguments": [{"uri": uri}]}),
        )
        .await;
    let text = editor.text(&uri);
    assert!(
        text.starts_with("## You\n\n/help\n\n## Lathe\n\nSlash commands:\n"),
        "{text}"
    );
    assert!(text.contains("- `/review` — Review code"));
    assert!(text.ends_with("\n\n## You\n"), "{text}");

    let empty = editor
        .request(
            "workspace/executeCommand",
            json!({"command": "lathe.chat.send", "arguments": [{"uri": uri}]}),
        )
        .await;
    assert_eq!(
        empty["error"]["message"],
        "invalid arguments for lathe.chat.send: the message is empty: write it under the last `## You` heading"
    );
}

#[tokio::test]
async fn help_with_a_question_is_answered_by_the_model_from_the_skills_facts() {
    let steps = vec![
        Step::text("Add it under [mcp_servers] or in .mcp.json.").expecting(Expect {
            system_contains: Some("You answer questions about using Lathe".into()),
            user_contains: Some("how do I add an MCP server?".into()),
            ..Expect::default()
        }),
    ];
    let harness = Harness::new(steps, &[]).await;
    let mut editor = harness.connect();
    editor
        .initialize(&harness.root_uri(), modern_caps(), json!(null))
        .await;
    let uri = harness.uri("help.lathe.md");
    editor
        .open(
            &uri,
            "markdown",
            "## You\n\n/help how do I add an MCP server?\n",
        )
        .await;
    let started = editor
        .call(
            "workspace/executeCommand",
            json!({"command": "lathe.chat.send", "arguments": [{"uri": uri}]}),
        )
        .await;
    editor.progress_until_end(&started["progressToken"]).await;
    harness.model.assert_played();
    assert!(
        harness.model.requests()[0].tool_names().is_empty(),
        "help needs no tools"
    );
    assert!(
        editor
            .text(&uri)
            .contains("Add it under [mcp_servers] or in .mcp.json.")
    );
}

#[tokio::test]
async fn an_approval_answered_elsewhere_wins_and_the_late_answer_is_refused() {
    let steps = vec![
        Step::tool_calls([(
            "write_file",
            json!({"path": "new.txt", "content": "hello\n"}),
        )]),
        Step::text("I could not write it."),
    ];
    let harness = Harness::new(steps, &[]).await;
    let mut editor = harness.connect();
    editor
        .initialize(&harness.root_uri(), modern_caps(), json!(null))
        .await;
    editor.behave(|b| b.press = None);
    let uri = harness.uri("c.lathe.md");
    editor.open(&uri, "markdown", "Write new.txt please").await;
    let started = editor
        .call(
            "workspace/executeCommand",
            json!({"command": "lathe.chat.send", "arguments": [{"uri": uri}]}),
        )
        .await;
    let asked = editor.wait_method("window/showMessageRequest").await;
    assert!(
        asked["params"]["message"]
            .as_str()
            .unwrap()
            .starts_with("Lathe wants to")
    );
    let pending = harness.agent.broker().pending();
    assert_eq!(pending.len(), 1);
    let status = editor.call("lathe/status", json!(null)).await;
    assert_eq!(status["pendingApprovals"][0]["id"], pending[0].id.as_str());
    harness
        .agent
        .broker()
        .answer(
            &pending[0].id,
            Answer {
                decision: ApprovalDecision::Deny,
                by: Surface::Dashboard,
                who: Some("browser".into()),
            },
        )
        .unwrap();
    let late = editor
        .request(
            "workspace/executeCommand",
            json!({"command": "lathe.approval.answer",
                   "arguments": [{"id": pending[0].id, "decision": "allow_once"}]}),
        )
        .await;
    assert!(
        late["error"]["message"]
            .as_str()
            .unwrap()
            .contains("is not pending"),
        "{late}"
    );
    harness.run_end(&session_of(&started)).await;
    let resolved: Vec<_> = harness
        .events(&session_of(&started))
        .into_iter()
        .filter_map(|e| match e.payload {
            EventPayload::Custom(CustomEvent::ApprovalResolved(r)) => Some((r.decision, r.by)),
            _ => None,
        })
        .collect();
    assert_eq!(resolved, vec![(ApprovalDecision::Deny, Surface::Dashboard)]);
    assert!(!harness.root().join("new.txt").exists());
}

#[tokio::test]
async fn an_unanswered_prompt_times_out_as_a_deny() {
    let steps = vec![
        Step::tool_calls([(
            "write_file",
            json!({"path": "new.txt", "content": "hello\n"}),
        )]),
        Step::text("Not written."),
    ];
    let harness = Harness::with_config(steps, &[], |config| {
        config.policy.approval_timeout_secs = Some(1);
    })
    .await;
    let mut editor = harness.connect();
    editor
        .initialize(&harness.root_uri(), modern_caps(), json!(null))
        .await;
    editor.behave(|b| b.press = None);
    let uri = harness.uri("c.lathe.md");
    editor
        .open(&uri, "markdown", "Write new.txt please\n")
        .await;
    let started = editor
        .call(
            "workspace/executeCommand",
            json!({"command": "lathe.chat.send", "arguments": [{"uri": uri}]}),
        )
        .await;
    editor.wait_method("window/showMessageRequest").await;
    editor.progress_until_end(&started["progressToken"]).await;
    let resolved: Vec<_> = harness
        .events(&session_of(&started))
        .into_iter()
        .filter_map(|e| match e.payload {
            EventPayload::Custom(CustomEvent::ApprovalResolved(r)) => Some((r.decision, r.by)),
            _ => None,
        })
        .collect();
    assert_eq!(resolved, vec![(ApprovalDecision::Deny, Surface::Policy)]);
    assert!(editor.text(&uri).contains("Not written."));
    assert!(!harness.root().join("new.txt").exists());
}
