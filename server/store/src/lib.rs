//! redb persistence of sessions, the append-only event log, approvals and metrics rollups.
//!
//! Invariants:
//! - Events are keyed by `(session id, seq)`; `seq` starts at 1 and has no gaps or
//!   duplicates. It is assigned inside the write transaction from the last stored `seq`, so
//!   several processes (the daemon and a headless `lathe run`) can append to one file.
//! - An append returns only after its transaction committed durably (fsync). Appends from
//!   many tasks are grouped into one transaction by a single writer thread (group commit),
//!   which is how streaming deltas are batched without ever weakening durability.
//! - Subscribers see an event only after it is committed, in commit order.
//! - Metrics rollups are derived from the events in the same transaction that stores them,
//!   so they can never disagree with the log.

mod error;
pub mod metrics;
mod tables;
mod writer;

pub use error::StoreError;
pub use metrics::{MetricKey, Metrics};
pub use writer::now_ms;

use lathe_protocol::{Approval, Event, EventPayload, SessionId, SessionMeta};
use redb::{Database, ReadableDatabase, ReadableTable};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use tokio::sync::broadcast;

/// How many committed events a slow subscriber may fall behind before it must re-read
/// from the store (it gets `RecvError::Lagged` and resumes with [`Store::events`]).
const BUS_CAPACITY: usize = 4096;

/// The session store. Cheap to clone; every clone shares one database and writer thread.
#[derive(Clone)]
pub struct Store {
    inner: Arc<Inner>,
}

struct Inner {
    path: PathBuf,
    db: Arc<Database>,
    writer: writer::WriterHandle,
    bus: broadcast::Sender<Event>,
}

impl std::fmt::Debug for Store {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Store")
            .field("path", &self.inner.path)
            .finish()
    }
}

