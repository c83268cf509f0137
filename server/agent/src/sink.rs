//! [`EventSink`]: the one ordered path from a run to the session's event log.
//!
//! A writer task owns the appends of one session. [`EventSink::emit`] queues an event and
//! returns at once (streaming deltas, and boundaries whose durability can wait for the next
//! commit); [`EventSink::commit`] queues events and returns once they — and everything
//! queued before them — are durable in the store. Queued batches are appended in one store
//! call (group commit), so a stream of deltas costs few transactions.
//!
//! Invariants: events reach the store in exactly the order they were queued; a commit that
//! returns `Ok` means every earlier event of this sink is durable too.

use crate::error::AgentError;
use lathe_protocol::{Event, EventPayload, SessionId};
use lathe_store::{Store, StoreError};
use tokio::sync::{mpsc, oneshot};

struct Batch {
    payloads: Vec<EventPayload>,
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
        // A closed writer means the runtime is shutting down; the next commit reports it.
        let _ = self.tx.send(Batch {
            payloads: vec![payload],
            done: None,
        });
    }

    /// Queues events and waits until they (and everything queued before) are durable.
    pub async fn commit(&self, payloads: Vec<EventPayload>) -> Result<Vec<Event>, AgentError> {
        let (done, wait) = oneshot::channel();
        self.tx
            .send(Batch {
                payloads,
                done: Some(done),
            })
            .map_err(|_| AgentError::WriterStopped)?;
        Ok(wait.await.map_err(|_| AgentError::WriterStopped)??)
    }
}

async fn writer(store: Store, session: SessionId, mut rx: mpsc::UnboundedReceiver<Batch>) {
    let mut batches = Vec::new();
    while rx.recv_many(&mut batches, 1024).await > 0 {
        let counts: Vec<usize> = batches.iter().map(|b| b.payloads.len()).collect();
        let payloads: Vec<EventPayload> = batches
            .iter_mut()
            .flat_map(|b| std::mem::take(&mut b.payloads))
            .collect();
        match store.append(&session, payloads).await {
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
                for batch in batches.drain(..) {
                    if let Some(done) = batch.done {
                        let _ = done.send(Err(error.clone()));
                    }
                }
            }
        }
    }
}
