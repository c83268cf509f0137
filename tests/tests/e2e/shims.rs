//! `lathe lsp` / `lathe mcp`: autostart, sharing one daemon, and bad bytes on the socket.

use lathe_tests::daemon::LatheHome;
use pretty_assertions::assert_eq;
use serde_json::{Value, json};
use std::io::{BufRead, BufReader, Read, Write};
use std::os::unix::net::UnixStream;
use std::process::{Child, Stdio};

fn spawn_shim(home: &LatheHome, surface: &str, extra: &[&str]) -> Child {
    home.command()
        .arg(surface)
        .args(extra)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap()
}

/// Sends one MCP (line-delimited) request through a shim and reads one answer.
fn mcp_roundtrip(child: &mut Child, request: &Value) -> Value {
    let stdin = child.stdin.as_mut().unwrap();
    writeln!(stdin, "{request}").unwrap();
    stdin.flush().unwrap();
    let mut line = String::new();
    BufReader::new(child.stdout.as_mut().unwrap())
        .read_line(&mut line)
        .unwrap();
    serde_json::from_str(&line).unwrap()
}

fn finish(mut child: Child) {
    drop(child.stdin.take());
    let status = child.wait().unwrap();
    assert!(status.success(), "shim exited with {status}");
}

#[test]
fn two_shims_started_at_once_share_one_autostarted_daemon() {
    let home = LatheHome::new().unwrap();
    let mut first = spawn_shim(&home, "mcp", &[]);
    let mut second = spawn_shim(&home, "lsp", &[]);
    let ping = json!({"jsonrpc": "2.0", "id": 1, "method": "ping"});
    assert_eq!(
        mcp_roundtrip(&mut first, &ping),
        json!({"jsonrpc": "2.0", "id": 1, "result": {}})
    );

    let body = json!({"jsonrpc": "2.0", "id": 7, "method": "initialize",
                      "params": {"capabilities": {}}})
    .to_string();
    let stdin = second.stdin.as_mut().unwrap();
    write!(stdin, "Content-Length: {}\r\n\r\n{body}", body.len()).unwrap();
    stdin.flush().unwrap();
    let mut reader = BufReader::new(second.stdout.take().unwrap());
    let mut header = String::new();
    reader.read_line(&mut header).unwrap();
    let length: usize = header
        .trim()
        .strip_prefix("Content-Length: ")
        .unwrap()
        .parse()
        .unwrap();
    let mut blank = String::new();
    reader.read_line(&mut blank).unwrap();
    let mut answer = vec![0; length];
    reader.read_exact(&mut answer).unwrap();
    let answer: Value = serde_json::from_slice(&answer).unwrap();
    assert_eq!(answer["id"], 7);
    assert_eq!(answer["result"]["serverInfo"]["name"], "lathe", "{answer}");

    let pid = home.daemon_pid().expect("one daemon advertises itself");
    finish(first);
    finish(second);
    let status = home.run(&["status", "--json"]).unwrap();
    let status: Value = serde_json::from_slice(&status.stdout).unwrap();
    assert_eq!(status["pid"], pid, "both shims used the same daemon");
}

