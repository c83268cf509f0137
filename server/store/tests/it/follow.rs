use lathe_protocol::{EventPayload, MessageId, SessionId};
use lathe_store::Store;
use pretty_assertions::assert_eq;

fn delta(i: usize) -> EventPayload {
    EventPayload::TextMessageContent {
        message_id: MessageId::from("m"),
        delta: i.to_string(),
    }
}

#[tokio::test]
async fn a_follower_that_falls_behind_the_bus_catches_up_from_the_log() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(&dir.path().join("lathe.redb")).unwrap();
    let session = SessionId::from("s");
    let other = SessionId::from("other");
    store.append(&session, vec![delta(0)]).await.unwrap();
    let mut follow = store.follow(&session).unwrap();
    assert_eq!(follow.position(), 1, "starts after what was there");
    // Far more than the bus holds, interleaved with another session's events.
    for batch in 0..100 {
        let deltas = || (1..=30).map(|i| delta(batch * 30 + i)).collect::<Vec<_>>();
        store.append(&session, deltas()).await.unwrap();
        store.append(&other, deltas()).await.unwrap();
    }
    let mut seen = Vec::new();
    while let Some(event) = follow.try_next() {
        assert_eq!(event.session_id, session);
        seen.push(event.seq);
    }
    assert_eq!(
        seen,
        (2..=3001).collect::<Vec<u64>>(),
        "every event, once, in order"
    );
    store.append(&session, vec![delta(3001)]).await.unwrap();
    assert_eq!(follow.next().await.map(|e| e.seq), Some(3002));
}
