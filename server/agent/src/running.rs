//! The runs going on, by session, for every agent that shares the registry (the daemon
//! gives all its agents one): a session runs one turn at a time whichever surface starts
//! it, and any surface can cancel the turn going on in any session.
//!
//! With a lock directory ([`RunRegistry::with_locks`]) the hold also spans processes: a run
//! holds an exclusive lock on `<dir>/<session>.lock`, which the kernel drops when its
//! process dies. So the daemon and a headless `lathe run` never run one session at once,
//! and a session stored as running whose lock is free was interrupted (its process was
//! killed): [`RunRegistry::recover`] and the next run close it with a `RUN_ERROR`
//! (`interrupted`).
//!
//! Invariants: a session is in the registry exactly while a run holds it (its claim leaves
//! when the run ends, however it ends); cancelling a session cancels that run's own token,
//! so the surface that started it sees an ordinary cancellation; a holder removes its lock
//! file before unlocking, and a claimer that locked a removed file tries again (a killed
//! holder's file stays, unlocked, until the session is next claimed).

use crate::error::AgentError;
use lathe_protocol::{EventPayload, SessionId, SessionMeta, SessionStatus};
use lathe_store::Store;
use std::collections::HashMap;
use std::fs::{File, TryLockError};
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;
use tokio::sync::Notify;
use tokio_util::sync::CancellationToken;

/// What the log of an interrupted run is closed with.
const INTERRUPTED: &str = "this turn did not end: the process running it stopped (it was killed \
     or crashed); what it had recorded is kept";

/// The sessions with a run going on and how to stop each. Cheap to clone; clones share.
#[derive(Clone, Debug, Default)]
pub struct RunRegistry {
    runs: Arc<Mutex<HashMap<SessionId, CancellationToken>>>,
    /// Signalled whenever a run frees its session.
    freed: Arc<Notify>,
    /// Where the cross-process session locks live; `None`: this process only.
    locks: Option<Arc<PathBuf>>,
}

impl RunRegistry {
    /// A registry whose holds also exclude other processes with the same `dir`.
    pub fn with_locks(dir: impl Into<PathBuf>) -> Self {
        Self {
            locks: Some(Arc::new(dir.into())),
            ..Self::default()
        }
    }

