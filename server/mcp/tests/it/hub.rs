//! The hub against real MCP servers: the reference servers from npm and PyPI over stdio,
//! server-everything over streamable HTTP, and a Python SDK server that the tests kill or
//! freeze mid-call.

use crate::support::{git_repo, node22, npm_package_file, test_file, venv_bin};
use lathe_agent::tools::{ToolOutput, ToolSource};
use lathe_mcp::client::{Hub, HubOptions, ServerStatus};
use lathe_mcp::config::{ServerConfig, ServerTransport};
use pretty_assertions::assert_eq;
use serde_json::{Value, json};
use std::collections::BTreeMap;
use std::time::Duration;
use tokio::io::AsyncBufReadExt;
use tokio_util::sync::CancellationToken;

/// Test machines build while they test: give servers more than the default 10 s to start.
const SLOW_START: Duration = Duration::from_secs(60);

fn stdio(name: &str, command: &str, args: &[&str]) -> ServerConfig {
    let mut config = ServerConfig::stdio(name, command, args);
    config.startup_timeout = SLOW_START;
    config
}

fn everything_stdio(name: &str) -> ServerConfig {
    stdio(
        name,
        &node22(),
        &[
            &npm_package_file("server-everything", "dist/index.js"),
            "stdio",
        ],
    )
}

fn blocking_server() -> ServerConfig {
    stdio(
        "blocking",
        &venv_bin("python"),
        &[&test_file("servers/blocking_server.py")],
    )
}

/// (name, status, restarts, last_error) of every server.
fn statuses(hub: &Hub) -> Vec<(String, ServerStatus, u32, Option<String>)> {
    hub.health()
        .into_iter()
        .map(|h| (h.name, h.status, h.restarts, h.last_error))
        .collect()
}

