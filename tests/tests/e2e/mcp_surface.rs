//! The MCP surface of the real binary, driven by the Python SDK's client
//! (`server/mcp/tests/it/py/drive_lathe.py`): `lathe mcp` (the shim, which starts the
//! daemon) over stdio and the daemon's `/mcp` over streamable HTTP with its bearer token.
//! The agent runs against the scripted model and calls a tool of an MCP server the
//! workspace's `.mcp.json` configures; the policy asks, the client answers "allow once" by
//! elicitation; then `reply` and the transcript resource.
//!
//! The peers come from `.ci/mcp-peers.sh` (see `lathe_tests::peers`).

use lathe_tests::daemon::LatheHome;
use lathe_tests::scripted_model::{Script, ScriptedModel, Step};
use pretty_assertions::assert_eq;
use serde_json::{Value, json};
use std::path::{Path, PathBuf};

fn peers_python() -> PathBuf {
    lathe_tests::peers::mcp().join("venv/bin/python")
}

fn mcp_test_file(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../server/mcp/tests/it")
        .join(name)
}

async fn model() -> ScriptedModel {
    ScriptedModel::start(Script::new([
        Step::tool_calls([("mcp__blocking__echo", json!({"text": "hi"}))]),
        Step::text("The server said: echo: hi"),
        Step::text("You're welcome."),
    ]))
    .await
    .unwrap()
}

/// A home whose configuration names the scripted model, and a workspace whose `.mcp.json`
/// configures the blocking echo server.
fn setup(model: &ScriptedModel) -> (LatheHome, tempfile::TempDir) {
    let home = LatheHome::new().unwrap();
    home.write_user_config(&format!(
        "[daemon]\nport = 0\n\n[model]\nbase_url = \"{}\"\nmodel = \"scripted\"\nmax_retries = 0\n",
        model.base_url()
    ))
    .unwrap();
    let workspace = tempfile::tempdir().unwrap();
    std::fs::write(
        workspace.path().join("lib.rs"),
        "pub fn answer() -> u32 {\n    42\n}\n",
    )
    .unwrap();
    let servers = json!({"mcpServers": {"blocking": {
        "command": peers_python(),
        "args": [mcp_test_file("servers/blocking_server.py")],
        "startup_timeout_sec": 60,
    }}});
    std::fs::write(workspace.path().join(".mcp.json"), servers.to_string()).unwrap();
    home.trust(workspace.path()).unwrap();
    (home, workspace)
}

/// Runs the Python client with `args` in `home`'s clean environment.
async fn drive(home: &LatheHome, args: &[&str]) -> Value {
    let lathe = home.command();
    let mut command = tokio::process::Command::new(peers_python());
    command
        .env_clear()
        .envs(lathe.get_envs().filter_map(|(k, v)| Some((k, v?))))
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .arg(mcp_test_file("py/drive_lathe.py"))
        .args(args);
    let output = command.output().await.unwrap();
    assert!(
        output.status.success(),
        "drive_lathe.py failed: {}\n{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    serde_json::from_slice(&output.stdout).unwrap()
}

/// What both transports must show: the run asked once by elicitation, its answer, the
/// reply, and a transcript recording the approval by the MCP surface.
fn check(seen: &Value) {
    let transcript = seen["transcript"].as_str().unwrap();
    for expected in [
        "**Tool call** `mcp__blocking__echo` `{\"text\":\"hi\"}`",
        "> Approval AllowOnce by Mcp (",
        "## Assistant\n\nThe server said: echo: hi",
        "## Assistant\n\nYou're welcome.",
    ] {
        assert!(
            transcript.contains(expected),
            "{expected:?} not in:\n{transcript}"
        );
    }
    let asked = seen["asked"].as_array().unwrap();
    assert_eq!(asked.len(), 1, "{asked:?}");
    assert_eq!(
        json!({
            "protocol": seen["protocol"],
            "server": seen["server"],
            "tools": seen["tools"],
            "run": seen["run"],
            "reply": seen["reply"],
            "sessions": seen["sessions"],
            "diff": seen["diff"],
            "completes_session": seen["completes_session"],
        }),
        json!({
            "protocol": "2025-11-25",
            "server": "lathe",
            "tools": ["cancel", "code_context", "list_sessions", "reply", "repo_map", "run_task", "sandbox_exec"],
            "run": {"isError": false, "status": "finished", "answer": "The server said: echo: hi", "diffSummary": "no files changed"},
            "reply": {"isError": false, "answer": "You're welcome."},
            "sessions": [true],
            "diff": {"mime": "text/x-diff", "text": ""},
            "completes_session": true,
        })
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn python_client_drives_the_lathe_mcp_shim_over_stdio() {
    let model = model().await;
    let (home, workspace) = setup(&model);
    let lathe = lathe_tests::daemon::lathe_bin()
        .to_string_lossy()
        .into_owned();
    let workspace_arg = workspace.path().to_string_lossy().into_owned();
    let seen = drive(
        &home,
        &[
            "stdio",
            "legacy",
            &lathe,
            "mcp",
            "--workspace",
            &workspace_arg,
        ],
    )
    .await;
    check(&seen);
    model.assert_played();

    let status = home.run(&["status", "--json"]).unwrap();
    let status: Value = serde_json::from_slice(&status.stdout).unwrap();
    let workspace_root = workspace.path().canonicalize().unwrap();
    assert_eq!(
        status["mcp"],
        json!([{
            "workspace": workspace_root.display().to_string(),
            "mcp_servers": [{"name": "blocking", "transport": "stdio", "status": "up",
                             "tool_count": 2, "restarts": 0, "last_error": null}],
            "problems": [],
        }]),
        "the shim's daemon serves the workspace and reports its MCP servers"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn python_client_drives_the_daemon_over_streamable_http() {
    let model = model().await;
    let (home, workspace) = setup(&model);
    let _daemon = home.start_daemon().unwrap();
    let info = home.daemon_info().unwrap();
    let url = format!(
        "{}/mcp?workspace={}",
        info["url"].as_str().unwrap(),
        workspace.path().display()
    );
    let token = info["token"].as_str().unwrap();
    let seen = drive(&home, &["http", "legacy", &url, token]).await;
    check(&seen);
    model.assert_played();

    assert_eq!(status_without_token(&url), 401);
}

/// The status code of an MCP request without the token.
fn status_without_token(url: &str) -> u16 {
    use std::io::{Read, Write};
    let rest = url.strip_prefix("http://").unwrap();
    let (authority, path) = rest.split_at(rest.find('/').unwrap());
    let mut stream = std::net::TcpStream::connect(authority).unwrap();
    write!(
        stream,
        "POST {path} HTTP/1.1\r\nHost: {authority}\r\nContent-Type: application/json\r\n\
         Content-Length: 2\r\nConnection: close\r\n\r\n{{}}"
    )
    .unwrap();
    let mut answer = String::new();
    stream.read_to_string(&mut answer).unwrap();
    answer.split(' ').nth(1).unwrap().parse().unwrap()
}
