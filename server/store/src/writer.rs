//! The single writer thread: group commit.
//!
//! Every mutation is a request on a bounded channel. The thread takes the first waiting
//! request and then every other request already queued (up to [`MAX_GROUP`]), applies them
//! all in one write transaction, commits it durably, and only then answers each request
//! and publishes the new events. One fsync thus covers every append that arrived while the
//! previous one was running, which keeps latency low under load and throughput high.
//!
//! A failed commit (a full disk, say) answers every request of its group with the error
//! and leaves the thread serving the next group: the log stays as it was before the group.
//! Nothing about the log is kept in memory: `seq` is read from the last stored event inside
//! each transaction, so a group that failed cannot leave a counter ahead of the file. An I/O
//! error poisons the redb handle, so the thread reopens the database right after one (and
//! again before the next group while the reopen keeps failing): once the disk has room
//! again, appends succeed without restarting the daemon.

use crate::database::Database;
use crate::tables;
use crate::{StoreError, metrics};
use lathe_protocol::{
    Approval, CustomEvent, Event, EventPayload, SessionId, SessionMeta, TimestampMs,
};
use redb::ReadableTable;
use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};
use tokio::sync::{broadcast, mpsc, oneshot};

/// Most requests folded into one transaction.
const MAX_GROUP: usize = 1024;
/// Requests that may wait for the writer before submitters are slowed down.
const QUEUE: usize = 8192;

pub(crate) enum Op {
    Append {
        session: SessionId,
        payloads: Vec<EventPayload>,
        /// The session's metadata, written in the same transaction as the events.
        meta: Option<Box<SessionMeta>>,
    },
    PutSession(Box<SessionMeta>),
    PutApproval(Box<Approval>),
}

pub(crate) enum Reply {
    Events(Vec<Event>),
    Done,
}

impl Reply {
    pub(crate) fn into_events(self) -> Vec<Event> {
        match self {
            Reply::Events(events) => events,
            Reply::Done => Vec::new(),
        }
    }
}

struct Request {
    op: Op,
    reply: oneshot::Sender<Result<Reply, StoreError>>,
}

pub(crate) struct WriterHandle {
    tx: mpsc::Sender<Request>,
}

impl WriterHandle {
    pub(crate) async fn submit(&self, op: Op) -> Result<Reply, StoreError> {
        let (reply, rx) = oneshot::channel();
        self.tx
            .send(Request { op, reply })
            .await
            .map_err(|_| StoreError::Closed)?;
        rx.await.map_err(|_| StoreError::Closed)?
    }

    pub(crate) fn submit_blocking(&self, op: Op) -> Result<Reply, StoreError> {
        let (reply, rx) = oneshot::channel();
        self.tx
            .blocking_send(Request { op, reply })
            .map_err(|_| StoreError::Closed)?;
        rx.blocking_recv().map_err(|_| StoreError::Closed)?
    }
}

pub(crate) fn spawn(
    db: Arc<Database>,
    bus: broadcast::Sender<Event>,
) -> Result<WriterHandle, StoreError> {
    let (tx, rx) = mpsc::channel(QUEUE);
    std::thread::Builder::new()
        .name("lathe-store-writer".into())
        .spawn(move || run(db, bus, rx))
        .map_err(|source| StoreError::Io {
            path: "lathe-store-writer thread".into(),
            source: Arc::new(source),
        })?;
    Ok(WriterHandle { tx })
}

fn run(db: Arc<Database>, bus: broadcast::Sender<Event>, mut rx: mpsc::Receiver<Request>) {
    let mut needs_reopen = false;
    while let Some(first) = rx.blocking_recv() {
        let mut group = vec![first];
        while group.len() < MAX_GROUP {
            match rx.try_recv() {
                Ok(request) => group.push(request),
                Err(_) => break,
            }
        }
        if needs_reopen {
            if let Err(error) = reopen(&db) {
                fail(group, &error);
                continue;
            }
            needs_reopen = false;
        }
        match commit(&db, &group) {
            Ok(replies) => {
                for (request, reply) in group.into_iter().zip(replies) {
                    if let Reply::Events(events) = &reply {
                        for event in events {
                            // No subscriber is not an error: the log is the source of truth.
                            let _ = bus.send(event.clone());
                        }
                    }
                    let _ = request.reply.send(Ok(reply));
                }
            }
            Err(error) => {
                // Reopen before answering, so that whoever got the error finds the store
                // readable again (or failing with the reason the reopen failed).
                needs_reopen = error.needs_reopen() && reopen(&db).is_err();
                fail(group, &error);
            }
        }
    }
}

/// Answers every request of a group that was not committed.
fn fail(group: Vec<Request>, error: &StoreError) {
    tracing::error!(%error, requests = group.len(), "store commit failed");
    for request in group {
        let _ = request.reply.send(Err(error.clone()));
    }
}