async fn call(hub: &Hub, name: &str, args: Value) -> ToolOutput {
    hub.call(name, args, CancellationToken::new()).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reference_servers_over_stdio_offer_and_run_their_tools() {
    let repo = tempfile::tempdir().unwrap();
    git_repo(repo.path());
    let files = tempfile::tempdir().unwrap();
    std::fs::write(files.path().join("note.txt"), "a note\n").unwrap();
    let files_root = files.path().canonicalize().unwrap();
    let mut everything = everything_stdio("everything");
    everything.disabled_tools = vec!["toggle-simulated-logging".into()];
    let servers = vec![
        everything,
        stdio(
            "fs",
            &node22(),
            &[
                &npm_package_file("server-filesystem", "dist/index.js"),
                files_root.to_str().unwrap(),
            ],
        ),
        stdio(
            "git",
            &venv_bin("mcp-server-git"),
            &["--repository", repo.path().to_str().unwrap()],
        ),
        stdio("time", &venv_bin("mcp-server-time"), &[]),
    ];
    let hub = Hub::start(servers, HubOptions::default());
    hub.ready().await;
    assert_eq!(
        statuses(&hub),
        vec![
            ("everything".into(), ServerStatus::Up, 0, None),
            ("fs".into(), ServerStatus::Up, 0, None),
            ("git".into(), ServerStatus::Up, 0, None),
            ("time".into(), ServerStatus::Up, 0, None),
        ]
    );
    let names: Vec<String> = hub.tools().into_iter().map(|t| t.name).collect();
    for expected in [
        "mcp__everything__echo",
        "mcp__everything__get-sum",
        "mcp__fs__read_text_file",
        "mcp__git__git_status",
        "mcp__time__get_current_time",
    ] {
        assert!(
            names.iter().any(|n| n == expected),
            "{expected} missing from {names:?}"
        );
    }
    assert!(
        !names
            .iter()
            .any(|n| n == "mcp__everything__toggle-simulated-logging")
    );
    let echo = hub
        .tools()
        .into_iter()
        .find(|t| t.name == "mcp__everything__echo")
        .unwrap();
    assert!(echo.read_only);
    assert_eq!(echo.input_schema["properties"]["message"]["type"], "string");

    // The agent sees the same tools through its ToolSource trait.
    let source: &dyn ToolSource = &hub;
    let spec = source
        .tools()
        .into_iter()
        .find(|t| t.spec.name == "mcp__everything__get-sum")
        .unwrap();
    assert!(
        spec.spec
            .description
            .starts_with("[MCP server everything] ")
    );
    assert_eq!(
        source
            .call(
                "mcp__everything__get-sum",
                json!({"a": 2, "b": 3}),
                CancellationToken::new()
            )
            .await,
        ToolOutput::ok("The sum of 2 and 3 is 5.")
    );

    assert_eq!(
        call(&hub, "mcp__everything__echo", json!({"message": "hi"})).await,
        ToolOutput::ok("Echo: hi")
    );
    assert_eq!(
        call(
            &hub,
            "mcp__fs__read_text_file",
            json!({"path": files_root.join("note.txt")})
        )
        .await,
        ToolOutput::ok("a note\n")
    );
    let status = call(
        &hub,
        "mcp__git__git_status",
        json!({"repo_path": repo.path()}),
    )
    .await;
    assert!(
        !status.is_error && status.content.contains("On branch main"),
        "{status:?}"
    );
    let time = call(
        &hub,
        "mcp__time__get_current_time",
        json!({"timezone": "UTC"}),
    )
    .await;
    assert!(!time.is_error, "{time:?}");
    let parsed: Value = serde_json::from_str(&time.content).unwrap();
    assert_eq!(parsed["timezone"], "UTC");

    let image = call(&hub, "mcp__everything__get-tiny-image", json!({})).await;
    assert!(
        image.content.contains("[image: image/png, ") && !image.is_error,
        "{image:?}"
    );
    let structured = call(
        &hub,
        "mcp__everything__get-structured-content",
        json!({"location": "New York"}),
    )
    .await;
    assert!(
        !structured.is_error && structured.content.contains("temperature"),
        "{structured:?}"
    );

    // Errors are outputs the model reads.
    assert_eq!(
        call(&hub, "mcp__nope__x", json!({})).await,
        ToolOutput::error(
            "no MCP tool `mcp__nope__x`; the MCP tools offered now are listed in your tools"
        )
    );
    let invalid = call(&hub, "mcp__everything__get-sum", json!({"a": "two"})).await;
    assert!(invalid.is_error, "{invalid:?}");
    assert_eq!(
        call(&hub, "mcp__everything__echo", json!([1])).await,
        ToolOutput::error(
            "the arguments of `mcp__everything__echo` must be a JSON object, got [1]"
        )
    );
    hub.shutdown().await;
    assert!(
        hub.health()
            .iter()
            .all(|h| h.status == ServerStatus::Stopped)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn server_everything_over_streamable_http() {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let mut server = tokio::process::Command::new(node22())
        .args([
            &npm_package_file("server-everything", "dist/index.js"),
            "streamableHttp",
        ])
        .env("PORT", port.to_string())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    let mut lines = tokio::io::BufReader::new(server.stderr.take().unwrap()).lines();
    while let Some(line) = lines.next_line().await.unwrap() {
        if line.contains("listening on port") {
            break;
        }
    }
    tokio::spawn(async move { while let Ok(Some(_)) = lines.next_line().await {} });
    let mut config = ServerConfig::http("remote", &format!("http://127.0.0.1:{port}/mcp"));
    if let ServerTransport::Http { headers, .. } = &mut config.transport {
        headers.insert("X-Test".into(), "1".into());
    }
    let hub = Hub::start(vec![config], HubOptions::default());
    hub.ready().await;
    assert_eq!(
        statuses(&hub),
        vec![("remote".into(), ServerStatus::Up, 0, None)]
    );
    assert_eq!(hub.health()[0].transport, "http");
    assert_eq!(
        call(&hub, "mcp__remote__echo", json!({"message": "over http"})).await,
        ToolOutput::ok("Echo: over http")
    );
    hub.shutdown().await;
    server.kill().await.unwrap();
}

/// Opens the named pipe for reading; returns once the server's `block` tool opened it.
async fn wait_for_block(fifo: std::path::PathBuf) {
    tokio::task::spawn_blocking(move || {
        let mut line = String::new();
        std::io::BufRead::read_line(
            &mut std::io::BufReader::new(std::fs::File::open(fifo).unwrap()),
            &mut line,
        )
        .unwrap();
        assert_eq!(line, "started\n");
    })
    .await
    .unwrap();
}

fn mkfifo(dir: &std::path::Path) -> std::path::PathBuf {
    let fifo = dir.join("fifo");
    assert!(
        std::process::Command::new("mkfifo")
            .arg(&fifo)
            .status()
            .unwrap()
            .success()
    );
    fifo
}

fn signal(pid: u32, signal: &str) {
    assert!(
        std::process::Command::new("kill")
            .args([signal, &pid.to_string()])
            .status()
            .unwrap()
            .success()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_server_killed_mid_call_is_reported_and_restarted() {
    let dir = tempfile::tempdir().unwrap();
    let fifo = mkfifo(dir.path());
    let hub = Hub::start(vec![blocking_server()], HubOptions::default());
    hub.ready().await;
    let pid = hub.health()[0].pid.unwrap();
    let call_hub = hub.clone();
    let fifo_arg = fifo.clone();
    let in_flight = tokio::spawn(async move {
        call(&call_hub, "mcp__blocking__block", json!({"fifo": fifo_arg})).await
    });
    wait_for_block(fifo).await;
    signal(pid, "-KILL");
    let output = in_flight.await.unwrap();
    assert!(output.is_error, "{output:?}");
    assert!(
        output.content.starts_with(
            "MCP server `blocking` crashed or disconnected: the connection failed during `block`"
        ),
        "{output:?}"
    );
    assert!(
        output
            .content
            .ends_with("Lathe is restarting it; try again shortly.")
    );
    hub.wait_until(|hub| {
        let health = &hub.health()[0];
        health.status == ServerStatus::Up && health.restarts >= 1
    })
    .await;
    let health = hub.health().remove(0);
    assert_ne!(health.pid, Some(pid));
    assert!(
        health
            .last_error
            .as_deref()
            .unwrap()
            .contains("the process exited (signal: 9 (SIGKILL))"),
        "the latest error, the crash itself: {health:?}"
    );
    assert_eq!(
        call(&hub, "mcp__blocking__echo", json!({"text": "back"})).await,
        ToolOutput::ok("echo: back")
    );
    hub.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_hung_server_times_out_and_is_restarted() {
    let dir = tempfile::tempdir().unwrap();
    let fifo = mkfifo(dir.path());
    let mut config = blocking_server();
    config.tool_timeout = Duration::from_millis(1500);
    let hub = Hub::start(vec![config], HubOptions::default());
    hub.ready().await;
    let pid = hub.health()[0].pid.unwrap();
    let call_hub = hub.clone();
    let fifo_arg = fifo.clone();
    let in_flight = tokio::spawn(async move {
        call(&call_hub, "mcp__blocking__block", json!({"fifo": fifo_arg})).await
    });
    wait_for_block(fifo).await;
    // Freeze the whole process: it cannot even answer the hub's ping.
    signal(pid, "-STOP");
    let output = in_flight.await.unwrap();
    assert_eq!(
        output,
        ToolOutput::error(
            "MCP server `blocking` hung: `block` did not answer within 1.5 s and the server does not answer pings. Lathe is restarting it."
        )
    );
    hub.wait_until(|hub| {
        let health = &hub.health()[0];
        health.status == ServerStatus::Up && health.restarts >= 1
    })
    .await;
    assert_eq!(
        call(&hub, "mcp__blocking__echo", json!({"text": "thawed"})).await,
        ToolOutput::ok("echo: thawed")
    );
    hub.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn servers_that_cannot_start_are_down_with_a_reason() {
    let mut missing = ServerConfig::stdio("missing", "/nonexistent/mcp-server", &[]);
    missing.startup_timeout = Duration::from_secs(5);
    let mut silent = ServerConfig::stdio("silent", "sleep", &["30"]);
    silent.startup_timeout = Duration::from_millis(300);
    let mut off = everything_stdio("off");
    off.enabled = false;
    let hub = Hub::start(vec![missing, silent, off], HubOptions::default());
    hub.ready().await;
    let health: BTreeMap<String, (ServerStatus, Option<String>)> = hub
        .health()
        .into_iter()
        .map(|h| (h.name, (h.status, h.last_error)))
        .collect();
    assert_eq!(
        health["missing"].1.as_deref(),
        Some("cannot start `/nonexistent/mcp-server`: No such file or directory (os error 2)")
    );
    assert_eq!(
        health["silent"].1.as_deref(),
        Some("did not start within 0.3 s (startup_timeout_sec)")
    );
    assert_eq!(health["off"], (ServerStatus::Disabled, None));
    assert!(hub.tools().is_empty());
    hub.shutdown().await;
}

/// Answers servers' elicitations with a fixed form, recording what was asked.
struct FormFiller(std::sync::Mutex<Vec<(String, String)>>);

impl lathe_mcp::client::ElicitationSink for FormFiller {
    fn elicit(
        &self,
        server: &str,
        message: String,
        kind: lathe_protocol::QuestionKind,
        within: std::time::Duration,
    ) -> futures::future::BoxFuture<'static, lathe_protocol::QuestionReply> {
        assert_eq!(
            within,
            std::time::Duration::from_secs(60),
            "tool_timeout_sec"
        );
        self.0.lock().unwrap().push((server.to_owned(), message));
        let lathe_protocol::QuestionKind::Form { schema } = kind else {
            panic!("a form was asked for, not {kind:?}");
        };
        assert!(schema["properties"]["name"].is_object());
        Box::pin(async {
            lathe_protocol::QuestionReply::Accept {
                content: json!({"name": "Ada", "check": true, "email": "ada@example.invalid"}),
            }
        })
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn servers_elicitations_are_forwarded_to_the_users_surfaces() {
    let filler = std::sync::Arc::new(FormFiller(std::sync::Mutex::new(Vec::new())));
    let hub = Hub::start(
        vec![everything_stdio("everything")],
        HubOptions {
            elicitation: Some(filler.clone()),
            ..HubOptions::default()
        },
    );
    hub.ready().await;
    let output = call(
        &hub,
        "mcp__everything__trigger-elicitation-request",
        json!({}),
    )
    .await;
    assert!(!output.is_error, "{output:?}");
    assert!(
        output
            .content
            .contains("User provided the requested information")
            && output.content.contains("Ada"),
        "{output:?}"
    );
    assert_eq!(
        *filler.0.lock().unwrap(),
        vec![(
            "everything".to_owned(),
            "Please provide inputs for the following fields:".to_owned()
        )]
    );
    hub.shutdown().await;
}
