//! `SandboxPolicy`: everything one session's sandbox must enforce, resolved once from the
//! config and the session (the only I/O here: canonicalising the workspace, reading its owner,
//! finding `.git`, reading a custom seccomp profile), then turned into a backend's spec by pure
//! functions ([`SandboxPolicy::container_spec`], [`crate::bwrap::bwrap_args`]).
//!
//! Invariants: the workspace path is canonical (no symlink or `..` left); the user is never root
//! unless configured as `0:0`; `git_dir`, when set, is mounted read-only over the workspace's
//! `.git`.

use std::collections::BTreeMap;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};

use serde::Serialize;

use crate::config::{DaemonId, NetworkAccess, SandboxConfig, UserSetting, WorkspaceAccess};
use crate::error::SandboxError;

/// Where the workspace appears inside the sandbox.
pub const WORKSPACE_MOUNT: &str = "/workspace";
/// The writable scratch directory inside the sandbox.
pub const TMP_MOUNT: &str = "/tmp";
/// Label naming the session that owns a container.
pub const SESSION_LABEL: &str = "lathe.session";
/// Label naming the daemon (hash of its home) that owns a container.
pub const DAEMON_LABEL: &str = "lathe.daemon";
/// Label naming the home (its hash) of the process that owns a container.
pub const HOME_LABEL: &str = "lathe.home";
/// Label naming the pid of the process that owns a container.
pub const PID_LABEL: &str = "lathe.pid";
/// Label recording the host workspace path (for humans and `docker ps`).
pub const WORKSPACE_LABEL: &str = "lathe.workspace";
/// The user commands run as when a workspace is owned by root.
pub const NOBODY: (u32, u32) = (65534, 65534);

/// What the caller knows about a session when it asks for a sandbox.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SessionSpec {
    /// The session id (becomes the `lathe.session` label).
    pub id: String,
    /// The workspace root on the host.
    pub workspace: PathBuf,
    /// Read-only or workspace-write.
    pub access: WorkspaceAccess,
}

/// Resource limits shared by every backend.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Limits {
    /// Maximum number of processes.
    pub pids: u32,
    /// Memory (and memory+swap) in bytes.
    pub memory_bytes: u64,
    /// CPU quota in billionths of a CPU.
    pub nano_cpus: i64,
    /// Size of `/tmp`.
    pub tmp_size_bytes: u64,
    /// Size of `/dev/shm`.
    pub shm_size_bytes: u64,
}

/// The resolved policy of one session's sandbox.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SandboxPolicy {
    /// The session id.
    pub session_id: String,
    /// Id of the owning process (see [`DaemonId`]).
    pub daemon: String,
    /// Hash of the owning process's home.
    pub home: String,
    /// Pid of the owning process.
    pub pid: u32,
    /// Image reference (docker).
    pub image: String,
    /// Canonical host path of the workspace.
    pub workspace: PathBuf,
    /// Canonical host path of the workspace's `.git`, when it exists and is to be read-only.
    pub git_dir: Option<PathBuf>,
    /// Workspace access.
    pub access: WorkspaceAccess,
    /// User id commands run as.
    pub uid: u32,
    /// Group id commands run as.
    pub gid: u32,
    /// Network access.
    pub network: NetworkAccess,
    /// Docker network joined when network is allowed.
    pub docker_network: String,
    /// Resource limits.
    pub limits: Limits,
    /// A custom seccomp profile (JSON text); `None` keeps the engine's default profile.
    pub seccomp_profile: Option<String>,
    /// Environment of every command, on top of the image's.
    pub env: BTreeMap<String, String>,
    /// Things the user should know (e.g. the root-owned workspace fallback).
    pub warnings: Vec<String>,
}

