//! `lathe serve`, `lathe status`: single instance, free ports, stale state, shutdown.

use crate::mcp_shim::McpShim;
use lathe_tests::daemon::{LatheHome, wait_until};
use pretty_assertions::assert_eq;
use serde_json::json;
use std::io::{BufRead, BufReader, Write};
use std::process::Stdio;
use std::time::Duration;

#[test]
fn port_zero_picks_a_free_port_and_status_reports_it() {
    let home = LatheHome::new().unwrap();
    // The flag must win over the configured port.
    home.write_user_config("[daemon]\nport = 7878\n").unwrap();
    let _daemon = home.start_daemon().unwrap();
    let info = home.daemon_info().unwrap();
    let url = info["url"].as_str().unwrap();
    let port: u16 = url.rsplit(':').next().unwrap().parse().unwrap();
    assert!(
        url.starts_with("http://127.0.0.1:") && port != 0 && port != 7878,
        "{url}"
    );

    let output = home.run(&["status", "--json"]).unwrap();
    assert!(output.status.success());
    let status: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(status["running"], true);
    assert_eq!(status["url"], url);
    assert_eq!(status["pid"], info["pid"]);
    assert_eq!(status["sessions"], 0);
}

#[test]
fn port_n_listens_on_that_port() {
    let home = LatheHome::new().unwrap();
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let mut child = home
        .command()
        .args(["serve", "--foreground", "--port", &port.to_string()])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let started = wait_until(Duration::from_secs(20), || home.daemon_info().is_some());
    let url = home.daemon_info().map(|info| info["url"].clone());
    let _ = child.kill();
    let _ = child.wait();
    started.unwrap();
    assert_eq!(url.unwrap(), format!("http://127.0.0.1:{port}"));
}

#[test]
fn the_runtime_file_is_private_and_holds_the_token() {
    use std::os::unix::fs::PermissionsExt;
    let home = LatheHome::new().unwrap();
    let _daemon = home.start_daemon().unwrap();
    let meta = std::fs::metadata(home.path().join("run/daemon.json")).unwrap();
    assert_eq!(meta.permissions().mode() & 0o777, 0o600);
    for private in ["run", "state"] {
        let meta = std::fs::metadata(home.path().join(private)).unwrap();
        assert_eq!(
            meta.permissions().mode() & 0o777,
            0o700,
            "{private}/ holds transcripts and the token: the user's alone"
        );
    }
    let token = home.daemon_info().unwrap()["token"]
        .as_str()
        .unwrap()
        .to_owned();
    assert_eq!(token.len(), 64);
}

#[test]
fn a_second_serve_for_the_same_home_says_so_and_fails() {
    let home = LatheHome::new().unwrap();
    let daemon = home.start_daemon().unwrap();
    for args in [
        &["serve", "--foreground", "--port", "0"][..],
        &["serve", "--port", "0"][..],
    ] {
        let output = home.run(args).unwrap();
        assert!(!output.status.success(), "{args:?} succeeded");
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(stderr.contains("already running"), "{stderr}");
        assert!(
            stderr.contains(&format!("pid {}", daemon.pid())),
            "{stderr}"
        );
    }
}

#[test]
fn sigterm_shuts_down_gracefully_and_removes_the_runtime_files() {
    let home = LatheHome::new().unwrap();
    let mut daemon = home.start_daemon().unwrap();
    let status = daemon.terminate().unwrap();
    assert!(status.success(), "{status}");
    assert!(!home.path().join("run/daemon.json").exists());
    assert!(!home.path().join("run/lathe.sock").exists());
    let output = home.run(&["status"]).unwrap();
    assert_eq!(output.status.code(), Some(3));
}

#[test]
fn a_killed_daemon_leaves_stale_files_that_the_next_one_replaces() {
    let home = LatheHome::new().unwrap();
    let mut first = home.start_daemon().unwrap();
    let first_pid = first.pid();
    first.kill_hard().unwrap();
    assert!(
        home.path().join("run/daemon.json").exists(),
        "kill -9 leaves the runtime file"
    );
    assert!(
        home.path().join("run/lathe.sock").exists(),
        "kill -9 leaves the socket"
    );

    let status = home.run(&["status"]).unwrap();
    assert_eq!(
        status.status.code(),
        Some(3),
        "a stale socket is not a running daemon"
    );

    let second = home.start_daemon().unwrap();
    assert_ne!(second.pid(), first_pid);
    let status = home.run(&["status", "--json"]).unwrap();
    let status: serde_json::Value = serde_json::from_slice(&status.stdout).unwrap();
    assert_eq!(status["pid"], second.pid());
}