fn commit(db: &Database, group: &[Request]) -> Result<Vec<Reply>, StoreError> {
    let ops: Vec<&Op> = group.iter().map(|r| &r.op).collect();
    db.with(|handle| commit_group(handle, &ops))
        .map_err(|error| error.in_store(db.path()))
}

fn reopen(db: &Database) -> Result<(), StoreError> {
    let outcome = db.reopen();
    match &outcome {
        Ok(()) => tracing::info!(path = %db.path().display(), "session store reopened"),
        Err(error) => tracing::error!(%error, "cannot reopen the session store"),
    }
    outcome
}

fn commit_group(db: &redb::Database, ops: &[&Op]) -> Result<Vec<Reply>, StoreError> {
    let txn = db.begin_write().map_err(StoreError::db)?;
    let mut replies = Vec::with_capacity(ops.len());
    {
        let mut events_table = txn.open_table(tables::EVENTS).map_err(StoreError::db)?;
        let mut metrics_table = txn.open_table(tables::METRICS).map_err(StoreError::db)?;
        let mut sessions = txn.open_table(tables::SESSIONS).map_err(StoreError::db)?;
        let mut approvals = txn.open_table(tables::APPROVALS).map_err(StoreError::db)?;
        let mut counted = metrics::Deltas::default();
        for op in ops {
            let reply = match op {
                Op::Append {
                    session,
                    payloads,
                    meta,
                } => {
                    if let Some(meta) = meta {
                        put_session(&mut sessions, meta)?;
                    }
                    let mut seq = tables::last_seq(&events_table, session.as_str())?;
                    let timestamp = now_ms();
                    let mut events = Vec::with_capacity(payloads.len());
                    for payload in payloads {
                        seq += 1;
                        let event = Event {
                            session_id: session.clone(),
                            seq,
                            timestamp,
                            payload: payload.clone(),
                        };
                        events_table
                            .insert((session.as_str(), seq), tables::encode(&event)?.as_slice())
                            .map_err(StoreError::db)?;
                        counted.record(payload, timestamp);
                        events.push(event);
                    }
                    add_usage(&mut sessions, session, payloads)?;
                    Reply::Events(events)
                }
                Op::PutSession(meta) => {
                    put_session(&mut sessions, meta)?;
                    Reply::Done
                }
                Op::PutApproval(approval) => {
                    approvals
                        .insert(
                            approval.request.id.as_str(),
                            tables::encode(approval.as_ref())?.as_slice(),
                        )
                        .map_err(StoreError::db)?;
                    Reply::Done
                }
            };
            replies.push(reply);
        }
        counted.flush(&mut metrics_table)?;
    }
    txn.commit().map_err(StoreError::db)?;
    Ok(replies)
}

type Sessions<'t> = redb::Table<'t, &'static str, &'static [u8]>;

/// Stores `meta`, keeping the usage the store has summed for the session (callers hold
/// copies that do not see it grow).
fn put_session(sessions: &mut Sessions<'_>, meta: &SessionMeta) -> Result<(), StoreError> {
    let mut meta = meta.clone();
    meta.usage = stored_session(sessions, &meta.id)?
        .map(|stored| stored.usage)
        .unwrap_or_default();
    sessions
        .insert(meta.id.as_str(), tables::encode(&meta)?.as_slice())
        .map_err(StoreError::db)?;
    Ok(())
}

fn stored_session(
    sessions: &Sessions<'_>,
    id: &SessionId,
) -> Result<Option<SessionMeta>, StoreError> {
    match sessions.get(id.as_str()).map_err(StoreError::db)? {
        Some(value) => Ok(Some(tables::decode(value.value())?)),
        None => Ok(None),
    }
}

/// Adds the `usage` events among `payloads` to the session's stored usage.
fn add_usage(
    sessions: &mut Sessions<'_>,
    session: &SessionId,
    payloads: &[EventPayload],
) -> Result<(), StoreError> {
    let calls: Vec<_> = payloads
        .iter()
        .filter_map(|payload| match payload {
            EventPayload::Custom(CustomEvent::Usage(usage)) => Some(usage),
            _ => None,
        })
        .collect();
    if calls.is_empty() {
        return Ok(());
    }
    let Some(mut meta) = stored_session(sessions, session)? else {
        return Ok(());
    };
    calls.iter().for_each(|call| meta.usage.add(call));
    sessions
        .insert(meta.id.as_str(), tables::encode(&meta)?.as_slice())
        .map_err(StoreError::db)?;
    Ok(())
}

/// Milliseconds since the Unix epoch: the clock of event timestamps.
pub fn now_ms() -> TimestampMs {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as u64)
        .unwrap_or(0)
}
