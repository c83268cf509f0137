//! The Docker container spec of a session, derived purely from its [`SandboxPolicy`].
//!
//! Invariants (each checked by a test): no network unless allowed; every capability dropped;
//! `no-new-privileges`; the engine's default seccomp profile unless another is configured
//! (never `unconfined`); pids, memory (= memory+swap) and CPU limits; read-only root with a
//! size-limited tmpfs `/tmp`; the policy's non-root user; the workspace at `/workspace`
//! (read-only in `read-only`) and its `.git` read-only; the session and daemon labels; `init`
//! as PID 1 with `sleep infinity` keeping the container warm.

use std::collections::BTreeMap;
use std::path::PathBuf;

use serde::Serialize;

use crate::config::{NetworkAccess, WorkspaceAccess};
use crate::policy::{SandboxPolicy, TMP_MOUNT, WORKSPACE_MOUNT};

/// A bind mount of a host path into the container.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct BindMount {
    /// Host path.
    pub source: PathBuf,
    /// Path inside the container.
    pub target: String,
    /// Mounted read-only.
    pub read_only: bool,
}

/// What the docker backend asks the engine to create for a session.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ContainerSpec {
    /// Image reference.
    pub image: String,
    /// The keep-alive command (`sleep infinity`).
    pub cmd: Vec<String>,
    /// `uid:gid`.
    pub user: String,
    /// Working directory.
    pub working_dir: String,
    /// Hostname.
    pub hostname: String,
    /// `KEY=VALUE` environment.
    pub env: Vec<String>,
    /// Labels (`lathe.session`, `lathe.daemon`, `lathe.home`, `lathe.pid`, `lathe.workspace`).
    pub labels: BTreeMap<String, String>,
    /// Run docker-init as PID 1.
    pub init: bool,
    /// `none` or the network to join.
    pub network_mode: String,
    /// Capabilities dropped.
    pub cap_drop: Vec<String>,
    /// Security options (`no-new-privileges`, custom seccomp).
    pub security_opt: Vec<String>,
    /// Maximum number of processes.
    pub pids_limit: i64,
    /// Memory limit in bytes.
    pub memory: i64,
    /// Memory + swap limit in bytes (equal to `memory`: no swap).
    pub memory_swap: i64,
    /// CPU quota in billionths of a CPU.
    pub nano_cpus: i64,
    /// Read-only root filesystem.
    pub readonly_rootfs: bool,
    /// tmpfs mounts: path -> mount options.
    pub tmpfs: BTreeMap<String, String>,
    /// IPC namespace mode.
    pub ipc_mode: String,
    /// Size of `/dev/shm`.
    pub shm_size: i64,
    /// Bind mounts, parents before children.
    pub mounts: Vec<BindMount>,
}

fn clamp_i64(value: u64) -> i64 {
    i64::try_from(value).unwrap_or(i64::MAX)
}

impl SandboxPolicy {
    /// The container spec of this policy. Pure.
    pub fn container_spec(&self) -> ContainerSpec {
        let mut mounts = vec![BindMount {
            source: self.workspace.clone(),
            target: WORKSPACE_MOUNT.to_owned(),
            read_only: self.access == WorkspaceAccess::ReadOnly,
        }];
        if let Some(git) = &self.git_dir {
            mounts.push(BindMount {
                source: git.clone(),
                target: format!("{WORKSPACE_MOUNT}/.git"),
                read_only: true,
            });
        }
        let mut security_opt = vec!["no-new-privileges:true".to_owned()];
        if let Some(profile) = &self.seccomp_profile {
            security_opt.push(format!("seccomp={profile}"));
        }
        let memory = clamp_i64(self.limits.memory_bytes);
        ContainerSpec {
            image: self.image.clone(),
            cmd: vec!["sleep".to_owned(), "infinity".to_owned()],
            user: format!("{}:{}", self.uid, self.gid),
            working_dir: WORKSPACE_MOUNT.to_owned(),
            hostname: "lathe-sandbox".to_owned(),
            env: self.env.iter().map(|(k, v)| format!("{k}={v}")).collect(),
            labels: self.labels(),
            init: true,
            network_mode: match self.network {
                NetworkAccess::None => "none".to_owned(),
                NetworkAccess::Allow => self.docker_network.clone(),
            },
            cap_drop: vec!["ALL".to_owned()],
            security_opt,
            pids_limit: i64::from(self.limits.pids),
            memory,
            memory_swap: memory,
            nano_cpus: self.limits.nano_cpus,
            readonly_rootfs: true,
            tmpfs: BTreeMap::from([(
                TMP_MOUNT.to_owned(),
                format!(
                    "rw,nosuid,nodev,exec,mode=1777,size={}",
                    self.limits.tmp_size_bytes
                ),
            )]),
            ipc_mode: "private".to_owned(),
            shm_size: clamp_i64(self.limits.shm_size_bytes),
            mounts,
        }
    }
}

