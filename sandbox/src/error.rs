//! The crate's one error type. Every message says what failed and, where there is one, what to
//! do about it: these strings reach the user through `lathe doctor`, the CLI and tool results.

use std::path::PathBuf;

/// Everything that can go wrong while preparing a sandbox or running a command in it.
///
/// A command that runs and fails (non-zero exit, timeout, OOM) is not an error: it is an
/// [`crate::ExecOutcome`]. Errors mean the sandbox itself could not do its job.
#[derive(Debug, thiserror::Error)]
pub enum SandboxError {
    /// The configuration is inconsistent or names something impossible.
    #[error("invalid sandbox configuration: {0}")]
    Config(String),
    /// The workspace directory is missing or unreadable.
    #[error("workspace {path}: {source}")]
    Workspace {
        /// The workspace path as given.
        path: PathBuf,
        /// The underlying I/O error.
        source: std::io::Error,
    },
    /// The request itself is invalid (empty command, cwd escaping the workspace, ...).
    #[error("invalid command: {0}")]
    InvalidRequest(String),
    /// The Docker engine could not be reached or stopped answering.
    #[error(
        "the Docker engine at {host} is not reachable ({detail}); start it (for CI: `source .ci/dockerd.sh`) or set LATHE_SANDBOX=bwrap"
    )]
    EngineUnavailable {
        /// `DOCKER_HOST` or the default socket.
        host: String,
        /// What the client reported.
        detail: String,
    },
    /// The session's container disappeared or stopped (engine restart, manual removal).
    /// The next command of the session gets a fresh container.
    #[error(
        "the sandbox container of session {session} is gone ({detail}); the next command starts a fresh one"
    )]
    ContainerLost {
        /// The session whose container was lost.
        session: String,
        /// What the engine reported.
        detail: String,
    },
    /// The configured image is not present in the engine (images are never pulled).
    #[error("sandbox image {image} is missing: {advice}")]
    ImageMissing {
        /// The configured image reference.
        image: String,
        /// How to build or choose one.
        advice: String,
    },
    /// The Docker engine refused a request.
    #[error("docker {action} failed: {detail}")]
    Engine {
        /// What we asked for (create container, create exec, ...).
        action: &'static str,
        /// The engine's message.
        detail: String,
    },
    /// A backend's program (bwrap, prlimit, a shell) could not be started.
    #[error("could not start {program}: {source}")]
    Spawn {
        /// The program we tried to run.
        program: String,
        /// The underlying I/O error.
        source: std::io::Error,
    },
    /// The requested backend is not available on this machine.
    #[error("sandbox backend {backend} is unavailable: {advice}")]
    BackendUnavailable {
        /// `docker`, `bwrap` or `none`.
        backend: &'static str,
        /// Why, and what to do.
        advice: String,
    },
    /// An I/O error outside the cases above.
    #[error("{context}: {source}")]
    Io {
        /// What we were doing.
        context: String,
        /// The underlying I/O error.
        source: std::io::Error,
    },
}
