//! Malformed JSON-RPC, unknown methods and commands, requests about unopened documents,
//! positions past the end or inside a character: each gets a clear error (or is clamped)
//! and the connection goes on (only broken framing ends it).

use crate::editor::modern_caps;
use crate::support::Harness;
use pretty_assertions::assert_eq;
use serde_json::json;

fn frame(body: &str) -> Vec<u8> {
    format!("Content-Length: {}\r\n\r\n{body}", body.len()).into_bytes()
}

#[tokio::test]
async fn malformed_messages_are_answered_and_the_connection_goes_on() {
    let harness = Harness::new(Vec::new(), &[]).await;
    let mut editor = harness.connect();
    editor
        .initialize(&harness.root_uri(), modern_caps(), json!(null))
        .await;

    editor
        .send_raw(&frame("{\"jsonrpc\": \"2.0\", \"id\": 1, \"meth"))
        .await;
    let parse = editor
        .wait_for("a parse error", |m| m["error"]["code"] == -32700)
        .await;
    assert_eq!(parse["id"], json!(null));
    assert!(
        parse["error"]["message"]
            .as_str()
            .unwrap()
            .starts_with("invalid JSON")
    );

    editor.send_raw(&frame("[1, 2]")).await;
    let not_object = editor
        .wait_for("invalid request", |m| m["error"]["code"] == -32600)
        .await;
    assert_eq!(
        not_object["error"]["message"],
        "a JSON-RPC message must be an object"
    );

    editor
        .send_raw(&frame(
            r#"{"jsonrpc": "1.0", "id": 77, "method": "lathe/status"}"#,
        ))
        .await;
    let version = editor
        .wait_for("invalid request 77", |m| m["id"] == 77)
        .await;
    assert_eq!(version["error"]["code"], -32600);

    let unknown = editor.request("textDocument/teleport", json!({})).await;
    assert_eq!(unknown["error"]["code"], -32601);
    assert_eq!(unknown["error"]["data"], "textDocument/teleport");

    editor.notify("$/unknownNotification", json!({})).await;
    let command = editor
        .request(
            "workspace/executeCommand",
            json!({"command": "rm.rf", "arguments": []}),
        )
        .await;
    assert_eq!(command["error"]["code"], -32602);
    assert_eq!(
        command["error"]["message"],
        "unknown command \"rm.rf\"; Lathe's commands start with `lathe.`"
    );
    let bad_args = editor
        .request(
            "workspace/executeCommand",
            json!({"command": "lathe.approval.answer", "arguments": [{"id": "a1", "decision": "maybe"}]}),
        )
        .await;
    assert!(
        bad_args["error"]["message"]
            .as_str()
            .unwrap()
            .starts_with("invalid arguments for lathe.approval.answer")
    );

    let status = editor.call("lathe/status", json!(null)).await;
    assert_eq!(status["positionEncoding"], "utf-8");
}

#[tokio::test]
async fn requests_about_unopened_documents_say_so() {
    let harness = Harness::new(Vec::new(), &[("a.rs", "fn a() {}\n")]).await;
    let mut editor = harness.connect();
    editor
        .initialize(&harness.root_uri(), modern_caps(), json!(null))
        .await;
    let uri = harness.uri("a.rs");
    let range = json!({"start": {"line": 0, "character": 0}, "end": {"line": 0, "character": 0}});
    let listed = editor
        .request(
            "textDocument/codeAction",
            json!({"textDocument": {"uri": uri}, "range": range, "context": {"diagnostics": []}}),
        )
        .await;
    assert_eq!(
        listed["error"],
        json!({"code": -32602, "message": format!("{uri} is not open; send textDocument/didOpen before asking about it")})
    );
    let ran = editor
        .request(
            "workspace/executeCommand",
            json!({"command": "lathe.action.run",
                   "arguments": [{"action": "document", "uri": uri, "range": range}]}),
        )
        .await;
    assert_eq!(ran["error"]["code"], -32602);
    let completion = editor
        .request(
            "textDocument/completion",
            json!({"textDocument": {"uri": uri}, "position": {"line": 0, "character": 0}}),
        )
        .await;
    assert_eq!(completion["error"]["code"], -32602);
}

#[tokio::test]
async fn broken_framing_is_answered_then_the_connection_closes() {
    let harness = Harness::new(Vec::new(), &[]).await;
    let mut editor = harness.connect();
    editor
        .initialize(&harness.root_uri(), modern_caps(), json!(null))
        .await;
    editor.send_raw(b"Content-Length: lots\r\n\r\n{}").await;
    let reply = editor
        .wait_for("a parse error", |m| m["error"]["code"] == -32700)
        .await;
    assert_eq!(reply["error"]["message"], "invalid Content-Length \"lots\"");
    // Another connection is unaffected.
    let mut other = harness.connect();
    other
        .initialize(&harness.root_uri(), modern_caps(), json!(null))
        .await;
}

#[tokio::test]
async fn positions_past_the_end_or_inside_a_character_are_clamped_in_requests() {
    let main = "fn main() {\n    let s = \"漢字\";\n}\n";
    let steps = vec![
        lathe_tests::scripted_model::Step::text("Nothing to change.").expecting(
            lathe_tests::scripted_model::Expect {
                user_contains: Some("## Code context".into()),
                ..Default::default()
            },
        ),
    ];
    let harness = Harness::new(steps, &[("src/main.rs", main)]).await;
    let mut editor = harness.connect();
    editor
        .initialize(
            &harness.root_uri(),
            modern_caps(),
            json!({"approval": "auto"}),
        )
        .await;
    let uri = harness.uri("src/main.rs");
    let chat = harness.uri("c.lathe.md");
    editor.open(&uri, "rust", main).await;
    editor.open(&chat, "markdown", "## You\n\n/he").await;

    let far = json!({"start": {"line": 500, "character": 0}, "end": {"line": 900, "character": 7}});
    let listed = editor
        .call(
            "textDocument/codeAction",
            json!({"textDocument": {"uri": uri}, "range": far, "context": {"diagnostics": []}}),
        )
        .await;
    assert_eq!(listed.as_array().unwrap().len(), 7);

    // UTF-8 was negotiated: character 14 is inside 漢 (bytes 13..16), the end is past the file.
    let odd = json!({"start": {"line": 1, "character": 14}, "end": {"line": 900, "character": 99}});
    let started = editor
        .call(
            "workspace/executeCommand",
            json!({"command": "lathe.action.run",
                   "arguments": [{"action": "refactor", "uri": uri, "range": odd}]}),
        )
        .await;
    let progress = editor.progress_until_end(&started["progressToken"]).await;
    assert_eq!(progress.last().unwrap()["message"], "done");
    harness.model.assert_played();

    let past_line = editor
        .call(
            "textDocument/completion",
            json!({"textDocument": {"uri": chat}, "position": {"line": 2, "character": 99}}),
        )
        .await;
    let labels: Vec<&str> = past_line
        .as_array()
        .or_else(|| past_line["items"].as_array())
        .unwrap()
        .iter()
        .map(|item| item["label"].as_str().unwrap())
        .collect();
    assert!(labels.contains(&"/help"), "{labels:?}");
    let past_file = editor
        .call(
            "textDocument/completion",
            json!({"textDocument": {"uri": chat}, "position": {"line": 40, "character": 0}}),
        )
        .await;
    assert_eq!(past_file, json!(null));
}
