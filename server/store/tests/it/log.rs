use lathe_protocol::event::{CustomEvent, SandboxExited, Usage};
use lathe_protocol::{EventPayload, MessageId, Role, SessionId};
use lathe_store::metrics::{LATENCY_BUCKETS_MS, Metrics};
use lathe_store::{MetricKey, Store};
use pretty_assertions::assert_eq;

fn text(id: &str, delta: &str) -> EventPayload {
    EventPayload::TextMessageContent {
        message_id: MessageId::from(id),
        delta: delta.into(),
    }
}

#[tokio::test]
async fn appends_get_consecutive_seqs_per_session_and_read_back_in_order() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(&dir.path().join("lathe.redb")).unwrap();
    let a = SessionId::from("a");
    let b = SessionId::from("b");

    let first = store
        .append(&a, vec![text("m", "he"), text("m", "llo")])
        .await
        .unwrap();
    store.append(&b, vec![text("n", "x")]).await.unwrap();
    let third = store.append(&a, vec![text("m", "!")]).await.unwrap();

    assert_eq!(first.iter().map(|e| e.seq).collect::<Vec<_>>(), vec![1, 2]);
    assert_eq!(third[0].seq, 3);
    let read: Vec<_> = store.events(&a, 0, 100).unwrap();
    assert_eq!(
        read.iter()
            .map(|e| (e.seq, e.payload.clone()))
            .collect::<Vec<_>>(),
        vec![
            (1, text("m", "he")),
            (2, text("m", "llo")),
            (3, text("m", "!"))
        ]
    );
    assert_eq!(
        store.events(&a, 1, 1).unwrap()[0].seq,
        2,
        "resume after seq 1"
    );
    assert_eq!(store.last_seq(&b).unwrap(), 1);
    assert_eq!(store.last_seq(&SessionId::from("none")).unwrap(), 0);
}

#[tokio::test]
async fn the_log_survives_reopening() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("lathe.redb");
    let s = SessionId::from("s");
    {
        let store = Store::open(&path).unwrap();
        store
            .append(
                &s,
                vec![EventPayload::TextMessageStart {
                    message_id: MessageId::from("m"),
                    role: Role::Assistant,
                }],
            )
            .await
            .unwrap();
    }
    let store = Store::open(&path).unwrap();
    let next = store.append(&s, vec![text("m", "more")]).await.unwrap();
    assert_eq!(next[0].seq, 2);
    assert_eq!(store.events(&s, 0, 10).unwrap().len(), 2);
}

#[tokio::test]
async fn subscribers_see_committed_events_in_order() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(&dir.path().join("lathe.redb")).unwrap();
    let mut bus = store.subscribe();
    let s = SessionId::from("s");
    let appended = store
        .append(&s, vec![text("m", "a"), text("m", "b")])
        .await
        .unwrap();
    let seen = vec![bus.recv().await.unwrap(), bus.recv().await.unwrap()];
    assert_eq!(seen, appended);
}

#[tokio::test]
async fn usage_and_tool_events_roll_up_into_metrics() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(&dir.path().join("lathe.redb")).unwrap();
    let s = SessionId::from("s");
    let usage = EventPayload::Custom(CustomEvent::Usage(Usage {
        model: "m".into(),
        input_tokens: 100,
        output_tokens: 20,
        cached_input_tokens: 0,
        estimated: false,
        cost_usd: Some(0.0015),
        time_to_first_token_ms: Some(80),
        latency_ms: 300,
    }));
    let result = |is_error| EventPayload::ToolCallResult {
        message_id: MessageId::from("t"),
        tool_call_id: "c".into(),
        content: "ok".into(),
        is_error,
    };
    store
        .append(&s, vec![usage.clone(), usage, result(false), result(true)])
        .await
        .unwrap();
    let metrics = store.metrics().unwrap();
    assert_eq!(metrics.total(MetricKey::Events), 4);
    assert_eq!(metrics.total(MetricKey::ModelCalls), 2);
    assert_eq!(metrics.total(MetricKey::InputTokens), 200);
    assert_eq!(metrics.total(MetricKey::OutputTokens), 40);
    assert_eq!(metrics.total(MetricKey::CostMicroUsd), 3000);
    assert_eq!(metrics.total(MetricKey::ToolCalls), 2);
    assert_eq!(metrics.total(MetricKey::ToolErrors), 1);
    assert_eq!(metrics.totals["model_latency_ms_le_500"], 2);
    assert_eq!(metrics.totals["model_ttft_ms_le_100"], 2);
}

#[tokio::test]
async fn sandbox_exec_times_roll_up_into_a_histogram_with_quantiles_and_a_sum() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(&dir.path().join("lathe.redb")).unwrap();
    let exited = |duration_ms, exit_code| {
        EventPayload::Custom(CustomEvent::SandboxExited(SandboxExited {
            tool_call_id: None,
            backend: "docker".into(),
            exit_code,
            duration_ms,
        }))
    };
    let mut events: Vec<EventPayload> = (0..98).map(|_| exited(3, 0)).collect();
    events.push(exited(40, 1));
    events.push(exited(20_000, 124));
    store.append(&SessionId::from("s"), events).await.unwrap();
    let metrics = store.metrics().unwrap();
    assert_eq!(metrics.total(MetricKey::SandboxExecs), 100);
    assert_eq!(metrics.total(MetricKey::SandboxExecFailures), 2);
    assert_eq!(metrics.quantile("sandbox_exec_ms", 0.5), Some(5));
    assert_eq!(metrics.quantile("sandbox_exec_ms", 0.99), Some(50));
    assert_eq!(metrics.quantile("sandbox_exec_ms", 1.0), Some(30_000));
    assert_eq!(metrics.quantile("model_latency_ms", 0.5), None);
    let buckets = Metrics::buckets(&metrics.totals, "sandbox_exec_ms");
    assert_eq!(buckets.len(), LATENCY_BUCKETS_MS.len());
    assert_eq!(buckets.iter().sum::<u64>(), 100);
    assert_eq!(metrics.sum("sandbox_exec_ms"), 98 * 3 + 40 + 20_000);
}
