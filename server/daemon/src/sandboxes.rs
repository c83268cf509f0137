//! The sandboxes one process uses: one backend per effective `[sandbox]` configuration,
//! shared by every agent and surface with those settings (one engine connection, one set
//! of warm session containers, one idle reaper).
//!
//! Invariants: a process labels its containers with its own [`DaemonId`] (the daemon's
//! comes from the home, `lathe run`'s from the home and its pid) and its pid, so reaping a
//! dead daemon's leftovers never touches a live process's containers, nor this process's
//! own (so the daemon reaps in the background while it serves); [`Sandboxes::shutdown`] releases every session sandbox the process
//! created; a backend that cannot be chosen is an error for the caller, never cached; an
//! `auto` choice that fell back from docker is tried again after [`RETRY_FALLBACK`], so a
//! Docker engine that was down when the daemon started is used once it answers.

use crate::paths::Paths;
use lathe_sandbox::{BackendChoice, BackendKind, DaemonId, Sandbox, SandboxConfig, SandboxError};
use std::sync::Arc;
use std::time::Instant;

/// How long choosing a backend may take (a hung engine must not stall every surface).
const SELECT_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(15);

/// How long an `auto` fallback (bwrap or none, when docker was not usable) is kept before
/// docker is tried again.
const RETRY_FALLBACK: std::time::Duration = std::time::Duration::from_secs(60);

/// How long trying docker again after a fallback may take.
const RETRY_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(3);

/// How long the daemon's start waits for reaping.
const REAP_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(5);

/// A chosen backend and why a better one was not chosen.
#[derive(Clone)]
pub struct Chosen {
    pub sandbox: Arc<dyn Sandbox>,
    pub warnings: Vec<String>,
}

/// One choice of a backend for a configuration.
struct Choice {
    config: SandboxConfig,
    chosen: Chosen,
    at: Instant,
}

impl Choice {
    /// Whether it is an `auto` fallback old enough to try docker again.
    fn stale(&self) -> bool {
        self.config.backend == BackendChoice::Auto
            && self.chosen.sandbox.kind() != BackendKind::Docker
            && self.at.elapsed() >= RETRY_FALLBACK
    }
}

/// The backends of one process, by configuration.
pub struct Sandboxes {
    daemon: DaemonId,
    /// Every backend chosen, latest last (older ones are kept for their sessions'
    /// release at shutdown).
    chosen: tokio::sync::Mutex<Vec<Choice>>,
}

impl Sandboxes {
    /// The pool of the daemon of `paths`' home: its containers carry the home's label.
    pub fn for_daemon(paths: &Paths) -> Self {
        Self::new(DaemonId::from_home(&paths.state_dir))
    }

    /// The pool of a process that is not the daemon (`lathe run`, `--in-process`): its
    /// containers carry a label of their own, which the daemon's reaping leaves alone.
    pub fn for_process(paths: &Paths) -> Self {
        let own = paths
            .state_dir
            .join(format!("process-{}", std::process::id()));
        Self::new(DaemonId::process_of(&paths.state_dir, &own))
    }

    fn new(daemon: DaemonId) -> Self {
        Self {
            daemon,
            chosen: tokio::sync::Mutex::new(Vec::new()),
        }
    }

    /// The backend for `config`, chosen on first use (see `lathe_sandbox::select`).
    pub async fn get(&self, config: &SandboxConfig) -> Result<Chosen, SandboxError> {
        let mut chosen = self.chosen.lock().await;
        let latest = chosen.iter_mut().rev().find(|c| c.config == *config);
        let kept = match latest {
            Some(choice) if !choice.stale() => return Ok(choice.chosen.clone()),
            Some(choice) => {
                // Tried again; kept a while longer should docker still not answer.
                choice.at = Instant::now();
                Some(choice.chosen.clone())
            }
            None => None,
        };
        // A retry must not hold every caller long: the fallback still works.
        let limit = if kept.is_some() {
            RETRY_TIMEOUT
        } else {
            SELECT_TIMEOUT
        };
        let selected = tokio::time::timeout(limit, lathe_sandbox::select(config, &self.daemon))
            .await
            .map_err(|_| SandboxError::BackendUnavailable {
                backend: "auto",
                advice: format!(
                    "choosing a sandbox took over {} s (is the Docker engine hung?); \
                     `lathe doctor` checks it, LATHE_SANDBOX=bwrap avoids it",
                    limit.as_secs()
                ),
            })
            .and_then(|selected| selected);
        let selection = match (selected, kept) {
            (Ok(selection), kept) => {
                if let Some(kept) = kept
                    && kept.sandbox.kind() == selection.sandbox.kind()
                {
                    // Still the same fallback: keep the backend its sessions already use.
                    return Ok(kept);
                }
                selection
            }
            (Err(error), Some(kept)) => {
                tracing::debug!(%error, "sandbox: docker still unusable; keeping the fallback");
                return Ok(kept);
            }
            (Err(error), None) => return Err(error),
        };
        let found = Chosen {
            sandbox: selection.sandbox,
            warnings: selection.warnings,
        };
        chosen.push(Choice {
            config: config.clone(),
            chosen: found.clone(),
            at: Instant::now(),
        });
        Ok(found)
    }

    /// Removes what a dead daemon of the same home left behind (its labelled containers),
    /// through the backend of `config`. Call once, at start (this process's own containers
    /// carry its pid and are left alone); gives up after [`REAP_TIMEOUT`].
    pub async fn reap_orphans(&self, config: &SandboxConfig) {
        if tokio::time::timeout(REAP_TIMEOUT, self.reap(config))
            .await
            .is_err()
        {
            tracing::warn!("sandbox: reaping a dead daemon's containers timed out");
        }
    }

    async fn reap(&self, config: &SandboxConfig) {
        let chosen = match self.get(config).await {
            Ok(chosen) => chosen,
            Err(error) => {
                tracing::warn!(%error, "sandbox unavailable; nothing reaped");
                return;
            }
        };
        match chosen.sandbox.reap_orphans().await {
            Ok(reaped) if reaped.is_empty() => {}
            Ok(reaped) => tracing::info!(?reaped, "sandbox: removed containers of a dead daemon"),
            Err(error) => {
                tracing::warn!(%error, "sandbox: could not reap a dead daemon's containers")
            }
        }
    }

    /// Releases every session sandbox of every backend.
    pub async fn shutdown(&self) {
        let chosen: Vec<Chosen> = self
            .chosen
            .lock()
            .await
            .iter()
            .map(|c| c.chosen.clone())
            .collect();
        for backend in chosen {
            let ended = backend.sandbox.end_all_sessions().await;
            if !ended.is_empty() {
                tracing::info!(?ended, "sandbox: released session sandboxes");
            }
        }
    }
}
