//! Sandbox configuration: the `[sandbox]` table of Lathe's config, with a default for every
//! setting, plus the `LATHE_SANDBOX` environment override.
//!
//! Invariants: the defaults are the tight policy of DESIGN.md §8 (no network, 256 pids, 2 GiB
//! memory = memory+swap, 2 CPUs, read-only root, size-limited `/tmp`, non-root user, `.git`
//! read-only). Loosening anything, network above all, needs an explicit setting.

use std::collections::BTreeMap;
use std::fmt;
use std::path::{Path, PathBuf};
use std::str::FromStr;

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::error::SandboxError;

/// Which backend runs commands.
#[derive(Debug, Clone, Copy, PartialEq, Hash, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum BackendChoice {
    /// Docker if the engine answers and the image exists, else bwrap if installed, else none
    /// (with a warning).
    #[default]
    Auto,
    /// Always Docker (errors when the engine or image is missing).
    Docker,
    /// Always bubblewrap.
    Bwrap,
    /// The host, with an approval for every command.
    None,
}

impl FromStr for BackendChoice {
    type Err = SandboxError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.trim().to_ascii_lowercase().as_str() {
            "auto" | "" => Ok(Self::Auto),
            "docker" => Ok(Self::Docker),
            "bwrap" | "bubblewrap" => Ok(Self::Bwrap),
            "none" | "host" => Ok(Self::None),
            other => Err(SandboxError::Config(format!(
                "unknown sandbox backend {other:?} (expected auto, docker, bwrap or none)"
            ))),
        }
    }
}

/// Whether commands may reach the network.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum NetworkAccess {
    /// No network at all: only a loopback interface (docker `network_mode: none`,
    /// bwrap `--unshare-net`).
    #[default]
    None,
    /// Explicit opt-in: docker joins [`SandboxConfig::docker_network`], bwrap shares the
    /// host's network.
    Allow,
}

/// How much of the workspace commands may change.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum WorkspaceAccess {
    /// The workspace is mounted read-only.
    ReadOnly,
    /// The workspace is mounted read-write (its `.git` stays read-only).
    #[default]
    WorkspaceWrite,
}

/// Which user commands run as.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub enum UserSetting {
    /// The uid/gid owning the workspace directory, so written files are the user's. A
    /// root-owned workspace falls back to `nobody` (65534:65534) with a warning: running as
    /// root takes an explicit `"0:0"`.
    #[default]
    WorkspaceOwner,
    /// A fixed numeric `uid:gid`.
    Fixed {
        /// User id.
        uid: u32,
        /// Group id.
        gid: u32,
    },
}

impl TryFrom<String> for UserSetting {
    type Error = SandboxError;

    fn try_from(value: String) -> Result<Self, Self::Error> {
        if value == "workspace-owner" {
            return Ok(Self::WorkspaceOwner);
        }
        let bad = || {
            SandboxError::Config(format!(
                "user {value:?} must be \"workspace-owner\" or numeric \"uid:gid\""
            ))
        };
        let (uid, gid) = value.split_once(':').ok_or_else(bad)?;
        Ok(Self::Fixed {
            uid: uid.parse().map_err(|_| bad())?,
            gid: gid.parse().map_err(|_| bad())?,
        })
    }
}

impl From<UserSetting> for String {
    fn from(value: UserSetting) -> Self {
        match value {
            UserSetting::WorkspaceOwner => "workspace-owner".to_owned(),
            UserSetting::Fixed { uid, gid } => format!("{uid}:{gid}"),
        }
    }
}

/// The default image reference: `lathe-sandbox:<crate version>`, built by
/// `sandbox/image/build.sh`.
pub fn default_image() -> String {
    format!("lathe-sandbox:{}", env!("CARGO_PKG_VERSION"))
}

const GIB: u64 = 1024 * 1024 * 1024;
const MIB: u64 = 1024 * 1024;

