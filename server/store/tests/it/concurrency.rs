use lathe_protocol::{EventPayload, MessageId, SessionId};
use lathe_store::Store;
use std::collections::BTreeMap;

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn many_tasks_appending_at_once_never_gap_or_duplicate_seqs() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(&dir.path().join("lathe.redb")).unwrap();
    let sessions = 8;
    let tasks_per_session = 4;
    let appends_per_task = 50;
    let mut handles = Vec::new();
    for s in 0..sessions {
        for t in 0..tasks_per_session {
            let store = store.clone();
            handles.push(tokio::spawn(async move {
                let session = SessionId::from(format!("s{s}"));
                for i in 0..appends_per_task {
                    store
                        .append(
                            &session,
                            vec![EventPayload::TextMessageContent {
                                message_id: MessageId::from(format!("t{t}")),
                                delta: i.to_string(),
                            }],
                        )
                        .await
                        .unwrap();
                }
            }));
        }
    }
    for handle in handles {
        handle.await.unwrap();
    }
    for s in 0..sessions {
        let events = store
            .events(&SessionId::from(format!("s{s}")), 0, usize::MAX)
            .unwrap();
        let seqs: Vec<u64> = events.iter().map(|e| e.seq).collect();
        let expected: Vec<u64> = (1..=(tasks_per_session * appends_per_task) as u64).collect();
        assert_eq!(seqs, expected, "session s{s}");
        // Each task's own appends stay in the order it made them.
        let mut per_task: BTreeMap<String, Vec<usize>> = BTreeMap::new();
        for event in events {
            if let EventPayload::TextMessageContent { message_id, delta } = event.payload {
                per_task
                    .entry(message_id.to_string())
                    .or_default()
                    .push(delta.parse().unwrap());
            }
        }
        for (task, deltas) in per_task {
            assert_eq!(
                deltas,
                (0..appends_per_task).collect::<Vec<_>>(),
                "task {task}"
            );
        }
    }
}

#[test]
fn blocking_appends_work_outside_the_runtime() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(&dir.path().join("lathe.redb")).unwrap();
    let session = SessionId::from("s");
    let events = store
        .append_blocking(
            &session,
            vec![EventPayload::StepStarted {
                step_name: "plan".into(),
            }],
        )
        .unwrap();
    assert_eq!(events[0].seq, 1);
}