#[cfg(test)]
pub(crate) mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use super::*;
    use crate::policy::Limits;
    use pretty_assertions::assert_eq;

    pub(crate) fn policy() -> SandboxPolicy {
        SandboxPolicy {
            session_id: "s-1".into(),
            daemon: "0123456789abcdef".into(),
            home: "0123456789abcdef".into(),
            pid: 4242,
            image: "lathe-sandbox:0.1.0".into(),
            workspace: "/home/u/proj".into(),
            git_dir: Some("/home/u/proj/.git".into()),
            access: WorkspaceAccess::WorkspaceWrite,
            uid: 1000,
            gid: 1000,
            network: NetworkAccess::None,
            docker_network: "bridge".into(),
            limits: Limits {
                pids: 256,
                memory_bytes: 2 << 30,
                nano_cpus: 2_000_000_000,
                tmp_size_bytes: 512 << 20,
                shm_size_bytes: 64 << 20,
            },
            seccomp_profile: None,
            env: BTreeMap::from([("HOME".into(), "/tmp".into())]),
            warnings: vec![],
        }
    }

    #[test]
    fn default_policy_gives_the_tight_container() {
        let spec = serde_json::to_string_pretty(&policy().container_spec()).unwrap();
        expect_test::expect![[r#"
            {
              "image": "lathe-sandbox:0.1.0",
              "cmd": [
                "sleep",
                "infinity"
              ],
              "user": "1000:1000",
              "working_dir": "/workspace",
              "hostname": "lathe-sandbox",
              "env": [
                "HOME=/tmp"
              ],
              "labels": {
                "lathe.daemon": "0123456789abcdef",
                "lathe.home": "0123456789abcdef",
                "lathe.pid": "4242",
                "lathe.session": "s-1",
                "lathe.workspace": "/home/u/proj"
              },
              "init": true,
              "network_mode": "none",
              "cap_drop": [
                "ALL"
              ],
              "security_opt": [
                "no-new-privileges:true"
              ],
              "pids_limit": 256,
              "memory": 2147483648,
              "memory_swap": 2147483648,
              "nano_cpus": 2000000000,
              "readonly_rootfs": true,
              "tmpfs": {
                "/tmp": "rw,nosuid,nodev,exec,mode=1777,size=536870912"
              },
              "ipc_mode": "private",
              "shm_size": 67108864,
              "mounts": [
                {
                  "source": "/home/u/proj",
                  "target": "/workspace",
                  "read_only": false
                },
                {
                  "source": "/home/u/proj/.git",
                  "target": "/workspace/.git",
                  "read_only": true
                }
              ]
            }"#]]
        .assert_eq(&spec);
    }

    #[test]
    fn read_only_sessions_mount_the_workspace_read_only() {
        let mut p = policy();
        p.access = WorkspaceAccess::ReadOnly;
        p.git_dir = None;
        assert_eq!(
            p.container_spec().mounts,
            vec![BindMount {
                source: "/home/u/proj".into(),
                target: "/workspace".into(),
                read_only: true,
            }]
        );
    }

    #[test]
    fn network_and_seccomp_change_only_by_explicit_settings() {
        let mut p = policy();
        p.network = NetworkAccess::Allow;
        p.docker_network = "lathe-net".into();
        p.seccomp_profile = Some("{\"defaultAction\":\"SCMP_ACT_ERRNO\"}".into());
        let spec = p.container_spec();
        assert_eq!(spec.network_mode, "lathe-net");
        assert_eq!(
            spec.security_opt,
            vec![
                "no-new-privileges:true".to_owned(),
                "seccomp={\"defaultAction\":\"SCMP_ACT_ERRNO\"}".to_owned()
            ]
        );
    }
}
