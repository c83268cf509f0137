//! Daemon figures: time from `lathe lsp` starting with no daemon running to the daemon's
//! first answer (autostart included), and the idle daemon's resident memory.
//!
//! Run with `cargo bench -p lathe-tests --bench daemon`. Prints numbers; asserts nothing.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::print_stdout)]

use lathe_tests::daemon::{LatheHome, signal, wait_until};
use std::io::{BufRead, BufReader, Read, Write};
use std::process::Stdio;
use std::time::{Duration, Instant};

const ROUNDS: usize = 15;

fn main() {
    let mut cold = Vec::new();
    let mut rss_kb = Vec::new();
    for _ in 0..ROUNDS {
        let home = LatheHome::new().unwrap();
        let body = r#"{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"capabilities":{}}}"#;
        let started = Instant::now();
        let mut shim = home
            .command()
            .arg("lsp")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
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
        let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
        let rss = status
            .lines()
            .find_map(|l| l.strip_prefix("VmRSS:"))
            .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<u64>().ok())
            .unwrap();
        rss_kb.push(rss);
        signal(pid, "TERM");
        wait_until(Duration::from_secs(10), || home.daemon_info().is_none()).unwrap();
    }
    cold.sort();
    rss_kb.sort();
    let ms = |d: Duration| d.as_secs_f64() * 1000.0;
    println!(
        "lathe lsp, no daemon running -> first answer ({ROUNDS} rounds): p50 {:.1} ms, p90 {:.1} ms, max {:.1} ms",
        ms(cold[ROUNDS / 2]),
        ms(cold[ROUNDS * 9 / 10]),
        ms(cold[ROUNDS - 1])
    );
    println!(
        "idle daemon RSS after 2 s: p50 {:.1} MB, max {:.1} MB",
        rss_kb[ROUNDS / 2] as f64 / 1024.0,
        rss_kb[ROUNDS - 1] as f64 / 1024.0
    );
}
