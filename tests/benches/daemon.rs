//! Daemon figures: time from `lathe lsp` starting with no daemon running to the daemon's
//! first answer (autostart included), the idle daemon's resident memory, and the daemon's
//! resident memory with 20 open 10,000-line documents from one editor (aim: under 80 MB),
//! and how fast the dashboard's API answers over a store of 1,000 sessions (the list, a
//! search, the metrics, a transcript's backlog).
//!
//! Run with `cargo bench -p lathe-tests --bench daemon`: that measures the `lathe` binary of
//! the bench profile (an optimised build, rebuilt first when stale), which is what users
//! run. Prints numbers, with where the idle daemon's memory goes; asserts nothing.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::print_stdout)]

use lathe_protocol::event::{FileChangeKind, FileChanged, Role, Usage};
use lathe_protocol::{
    CustomEvent, EventPayload, MessageId, RunId, SessionId, SessionMeta, SessionStatus, ToolCallId,
};
use lathe_store::Store;
use lathe_tests::corpus::rust_file;
use lathe_tests::daemon::{LatheHome, lathe_bin, signal, wait_until};
use serde_json::{Value, json};
use std::io::{BufRead, BufReader, Read, Write};
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

const ROUNDS: usize = 15;

/// Resident memory of the idle daemon, in KiB.
#[derive(Debug, Clone, Copy)]
struct Rss {
    total: u64,
    /// Pages of the `lathe` executable itself (code, read-only data, statics).
    executable: u64,
    /// Heap, thread stacks and other anonymous memory.
    anonymous: u64,
    /// Every other file mapping (libc, libm, the loader).
    libraries: u64,
    threads: u64,
}

/// Rebuilds the binary of this bench's profile when its sources changed, since the
/// testkit only builds it when missing.
fn fresh_binary() -> &'static Path {
    let bin = lathe_bin();
    let profile = if bin.parent().is_some_and(|dir| dir.ends_with("release")) {
        "release"
    } else {
        "dev"
    };
    if std::env::var_os("LATHE_BIN").is_none() {
        let target = bin.parent().and_then(Path::parent).unwrap();
        let status = Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".into()))
            .args([
                "build",
                "-p",
                "lathe",
                "--bin",
                "lathe",
                "--profile",
                profile,
            ])
            .env("CARGO_TARGET_DIR", target)
            .status()
            .unwrap();
        assert!(status.success(), "cannot build {}", bin.display());
    }
    println!("binary: {} ({profile} build)", bin.display());
    bin
}

fn status_kb(status: &str, field: &str) -> u64 {
    status
        .lines()
        .find_map(|l| l.strip_prefix(field))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap()
}

fn rss(pid: u32, bin: &Path) -> Rss {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    let smaps = std::fs::read_to_string(format!("/proc/{pid}/smaps")).unwrap();
    let bin = std::fs::canonicalize(bin).unwrap();
    let (mut executable, mut libraries) = (0, 0);
    let mut mapping = String::new();
    for line in smaps.lines() {
        if let Some(kb) = line.strip_prefix("Rss:") {
            let kb: u64 = kb.trim().trim_end_matches("kB").trim().parse().unwrap();
            if Path::new(&mapping) == bin {
                executable += kb;
            } else if mapping.starts_with('/') {
                libraries += kb;
            }
        } else if line
            .split_whitespace()
            .next()
            .is_some_and(|f| f.contains('-'))
        {
            mapping = line.split_whitespace().nth(5).unwrap_or("").to_owned();
        }
    }
    Rss {
        total: status_kb(&status, "VmRSS:"),
        executable,
        anonymous: status_kb(&status, "RssAnon:"),
        libraries,
        threads: status_kb(&status, "Threads:"),
    }
}

/// `lathe lsp` for `home`, its stdin and stdout piped.
fn lsp_shim(home: &LatheHome) -> std::process::Child {
    home.command()
        .arg("lsp")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap()
}

