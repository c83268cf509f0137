//! What a caller asks a sandbox to run and what it gets back.
//!
//! Invariants: a request's `cwd` is relative and stays inside the workspace (checked by
//! [`ExecRequest::relative_cwd`]); an outcome always says how the command ended, and its output
//! is bounded by the configured cap.

use std::collections::BTreeMap;
use std::path::{Component, Path, PathBuf};
use std::time::Duration;

use serde::Serialize;

use crate::error::SandboxError;
use crate::output::Captured;

/// One command to run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExecRequest {
    /// Program and arguments (no shell unless built with [`ExecRequest::shell`]).
    pub argv: Vec<String>,
    /// Working directory relative to the workspace root; `None` is the root.
    pub cwd: Option<PathBuf>,
    /// Extra environment.
    pub env: BTreeMap<String, String>,
    /// Timeout; `None` uses the configured default.
    pub timeout: Option<Duration>,
}

impl ExecRequest {
    /// Runs `argv` as is.
    pub fn argv<I, S>(argv: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        Self {
            argv: argv.into_iter().map(Into::into).collect(),
            cwd: None,
            env: BTreeMap::new(),
            timeout: None,
        }
    }

    /// Runs a shell command line with `/bin/sh -c`.
    pub fn shell(command: impl Into<String>) -> Self {
        Self::argv(["/bin/sh".to_owned(), "-c".to_owned(), command.into()])
    }

    /// Sets the timeout.
    #[must_use]
    pub fn with_timeout(mut self, timeout: Duration) -> Self {
        self.timeout = Some(timeout);
        self
    }

    /// Sets the working directory (relative to the workspace root).
    #[must_use]
    pub fn with_cwd(mut self, cwd: impl Into<PathBuf>) -> Self {
        self.cwd = Some(cwd.into());
        self
    }

    /// Checks the request and returns its working directory relative to the workspace root
    /// (empty for the root).
    pub fn relative_cwd(&self) -> Result<PathBuf, SandboxError> {
        if self.argv.is_empty() || self.argv[0].is_empty() {
            return Err(SandboxError::InvalidRequest("empty command".into()));
        }
        let Some(cwd) = &self.cwd else {
            return Ok(PathBuf::new());
        };
        let mut out = PathBuf::new();
        for part in cwd.components() {
            match part {
                Component::Normal(p) => out.push(p),
                Component::CurDir => {}
                _ => {
                    return Err(SandboxError::InvalidRequest(format!(
                        "working directory {} must be relative to the workspace and must not contain ..",
                        cwd.display()
                    )));
                }
            }
        }
        Ok(out)
    }

    /// `root` joined with the relative working directory.
    pub fn cwd_under(&self, root: &Path) -> Result<PathBuf, SandboxError> {
        Ok(root.join(self.relative_cwd()?))
    }
}

/// How a command ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case", tag = "kind")]
pub enum Termination {
    /// It exited (or was killed by a signal, as `128 + signal`).
    Exited {
        /// The exit code.
        code: i32,
    },
    /// It ran past its timeout and its process group was killed.
    TimedOut {
        /// The timeout that was exceeded, in milliseconds.
        after_ms: u64,
    },
    /// The kernel's OOM killer killed it (memory limit reached).
    OutOfMemory {
        /// The exit code observed.
        code: i32,
    },
}

/// The exit code reported for a timeout (as coreutils `timeout`).
pub const TIMEOUT_EXIT_CODE: i32 = 124;

/// What running a command produced.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ExecOutcome {
    /// How it ended.
    pub termination: Termination,
    /// Kept standard output.
    pub stdout: Captured,
    /// Kept standard error.
    pub stderr: Captured,
    /// Wall time, in milliseconds.
    pub duration_ms: u64,
}

impl ExecOutcome {
    /// A shell-style exit code: the command's, 124 for a timeout.
    pub fn exit_code(&self) -> i32 {
        match self.termination {
            Termination::Exited { code } | Termination::OutOfMemory { code } => code,
            Termination::TimedOut { .. } => TIMEOUT_EXIT_CODE,
        }
    }

    /// Whether the command exited with 0.
    pub fn success(&self) -> bool {
        self.termination == Termination::Exited { code: 0 }
    }

    /// A one-line human explanation when the command did not simply exit.
    pub fn note(&self) -> Option<String> {
        match self.termination {
            Termination::Exited { .. } => None,
            Termination::TimedOut { after_ms } => Some(format!(
                "command timed out after {after_ms} ms and was killed"
            )),
            Termination::OutOfMemory { .. } => Some(
                "command was killed by the out-of-memory killer (sandbox memory limit reached)"
                    .to_owned(),
            ),
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use super::*;
    use pretty_assertions::assert_eq;

    #[test]
    fn cwd_must_stay_inside_the_workspace() {
        let ok = ExecRequest::argv(["ls"]).with_cwd("./src/./bin");
        assert_eq!(ok.relative_cwd().unwrap(), PathBuf::from("src/bin"));
        assert_eq!(
            ok.cwd_under(Path::new("/workspace")).unwrap(),
            PathBuf::from("/workspace/src/bin")
        );
        for bad in ["../x", "/etc", "src/../../x"] {
            let err = ExecRequest::argv(["ls"])
                .with_cwd(bad)
                .relative_cwd()
                .unwrap_err();
            assert!(
                err.to_string().contains("relative to the workspace"),
                "{bad}: {err}"
            );
        }
    }

    #[test]
    fn empty_commands_are_refused() {
        let err = ExecRequest::argv(Vec::<String>::new())
            .relative_cwd()
            .unwrap_err();
        assert_eq!(err.to_string(), "invalid command: empty command");
    }

    #[test]
    fn exit_codes_follow_shell_conventions() {
        let outcome = |termination| ExecOutcome {
            termination,
            stdout: Captured::default(),
            stderr: Captured::default(),
            duration_ms: 1,
        };
        assert_eq!(outcome(Termination::Exited { code: 3 }).exit_code(), 3);
        assert_eq!(
            outcome(Termination::TimedOut { after_ms: 5 }).exit_code(),
            124
        );
        assert_eq!(
            outcome(Termination::OutOfMemory { code: 137 }).exit_code(),
            137
        );
        assert!(outcome(Termination::Exited { code: 0 }).success());
    }
}
