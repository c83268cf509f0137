//! `initialize`: encoding negotiation, capabilities, initialization options.

use crate::editor::{modern_caps, utf16_caps};
use crate::support::{Harness, connect_with, session_of};
use futures::future::BoxFuture;
use lathe_lsp::{
    AgentProvider, AgentService, EditorOverrides, LspError, LspServices, SandboxChoice,
};
use lathe_protocol::config::ApprovalMode;
use lathe_tests::scripted_model::Step;
use pretty_assertions::assert_eq;
use serde_json::json;
use std::path::Path;
use std::sync::{Arc, Mutex};

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

/// Hands out the harness's agent and records the overrides each editor asked for.
struct Recording {
    inner: Arc<dyn AgentProvider>,
    asked: Arc<Mutex<Vec<EditorOverrides>>>,
}

impl AgentProvider for Recording {
    fn agent(
        &self,
        workspace: &Path,
        overrides: &EditorOverrides,
    ) -> BoxFuture<'static, Result<Arc<dyn AgentService>, LspError>> {
        self.asked.lock().unwrap().push(overrides.clone());
        self.inner.agent(workspace, overrides)
    }
}

#[tokio::test]
async fn initialization_options_override_model_approval_and_sandbox_per_editor() {
    let lib = "pub fn one() -> i32 {\n    1\n}\n";
    let steps = vec![
        Step::tool_calls([(
            "edit_file",
            json!({"path": "lib.rs", "old_string": "    1", "new_string": "    2 - 1"}),
        )]),
        Step::text("Rewritten."),
        Step::text("Nothing to rewrite."),
    ];
    let harness = Harness::new(steps, &[("lib.rs", lib)]).await;
    let asked = Arc::new(Mutex::new(Vec::new()));
    let services = LspServices {
        agents: Arc::new(Recording {
            inner: harness.services.agents.clone(),
            asked: asked.clone(),
        }),
        ..harness.services.clone()
    };
    let uri = harness.uri("lib.rs");
    let here = json!({"start": {"line": 1, "character": 4}, "end": {"line": 1, "character": 4}});
    let run = json!({"command": "lathe.action.run",
                     "arguments": [{"action": "refactor", "uri": uri, "range": here}]});

    let mut tuned = connect_with(services.clone());
    tuned
        .initialize(
            &harness.root_uri(),
            modern_caps(),
            json!({"model": "small", "approval": "auto", "sandbox": "none"}),
        )
        .await;
    tuned.open(&uri, "rust", lib).await;
    let started = tuned.call("workspace/executeCommand", run.clone()).await;
    harness.run_end(&session_of(&started)).await;
    assert_eq!(tuned.text(&uri), "pub fn one() -> i32 {\n    2 - 1\n}\n");
    assert!(
        !tuned
            .backlog()
            .iter()
            .any(|m| m["method"] == "window/showMessageRequest"),
        "approval \"auto\" asks nothing: {:#?}",
        tuned.backlog()
    );

    let mut plain = connect_with(services);
    plain
        .initialize(&harness.root_uri(), modern_caps(), json!(null))
        .await;
    plain.open(&uri, "rust", lib).await;
    let started = plain.call("workspace/executeCommand", run).await;
    harness.run_end(&session_of(&started)).await;

    harness.model.assert_played();
    let models: Vec<_> = harness
        .model
        .requests()
        .iter()
        .map(|r| r.body["model"].clone())
        .collect();
    assert_eq!(
        models,
        vec![json!("small"), json!("small"), json!("gpt-4o")]
    );
    let tuned_overrides = EditorOverrides {
        model: Some("small".into()),
        approval: Some(ApprovalMode::Auto),
        sandbox: Some(SandboxChoice::None),
    };
    // Each connection asks the provider with its own overrides, at `initialized` and at
    // every action (the provider keeps the agents).
    let mut asked = asked.lock().unwrap().clone();
    let asks = asked.len();
    asked.dedup();
    assert_eq!(asked, vec![tuned_overrides, EditorOverrides::default()]);
    assert!(asks >= 4, "{asks} asks");
}
