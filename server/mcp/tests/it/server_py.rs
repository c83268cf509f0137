//! Lathe's MCP server driven by the Python SDK's client (`tests/it/py/drive_lathe.py`):
//! over stdio (the `stdio_server` example, as `lathe mcp --in-process` runs) and over
//! streamable HTTP at `/mcp` with a bearer token, in both lifecycles — `legacy`
//! (initialize, approvals by `elicitation/create`) and `auto` (2026-07-28 discovery,
//! approvals by `input_required` rounds). The agent runs against the testkit's scripted
//! model and calls a real MCP server's tool through the hub, which the policy sends to
//! the client for approval.

use crate::support::{test_file, venv_bin};
use lathe_mcp::config::ServerConfig;
use lathe_mcp::server::assemble::{BuildOptions, Built, build};
use lathe_mcp::{HttpOptions, http_service};
use lathe_protocol::config::{ModelConfig, PolicyConfig};
use lathe_tests::scripted_model::{Script, ScriptedModel, Step};
use pretty_assertions::assert_eq;
use serde_json::{Value, json};
use std::path::Path;
use std::time::Duration;
use tokio_util::sync::CancellationToken;

async fn model() -> ScriptedModel {
    ScriptedModel::start(Script::new([
        Step::tool_calls([("mcp__blocking__echo", json!({"text": "hi"}))]),
        Step::text("The server said: echo: hi"),
        Step::text("You're welcome."),
    ]))
    .await
    .unwrap()
}

fn blocking_command() -> (String, String) {
    (venv_bin("python"), test_file("servers/blocking_server.py"))
}

fn workspace() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("lib.rs"),
        "pub fn answer() -> u32 {\n    42\n}\n",
    )
    .unwrap();
    dir
}

