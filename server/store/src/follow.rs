//! Following one session's events live without losing any: the store's bus is bounded,
//! and a subscriber that falls behind it (many sessions streaming at once) is told it
//! lagged; [`SessionEvents`] then reads what it missed from the log, which holds every
//! event the bus ever carried (events are published only after their commit).
//!
//! Invariants: events come out in `seq` order, each once, with no gap after the starting
//! point; a log that cannot be read ends the follow with the error logged, never a silent
//! gap.

use crate::Store;
use lathe_protocol::{Event, SessionId};
use std::collections::VecDeque;
use tokio::sync::broadcast::{self, error::RecvError, error::TryRecvError};

/// The most events read from the log per catch-up.
const CATCH_UP: usize = 10_000;

/// One session's events from a starting point on (see the module docs).
pub struct SessionEvents {
    store: Store,
    session: SessionId,
    bus: broadcast::Receiver<Event>,
    /// The seq of the last event handed out (or of the starting point).
    last: u64,
    backlog: VecDeque<Event>,
}

impl Store {
    /// Follows `session` from now on: the events committed after this call.
    pub fn follow(&self, session: &SessionId) -> Result<SessionEvents, crate::StoreError> {
        // Subscribed before the position is read: nothing committed in between is missed.
        let bus = self.subscribe();
        let last = self.last_seq(session)?;
        Ok(SessionEvents {
            store: self.clone(),
            session: session.clone(),
            bus,
            last,
            backlog: VecDeque::new(),
        })
    }
}

impl SessionEvents {
    /// The seq of the last event handed out (at first, the session's last seq when the
    /// follow began).
    pub fn position(&self) -> u64 {
        self.last
    }

    /// The next event of the session; `None` once the store is gone (or unreadable).
    pub async fn next(&mut self) -> Option<Event> {
        loop {
            if let Some(event) = self.take_backlog() {
                return Some(event);
            }
            match self.bus.recv().await {
                Ok(event) => {
                    if let Some(event) = self.accept(event)? {
                        return Some(event);
                    }
                }
                Err(RecvError::Lagged(missed)) => {
                    tracing::debug!(missed, session = %self.session, "catching up from the log");
                    self.catch_up()?;
                }
                Err(RecvError::Closed) => return None,
            }
        }
    }

    /// The next event already committed, without waiting.
    pub fn try_next(&mut self) -> Option<Event> {
        loop {
            if let Some(event) = self.take_backlog() {
                return Some(event);
            }
            match self.bus.try_recv() {
                Ok(event) => {
                    if let Some(event) = self.accept(event)? {
                        return Some(event);
                    }
                }
                Err(TryRecvError::Lagged(_)) => self.catch_up()?,
                Err(TryRecvError::Empty | TryRecvError::Closed) => return None,
            }
        }
    }

    fn take_backlog(&mut self) -> Option<Event> {
        while let Some(event) = self.backlog.pop_front() {
            if event.seq > self.last {
                self.last = event.seq;
                return Some(event);
            }
        }
        None
    }

    /// `Some(Some(event))` to hand out, `Some(None)` to skip, `None` when the log failed.
    fn accept(&mut self, event: Event) -> Option<Option<Event>> {
        if event.session_id != self.session || event.seq <= self.last {
            return Some(None);
        }
        if event.seq > self.last + 1 {
            // Something between was missed: the log has it.
            self.catch_up()?;
            return Some(self.take_backlog());
        }
        self.last = event.seq;
        Some(Some(event))
    }

    fn catch_up(&mut self) -> Option<()> {
        match self.store.events(&self.session, self.last, CATCH_UP) {
            Ok(events) => {
                self.backlog.extend(events);
                Some(())
            }
            Err(error) => {
                tracing::error!(%error, session = %self.session, "cannot read the log to catch up");
                None
            }
        }
    }
}