impl Store {
    /// Opens (or creates) the store at `path`. A file left by a killed process is repaired
    /// by redb on open; nothing manual is needed.
    pub fn open(path: &Path) -> Result<Store, StoreError> {
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent).map_err(|source| StoreError::Io {
                path: parent.to_path_buf(),
                source: Arc::new(source),
            })?;
        }
        let db = Database::builder()
            .set_concurrency_mode(redb::ConcurrencyMode::MultiWriter)
            .create(path)
            .map_err(|source| StoreError::Open {
                path: path.to_path_buf(),
                source: Arc::new(source),
            })?;
        let db = Arc::new(db);
        tables::create_all(&db)?;
        let (bus, _) = broadcast::channel(BUS_CAPACITY);
        let writer = writer::spawn(db.clone(), bus.clone())?;
        Ok(Store {
            inner: Arc::new(Inner {
                path: path.to_path_buf(),
                db,
                writer,
                bus,
            }),
        })
    }

    /// The database file.
    pub fn path(&self) -> &Path {
        &self.inner.path
    }

    /// Size of the database file in bytes.
    pub fn size_bytes(&self) -> u64 {
        std::fs::metadata(&self.inner.path)
            .map(|m| m.len())
            .unwrap_or(0)
    }

    /// Appends events to a session's log, assigning `seq` and timestamps. Returns once the
    /// events are durable, with their envelopes.
    pub async fn append(
        &self,
        session: &SessionId,
        payloads: Vec<EventPayload>,
    ) -> Result<Vec<Event>, StoreError> {
        self.inner
            .writer
            .submit(writer::Op::Append {
                session: session.clone(),
                payloads,
            })
            .await
            .map(writer::Reply::into_events)
    }

    /// [`Store::append`] for threads outside the async runtime.
    pub fn append_blocking(
        &self,
        session: &SessionId,
        payloads: Vec<EventPayload>,
    ) -> Result<Vec<Event>, StoreError> {
        self.inner
            .writer
            .submit_blocking(writer::Op::Append {
                session: session.clone(),
                payloads,
            })
            .map(writer::Reply::into_events)
    }

    /// Creates or updates a session's metadata (durable on return).
    pub async fn put_session(&self, meta: &SessionMeta) -> Result<(), StoreError> {
        self.inner
            .writer
            .submit(writer::Op::PutSession(Box::new(meta.clone())))
            .await
            .map(drop)
    }

    /// Creates or updates an approval (durable on return).
    pub async fn put_approval(&self, approval: &Approval) -> Result<(), StoreError> {
        self.inner
            .writer
            .submit(writer::Op::PutApproval(Box::new(approval.clone())))
            .await
            .map(drop)
    }

    /// Every event committed from now on, in commit order.
    pub fn subscribe(&self) -> broadcast::Receiver<Event> {
        self.inner.bus.subscribe()
    }

    /// Up to `limit` events of `session` with `seq > after_seq`, in order.
    pub fn events(
        &self,
        session: &SessionId,
        after_seq: u64,
        limit: usize,
    ) -> Result<Vec<Event>, StoreError> {
        let txn = self.inner.db.begin_read().map_err(StoreError::db)?;
        let table = txn.open_table(tables::EVENTS).map_err(StoreError::db)?;
        let start = after_seq.saturating_add(1);
        let range = table
            .range((session.as_str(), start)..=(session.as_str(), u64::MAX))
            .map_err(StoreError::db)?;
        let mut events = Vec::new();
        for entry in range.take(limit) {
            let (_, value) = entry.map_err(StoreError::db)?;
            events.push(tables::decode::<Event>(value.value())?);
        }
        Ok(events)
    }

    /// The last `seq` of a session (0 when it has no events).
    pub fn last_seq(&self, session: &SessionId) -> Result<u64, StoreError> {
        let txn = self.inner.db.begin_read().map_err(StoreError::db)?;
        let table = txn.open_table(tables::EVENTS).map_err(StoreError::db)?;
        tables::last_seq(&table, session.as_str())
    }

    /// One session's metadata.
    pub fn session(&self, id: &SessionId) -> Result<Option<SessionMeta>, StoreError> {
        let txn = self.inner.db.begin_read().map_err(StoreError::db)?;
        let table = txn.open_table(tables::SESSIONS).map_err(StoreError::db)?;
        match table.get(id.as_str()).map_err(StoreError::db)? {
            Some(value) => Ok(Some(tables::decode(value.value())?)),
            None => Ok(None),
        }
    }

    /// Every session, most recently updated first.
    pub fn sessions(&self) -> Result<Vec<SessionMeta>, StoreError> {
        let txn = self.inner.db.begin_read().map_err(StoreError::db)?;
        let table = txn.open_table(tables::SESSIONS).map_err(StoreError::db)?;
        let mut sessions = Vec::new();
        for entry in table.iter().map_err(StoreError::db)? {
            let (_, value) = entry.map_err(StoreError::db)?;
            sessions.push(tables::decode::<SessionMeta>(value.value())?);
        }
        sessions.sort_by(|a, b| {
            b.updated_at
                .cmp(&a.updated_at)
                .then_with(|| b.id.cmp(&a.id))
        });
        Ok(sessions)
    }

    /// Approvals, of one session or of all, oldest first.
    pub fn approvals(&self, session: Option<&SessionId>) -> Result<Vec<Approval>, StoreError> {
        let txn = self.inner.db.begin_read().map_err(StoreError::db)?;
        let table = txn.open_table(tables::APPROVALS).map_err(StoreError::db)?;
        let mut approvals = Vec::new();
        for entry in table.iter().map_err(StoreError::db)? {
            let (_, value) = entry.map_err(StoreError::db)?;
            let approval: Approval = tables::decode(value.value())?;
            if session.is_none_or(|s| *s == approval.request.session_id) {
                approvals.push(approval);
            }
        }
        approvals.sort_by_key(|a| a.request.requested_at);
        Ok(approvals)
    }

    /// The metrics rollups.
    pub fn metrics(&self) -> Result<Metrics, StoreError> {
        let txn = self.inner.db.begin_read().map_err(StoreError::db)?;
        let table = txn.open_table(tables::METRICS).map_err(StoreError::db)?;
        metrics::read(&table)
    }
}
