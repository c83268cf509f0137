//! `initialize`: encoding negotiation, capabilities, initialization options.

use crate::editor::{modern_caps, utf16_caps};
use crate::support::Harness;
use pretty_assertions::assert_eq;
use serde_json::json;

#[tokio::test]
async fn negotiates_utf8_when_offered_and_advertises_what_it_serves() {
    let harness = Harness::new(Vec::new(), &[]).await;
    let mut editor = harness.connect();
    let result = editor
        .initialize(&harness.root_uri(), modern_caps(), json!(null))
        .await;
    assert_eq!(
        result,
        json!({
            "capabilities": {
                "positionEncoding": "utf-8",
                "textDocumentSync": {"openClose": true, "change": 2},
                "codeActionProvider": {"codeActionKinds": ["quickfix", "refactor.rewrite", "source"],
                                       "resolveProvider": true},
                "executeCommandProvider": {"commands": [
                    "lathe.action.run", "lathe.chat.send", "lathe.skill.run", "lathe.run.cancel",
                    "lathe.undo", "lathe.session.new", "lathe.approval.answer", "lathe.dashboard.open"]},
                "completionProvider": {"triggerCharacters": ["/"], "resolveProvider": false}
            },
            "serverInfo": {"name": "lathe", "version": env!("CARGO_PKG_VERSION")}
        })
    );
    let status = editor.call("lathe/status", json!(null)).await;
    assert_eq!(
        status,
        json!({"positionEncoding": "utf-8", "workspace": harness.root().display().to_string(),
               "runs": [], "pendingApprovals": []})
    );
}

#[tokio::test]
async fn falls_back_to_utf16_without_utf8() {
    let harness = Harness::new(Vec::new(), &[]).await;
    for caps in [
        utf16_caps(),
        json!({}),
        json!({"general": {"positionEncodings": ["utf-32", "utf-16"]}}),
    ] {
        let mut editor = harness.connect();
        let result = editor
            .initialize(&harness.root_uri(), caps, json!(null))
            .await;
        assert_eq!(result["capabilities"]["positionEncoding"], "utf-16");
    }
}

#[tokio::test]
async fn bad_initialization_options_fail_initialize_with_the_field_named() {
    let harness = Harness::new(Vec::new(), &[]).await;
    let mut editor = harness.connect();
    let response = editor
        .request(
            "initialize",
            json!({"capabilities": {}, "rootUri": harness.root_uri(),
                   "initializationOptions": {"approval": "sometimes"}}),
        )
        .await;
    assert_eq!(response["error"]["code"], -32602);
    let message = response["error"]["message"].as_str().unwrap();
    assert!(
        message.contains("invalid initializationOptions") && message.contains("sometimes"),
        "{message}"
    );
    let retried = editor
        .request(
            "initialize",
            json!({"capabilities": {}, "rootUri": harness.root_uri(),
                   "initializationOptions": {"approval": "auto", "model": "small"}}),
        )
        .await;
    assert!(retried.get("error").is_none(), "{retried}");
}

#[tokio::test]
async fn a_workspace_the_agent_does_not_serve_is_reported_not_fatal() {
    let harness = Harness::new(Vec::new(), &[]).await;
    let elsewhere = tempfile::tempdir().unwrap();
    let mut editor = harness.connect();
    editor
        .initialize(
            &lathe_lsp::file_uri(elsewhere.path()),
            modern_caps(),
            json!(null),
        )
        .await;
    let shown = editor.wait_method("window/showMessage").await;
    let message = shown["params"]["message"].as_str().unwrap();
    assert!(message.contains("serves the workspace"), "{message}");
    let status = editor.call("lathe/status", json!(null)).await;
    assert!(
        status["agentError"]
            .as_str()
            .unwrap()
            .contains("serves the workspace")
    );
}
