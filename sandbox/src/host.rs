//! The `none` backend: commands run directly on the host, in the workspace, with the daemon's
//! environment and rights. Nothing is isolated, so [`Sandbox::requires_approval`] is true: the
//! caller must ask the user before every command.
//!
//! Invariants: the working directory is confined to the workspace path; the timeout kills the
//! command's whole process group; output is bounded like every other backend's.

use std::time::Duration;

use futures::FutureExt;
use futures::future::BoxFuture;
use tokio::process::Command;

use crate::config::SandboxConfig;
use crate::error::SandboxError;
use crate::exec::{ExecOutcome, ExecRequest};
use crate::local::{self, RunLimits};
use crate::policy::SessionSpec;
use crate::sandbox::{BackendKind, HealthCheck, OutputSender, Sandbox};

/// Runs commands on the host.
#[derive(Debug, Clone)]
pub struct HostSandbox {
    config: SandboxConfig,
}

impl HostSandbox {
    /// A host "sandbox" with the config's timeout and output limits.
    pub fn new(config: SandboxConfig) -> Self {
        Self { config }
    }

    async fn exec_inner(
        &self,
        session: &SessionSpec,
        request: ExecRequest,
        output: Option<OutputSender>,
    ) -> Result<ExecOutcome, SandboxError> {
        let workspace =
            session
                .workspace
                .canonicalize()
                .map_err(|source| SandboxError::Workspace {
                    path: session.workspace.clone(),
                    source,
                })?;
        let dir = request.cwd_under(&workspace)?;
        let mut command = Command::new(&request.argv[0]);
        command
            .args(&request.argv[1..])
            .current_dir(&dir)
            .envs(&self.config.env)
            .envs(&request.env)
            .env("LATHE_SESSION", &session.id);
        let limits = RunLimits {
            timeout: request
                .timeout
                .unwrap_or(Duration::from_secs(self.config.timeout_secs)),
            grace: Duration::from_millis(self.config.kill_grace_ms),
            limit: self.config.max_output_bytes,
        };
        local::run(command, &request.argv[0], limits, output).await
    }
}

impl Sandbox for HostSandbox {
    fn kind(&self) -> BackendKind {
        BackendKind::None
    }

    fn requires_approval(&self) -> bool {
        true
    }

    fn prepare<'a>(&'a self, session: &'a SessionSpec) -> BoxFuture<'a, Result<(), SandboxError>> {
        async move {
            std::fs::metadata(&session.workspace)
                .map(|_| ())
                .map_err(|source| SandboxError::Workspace {
                    path: session.workspace.clone(),
                    source,
                })
        }
        .boxed()
    }

    fn exec<'a>(
        &'a self,
        session: &'a SessionSpec,
        request: ExecRequest,
        output: Option<OutputSender>,
    ) -> BoxFuture<'a, Result<ExecOutcome, SandboxError>> {
        self.exec_inner(session, request, output).boxed()
    }

    fn end_session<'a>(&'a self, _session_id: &'a str) -> BoxFuture<'a, Result<(), SandboxError>> {
        async { Ok(()) }.boxed()
    }

    fn doctor(&self) -> BoxFuture<'_, Vec<HealthCheck>> {
        async {
            vec![HealthCheck::warning(
                "none backend",
                "commands run on the host without isolation; every command needs approval",
                "start a Docker engine and build the image (`sandbox/image/build.sh`), or install bubblewrap",
            )]
        }
        .boxed()
    }
}