/// Writes one LSP message.
fn send(to: &mut impl Write, message: &Value) {
    let body = message.to_string();
    write!(to, "Content-Length: {}\r\n\r\n{body}", body.len()).unwrap();
    to.flush().unwrap();
}

/// Reads LSP messages until the response to request `id`.
fn response(from: &mut impl BufRead, id: i64) -> Value {
    loop {
        let mut length = 0;
        loop {
            let mut header = String::new();
            from.read_line(&mut header).unwrap();
            if header.trim().is_empty() {
                break;
            }
            if let Some(value) = header.trim().strip_prefix("Content-Length: ") {
                length = value.parse().unwrap();
            }
        }
        let mut body = vec![0; length];
        from.read_exact(&mut body).unwrap();
        let message: Value = serde_json::from_slice(&body).unwrap();
        if message["id"] == id && message.get("method").is_none() {
            return message;
        }
    }
}

/// The daemon's RSS with 20 open 10,000-line documents: as opened, and after a keystroke in
/// each (every document parsed in turn; the most recently used keep their syntax trees).
fn documents_rss(bin: &Path) {
    let home = LatheHome::new().unwrap();
    let workspace = tempfile::tempdir().unwrap();
    let root = workspace.path().canonicalize().unwrap();
    let mut shim = lsp_shim(&home);
    let mut to = shim.stdin.take().unwrap();
    let mut from = BufReader::new(shim.stdout.take().unwrap());
    let uri = |i: usize| format!("file://{}/f{i}.rs", root.display());
    let notify = |to: &mut std::process::ChildStdin, method: &str, params: Value| {
        send(
            to,
            &json!({"jsonrpc": "2.0", "method": method, "params": params}),
        );
    };
    send(
        &mut to,
        &json!({"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {
            "capabilities": {"general": {"positionEncodings": ["utf-16"]}},
            "rootUri": format!("file://{}", root.display())}}),
    );
    response(&mut from, 1);
    notify(&mut to, "initialized", json!({}));
    let pid = home.daemon_pid().unwrap();
    let before = rss(pid, bin);
    for i in 0..20 {
        notify(
            &mut to,
            "textDocument/didOpen",
            json!({"textDocument": {"uri": uri(i), "languageId": "rust", "version": 1, "text": rust_file(i)}}),
        );
    }
    send(
        &mut to,
        &json!({"jsonrpc": "2.0", "id": 2, "method": "lathe/status", "params": null}),
    );
    response(&mut from, 2);
    let opened = rss(pid, bin);
    for i in 0..20 {
        let change = json!({"range": {"start": {"line": 5, "character": 4},
                                      "end": {"line": 5, "character": 4}}, "text": " "});
        notify(
            &mut to,
            "textDocument/didChange",
            json!({"textDocument": {"uri": uri(i), "version": 2}, "contentChanges": [change]}),
        );
    }
    send(
        &mut to,
        &json!({"jsonrpc": "2.0", "id": 3, "method": "lathe/status", "params": null}),
    );
    response(&mut from, 3);
    std::thread::sleep(Duration::from_secs(1));
    let typed = rss(pid, bin);
    let mb = |r: Rss| r.total as f64 / 1024.0;
    println!(
        "daemon RSS with 20 open 10,000-line documents from one editor: {:.1} MB as opened, \
         {:.1} MB after a keystroke in each ({:.1} MB with the editor attached and nothing open; \
         aim: under 80 MB)",
        mb(opened),
        mb(typed),
        mb(before)
    );
    drop(to);
    shim.wait().unwrap();
    signal(pid, "TERM");
    wait_until(Duration::from_secs(10), || home.daemon_info().is_none()).unwrap();
}

