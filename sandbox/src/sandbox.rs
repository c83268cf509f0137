//! The `Sandbox` trait every backend implements, and the health-check vocabulary of `doctor`.
//!
//! Invariants: `exec` prepares the session's sandbox on first use; a command's failure is an
//! `ExecOutcome`, never an `Err`; output chunks are sent while the command runs, in order per
//! stream, and their concatenation per stream equals the outcome's captured bytes.

use futures::future::BoxFuture;
use serde::Serialize;
use tokio::sync::mpsc;

use crate::error::SandboxError;
use crate::exec::{ExecOutcome, ExecRequest};
use crate::output::OutputChunk;
use crate::policy::SessionSpec;

/// Where live output goes. A closed receiver is not an error: output is still captured.
pub type OutputSender = mpsc::Sender<OutputChunk>;

/// The kind of backend.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum BackendKind {
    /// Docker Engine via bollard.
    Docker,
    /// bubblewrap.
    Bwrap,
    /// The host, no isolation.
    None,
}

impl BackendKind {
    /// The name used in config and `LATHE_SANDBOX`.
    pub fn name(self) -> &'static str {
        match self {
            Self::Docker => "docker",
            Self::Bwrap => "bwrap",
            Self::None => "none",
        }
    }
}

/// Runs commands for sessions.
pub trait Sandbox: Send + Sync {
    /// Which backend this is.
    fn kind(&self) -> BackendKind;

    /// Whether every command needs the user's approval first (true only for `none`).
    fn requires_approval(&self) -> bool {
        false
    }

    /// Makes the session's sandbox ready (for docker: creates and starts the warm container).
    /// Optional: `exec` prepares on first use.
    fn prepare<'a>(&'a self, session: &'a SessionSpec) -> BoxFuture<'a, Result<(), SandboxError>>;

    /// Runs one command in the session's sandbox, sending output chunks to `output` as they
    /// arrive, and returns how it ended.
    fn exec<'a>(
        &'a self,
        session: &'a SessionSpec,
        request: ExecRequest,
        output: Option<OutputSender>,
    ) -> BoxFuture<'a, Result<ExecOutcome, SandboxError>>;

    /// Releases the session's sandbox (docker: removes its container). Idempotent.
    fn end_session<'a>(&'a self, session_id: &'a str) -> BoxFuture<'a, Result<(), SandboxError>>;

    /// Releases every session's sandbox (the daemon calls this at shutdown) and returns the
    /// session ids released. Backends without state return nothing.
    fn end_all_sessions(&self) -> BoxFuture<'_, Vec<String>> {
        Box::pin(async { Vec::new() })
    }

    /// Checks this backend's health.
    fn doctor(&self) -> BoxFuture<'_, Vec<HealthCheck>>;

    /// Removes what a dead daemon of the same home left behind (docker: its labelled
    /// containers). The daemon calls this once at start; backends without state return nothing.
    fn reap_orphans(&self) -> BoxFuture<'_, Result<Vec<String>, SandboxError>> {
        Box::pin(async { Ok(Vec::new()) })
    }
}

/// Outcome of one health check.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum CheckStatus {
    /// Works.
    Ok,
    /// Works, with a caveat.
    Warning,
    /// Does not work.
    Error,
}

/// One line of `lathe doctor`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct HealthCheck {
    /// What was checked (`docker engine`, `sandbox image`, ...).
    pub name: String,
    /// The verdict.
    pub status: CheckStatus,
    /// What was found.
    pub detail: String,
    /// What to do about it, when something is wrong.
    pub advice: Option<String>,
}

impl HealthCheck {
    /// A passing check.
    pub fn ok(name: &str, detail: impl Into<String>) -> Self {
        Self {
            name: name.to_owned(),
            status: CheckStatus::Ok,
            detail: detail.into(),
            advice: None,
        }
    }

    /// A warning with advice.
    pub fn warning(name: &str, detail: impl Into<String>, advice: impl Into<String>) -> Self {
        Self {
            name: name.to_owned(),
            status: CheckStatus::Warning,
            detail: detail.into(),
            advice: Some(advice.into()),
        }
    }

    /// A failing check with advice.
    pub fn error(name: &str, detail: impl Into<String>, advice: impl Into<String>) -> Self {
        Self {
            name: name.to_owned(),
            status: CheckStatus::Error,
            detail: detail.into(),
            advice: Some(advice.into()),
        }
    }
}
