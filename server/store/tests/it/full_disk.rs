use crate::disk::Disk;
use lathe_protocol::{Event, EventPayload, MessageId, SessionId};
use lathe_store::{Store, StoreError};
use pretty_assertions::assert_eq;
use std::future::Future;
use std::path::Path;
use std::pin::Pin;
use std::task::{Context, Poll, Waker};

fn text(delta: impl Into<String>) -> EventPayload {
    EventPayload::TextMessageContent {
        message_id: MessageId::from("m"),
        delta: delta.into(),
    }
}

fn open_on(path: &Path, disk: &Disk) -> Store {
    let disk = disk.clone();
    let file = path.to_path_buf();
    Store::open_with_backend(path, move || disk.open(&file)).unwrap()
}

type Append<'a> = Pin<Box<dyn Future<Output = Result<Vec<Event>, StoreError>> + Send + 'a>>;

/// Polls an append once: that queues it for the writer thread, which answers it later.
fn queue(append: &mut Append<'_>) {
    let poll = append
        .as_mut()
        .poll(&mut Context::from_waker(Waker::noop()));
    assert!(
        matches!(poll, Poll::Pending),
        "answered before the writer ran"
    );
}

fn seqs(events: &[Event]) -> Vec<u64> {
    events.iter().map(|e| e.seq).collect()
}

#[tokio::test]
async fn a_full_disk_fails_the_whole_group_clearly_and_the_store_resumes_when_room_is_back() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("lathe.redb");
    let disk = Disk::default();
    let store = open_on(&path, &disk);
    let mut bus = store.subscribe();
    let a = SessionId::from("a");
    let b = SessionId::from("b");

    let first = store
        .append(&a, vec![text("one"), text("two")])
        .await
        .unwrap();
    let second = store.append(&b, vec![text("uno")]).await.unwrap();
    let third = store.append(&a, vec![text("three")]).await.unwrap();
    let mut published = [first.clone(), second.clone(), third.clone()].concat();
    let mut log_a = [first, third].concat();
    let mut log_b = second;

    // An event larger than everything the file holds needs new blocks, whichever free
    // pages redb picks for it.
    let big = "x".repeat(disk.used_bytes() as usize + 16 * 4096);
    disk.hold_writes();
    let mut carrier: Append<'_> = Box::pin(store.append(&a, vec![text(big.clone())]));
    queue(&mut carrier);
    disk.wait_for_held_write();
    // The writer is inside the carrier's commit: these wait for it and form the next group.
    let mut group: Vec<Append<'_>> = (0..6)
        .map(|i| {
            let session = if i % 2 == 0 { &a } else { &b };
            Box::pin(store.append(session, vec![text(i.to_string()), text(big.clone())]))
                as Append<'_>
        })
        .collect();
    group.iter_mut().for_each(queue);
    disk.fill();
    disk.release_writes();

    let mut failed = vec![carrier.await];
    for append in group {
        failed.push(append.await);
    }
    let full = format!(
        "no space left for the session store {}: the disk is full (No space left on device \
         (os error 28)); nothing was written, free some space and retry",
        path.display()
    );
    assert_eq!(
        failed
            .iter()
            .map(|r| r
                .as_ref()
                .map_err(|e| e.to_string())
                .map(|events| seqs(events)))
            .collect::<Vec<_>>(),
        vec![Err(full.clone()); 7]
    );
    assert!(matches!(failed[0], Err(StoreError::DiskFull { .. })));

    // What was committed before is all there, in order, while the disk is still full.
    assert_eq!(store.events(&a, 0, usize::MAX).unwrap(), log_a);
    assert_eq!(store.events(&b, 0, usize::MAX).unwrap(), log_b);
    assert_eq!(
        (store.last_seq(&a).unwrap(), store.last_seq(&b).unwrap()),
        (3, 1)
    );

    // Room again: the same writer thread commits, and seq goes on from the last stored one.
    disk.free();
    let after_a = store
        .append(&a, vec![text("four"), text(big.clone())])
        .await
        .unwrap();
    let after_b = store.append(&b, vec![text("dos")]).await.unwrap();
    assert_eq!((seqs(&after_a), seqs(&after_b)), (vec![4, 5], vec![2]));
    log_a.extend(after_a.clone());
    log_b.extend(after_b.clone());
    published.extend([after_a, after_b].concat());
    assert_eq!(store.events(&a, 0, usize::MAX).unwrap(), log_a);
    assert_eq!(store.events(&b, 0, usize::MAX).unwrap(), log_b);

    // Subscribers saw exactly the committed events, nothing of the failed groups.
    let mut seen = Vec::new();
    while let Ok(event) = bus.try_recv() {
        seen.push(event);
    }
    assert_eq!(seen, published);

    // The file opens again, on a plain file backend, with the same log.
    drop(store);
    let reopened = Store::open(&path).unwrap();
    assert_eq!(
        (
            reopened.events(&a, 0, usize::MAX).unwrap(),
            reopened.events(&b, 0, usize::MAX).unwrap()
        ),
        (log_a, log_b)
    );
}
