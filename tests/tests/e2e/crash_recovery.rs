//! `kill -9` while 20 sessions append, of the daemon serving them and of 20 `lathe run`
//! processes: every event committed before the kill (read back from the daemon's API, or
//! printed by a run) is in the store afterwards, byte for byte, with gapless `seq`s, and
//! the store opens without repair by hand.

use crate::mcp_shim::McpShim;
use lathe_protocol::EventPayload;
use lathe_store::Store;
use lathe_tests::daemon::LatheHome;
use lathe_tests::scripted_model::{Script, ScriptedModel, Step};
use pretty_assertions::assert_eq;
use serde_json::{Value, json};
use std::io::{BufRead, BufReader};
use std::process::Stdio;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

const RUNS: usize = 20;
/// Events every run must have printed before the kill.
const EVENTS_BEFORE_KILL: usize = 12;

/// A model that asks for a file forever: every turn appends durable boundaries.
async fn endless_reads() -> ScriptedModel {
    ScriptedModel::start(Script::new([Step::tool_calls([(
        "read_file",
        json!({"path": "notes.txt"}),
    )])
    .repeated()]))
    .await
    .unwrap()
}

/// `GET path` from the running daemon of `home`, as JSON.
fn api(home: &LatheHome, path: &str) -> Value {
    let info = home.daemon_info().unwrap();
    let response = lathe_tests::http::request(
        info["url"].as_str().unwrap(),
        info["token"].as_str().unwrap(),
        "GET",
        path,
        &[],
        None,
    )
    .unwrap();
    assert_eq!(response.status, 200, "{path}: {}", response.body);
    response.json().unwrap()
}

fn events_of(home: &LatheHome, session: &str) -> Vec<Value> {
    api(home, &format!("/api/sessions/{session}/events?limit=10000"))
        .as_array()
        .unwrap()
        .clone()
}

