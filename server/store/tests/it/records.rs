use lathe_protocol::{
    Approval, ApprovalDecision, ApprovalId, ApprovalRequest, ApprovalStatus, SessionId,
    SessionMeta, SessionStatus, Surface,
};
use lathe_store::Store;
use pretty_assertions::assert_eq;

fn session(id: &str, updated_at: u64) -> SessionMeta {
    SessionMeta {
        id: SessionId::from(id),
        title: format!("session {id}"),
        workspace: "/w".into(),
        status: SessionStatus::Idle,
        created_at: 1,
        updated_at,
        origin: "cli".into(),
        model: None,
        usage: Default::default(),
    }
}

#[tokio::test]
async fn sessions_are_listed_most_recent_first_and_updated_in_place() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(&dir.path().join("lathe.redb")).unwrap();
    store.put_session(&session("old", 10)).await.unwrap();
    store.put_session(&session("new", 20)).await.unwrap();
    let mut finished = session("old", 30);
    finished.status = SessionStatus::Finished;
    store.put_session(&finished).await.unwrap();

    assert_eq!(
        store.sessions().unwrap(),
        vec![finished.clone(), session("new", 20)]
    );
    assert_eq!(
        store.session(&SessionId::from("old")).unwrap(),
        Some(finished)
    );
    assert_eq!(store.session(&SessionId::from("missing")).unwrap(), None);
    assert_eq!(
        store.session_count().unwrap(),
        2,
        "an update is not a new session"
    );
}

#[tokio::test]
async fn approvals_keep_who_decided() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(&dir.path().join("lathe.redb")).unwrap();
    let request = |id: &str, session: &str, at| ApprovalRequest {
        id: ApprovalId::from(id),
        session_id: SessionId::from(session),
        tool_call_id: None,
        tool: "run_command".into(),
        action: "run_command(cargo test)".into(),
        summary: "run cargo test".into(),
        requested_at: at,
        expires_at: at + 60_000,
    };
    let pending = Approval {
        request: request("a1", "s1", 1),
        status: ApprovalStatus::Pending,
    };
    let other = Approval {
        request: request("a2", "s2", 2),
        status: ApprovalStatus::Pending,
    };
    store.put_approval(&pending).await.unwrap();
    store.put_approval(&other).await.unwrap();
    let resolved = Approval {
        request: pending.request.clone(),
        status: ApprovalStatus::Resolved {
            decision: ApprovalDecision::AllowForSession,
            by: Surface::Lsp,
            who: Some("Neovim".into()),
            at: 5,
        },
    };
    store.put_approval(&resolved).await.unwrap();

    assert_eq!(
        store.approvals(Some(&SessionId::from("s1"))).unwrap(),
        vec![resolved.clone()]
    );
    assert_eq!(store.approvals(None).unwrap(), vec![resolved, other]);
}

#[tokio::test]
async fn a_session_and_the_events_that_change_it_commit_together() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(&dir.path().join("lathe.redb")).unwrap();
    let mut bus = store.subscribe();
    let mut running = session("s", 10);
    running.status = SessionStatus::Running;
    let started = lathe_protocol::EventPayload::StepStarted {
        step_name: "turn 1".into(),
    };

    let events = store
        .append_with_session(&running, vec![started.clone()])
        .await
        .unwrap();

    assert_eq!(events.len(), 1);
    assert_eq!(events[0].seq, 1);
    assert_eq!(events[0].payload, started);
    // Whoever sees the event on the bus finds the session as it was written with it.
    let published = bus.recv().await.unwrap();
    assert_eq!(published, events[0]);
    assert_eq!(store.session(&running.id).unwrap(), Some(running));
}

#[tokio::test]
async fn a_session_sums_its_usage_whatever_its_callers_store() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(&dir.path().join("lathe.redb")).unwrap();
    let meta = session("s", 1);
    store.put_session(&meta).await.unwrap();
    let call = |input: u64, cost: Option<f64>| {
        lathe_protocol::EventPayload::Custom(lathe_protocol::CustomEvent::Usage(
            lathe_protocol::event::Usage {
                model: "gpt-4o".into(),
                input_tokens: input,
                output_tokens: 10,
                cached_input_tokens: 0,
                estimated: false,
                cost_usd: cost,
                time_to_first_token_ms: None,
                latency_ms: 5,
            },
        ))
    };
    store
        .append(&meta.id, vec![call(100, Some(0.25)), call(50, None)])
        .await
        .unwrap();
    // A caller's copy (as a run keeps it) knows nothing of the usage.
    let mut finished = meta.clone();
    finished.status = SessionStatus::Finished;
    store
        .append_with_session(&finished, vec![call(1, Some(0.000_001))])
        .await
        .unwrap();
    store.put_session(&finished).await.unwrap();
    let usage = store.session(&meta.id).unwrap().unwrap().usage;
    assert_eq!(
        usage,
        lathe_protocol::SessionUsage {
            model_calls: 3,
            input_tokens: 151,
            output_tokens: 30,
            cost_micro_usd: 250_001,
        }
    );
    assert_eq!(store.sessions().unwrap()[0].usage, usage);
}