impl SandboxPolicy {
    /// Resolves the policy of `session` under `config`.
    pub fn resolve(
        config: &SandboxConfig,
        daemon: &DaemonId,
        session: &SessionSpec,
    ) -> Result<Self, SandboxError> {
        config.validate()?;
        if session.id.is_empty() {
            return Err(SandboxError::Config("session id must not be empty".into()));
        }
        let ws_err = |source| SandboxError::Workspace {
            path: session.workspace.clone(),
            source,
        };
        let workspace = session.workspace.canonicalize().map_err(ws_err)?;
        let meta = std::fs::metadata(&workspace).map_err(ws_err)?;
        if !meta.is_dir() {
            return Err(ws_err(std::io::Error::new(
                std::io::ErrorKind::NotADirectory,
                "not a directory",
            )));
        }
        let mut warnings = Vec::new();
        let (uid, gid) = match config.user {
            UserSetting::Fixed { uid, gid } => (uid, gid),
            UserSetting::WorkspaceOwner if meta.uid() == 0 => {
                warnings.push(format!(
                    "workspace {} is owned by root; commands run as nobody ({}:{}) and cannot \
                     write it. Give the workspace to a normal user, or set sandbox.user = \"0:0\" \
                     to run as root without capabilities.",
                    workspace.display(),
                    NOBODY.0,
                    NOBODY.1
                ));
                NOBODY
            }
            UserSetting::WorkspaceOwner => (meta.uid(), meta.gid()),
        };
        let git_dir = if config.git_read_only {
            find_git_dir(&workspace)?
        } else {
            None
        };
        let seccomp_profile = match &config.seccomp_profile {
            Some(path) => {
                Some(
                    std::fs::read_to_string(path).map_err(|source| SandboxError::Io {
                        context: format!("reading seccomp profile {}", path.display()),
                        source,
                    })?,
                )
            }
            None => None,
        };
        let mut env = BTreeMap::from([
            ("HOME".to_owned(), TMP_MOUNT.to_owned()),
            ("LATHE_SESSION".to_owned(), session.id.clone()),
        ]);
        env.extend(config.env.clone());
        Ok(Self {
            session_id: session.id.clone(),
            daemon: daemon.as_str().to_owned(),
            home: daemon.home().to_owned(),
            pid: daemon.pid(),
            image: config.image.clone(),
            workspace,
            git_dir,
            access: session.access,
            uid,
            gid,
            network: config.network,
            docker_network: config.docker_network.clone(),
            limits: Limits {
                pids: config.pids_limit,
                memory_bytes: config.memory_bytes,
                nano_cpus: cpus_to_nano(config.cpus),
                tmp_size_bytes: config.tmp_size_bytes,
                shm_size_bytes: config.shm_size_bytes,
            },
            seccomp_profile,
            env,
            warnings,
        })
    }

    /// The labels every container of this session carries.
    pub fn labels(&self) -> BTreeMap<String, String> {
        BTreeMap::from([
            (SESSION_LABEL.to_owned(), self.session_id.clone()),
            (DAEMON_LABEL.to_owned(), self.daemon.clone()),
            (HOME_LABEL.to_owned(), self.home.clone()),
            (PID_LABEL.to_owned(), self.pid.to_string()),
            (
                WORKSPACE_LABEL.to_owned(),
                self.workspace.display().to_string(),
            ),
        ])
    }
}

#[allow(clippy::cast_possible_truncation)]
pub(crate) fn cpus_to_nano(cpus: f64) -> i64 {
    (cpus * 1e9).round() as i64
}

fn find_git_dir(workspace: &Path) -> Result<Option<PathBuf>, SandboxError> {
    let candidate = workspace.join(".git");
    match candidate.symlink_metadata() {
        Ok(_) => Ok(Some(candidate.canonicalize().map_err(|source| {
            SandboxError::Io {
                context: format!("resolving {}", candidate.display()),
                source,
            }
        })?)),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(source) => Err(SandboxError::Io {
            context: format!("reading {}", candidate.display()),
            source,
        }),
    }
}