#[tokio::test(flavor = "multi_thread")]
async fn kill_9_of_the_daemon_during_twenty_sessions_loses_no_committed_event() {
    let model = endless_reads().await;
    let home = LatheHome::new().unwrap();
    home.write_user_config(&format!(
        "[daemon]\nport = 0\n\n[model]\nbase_url = \"{}\"\nmodel = \"gpt-4o\"\n\n[sandbox]\nbackend = \"none\"\n",
        model.base_url()
    ))
    .unwrap();
    let workspace = tempfile::tempdir().unwrap();
    std::fs::write(workspace.path().join("notes.txt"), "remember the milk\n").unwrap();
    let mut daemon = home.start_daemon().unwrap();

    let mut shims: Vec<McpShim> = (0..RUNS)
        .map(|_| McpShim::start(&home, workspace.path()))
        .collect();
    for shim in &mut shims {
        shim.send(
            "tools/call",
            json!({"name": "run_task", "arguments": {"prompt": "read my notes, again and again"}}),
        );
    }
    // What the daemon's API returned was read from the store: committed.
    let deadline = Instant::now() + Duration::from_secs(120);
    let committed = loop {
        assert!(Instant::now() < deadline, "the runs did not get going");
        let sessions = api(&home, "/api/sessions");
        let ids: Vec<String> = sessions
            .as_array()
            .unwrap()
            .iter()
            .map(|s| s["id"].as_str().unwrap().to_owned())
            .collect();
        if ids.len() == RUNS {
            let logs: Vec<(String, Vec<Value>)> = ids
                .into_iter()
                .map(|id| {
                    let events = events_of(&home, &id);
                    (id, events)
                })
                .collect();
            if logs.iter().all(|(_, e)| e.len() >= EVENTS_BEFORE_KILL) {
                break logs;
            }
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    };
    daemon.kill_hard().unwrap();
    drop(shims);

    let _restarted = home.start_daemon().unwrap();
    assert_eq!(api(&home, "/api/sessions").as_array().unwrap().len(), RUNS);
    for (session, before) in committed {
        let after = events_of(&home, &session);
        let seqs: Vec<u64> = after.iter().map(|e| e["seq"].as_u64().unwrap()).collect();
        assert_eq!(
            seqs,
            (1..=after.len() as u64).collect::<Vec<_>>(),
            "gapless seqs"
        );
        assert!(after.len() >= before.len());
        assert_eq!(
            after[..before.len()],
            before[..],
            "every committed event of {session} survives, as it was"
        );
        // The killed daemon's run is closed, so the session is not left "running".
        let last = after.last().unwrap();
        assert_eq!(
            (&last["type"], &last["code"]),
            (&json!("RUN_ERROR"), &json!("interrupted")),
            "{last:#}"
        );
        let meta = api(&home, &format!("/api/sessions/{session}"));
        assert_eq!(meta["status"], "failed", "{meta:#}");
    }
    // ...and can be continued.
    let info = home.daemon_info().unwrap();
    let session = api(&home, "/api/sessions")[0]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let reply = lathe_tests::http::request(
        info["url"].as_str().unwrap(),
        info["token"].as_str().unwrap(),
        "POST",
        &format!("/api/sessions/{session}/messages"),
        &[],
        Some(&json!({"prompt": "go on"})),
    )
    .unwrap();
    assert_eq!(reply.status, 202, "{}", reply.body);
}

#[tokio::test(flavor = "multi_thread")]
async fn kill_9_during_twenty_appending_sessions_loses_no_committed_event() {
    let model = endless_reads().await;
    let home = LatheHome::new().unwrap();
    let workspace = tempfile::tempdir().unwrap();
    std::fs::write(workspace.path().join("notes.txt"), "remember the milk\n").unwrap();

    let printed: Vec<Arc<Mutex<Vec<Value>>>> = (0..RUNS).map(|_| Arc::default()).collect();
    let mut children = Vec::new();
    let mut readers = Vec::new();
    for lines in &printed {
        let mut child = home
            .command()
            .env("LATHE_BASE_URL", model.base_url())
            .env("LATHE_MODEL", "gpt-4o")
            .env("LATHE_SANDBOX", "none")
            .current_dir(workspace.path())
            .args(["run", "--json", "read my notes, again and again"])
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let stdout = child.stdout.take().unwrap();
        let lines = lines.clone();
        readers.push(std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                // A line cut by the kill is not an event the run had printed.
                if let Ok(event) = serde_json::from_str::<Value>(&line) {
                    lines.lock().unwrap().push(event);
                }
            }
        }));
        children.push(child);
    }

    let deadline = Instant::now() + Duration::from_secs(120);
    while printed
        .iter()
        .any(|p| p.lock().unwrap().len() < EVENTS_BEFORE_KILL)
    {
        assert!(Instant::now() < deadline, "the runs did not get going");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    for child in &mut children {
        child.kill().unwrap();
    }
    for child in &mut children {
        child.wait().unwrap();
    }
    for reader in readers {
        reader.join().unwrap();
    }

    let store = Store::open(&home.path().join("state/lathe.redb")).unwrap();
    assert_eq!(store.sessions().unwrap().len(), RUNS);
    for lines in printed {
        let printed = lines.lock().unwrap().clone();
        let session = printed[0]["sessionId"].as_str().unwrap().into();
        let stored = store.events(&session, 0, usize::MAX).unwrap();
        let seqs: Vec<u64> = stored.iter().map(|e| e.seq).collect();
        assert_eq!(
            seqs,
            (1..=stored.len() as u64).collect::<Vec<_>>(),
            "gapless seqs"
        );
        assert!(stored.len() >= printed.len());
        let stored: Vec<Value> = stored
            .iter()
            .map(|e| serde_json::to_value(e).unwrap())
            .collect();
        assert_eq!(
            stored[..printed.len()],
            printed[..],
            "every printed event is stored as printed"
        );
    }

    // The store keeps working after the crash: a new append continues each log.
    let sessions = store.sessions().unwrap();
    let last = store.last_seq(&sessions[0].id).unwrap();
    let appended = store
        .append(
            &sessions[0].id,
            vec![EventPayload::StepStarted {
                step_name: "after the crash".into(),
            }],
        )
        .await
        .unwrap();
    assert_eq!(appended[0].seq, last + 1);
}
