//! Sandboxes that run the agent's commands: docker (bollard), bubblewrap and none.
//!
//! The agent's `run_command` tool and `lathe sandbox exec` go through the [`Sandbox`] trait.
//! A session's [`SandboxPolicy`] is resolved from the [`SandboxConfig`] and the
//! [`SessionSpec`], then turned into a backend spec by pure functions
//! ([`SandboxPolicy::container_spec`], [`bwrap::bwrap_args`]).
//!
//! Invariants: defaults are tight (no network, all capabilities dropped, no-new-privileges,
//! default seccomp, pids/memory/CPU limits, read-only root, size-limited `/tmp`, non-root user,
//! `.git` read-only) and loosened only by explicit config; images are never pulled; output is
//! bounded (head + tail with a marker); a timeout kills every process of the command and leaves
//! the sandbox usable; the `none` backend requires approval for every command.

pub mod bwrap;
mod cgroup;
pub mod cli;
pub mod config;
pub mod docker;
pub mod error;
pub mod exec;
pub mod host;
mod local;
pub mod output;
pub mod policy;
pub mod sandbox;
pub mod select;
pub mod spec;

pub use config::{
    BackendChoice, DaemonId, NetworkAccess, SandboxConfig, UserSetting, WorkspaceAccess,
    default_image,
};
pub use docker::DockerSandbox;
pub use error::SandboxError;
pub use exec::{ExecOutcome, ExecRequest, TIMEOUT_EXIT_CODE, Termination};
pub use output::{Captured, OutputChunk, OutputStream, Utf8Chunks};
pub use policy::{SandboxPolicy, SessionSpec};
pub use sandbox::{BackendKind, CheckStatus, HealthCheck, OutputSender, Sandbox};
pub use select::{Selection, doctor, select};
pub use spec::{BindMount, ContainerSpec};
