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
//! - A failed write (a full disk, say) changes nothing: the daemon keeps running, the
//!   store reopens the file and accepts writes again once the fault is gone.

mod database;
mod error;
mod follow;
pub mod metrics;
mod tables;
mod writer;

pub use error::StoreError;
pub use follow::SessionEvents;
pub use metrics::{MetricKey, Metrics};
pub use writer::now_ms;

use database::Database;
use lathe_protocol::{Approval, Event, EventPayload, SessionId, SessionMeta};
use redb::{ReadableDatabase, ReadableTable, ReadableTableMetadata};
use std::path::Path;
use std::sync::Arc;
use tokio::sync::broadcast;

/// How many committed events a slow subscriber may fall behind before it must re-read
/// from the store (it gets `RecvError::Lagged` and resumes with [`Store::events`]).
/// The channel allocates every slot up front (about 220 bytes each), so this is resident
/// memory of even an idle daemon.
const BUS_CAPACITY: usize = 1024;

/// redb's page cache. Its default (1 GiB) would let a long-lived daemon grow that large;
/// the log is written once and read mostly at its end, which a small cache serves.
const CACHE_BYTES: usize = 16 * 1024 * 1024;

/// The session store. Cheap to clone; every clone shares one database and writer thread.
#[derive(Clone)]
pub struct Store {
    inner: Arc<Inner>,
}

struct Inner {
    db: Arc<Database>,
    writer: writer::WriterHandle,
    bus: broadcast::Sender<Event>,
}

impl std::fmt::Debug for Store {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Store")
            .field("path", &self.inner.db.path())
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
        let file = path.to_path_buf();
        Store::start(
            path,
            Box::new(move || {
                builder().create(&file).map_err(|source| StoreError::Open {
                    path: file.clone(),
                    source: Arc::new(source),
                })
            }),
        )
    }

    /// Opens (or creates) a store kept by a custom redb storage backend: encryption, a
    /// quota, fault injection. `path` is the file the backend stores into (or a name for
    /// it): errors name it and [`Store::size_bytes`] measures it. `open_backend` is called
    /// now and again each time the store reopens the database after an I/O error (redb
    /// refuses every use of a database that met one until it is opened anew), so it must
    /// give a backend on the same storage each time.
    pub fn open_with_backend<B, F>(path: &Path, open_backend: F) -> Result<Store, StoreError>
    where
        B: redb::StorageBackend,
        F: Fn() -> std::io::Result<B> + Send + Sync + 'static,
    {
        let file = path.to_path_buf();
        Store::start(
            path,
            Box::new(move || {
                let backend = open_backend().map_err(|source| StoreError::Io {
                    path: file.clone(),
                    source: Arc::new(source),
                })?;
                builder()
                    .create_with_backend(backend)
                    .map_err(|source| StoreError::Open {
                        path: file.clone(),
                        source: Arc::new(source),
                    })
            }),
        )
    }

    fn start(path: &Path, opener: database::Opener) -> Result<Store, StoreError> {
        let db = Arc::new(Database::open(path, opener)?);
        db.with(tables::create_all)?;
        let (bus, _) = broadcast::channel(BUS_CAPACITY);
        let writer = writer::spawn(db.clone(), bus.clone())?;
        Ok(Store {
            inner: Arc::new(Inner { db, writer, bus }),
        })
    }

    /// The database file.
    pub fn path(&self) -> &Path {
        self.inner.db.path()
    }

    /// Size of the database file in bytes.
    pub fn size_bytes(&self) -> u64 {
        std::fs::metadata(self.inner.db.path())
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
                meta: None,
            })
            .await
            .map(writer::Reply::into_events)
    }

    /// [`Store::append`] to `meta`'s session that also writes `meta`, in the same
    /// transaction: a session's status and the events that changed it are durable together.
    pub async fn append_with_session(
        &self,
        meta: &SessionMeta,
        payloads: Vec<EventPayload>,
    ) -> Result<Vec<Event>, StoreError> {
        self.inner
            .writer
            .submit(writer::Op::Append {
                session: meta.id.clone(),
                payloads,
                meta: Some(Box::new(meta.clone())),
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
                meta: None,
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

    /// Runs `f` in a read transaction (a snapshot of the last commit).
    fn read<T>(
        &self,
        f: impl FnOnce(&redb::ReadTransaction) -> Result<T, StoreError>,
    ) -> Result<T, StoreError> {
        self.inner.db.with(|db| {
            let txn = db.begin_read().map_err(StoreError::db)?;
            f(&txn)
        })
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
        self.read(|txn| {
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
        })
    }

    /// The last `seq` of a session (0 when it has no events).
    pub fn last_seq(&self, session: &SessionId) -> Result<u64, StoreError> {
        self.read(|txn| {
            let table = txn.open_table(tables::EVENTS).map_err(StoreError::db)?;
            tables::last_seq(&table, session.as_str())
        })
    }

    /// One session's metadata.
    pub fn session(&self, id: &SessionId) -> Result<Option<SessionMeta>, StoreError> {
        self.read(|txn| {
            let table = txn.open_table(tables::SESSIONS).map_err(StoreError::db)?;
            match table.get(id.as_str()).map_err(StoreError::db)? {
                Some(value) => Ok(Some(tables::decode(value.value())?)),
                None => Ok(None),
            }
        })
    }

    /// Every session, most recently updated first.
    pub fn sessions(&self) -> Result<Vec<SessionMeta>, StoreError> {
        self.read(|txn| {
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
        })
    }

    /// How many sessions there are, without reading them.
    pub fn session_count(&self) -> Result<u64, StoreError> {
        self.read(|txn| {
            let table = txn.open_table(tables::SESSIONS).map_err(StoreError::db)?;
            table.len().map_err(StoreError::db)
        })
    }

    /// Approvals, of one session or of all, oldest first.
    pub fn approvals(&self, session: Option<&SessionId>) -> Result<Vec<Approval>, StoreError> {
        self.read(|txn| {
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
        })
    }

    /// The metrics rollups.
    pub fn metrics(&self) -> Result<Metrics, StoreError> {
        self.read(|txn| {
            let table = txn.open_table(tables::METRICS).map_err(StoreError::db)?;
            metrics::read(&table)
        })
    }
}

/// How every store opens its file: one writer thread per process, several processes (the
/// daemon and a headless `lathe run`) sharing the file, a bounded cache.
fn builder() -> redb::Builder {
    let mut builder = redb::Database::builder();
    builder
        .set_concurrency_mode(redb::ConcurrencyMode::MultiWriter)
        .set_cache_size(CACHE_BYTES);
    builder
}