/// The `[sandbox]` configuration table. Every field has a default (see [`Default`]).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct SandboxConfig {
    /// Backend selection; `LATHE_SANDBOX` overrides it.
    pub backend: BackendChoice,
    /// Docker Engine address (`unix://...` or `tcp://...`); unset uses `DOCKER_HOST`, else
    /// the local socket.
    pub docker_host: Option<String>,
    /// Local image for the docker backend; never pulled.
    pub image: String,
    /// Network access (default none).
    pub network: NetworkAccess,
    /// Docker network joined when `network = "allow"`.
    pub docker_network: String,
    /// Maximum number of processes (docker `pids_limit`, bwrap `RLIMIT_NPROC`).
    pub pids_limit: u32,
    /// Memory limit in bytes; docker's memory+swap is set to the same value (no swap).
    pub memory_bytes: u64,
    /// CPU limit in CPUs (docker `nano_cpus`).
    pub cpus: f64,
    /// Size of the tmpfs mounted at `/tmp`.
    pub tmp_size_bytes: u64,
    /// Size of the private `/dev/shm` (docker).
    pub shm_size_bytes: u64,
    /// User commands run as.
    pub user: UserSetting,
    /// Workspace access for sessions that do not say.
    pub access: WorkspaceAccess,
    /// Mount the workspace's `.git` read-only even when the workspace is writable.
    pub git_read_only: bool,
    /// A seccomp profile (JSON file) replacing the engine's default one; unset keeps the default.
    pub seccomp_profile: Option<PathBuf>,
    /// Extra environment for every command.
    pub env: BTreeMap<String, String>,
    /// Per-command timeout in seconds, unless the request says otherwise.
    pub timeout_secs: u64,
    /// Time between SIGTERM and SIGKILL when a command times out, in milliseconds.
    pub kill_grace_ms: u64,
    /// Output kept per stream (stdout, stderr): half from the start, half from the end.
    pub max_output_bytes: usize,
    /// A session container unused this long (seconds) is removed.
    pub idle_timeout_secs: u64,
}

impl Default for SandboxConfig {
    fn default() -> Self {
        Self {
            backend: BackendChoice::Auto,
            docker_host: None,
            image: default_image(),
            network: NetworkAccess::None,
            docker_network: "bridge".to_owned(),
            pids_limit: 256,
            memory_bytes: 2 * GIB,
            cpus: 2.0,
            tmp_size_bytes: 512 * MIB,
            shm_size_bytes: 64 * MIB,
            user: UserSetting::WorkspaceOwner,
            access: WorkspaceAccess::WorkspaceWrite,
            git_read_only: true,
            seccomp_profile: None,
            env: BTreeMap::new(),
            timeout_secs: 120,
            kill_grace_ms: 2000,
            max_output_bytes: MIB as usize,
            idle_timeout_secs: 30 * 60,
        }
    }
}

impl SandboxConfig {
    /// Applies environment overrides (`LATHE_SANDBOX`) read through `get`, so that callers
    /// and tests decide where variables come from.
    pub fn apply_env(&mut self, get: impl Fn(&str) -> Option<String>) -> Result<(), SandboxError> {
        if let Some(value) = get("LATHE_SANDBOX") {
            self.backend = value.parse()?;
        }
        Ok(())
    }

    /// Checks the values that cannot be expressed in the types.
    pub fn validate(&self) -> Result<(), SandboxError> {
        let fail = |m: &str| Err(SandboxError::Config(m.to_owned()));
        if self.image.trim().is_empty() {
            return fail("image must not be empty");
        }
        if self.pids_limit == 0 {
            return fail("pids_limit must be at least 1");
        }
        if self.memory_bytes < 16 * MIB {
            return fail("memory_bytes must be at least 16 MiB");
        }
        if !(self.cpus.is_finite() && self.cpus > 0.0) {
            return fail("cpus must be a positive number");
        }
        if self.max_output_bytes < 64 {
            return fail("max_output_bytes must be at least 64");
        }
        if self.timeout_secs == 0 {
            return fail("timeout_secs must be at least 1");
        }
        Ok(())
    }
}

/// Identifies the Lathe process that owns containers: its containers carry
/// `lathe.daemon=<id>` (how the daemon finds what a dead daemon of its home left),
/// `lathe.home=<hash of the home>` and `lathe.pid=<pid>` (how it finds what a dead
/// `lathe run` or `lathe sandbox exec` of its home left).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct DaemonId {
    id: String,
    home: String,
    pid: u32,
}

/// The first 16 hex digits of the SHA-256 of a path.
fn path_hash(path: &Path) -> String {
    let digest = Sha256::digest(path.as_os_str().as_encoded_bytes());
    hex::encode(&digest[..8])
}

impl DaemonId {
    /// The daemon of `home`: its id is the hash of the home directory path.
    pub fn from_home(home: &Path) -> Self {
        let id = path_hash(home);
        Self {
            home: id.clone(),
            id,
            pid: std::process::id(),
        }
    }

    /// This process, of `home` but not its daemon: its id is the hash of `own` (a path of
    /// its own), so the daemon leaves its containers alone while it lives.
    pub fn process_of(home: &Path, own: &Path) -> Self {
        Self {
            id: path_hash(own),
            home: path_hash(home),
            pid: std::process::id(),
        }
    }

