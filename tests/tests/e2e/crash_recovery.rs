//! `kill -9` while 20 sessions append: every event a run had printed (and so committed)
//! before the kill is in the store afterwards, byte for byte, with gapless `seq`s, and the
//! store opens without repair by hand.

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

#[tokio::test(flavor = "multi_thread")]
async fn kill_9_during_twenty_appending_sessions_loses_no_committed_event() {
    // The model asks for a file forever; every turn appends durable boundaries.
    let model = ScriptedModel::start(Script::new([Step::tool_calls([(
        "read_file",
        json!({"path": "notes.txt"}),
    )])
    .repeated()]))
    .await
    .unwrap();
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
