//! `/api/approvals` answers a run started on another surface: an MCP client without
//! elicitation starts `run_task` in the daemon, its `write_file` waits for approval, and an
//! HTTP client (the dashboard's API) lists it and allows it; the first answer wins, a
//! foreign Origin cannot answer, and the decision is stored as the dashboard's.

use crate::mcp_shim::McpShim;
use lathe_tests::daemon::{LatheHome, wait_until};
use lathe_tests::http::{Response, request};
use lathe_tests::scripted_model::{Script, ScriptedModel, Step};
use pretty_assertions::assert_eq;
use serde_json::{Value, json};
use std::time::Duration;

fn call(
    home: &LatheHome,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: Option<&Value>,
) -> Response {
    let info = home.daemon_info().unwrap();
    request(
        info["url"].as_str().unwrap(),
        info["token"].as_str().unwrap(),
        method,
        path,
        headers,
        body,
    )
    .unwrap()
}

#[tokio::test(flavor = "multi_thread")]
async fn an_mcp_run_is_approved_through_the_http_api() {
    let model = ScriptedModel::start(Script::new([
        Step::tool_calls([(
            "write_file",
            json!({"path": "hello.txt", "content": "hi\n"}),
        )]),
        Step::text("Wrote hello.txt."),
    ]))
    .await
    .unwrap();
    let home = LatheHome::new().unwrap();
    home.write_user_config(&format!(
        "[daemon]\nport = 0\n\n[model]\nbase_url = \"{}\"\nmodel = \"scripted\"\n\n[sandbox]\nbackend = \"none\"\n",
        model.base_url()
    ))
    .unwrap();
    let workspace = tempfile::tempdir().unwrap();
    let _daemon = home.start_daemon().unwrap();
    let mut shim = McpShim::start(&home, workspace.path());
    let run = shim.send(
        "tools/call",
        json!({"name": "run_task", "arguments": {"prompt": "say hi in hello.txt"}}),
    );

    let mut pending = Value::Null;
    wait_until(Duration::from_secs(60), || {
        pending = call(&home, "GET", "/api/approvals", &[], None)
            .json()
            .unwrap();
        pending.as_array().is_some_and(|p| !p.is_empty())
    })
    .unwrap();
    let request = &pending[0];
    assert_eq!(request["tool"], "write_file");
    let path = format!("/api/approvals/{}", request["id"].as_str().unwrap());
    let allow = json!({"decision": "allow_once", "who": "e2e"});

    let foreign = call(
        &home,
        "POST",
        &path,
        &[("Origin", "http://evil.example")],
        Some(&allow),
    );
    assert_eq!(foreign.status, 403, "{}", foreign.body);
    let own_origin = home.daemon_info().unwrap()["url"]
        .as_str()
        .unwrap()
        .to_owned();
    let answered = call(
        &home,
        "POST",
        &path,
        &[("Origin", &own_origin)],
        Some(&allow),
    );
    assert_eq!(answered.status, 200, "{}", answered.body);
    let late = call(
        &home,
        "POST",
        &path,
        &[],
        Some(&json!({"decision": "deny"})),
    );
    assert_eq!(late.status, 409, "{}", late.body);

    let result = shim.response(run);
    assert_eq!(result["result"]["isError"], false, "{result:#}");
    assert_eq!(
        std::fs::read_to_string(workspace.path().join("hello.txt")).unwrap(),
        "hi\n"
    );
    let session = request["sessionId"].as_str().unwrap();
    let events = call(
        &home,
        "GET",
        &format!("/api/sessions/{session}/events"),
        &[],
        None,
    )
    .json()
    .unwrap();
    let resolved: Vec<&Value> = events
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["name"] == "approval.resolved")
        .collect();
    assert_eq!(resolved.len(), 1);
    assert_eq!(resolved[0]["value"]["decision"], "allow_once");
    assert_eq!(resolved[0]["value"]["by"], "dashboard");
    assert_eq!(resolved[0]["value"]["who"], "e2e");
    assert!(
        call(&home, "GET", "/api/approvals", &[], None)
            .json()
            .unwrap()
            .as_array()
            .unwrap()
            .is_empty()
    );
    let skills = call(
        &home,
        "GET",
        &format!("/api/skills?workspace={}", workspace.path().display()),
        &[],
        None,
    )
    .json()
    .unwrap();
    assert!(
        skills["skills"]
            .as_array()
            .unwrap()
            .iter()
            .any(|s| s["name"] == "fix"),
        "the dashboard sees the same skills: {skills:#}"
    );
}