#[test]
fn in_process_serves_mcp_without_a_daemon() {
    let home = LatheHome::new().unwrap();
    let workspace = tempfile::tempdir().unwrap();
    let workspace_arg = workspace.path().to_string_lossy().into_owned();
    let mut shim = spawn_shim(
        &home,
        "mcp",
        &["--in-process", "--workspace", &workspace_arg],
    );
    let answer = mcp_roundtrip(
        &mut shim,
        &json!({"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {
            "protocolVersion": "2025-11-25", "capabilities": {},
            "clientInfo": {"name": "e2e", "version": "1"}}}),
    );
    assert_eq!(answer["result"]["serverInfo"]["name"], "lathe", "{answer}");
    let stdin = shim.stdin.as_mut().unwrap();
    writeln!(
        stdin,
        "{}",
        json!({"jsonrpc": "2.0", "method": "notifications/initialized"})
    )
    .unwrap();
    let answer = mcp_roundtrip(
        &mut shim,
        &json!({"jsonrpc": "2.0", "id": "a", "method": "tools/list"}),
    );
    let tools: Vec<&str> = answer["result"]["tools"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["name"].as_str().unwrap())
        .collect();
    assert_eq!(
        tools,
        [
            "run_task",
            "reply",
            "cancel",
            "code_context",
            "repo_map",
            "sandbox_exec",
            "list_sessions"
        ],
        "{answer}"
    );
    let answer = mcp_roundtrip(
        &mut shim,
        &json!({"jsonrpc": "2.0", "id": 2, "method": "no/such"}),
    );
    assert_eq!(answer["error"]["code"], -32601, "{answer}");
    let answer = mcp_roundtrip(&mut shim, &json!({"jsonrpc": "2.0"}));
    assert_eq!(answer["error"]["code"], -32600, "{answer}");
    finish(shim);
    assert!(home.daemon_info().is_none(), "no daemon was started");
}

#[test]
fn malformed_bytes_and_broken_connections_leave_the_daemon_serving() {
    let home = LatheHome::new().unwrap();
    let _daemon = home.start_daemon().unwrap();
    let socket = home.path().join("run/lathe.sock");

    let mut garbage = UnixStream::connect(&socket).unwrap();
    garbage
        .write_all(b"\x00\xffGET / HTTP/1.1\r\n\r\n")
        .unwrap();
    let mut answer = String::new();
    garbage.read_to_string(&mut answer).unwrap();
    assert!(answer.starts_with("LATHE/1 error "), "{answer:?}");

    let mut bad_length = UnixStream::connect(&socket).unwrap();
    bad_length
        .write_all(b"LATHE/1 lsp\nContent-Length: lots\r\n\r\n{}")
        .unwrap();
    let mut answer = String::new();
    bad_length.read_to_string(&mut answer).unwrap();
    assert!(
        answer.contains("\"code\":-32700") && answer.contains("invalid Content-Length"),
        "{answer}"
    );

    let mut cut = UnixStream::connect(&socket).unwrap();
    cut.write_all(b"LATHE/1 lsp\nContent-Length: 100\r\n\r\n{\"jsonrpc\":")
        .unwrap();
    drop(cut);

    let mut bad_json = UnixStream::connect(&socket).unwrap();
    bad_json.write_all(b"LATHE/1 mcp\n{not json}\n").unwrap();
    let mut line = String::new();
    BufReader::new(&mut bad_json).read_line(&mut line).unwrap();
    let answer: Value = serde_json::from_str(&line).unwrap();
    assert_eq!(answer["error"]["code"], -32700);
    assert_eq!(answer["id"], Value::Null);

    let status = home.run(&["status", "--json"]).unwrap();
    assert!(status.status.success(), "the daemon still answers");
}

#[test]
fn a_daemon_that_cannot_start_is_reported_with_its_last_words() {
    let home = LatheHome::new().unwrap();
    // The store's path taken by a directory: every daemon started for this home fails.
    std::fs::create_dir_all(home.path().join("state/lathe.redb")).unwrap();
    let output = home
        .command()
        .arg("lsp")
        .stdin(Stdio::null())
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(!output.status.success());
    assert!(
        stderr.contains("the Lathe daemon exited") && stderr.contains("lathe.redb"),
        "the shim says why, not that it timed out: {stderr}"
    );
}

#[test]
fn an_mcp_shim_started_in_the_root_directory_asks_for_a_workspace() {
    let home = LatheHome::new().unwrap();
    let output = home.command().arg("mcp").current_dir("/").output().unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(!output.status.success());
    assert!(
        stderr.contains("`lathe mcp` started in / with no project to serve")
            && stderr.contains("\"--workspace\""),
        "{stderr}"
    );
    assert!(home.daemon_info().is_none(), "no daemon started for it");
}