    fn lock(&self) -> MutexGuard<'_, HashMap<SessionId, CancellationToken>> {
        self.runs.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Marks `session` running under `cancel`; refused while another run (of this process
    /// or, with locks, of another) holds it.
    pub(crate) fn claim(
        &self,
        session: &SessionId,
        cancel: &CancellationToken,
    ) -> Result<RunClaim, AgentError> {
        let mut runs = self.lock();
        if runs.contains_key(session) {
            return Err(AgentError::SessionBusy(session.clone()));
        }
        let file = match &self.locks {
            Some(dir) => Some(SessionLock::acquire(dir, session)?),
            None => None,
        };
        runs.insert(session.clone(), cancel.clone());
        Ok(RunClaim {
            registry: self.clone(),
            session: session.clone(),
            file,
        })
    }

    /// Whether a run of this process or, with locks, of another holds `session`.
    pub fn is_held(&self, session: &SessionId) -> bool {
        if self.is_running(session) {
            return true;
        }
        match &self.locks {
            // Taken and let go at once: only whether someone else holds it matters.
            Some(dir) => matches!(
                SessionLock::acquire(dir, session),
                Err(AgentError::SessionBusy(_))
            ),
            None => false,
        }
    }

    /// Whether a session stored as running, now claimed by this registry, was interrupted:
    /// only a registry with locks can tell (without, another process may be running it).
    pub(crate) fn was_interrupted(&self, stored: &SessionMeta) -> bool {
        self.locks.is_some() && stored.status == SessionStatus::Running
    }

    /// Closes every session stored as running that no process runs (its lock is free) with
    /// a `RUN_ERROR` (`interrupted`) and the status failed; the sessions it closed. Nothing
    /// without locks.
    pub async fn recover(&self, store: &Store) -> Result<Vec<SessionId>, AgentError> {
        if self.locks.is_none() {
            return Ok(Vec::new());
        }
        let mut closed = Vec::new();
        for meta in store.sessions()? {
            if meta.status != SessionStatus::Running {
                continue;
            }
            let Ok(_claim) = self.claim(&meta.id, &CancellationToken::new()) else {
                continue;
            };
            // Read again under the claim: the run may have ended meanwhile.
            if let Some(meta) = store.session(&meta.id)?
                && meta.status == SessionStatus::Running
            {
                close_interrupted(store, meta.clone()).await?;
                closed.push(meta.id);
            }
        }
        Ok(closed)
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

    /// Waits (up to `timeout`) until no run holds `session`; whether it is free.
    pub async fn wait_free(&self, session: &SessionId, timeout: Duration) -> bool {
        let free = async {
            loop {
                // Registered before the check, so a run ending in between still wakes it.
                let freed = self.freed.notified();
                if !self.is_running(session) {
                    return;
                }
                freed.await;
            }
        };
        tokio::time::timeout(timeout, free).await.is_ok()
    }

    /// The sessions with a run going on, sorted.
    pub fn running(&self) -> Vec<SessionId> {
        let mut sessions: Vec<SessionId> = self.lock().keys().cloned().collect();
        sessions.sort();
        sessions
    }
}

/// Appends the `RUN_ERROR` that closes an interrupted run, storing `meta` as failed.
pub(crate) async fn close_interrupted(
    store: &Store,
    mut meta: SessionMeta,
) -> Result<(), AgentError> {
    meta.status = SessionStatus::Failed;
    meta.updated_at = lathe_store::now_ms();
    let closing = EventPayload::RunError {
        message: INTERRUPTED.to_owned(),
        code: Some("interrupted".to_owned()),
    };
    store.append_with_session(&meta, vec![closing]).await?;
    Ok(())
}

/// A run's hold on its session; dropping it frees the session.
pub(crate) struct RunClaim {
    registry: RunRegistry,
    session: SessionId,
    file: Option<SessionLock>,
}

impl Drop for RunClaim {
    fn drop(&mut self) {
        // Unlocked first: whoever the notification wakes finds the session free everywhere.
        drop(self.file.take());
        self.registry.lock().remove(&self.session);
        self.registry.freed.notify_waiters();
    }
}

/// An exclusive lock on a session's lock file, held by this process.
struct SessionLock {
    path: PathBuf,
    _file: File,
}

impl SessionLock {
    fn acquire(dir: &Path, session: &SessionId) -> Result<SessionLock, AgentError> {
        let io = |e: std::io::Error| AgentError::Lock(format!("{}: {e}", dir.display()));
        std::fs::create_dir_all(dir).map_err(io)?;
        // Hex: any id is a safe file name, and distinct ids stay distinct.
        let name: String = session
            .as_str()
            .bytes()
            .map(|b| format!("{b:02x}"))
            .collect();
        let path = dir.join(format!("{name}.lock"));
        loop {
            let file = File::options()
                .create(true)
                .truncate(false)
                .write(true)
                .open(&path)
                .map_err(io)?;
            match file.try_lock() {
                Ok(()) => {}
                Err(TryLockError::WouldBlock) => {
                    return Err(AgentError::SessionBusy(session.clone()));
                }
                Err(TryLockError::Error(e)) => return Err(io(e)),
            }
            // The previous holder may have removed the file between our open and lock.
            let locked = file.metadata().map_err(io)?;
            match std::fs::metadata(&path) {
                Ok(now) if now.ino() == locked.ino() && now.dev() == locked.dev() => {
                    return Ok(SessionLock { path, _file: file });
                }
                _ => continue,
            }
        }
    }
}

impl Drop for SessionLock {
    fn drop(&mut self) {
        // Removed while still locked, so a waiting claimer notices and opens a fresh file.
        let _ = std::fs::remove_file(&self.path);
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn running(id: &str) -> SessionMeta {
        SessionMeta {
            id: SessionId::from(id),
            title: id.to_owned(),
            workspace: "/w".into(),
            status: SessionStatus::Running,
            created_at: 1,
            updated_at: 1,
            origin: "cli".into(),
            model: None,
            usage: Default::default(),
        }
    }

    #[test]
    fn a_lock_excludes_another_registry_until_its_run_ends() {
        let dir = tempfile::tempdir().unwrap();
        // Two registries on one directory stand for two processes: flock locks belong to
        // the open file, so they exclude each other within one process too.
        let daemon = RunRegistry::with_locks(dir.path());
        let headless = RunRegistry::with_locks(dir.path());
        let session = SessionId::from("s-1");
        let held = daemon.claim(&session, &CancellationToken::new()).unwrap();
        let file = dir.path().join("732d31.lock");
        assert!(file.exists());
        let busy = headless.claim(&session, &CancellationToken::new());
        assert!(matches!(busy, Err(AgentError::SessionBusy(_))));
        assert!(
            !headless.is_running(&session),
            "a refused claim leaves nothing"
        );
        drop(held);
        assert!(!file.exists(), "no lock file outlives its run");
        let claimed = headless.claim(&session, &CancellationToken::new());
        assert!(claimed.is_ok());
    }

    #[tokio::test]
    async fn recover_closes_only_the_runs_no_process_holds() {
        let dir = tempfile::tempdir().unwrap();
        let state = tempfile::tempdir().unwrap();
        let store = Store::open(&state.path().join("s.redb")).unwrap();
        for id in ["dead", "alive"] {
            store.put_session(&running(id)).await.unwrap();
        }
        let mut idle = running("idle");
        idle.status = SessionStatus::Finished;
        store.put_session(&idle).await.unwrap();
        let other_process = RunRegistry::with_locks(dir.path());
        let alive = SessionId::from("alive");
        let _held = other_process
            .claim(&alive, &CancellationToken::new())
            .unwrap();

        let registry = RunRegistry::with_locks(dir.path());
        let closed = registry.recover(&store).await.unwrap();
        assert_eq!(closed, vec![SessionId::from("dead")]);
        let dead = store.session(&SessionId::from("dead")).unwrap().unwrap();
        assert_eq!(dead.status, SessionStatus::Failed);
        let log = store.events(&dead.id, 0, usize::MAX).unwrap();
        assert!(
            matches!(&log[..], [event] if matches!(&event.payload,
                EventPayload::RunError { code: Some(code), .. } if code == "interrupted")),
            "{log:?}"
        );
        assert_eq!(
            store.session(&alive).unwrap().unwrap().status,
            SessionStatus::Running
        );
        assert!(!registry.is_running(&SessionId::from("dead")));
        assert!(
            RunRegistry::default()
                .recover(&store)
                .await
                .unwrap()
                .is_empty(),
            "without locks, nothing can be known dead"
        );
    }
}
