//! The runs going on, by session, for every agent that shares the registry (the daemon
//! gives all its agents one): a session runs one turn at a time whichever surface starts
//! it, and any surface can cancel the turn going on in any session.
//!
//! Invariants: a session is in the registry exactly while a run holds it (its claim leaves
//! when the run ends, however it ends); cancelling a session cancels that run's own token,
//! so the surface that started it sees an ordinary cancellation.

use crate::error::AgentError;
use lathe_protocol::SessionId;
use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard};
use tokio_util::sync::CancellationToken;

/// The sessions with a run going on and how to stop each. Cheap to clone; clones share.
#[derive(Clone, Debug, Default)]
pub struct RunRegistry {
    runs: Arc<Mutex<HashMap<SessionId, CancellationToken>>>,
}

impl RunRegistry {
    fn lock(&self) -> MutexGuard<'_, HashMap<SessionId, CancellationToken>> {
        self.runs.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Marks `session` running under `cancel`; refused while another run holds it.
    pub(crate) fn claim(
        &self,
        session: &SessionId,
        cancel: &CancellationToken,
    ) -> Result<RunClaim, AgentError> {
        let mut runs = self.lock();
        if runs.contains_key(session) {
            return Err(AgentError::SessionBusy(session.clone()));
        }
        runs.insert(session.clone(), cancel.clone());
        Ok(RunClaim {
            registry: self.clone(),
            session: session.clone(),
        })
    }

    /// Cancels the run going on in `session`; false when there is none.
    pub fn cancel(&self, session: &SessionId) -> bool {
        match self.lock().get(session) {
            Some(cancel) => {
                cancel.cancel();
                true
            }
            None => false,
        }
    }

    /// Whether a run holds `session`.
    pub fn is_running(&self, session: &SessionId) -> bool {
        self.lock().contains_key(session)
    }

    /// The sessions with a run going on, sorted.
    pub fn running(&self) -> Vec<SessionId> {
        let mut sessions: Vec<SessionId> = self.lock().keys().cloned().collect();
        sessions.sort();
        sessions
    }
}

/// A run's hold on its session; dropping it frees the session.
pub(crate) struct RunClaim {
    registry: RunRegistry,
    session: SessionId,
}

impl Drop for RunClaim {
    fn drop(&mut self) {
        self.registry.lock().remove(&self.session);
    }
}
