//! Daemon figures: time from `lathe lsp` starting with no daemon running to the daemon's
//! first answer (autostart included), the idle daemon's resident memory, and the daemon's
//! resident memory with 20 open 10,000-line documents from one editor (aim: under 80 MB).
//!
//! Run with `cargo bench -p lathe-tests --bench daemon`: that measures the `lathe` binary of
//! the bench profile (an optimised build, rebuilt first when stale), which is what users
//! run. Prints numbers, with where the idle daemon's memory goes; asserts nothing.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::print_stdout)]

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
}