async fn drive(args: &[&str], envs: &[(&str, String)]) -> Value {
    let output = tokio::process::Command::new(venv_bin("python"))
        .arg(test_file("py/drive_lathe.py"))
        .args(args)
        .envs(envs.iter().map(|(k, v)| (*k, v.as_str())))
        .output()
        .await
        .unwrap();
    assert!(
        output.status.success(),
        "drive_lathe.py failed: {}\n{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    serde_json::from_slice(&output.stdout).unwrap()
}

/// Checks what the client saw, except what differs by transport and lifecycle.
fn check(mut seen: Value, protocol: &str) {
    let object = seen.as_object_mut().unwrap();
    let transcript = object.remove("transcript").unwrap();
    let transcript = transcript.as_str().unwrap();
    for expected in [
        "## User\n\nEcho hi through the blocking server",
        "**Tool call** `mcp__blocking__echo` `{\"text\":\"hi\"}`",
        "> Approval asked: ",
        "> Approval AllowOnce by Mcp (",
        "Tool result:\n\n```text\necho: hi\n```",
        "## Assistant\n\nThe server said: echo: hi",
        "## User\n\nThanks",
        "## Assistant\n\nYou're welcome.",
    ] {
        assert!(
            transcript.contains(expected),
            "{expected:?} not in:\n{transcript}"
        );
    }
    let exec = object.remove("exec").unwrap();
    let exec_asked = exec["asked"].as_array().unwrap();
    assert!(
        exec_asked.len() == 1
            && exec_asked[0]
                .as_str()
                .unwrap()
                .starts_with("Lathe asks to run_command(echo approved)"),
        "sandbox_exec asks once, through the broker: {exec}"
    );
    assert_eq!(
        exec["text"],
        "no sandbox is available to this Lathe server; `lathe doctor` says how to set one up",
        "approved, then run (where there is no sandbox, refused as such)"
    );
    let asked = object.remove("asked").unwrap();
    assert_eq!(asked.as_array().unwrap().len(), 1, "{asked}");
    assert!(
        asked[0]
            .as_str()
            .unwrap()
            .starts_with("Lathe asks to mcp__blocking__echo"),
        "{asked}"
    );
    let list_changed = object.remove("resource_list_changed").unwrap();
    // 2025-11-25 clients get list_changed on their session; 2026-07-28 clients would have
    // to open a `subscriptions/listen` stream, which this client does not.
    assert_eq!(list_changed, json!(protocol != "2026-07-28"));
    let progress = object.remove("progress").unwrap();
    let progress: Vec<&str> = progress
        .as_array()
        .unwrap()
        .iter()
        .filter_map(Value::as_str)
        .collect();
    if protocol != "2026-07-28" {
        assert!(
            progress.contains(&"calling mcp__blocking__echo"),
            "{progress:?}"
        );
    }
    assert_eq!(
        seen,
        json!({
            "protocol": protocol,
            "server": "lathe",
            "tools": ["cancel", "code_context", "list_sessions", "reply", "repo_map", "run_task", "sandbox_exec"],
            "annotations": {
                "cancel": [false, false], "code_context": [true, false], "list_sessions": [true, false],
                "repo_map": [true, false], "reply": [false, true], "run_task": [false, true],
                "sandbox_exec": [false, true]
            },
            "has_output_schemas": true,
            "run": {"isError": false, "status": "finished", "answer": "The server said: echo: hi", "diffSummary": "no files changed"},
            "reply": {"isError": false, "answer": "You're welcome."},
            "sessions": [true],
            "transcript_types": ["text/markdown", "application/json"],
            "event_types": ["CUSTOM", "RUN_FINISHED", "RUN_STARTED", "STEP_FINISHED", "STEP_STARTED", "TEXT_MESSAGE_CONTENT", "TEXT_MESSAGE_END",
                            "TEXT_MESSAGE_START", "TOOL_CALL_ARGS", "TOOL_CALL_END", "TOOL_CALL_RESULT", "TOOL_CALL_START"],
            "diff": {"mime": "text/x-diff", "text": ""},
            "completes_session": true,
            "templates": ["lathe://sessions/{id}", "lathe://sessions/{id}/diff"],
            "prompt_count": seen["prompt_count"].clone(),
            "fix_prompt": true,
            "cancel": {"sessionId": seen["cancel"]["sessionId"].clone(), "cancelled": false},
            "missing_file_is_error": true,
        })
    );
    assert!(seen["prompt_count"].as_u64().unwrap() >= 20, "{seen}");
}

fn stdio_server_binary() -> String {
    let exe = std::env::current_exe().unwrap();
    let dir = exe.parent().unwrap().parent().unwrap();
    let binary = dir.join("examples/stdio_server");
    assert!(
        binary.exists(),
        "{} is built by `cargo test -p lathe-mcp`",
        binary.display()
    );
    binary.to_string_lossy().into_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn python_client_over_stdio() {
    let model = model().await;
    let workspace = workspace();
    let home = tempfile::tempdir().unwrap();
    let (python, script) = blocking_command();
    let seen = drive(
        &["stdio", "legacy", &stdio_server_binary()],
        &[
            (
                "LATHE_TEST_WORKSPACE",
                workspace.path().to_string_lossy().into_owned(),
            ),
            (
                "LATHE_TEST_STORE",
                home.path()
                    .join("store.redb")
                    .to_string_lossy()
                    .into_owned(),
            ),
            ("LATHE_TEST_MODEL_URL", model.base_url()),
            (
                "LATHE_TEST_MCP_SERVER",
                format!("blocking={python} {script}"),
            ),
        ],
    )
    .await;
    check(seen, "2025-11-25");
    model.assert_played();
}

async fn http_server(
    workspace: &Path,
    model: &ScriptedModel,
    home: &Path,
) -> (Built, String, CancellationToken) {
    let (python, script) = blocking_command();
    let mut blocking = ServerConfig::stdio("blocking", &python, &[&script]);
    blocking.startup_timeout = Duration::from_secs(60);
    let built = build(BuildOptions {
        store: lathe_store::Store::open(&home.join("store.redb")).unwrap(),
        workspace: workspace.to_path_buf(),
        model: ModelConfig {
            base_url: Some(model.base_url()),
            model: Some("scripted".into()),
            max_retries: 0,
            ..ModelConfig::default()
        },
        policy: PolicyConfig::default(),
        mcp_servers: vec![blocking],
        skills: lathe_skills::SkillRoots::default(),
        commands: None,
        repo_map_cache: None,
    })
    .unwrap();
    built.hub.ready().await;
    let shutdown = CancellationToken::new();
    let service = http_service(
        built.shared.clone(),
        HttpOptions {
            token: Some("s3cret".into()),
            shutdown: shutdown.clone(),
        },
    );
    let app = axum::Router::new().nest_service("/mcp", service);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!(
        "http://127.0.0.1:{}/mcp",
        listener.local_addr().unwrap().port()
    );
    let stop = shutdown.clone();
    tokio::spawn(async move {
        axum::serve(listener, app)
            .with_graceful_shutdown(async move { stop.cancelled().await })
            .await
            .unwrap();
    });
    (built, url, shutdown)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn python_client_over_http_with_elicitation() {
    let model = model().await;
    let workspace = workspace();
    let home = tempfile::tempdir().unwrap();
    let (built, url, shutdown) = http_server(workspace.path(), &model, home.path()).await;
    check(
        drive(&["http", "legacy", &url, "s3cret"], &[]).await,
        "2025-11-25",
    );
    model.assert_played();
    shutdown.cancel();
    built.hub.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn python_client_over_http_with_input_required_rounds() {
    let model = model().await;
    let workspace = workspace();
    let home = tempfile::tempdir().unwrap();
    let (built, url, shutdown) = http_server(workspace.path(), &model, home.path()).await;
    check(
        drive(&["http", "auto", &url, "s3cret"], &[]).await,
        "2026-07-28",
    );
    model.assert_played();
    shutdown.cancel();
    built.hub.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn http_requires_the_token_and_a_loopback_host() {
    let model = model().await;
    let workspace = workspace();
    let home = tempfile::tempdir().unwrap();
    let (built, url, shutdown) = http_server(workspace.path(), &model, home.path()).await;
    let client = reqwest::Client::new();
    let initialize = json!({"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {
        "protocolVersion": "2025-11-25", "capabilities": {}, "clientInfo": {"name": "t", "version": "1"}}});
    let post = |token: Option<&str>, host: Option<&str>| {
        let mut request = client
            .post(&url)
            .header("Accept", "application/json, text/event-stream")
            .json(&initialize);
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        if let Some(host) = host {
            request = request.header("Host", host);
        }
        request.send()
    };
    assert_eq!(post(None, None).await.unwrap().status(), 401);
    assert_eq!(post(Some("wrong"), None).await.unwrap().status(), 401);
    assert!(
        post(Some("s3cret"), Some("evil.example"))
            .await
            .unwrap()
            .status()
            .is_client_error()
    );
    assert_eq!(post(Some("s3cret"), None).await.unwrap().status(), 200);
    shutdown.cancel();
    built.hub.shutdown().await;
}