fn main() {
    let bin = fresh_binary();
    let mut cold = Vec::new();
    let mut idle = Vec::new();
    for _ in 0..ROUNDS {
        let home = LatheHome::new().unwrap();
        let body = r#"{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"capabilities":{}}}"#;
        let started = Instant::now();
        let mut shim = lsp_shim(&home);
        let stdin = shim.stdin.as_mut().unwrap();
        write!(stdin, "Content-Length: {}\r\n\r\n{body}", body.len()).unwrap();
        stdin.flush().unwrap();
        let mut reader = BufReader::new(shim.stdout.take().unwrap());
        let mut header = String::new();
        reader.read_line(&mut header).unwrap();
        cold.push(started.elapsed());
        let length: usize = header
            .trim()
            .trim_start_matches("Content-Length: ")
            .parse()
            .unwrap();
        let mut rest = vec![0; length + 2];
        reader.read_exact(&mut rest).unwrap();
        drop(shim.stdin.take());
        shim.wait().unwrap();

        wait_until(Duration::from_secs(10), || home.daemon_pid().is_some()).unwrap();
        let pid = home.daemon_pid().unwrap();
        std::thread::sleep(Duration::from_secs(2));
        idle.push(rss(pid, bin));
        signal(pid, "TERM");
        wait_until(Duration::from_secs(10), || home.daemon_info().is_none()).unwrap();
    }
    cold.sort();
    idle.sort_by_key(|r| r.total);
    let ms = |d: Duration| d.as_secs_f64() * 1000.0;
    println!(
        "lathe lsp, no daemon running -> first answer ({ROUNDS} rounds): p50 {:.1} ms, p90 {:.1} ms, max {:.1} ms",
        ms(cold[ROUNDS / 2]),
        ms(cold[ROUNDS * 9 / 10]),
        ms(cold[ROUNDS - 1])
    );
    let mb = |kb: u64| kb as f64 / 1024.0;
    let median = idle[ROUNDS / 2];
    println!(
        "idle daemon RSS after 2 s: p50 {:.1} MB, max {:.1} MB",
        mb(median.total),
        mb(idle[ROUNDS - 1].total)
    );
    println!(
        "  p50 round: executable {:.1} MB, heap+stacks (anonymous) {:.1} MB, \
         shared libraries {:.1} MB, {} threads",
        mb(median.executable),
        mb(median.anonymous),
        mb(median.libraries),
        median.threads
    );
    documents_rss(bin);
    dashboard_api();
}

/// Sessions in the dashboard bench's store, and events in each.
const SESSIONS: usize = 1000;
const EVENTS_PER_SESSION: usize = 60;

/// One run of a session: a prompt, a tool call with its result and diff, an answer
/// streamed in deltas, its usage; `EVENTS_PER_SESSION` events.
fn run_events(n: usize) -> Vec<EventPayload> {
    let message = |id: &str| MessageId::from(format!("{id}-{n}"));
    let tool = ToolCallId::from(format!("call-{n}"));
    let mut events = vec![
        EventPayload::RunStarted {
            thread_id: SessionId::from(format!("s-{n}")),
            run_id: RunId::from(format!("r-{n}")),
        },
        EventPayload::TextMessageStart {
            message_id: message("u"),
            role: Role::User,
        },
        EventPayload::TextMessageContent {
            message_id: message("u"),
            delta: format!("fix the parser bug number {n}"),
        },
        EventPayload::TextMessageEnd {
            message_id: message("u"),
        },
        EventPayload::ToolCallStart {
            tool_call_id: tool.clone(),
            tool_call_name: "edit_file".into(),
            parent_message_id: None,
        },
        EventPayload::ToolCallArgs {
            tool_call_id: tool.clone(),
            delta: r#"{"path":"src/parser.rs","search":"a","replace":"b"}"#.into(),
        },
        EventPayload::ToolCallEnd {
            tool_call_id: tool.clone(),
        },
        EventPayload::Custom(CustomEvent::FileChanged(FileChanged {
            path: "src/parser.rs".into(),
            kind: FileChangeKind::Modified,
            old_path: None,
            diff: "--- a/src/parser.rs\n+++ b/src/parser.rs\n@@ -1 +1 @@\n-a\n+b\n".into(),
            tool_call_id: Some(tool.clone()),
        })),
        EventPayload::ToolCallResult {
            message_id: message("t"),
            tool_call_id: tool,
            content: "edited src/parser.rs".into(),
            is_error: false,
        },
        EventPayload::TextMessageStart {
            message_id: message("a"),
            role: Role::Assistant,
        },
    ];
    let deltas = EVENTS_PER_SESSION - events.len() - 3;
    events.extend((0..deltas).map(|i| EventPayload::TextMessageContent {
        message_id: message("a"),
        delta: format!("word{i} "),
    }));
    events.push(EventPayload::TextMessageEnd {
        message_id: message("a"),
    });
    events.push(EventPayload::Custom(CustomEvent::Usage(Usage {
        model: "bench".into(),
        input_tokens: 2000,
        output_tokens: 120,
        cached_input_tokens: 0,
        estimated: false,
        cost_usd: Some(0.004),
        time_to_first_token_ms: Some(300),
        latency_ms: 1200,
    })));
    events.push(EventPayload::RunFinished {
        thread_id: SessionId::from(format!("s-{n}")),
        run_id: RunId::from(format!("r-{n}")),
        result: None,
    });
    events
}

