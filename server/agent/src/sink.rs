//! [`EventSink`]: the one ordered path from a run to the session's event log.
//!
//! A writer task owns the appends of one session. [`EventSink::emit`] queues events and
//! returns at once (streaming deltas, and boundaries whose durability can wait for the next
//! commit); [`EventSink::commit`] queues events and returns once they — and everything
//! queued before them — are durable in the store. Queued batches are appended in one store
//! call (group commit), so a stream of deltas costs few transactions. A batch may carry the
//! session's metadata, which is then written in the same transaction as its events.
//!
//! Invariants: events reach the store in exactly the order they were queued; a commit that
//! returns `Ok` means every earlier event of this sink is durable too. So once an append
//! fails, the sink appends nothing more: every later commit fails with that error, and the
//! log never holds a run's later events without its earlier ones.

use crate::error::AgentError;
use lathe_protocol::{Event, EventPayload, SessionId, SessionMeta};
use lathe_store::{Store, StoreError};
use tokio::sync::{mpsc, oneshot};

struct Batch {
    payloads: Vec<EventPayload>,
    meta: Option<Box<SessionMeta>>,
    done: Option<oneshot::Sender<Result<Vec<Event>, StoreError>>>,
}

/// The ordered writer of one session's events. Cheap to clone.
#[derive(Clone)]
pub struct EventSink {
    session: SessionId,
    tx: mpsc::UnboundedSender<Batch>,
}

impl std::fmt::Debug for EventSink {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EventSink")
            .field("session", &self.session)
            .finish()
    }
}

impl EventSink {
    /// A sink writing `session`'s events to `store` (spawns the writer task).
    pub fn new(store: Store, session: SessionId) -> Self {
        let (tx, rx) = mpsc::unbounded_channel();
        tokio::spawn(writer(store, session.clone(), rx));
        Self { session, tx }
    }

    /// The session written to.
    pub fn session(&self) -> &SessionId {
        &self.session
    }

    /// Queues an event without waiting for it to be stored.
    pub fn emit(&self, payload: EventPayload) {
        self.queue(vec![payload], None, None);
    }

    /// Queues events and the session's new metadata, to be written in one transaction,
    /// without waiting for them to be stored.
    pub fn emit_with_session(&self, meta: &SessionMeta, payloads: Vec<EventPayload>) {
        self.queue(payloads, Some(meta), None);
    }

    /// Queues events and waits until they (and everything queued before) are durable.
    pub async fn commit(&self, payloads: Vec<EventPayload>) -> Result<Vec<Event>, AgentError> {
        self.wait(payloads, None).await
    }

    /// [`EventSink::commit`] that also writes the session's new metadata in the same
    /// transaction as the events.
    pub async fn commit_with_session(
        &self,
        meta: &SessionMeta,
        payloads: Vec<EventPayload>,
    ) -> Result<Vec<Event>, AgentError> {
        self.wait(payloads, Some(meta)).await
    }

    async fn wait(
        &self,
        payloads: Vec<EventPayload>,
        meta: Option<&SessionMeta>,
    ) -> Result<Vec<Event>, AgentError> {
        let (done, wait) = oneshot::channel();
        if !self.queue(payloads, meta, Some(done)) {
            return Err(AgentError::WriterStopped);
        }
        Ok(wait.await.map_err(|_| AgentError::WriterStopped)??)
    }

    /// False when the writer is gone (the runtime is shutting down; a commit reports it).
    fn queue(
        &self,
        payloads: Vec<EventPayload>,
        meta: Option<&SessionMeta>,
        done: Option<oneshot::Sender<Result<Vec<Event>, StoreError>>>,
    ) -> bool {
        self.tx
            .send(Batch {
                payloads,
                meta: meta.map(|m| Box::new(m.clone())),
                done,
            })
            .is_ok()
    }
}

async fn writer(store: Store, session: SessionId, mut rx: mpsc::UnboundedReceiver<Batch>) {
    let mut batches = Vec::new();
    let mut failed: Option<StoreError> = None;
    while rx.recv_many(&mut batches, 1024).await > 0 {
        if let Some(error) = &failed {
            answer_all(&mut batches, error);
            continue;
        }
        let counts: Vec<usize> = batches.iter().map(|b| b.payloads.len()).collect();
        let meta = batches.iter_mut().filter_map(|b| b.meta.take()).last();
        let payloads: Vec<EventPayload> = batches
            .iter_mut()
            .flat_map(|b| std::mem::take(&mut b.payloads))
            .collect();
        let appended = match &meta {
            Some(meta) => store.append_with_session(meta, payloads).await,
            // Everything queued before is appended already: nothing to wait for.
            None if payloads.is_empty() => Ok(Vec::new()),
            None => store.append(&session, payloads).await,
        };
        match appended {
            Ok(events) => {
                let mut events = events.into_iter();
                for (batch, count) in batches.drain(..).zip(counts) {
                    let mine = events.by_ref().take(count).collect();
                    if let Some(done) = batch.done {
                        let _ = done.send(Ok(mine));
                    }
                }
            }
            Err(error) => {
                tracing::error!(%session, "appending events failed: {error}");
                answer_all(&mut batches, &error);
                failed = Some(error);
            }
        }
    }
}

/// Answers every waiting commit of `batches` with `error`; the batches are dropped.
fn answer_all(batches: &mut Vec<Batch>, error: &StoreError) {
    for batch in batches.drain(..) {
        if let Some(done) = batch.done {
            let _ = done.send(Err(error.clone()));
        }
    }
}