#[test]
fn a_bad_config_file_is_reported_with_its_line_and_does_not_stop_the_daemon() {
    let home = LatheHome::new().unwrap();
    home.write_user_config("[daemon]\nport = 0\n\n[model]\nmodle = \"gpt\"\n")
        .unwrap();
    let _daemon = home.start_daemon().unwrap();
    let output = home.run(&["status", "--json"]).unwrap();
    let status: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    let problems = status["config_problems"].as_array().unwrap();
    assert_eq!(problems.len(), 1, "{problems:?}");
    let problem = problems[0].as_str().unwrap();
    let file = home.path().join("config/config.toml");
    assert!(
        problem.starts_with(&format!("{}:5:1: unknown field `modle`", file.display())),
        "{problem}"
    );
}

#[test]
fn environment_overrides_the_config_file() {
    let home = LatheHome::new().unwrap();
    home.write_user_config(
        "[daemon]\nport = 0\n[model]\nbase_url = \"http://file.invalid/v1\"\nmodel = \"from-file\"\n",
    )
    .unwrap();
    let output = home
        .command()
        .args(["serve", "--foreground"])
        .env("LATHE_MODEL", "from-env")
        .env("OPENAI_BASE_URL", "http://openai-fallback.invalid/v1")
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let mut daemon = lathe_tests::daemon::Daemon { child: output };
    wait_until(Duration::from_secs(20), || {
        home.daemon_pid() == Some(daemon.pid())
    })
    .unwrap();
    let status = home.run(&["status", "--json"]).unwrap();
    let status: serde_json::Value = serde_json::from_slice(&status.stdout).unwrap();
    assert_eq!(status["model"]["model"], "from-env");
    assert_eq!(
        status["model"]["base_url"], "http://file.invalid/v1",
        "OPENAI_* only fills gaps"
    );
    daemon.terminate().unwrap();
}

#[test]
fn the_daemon_logs_to_a_rolling_file_and_guards_its_http_listener() {
    let home = LatheHome::new().unwrap();
    let _daemon = home.start_daemon().unwrap();
    let info = home.daemon_info().unwrap();
    let url = info["url"].as_str().unwrap();
    let token = info["token"].as_str().unwrap();
    let call = |token: &str, method: &str, path: &str, headers: &[(&str, &str)]| {
        lathe_tests::http::request(url, token, method, path, headers, None).unwrap()
    };

    assert_eq!(call(token, "GET", "/api/status", &[]).status, 200);
    assert_eq!(call("wrong", "GET", "/api/status", &[]).status, 401);
    let evil = [("Origin", "http://evil.example")];
    assert_eq!(call(token, "POST", "/api/approvals/x", &evil).status, 403);
    let mcp = call(token, "POST", "/mcp", &evil);
    assert_eq!(mcp.status, 403, "{}", mcp.body);

    wait_until(Duration::from_secs(10), || {
        daemon_log(&home).contains("daemon ready")
    })
    .unwrap();
}

/// Everything the daemon of `home` wrote to its rolling log files.
fn daemon_log(home: &LatheHome) -> String {
    let Ok(entries) = std::fs::read_dir(home.path().join("state/logs")) else {
        return String::new();
    };
    entries
        .flatten()
        .filter(|e| e.file_name().to_string_lossy().starts_with("lathe"))
        .filter_map(|e| std::fs::read_to_string(e.path()).ok())
        .collect()
}

#[test]
fn every_lsp_and_mcp_request_logs_in_its_own_span() {
    let home = LatheHome::new().unwrap();
    let _daemon = home.start_daemon().unwrap();
    let workspace = tempfile::tempdir().unwrap();

    let mut mcp = McpShim::start(&home, workspace.path());
    let id = mcp.send(
        "tools/call",
        json!({"name": "list_sessions", "arguments": {}}),
    );
    assert_eq!(mcp.response(id)["result"]["isError"], false);

    let mut lsp = home
        .command()
        .arg("lsp")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let body = json!({"jsonrpc": "2.0", "id": 7, "method": "initialize",
                      "params": {"capabilities": {}, "clientInfo": {"name": "span-test"}}})
    .to_string();
    let stdin = lsp.stdin.as_mut().unwrap();
    write!(stdin, "Content-Length: {}\r\n\r\n{body}", body.len()).unwrap();
    stdin.flush().unwrap();
    let mut header = String::new();
    BufReader::new(lsp.stdout.as_mut().unwrap())
        .read_line(&mut header)
        .unwrap();
    assert!(header.starts_with("Content-Length:"), "{header}");

    let mcp_line = format!("mcp{{method=tools/call id={id}}}");
    wait_until(Duration::from_secs(10), || {
        let log = daemon_log(&home);
        log.lines()
            .any(|l| l.contains(&mcp_line) && l.contains("tool=list_sessions"))
            && log
                .lines()
                .any(|l| l.contains("lsp{method=initialize id=7}") && l.contains("span-test"))
    })
    .unwrap_or_else(|e| panic!("{e}; the log:\n{}", daemon_log(&home)));
    let _ = lsp.kill();
    let _ = lsp.wait();
}
