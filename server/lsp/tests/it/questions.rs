//! MCP servers' questions (elicitation) put to the editor's user: a connection that shows
//! message requests is a surface of the question broker for its workspace. A form of
//! choices becomes one `window/showMessageRequest` per field; a form with a required text
//! field is left to the other surfaces (here none, so it is declined without asking the
//! editor); a page to open is offered and opened with `window/showDocument`.

use crate::editor::{PATIENCE, modern_caps};
use crate::support::{Harness, connect_with};
use lathe_agent::QuestionBroker;
use lathe_protocol::{QuestionKind, QuestionReply};
use pretty_assertions::assert_eq;
use serde_json::json;

fn titles(request: &serde_json::Value) -> Vec<String> {
    request["params"]["actions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["title"].as_str().unwrap().to_owned())
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_editor_answers_forms_of_choices_and_opens_pages() {
    let harness = Harness::new(vec![], &[]).await;
    let broker = QuestionBroker::new(PATIENCE);
    let mut services = harness.services.clone();
    services.questions = Some(broker.clone());
    let mut editor = connect_with(services);
    editor.behave(|b| b.press = Some("Yes".into()));
    editor
        .initialize(&harness.root_uri(), modern_caps(), json!({}))
        .await;
    let root = harness.root();
    tokio::time::timeout(PATIENCE, async {
        while broker.attached(&root) == 0 {
            tokio::time::sleep(std::time::Duration::from_millis(10)).await;
        }
    })
    .await
    .expect("the editor attaches at initialized");

    let choices = json!({
        "type": "object",
        "properties": {
            "ok": {"type": "boolean", "title": "Go ahead?"},
            "note": {"type": "string", "description": "optional, not asked in an editor"}
        },
        "required": ["ok"]
    });
    let asked = broker.ask(
        &root,
        "deploy",
        "Deploy to staging?",
        QuestionKind::Form { schema: choices },
        PATIENCE,
    );
    let (reply, prompt) = tokio::join!(asked, editor.wait_method("window/showMessageRequest"));
    assert_eq!(
        reply,
        QuestionReply::Accept {
            content: json!({"ok": true})
        }
    );
    assert_eq!(
        prompt["params"]["message"],
        "The MCP server `deploy` asks: Deploy to staging?\nGo ahead?"
    );
    assert_eq!(titles(&prompt), ["Yes", "No", "Decline"]);

    let text = json!({
        "type": "object",
        "properties": {"name": {"type": "string"}},
        "required": ["name"]
    });
    let reply = broker
        .ask(
            &root,
            "deploy",
            "Your name?",
            QuestionKind::Form { schema: text },
            PATIENCE,
        )
        .await;
    assert_eq!(reply, QuestionReply::Decline, "no surface can fill in text");

    editor.behave(|b| b.press = Some("Open".into()));
    let url = QuestionKind::Url {
        url: "https://example.invalid/authorize".into(),
        elicitation_id: Some("e-1".into()),
    };
    let asked = broker.ask(&root, "oauth", "Sign in to continue", url, PATIENCE);
    let (reply, prompt) = tokio::join!(asked, editor.wait_method("window/showMessageRequest"));
    assert_eq!(
        reply,
        QuestionReply::Accept {
            content: serde_json::Value::Null
        }
    );
    assert_eq!(
        prompt["params"]["message"],
        "The MCP server `oauth` asks: Sign in to continue\nOpen https://example.invalid/authorize",
        "the text form was never put to the editor"
    );
    assert_eq!(titles(&prompt), ["Open", "Decline"]);
    let shown = editor.wait_method("window/showDocument").await;
    assert_eq!(
        (&shown["params"]["uri"], &shown["params"]["external"]),
        (&json!("https://example.invalid/authorize"), &json!(true))
    );

    editor.behave(|b| b.press = Some("Decline".into()));
    let schema =
        json!({"type": "object", "properties": {"size": {"type": "string", "enum": ["s", "l"]}}});
    let reply = broker
        .ask(
            &root,
            "shop",
            "Which size?",
            QuestionKind::Form { schema },
            PATIENCE,
        )
        .await;
    assert_eq!(reply, QuestionReply::Decline);

    editor.close().await;
    tokio::time::timeout(PATIENCE, async {
        while broker.attached(&root) != 0 {
            tokio::time::sleep(std::time::Duration::from_millis(10)).await;
        }
    })
    .await
    .expect("a closed editor leaves the broker");
}