/// p50 and max of `ROUNDS * 4` calls of `path`, each on its own connection, and the
/// answer's size.
fn api_latency(url: &str, token: &str, path: &str) -> (f64, f64, usize) {
    let mut times = Vec::new();
    let mut bytes = 0;
    for _ in 0..ROUNDS * 4 {
        let started = Instant::now();
        let response = lathe_tests::http::request(url, token, "GET", path, &[], None).unwrap();
        times.push(started.elapsed().as_secs_f64() * 1000.0);
        assert_eq!(response.status, 200, "{path}: {}", response.body);
        bytes = response.body.len();
    }
    times.sort_by(f64::total_cmp);
    (times[times.len() / 2], times[times.len() - 1], bytes)
}

fn dashboard_api() {
    let home = LatheHome::new().unwrap();
    let runtime = tokio::runtime::Runtime::new().unwrap();
    runtime.block_on(async {
        let store = Store::open(&home.path().join("state/lathe.redb")).unwrap();
        for n in 0..SESSIONS {
            let meta = SessionMeta {
                id: SessionId::from(format!("s-{n}")),
                title: format!("fix the parser bug number {n}"),
                workspace: format!("/home/dev/project-{}", n % 7),
                status: SessionStatus::Finished,
                created_at: n as u64 * 1000,
                updated_at: n as u64 * 1000,
                origin: ["lsp", "mcp", "cli", "dashboard"][n % 4].into(),
                model: Some("bench".into()),
                usage: Default::default(),
            };
            store
                .append_with_session(&meta, run_events(n))
                .await
                .unwrap();
        }
    });
    let _daemon = home.start_daemon().unwrap();
    let info = home.daemon_info().unwrap();
    let (url, token) = (
        info["url"].as_str().unwrap(),
        info["token"].as_str().unwrap(),
    );
    println!(
        "dashboard API over {SESSIONS} sessions x {EVENTS_PER_SESSION} events ({} rounds, a connection each):",
        ROUNDS * 4
    );
    for (what, path) in [
        ("session list", "/api/sessions".to_owned()),
        (
            "search",
            "/api/sessions?q=bug+number+77&origin=mcp".to_owned(),
        ),
        ("metrics", "/api/metrics".to_owned()),
        (
            "transcript backlog",
            format!("/api/sessions/s-{}/events", SESSIONS / 2),
        ),
        ("status", "/api/status".to_owned()),
    ] {
        let (p50, max, bytes) = api_latency(url, token, &path);
        println!(
            "  {what:<18} p50 {p50:.2} ms, max {max:.2} ms ({} KB)",
            bytes / 1024
        );
    }
}