    /// The id as written in the `lathe.daemon` label.
    pub fn as_str(&self) -> &str {
        &self.id
    }

    /// The home's hash, as written in the `lathe.home` label.
    pub fn home(&self) -> &str {
        &self.home
    }

    /// The owning process, as written in the `lathe.pid` label.
    pub fn pid(&self) -> u32 {
        self.pid
    }
}

impl fmt::Display for DaemonId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.id)
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use super::*;
    use pretty_assertions::assert_eq;

    #[test]
    fn empty_table_gives_the_tight_defaults() {
        let parsed: SandboxConfig = toml::from_str("").unwrap();
        assert_eq!(parsed, SandboxConfig::default());
        assert_eq!(parsed.network, NetworkAccess::None);
        parsed.validate().unwrap();
    }

    #[test]
    fn every_setting_is_configurable() {
        let parsed: SandboxConfig = toml::from_str(
            r#"
            backend = "docker"
            docker_host = "unix:///run/docker.sock"
            image = "my/image:1"
            network = "allow"
            docker_network = "lathe-net"
            pids_limit = 64
            memory_bytes = 1073741824
            cpus = 0.5
            tmp_size_bytes = 1048576
            shm_size_bytes = 1048576
            user = "1000:100"
            access = "read-only"
            git_read_only = false
            seccomp_profile = "/etc/lathe/seccomp.json"
            env = { CI = "1" }
            timeout_secs = 5
            kill_grace_ms = 10
            max_output_bytes = 4096
            idle_timeout_secs = 60
            "#,
        )
        .unwrap();
        assert_eq!(
            parsed,
            SandboxConfig {
                backend: BackendChoice::Docker,
                docker_host: Some("unix:///run/docker.sock".into()),
                image: "my/image:1".into(),
                network: NetworkAccess::Allow,
                docker_network: "lathe-net".into(),
                pids_limit: 64,
                memory_bytes: GIB,
                cpus: 0.5,
                tmp_size_bytes: MIB,
                shm_size_bytes: MIB,
                user: UserSetting::Fixed {
                    uid: 1000,
                    gid: 100
                },
                access: WorkspaceAccess::ReadOnly,
                git_read_only: false,
                seccomp_profile: Some("/etc/lathe/seccomp.json".into()),
                env: BTreeMap::from([("CI".into(), "1".into())]),
                timeout_secs: 5,
                kill_grace_ms: 10,
                max_output_bytes: 4096,
                idle_timeout_secs: 60,
            }
        );
    }

    #[test]
    fn bad_values_are_refused_with_a_reason() {
        let err = toml::from_str::<SandboxConfig>(r#"user = "root""#).unwrap_err();
        assert!(err.to_string().contains("workspace-owner"), "{err}");
        let err = toml::from_str::<SandboxConfig>(r#"network = "host""#).unwrap_err();
        assert!(err.to_string().contains("unknown variant"), "{err}");
        let config = SandboxConfig {
            cpus: 0.0,
            ..SandboxConfig::default()
        };
        assert_eq!(
            config.validate().unwrap_err().to_string(),
            "invalid sandbox configuration: cpus must be a positive number"
        );
    }

    #[test]
    fn lathe_sandbox_overrides_the_backend() {
        let mut config = SandboxConfig::default();
        config
            .apply_env(|k| (k == "LATHE_SANDBOX").then(|| "bwrap".to_owned()))
            .unwrap();
        assert_eq!(config.backend, BackendChoice::Bwrap);
        let err = config.apply_env(|_| Some("podman".to_owned())).unwrap_err();
        assert_eq!(
            err.to_string(),
            "invalid sandbox configuration: unknown sandbox backend \"podman\" (expected auto, docker, bwrap or none)"
        );
    }

    #[test]
    fn daemon_id_is_a_stable_hash_of_the_home() {
        let a = DaemonId::from_home(Path::new("/home/u/.local/share/lathe"));
        assert_eq!(
            a,
            DaemonId::from_home(Path::new("/home/u/.local/share/lathe"))
        );
        assert_ne!(a, DaemonId::from_home(Path::new("/tmp/other")));
        assert_eq!(a.as_str().len(), 16);
        let run = DaemonId::process_of(
            Path::new("/home/u/.local/share/lathe"),
            Path::new("/home/u/.local/share/lathe/process-7"),
        );
        assert_ne!(
            run.as_str(),
            a.as_str(),
            "a process's containers are not the daemon's"
        );
        assert_eq!(run.home(), a.home(), "but of the same home");
    }
}
