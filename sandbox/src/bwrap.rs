//! The bubblewrap backend: the docker policy without an engine. Each command runs in fresh
//! namespaces (`--unshare-all`, network included unless allowed), sees the host's system
//! directories read-only, the workspace at `/workspace` (read-only in `read-only`) with `.git`
//! read-only, a private size-limited `/tmp`, a cleared environment, no capabilities, no nested
//! user namespaces, and dies with its parent. Limits: a per-command cgroup (memory = memory+swap,
//! pids, CPU quota; OOM kills recognised) where the host allows creating one, and always `prlimit` inside
//! the sandbox (`RLIMIT_NPROC` counted in the sandbox's user namespace; `RLIMIT_DATA` for memory
//! when there is no cgroup).
//!
//! Invariants: [`bwrap_args`] is pure; when the daemon runs as root, commands run as the
//! policy's user (`setpriv`), never as root unless configured `0:0`; nothing but the workspace
//! is writable except `/tmp`, which is per command.

use std::collections::BTreeMap;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use futures::FutureExt;
use futures::future::BoxFuture;
use tokio::process::Command;

use crate::cgroup::{ExecCgroup, join_prefix};
use crate::config::{DaemonId, NetworkAccess, SandboxConfig, WorkspaceAccess};
use crate::error::SandboxError;
use crate::exec::{ExecOutcome, ExecRequest, Termination};
use crate::local::{self, RunLimits};
use crate::policy::{SandboxPolicy, SessionSpec, TMP_MOUNT, WORKSPACE_MOUNT, cpus_to_nano};
use crate::sandbox::{BackendKind, HealthCheck, OutputSender, Sandbox};

/// System paths offered read-only to commands, when they exist on the host.
const SYSTEM_PATHS: &[&str] = &[
    "/usr", "/bin", "/sbin", "/lib", "/lib32", "/lib64", "/libx32", "/etc",
];

/// The `PATH` inside the sandbox.
const SANDBOX_PATH: &str = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

/// How a system path exists on the host.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SystemEntry {
    /// A directory, bound read-only.
    Dir,
    /// A symlink (merged /usr), recreated with the same target.
    Symlink(String),
}

/// The host's system directories, as found at startup.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HostLayout {
    /// Path and kind, in [`SYSTEM_PATHS`] order.
    pub entries: Vec<(String, SystemEntry)>,
}

impl HostLayout {
    /// Looks at the host's root.
    pub fn detect() -> Self {
        let entries = SYSTEM_PATHS
            .iter()
            .filter_map(|p| {
                let meta = std::fs::symlink_metadata(p).ok()?;
                if meta.file_type().is_symlink() {
                    let target = std::fs::read_link(p).ok()?;
                    Some((
                        (*p).to_owned(),
                        SystemEntry::Symlink(target.display().to_string()),
                    ))
                } else if meta.is_dir() {
                    Some(((*p).to_owned(), SystemEntry::Dir))
                } else {
                    None
                }
            })
            .collect();
        Self { entries }
    }
}

fn push(args: &mut Vec<String>, items: &[&str]) {
    args.extend(items.iter().map(|s| (*s).to_owned()));
}

/// bwrap's arguments (without the program name, ending with `--`) for one command of
/// `policy`, run in `cwd` (relative to the workspace) with `env`. `privileged` says bwrap runs
/// as root (then every capability is dropped explicitly). Pure.
pub fn bwrap_args(
    policy: &SandboxPolicy,
    layout: &HostLayout,
    cwd: &Path,
    env: &BTreeMap<String, String>,
    privileged: bool,
) -> Vec<String> {
    let mut args = Vec::new();
    push(
        &mut args,
        &["--unshare-all", "--unshare-user", "--disable-userns"],
    );
    if policy.network == NetworkAccess::Allow {
        push(&mut args, &["--share-net"]);
    }
    push(
        &mut args,
        &[
            "--die-with-parent",
            "--new-session",
            "--hostname",
            "lathe-sandbox",
        ],
    );
    if privileged {
        push(&mut args, &["--cap-drop", "ALL"]);
    }
    for (path, entry) in &layout.entries {
        match entry {
            SystemEntry::Dir => push(&mut args, &["--ro-bind", path, path]),
            SystemEntry::Symlink(target) => push(&mut args, &["--symlink", target, path]),
        }
    }
    push(&mut args, &["--proc", "/proc", "--dev", "/dev"]);
    let tmp_size = policy.limits.tmp_size_bytes.to_string();
    push(
        &mut args,
        &["--perms", "1777", "--size", &tmp_size, "--tmpfs", TMP_MOUNT],
    );
    let workspace = policy.workspace.display().to_string();
    let bind = match policy.access {
        WorkspaceAccess::ReadOnly => "--ro-bind",
        WorkspaceAccess::WorkspaceWrite => "--bind",
    };
    push(&mut args, &[bind, &workspace, WORKSPACE_MOUNT]);
    if let Some(git) = &policy.git_dir {
        let git = git.display().to_string();
        push(
            &mut args,
            &["--ro-bind", &git, &format!("{WORKSPACE_MOUNT}/.git")],
        );
    }
    push(&mut args, &["--remount-ro", "/"]);
    let dir = if cwd.as_os_str().is_empty() {
        WORKSPACE_MOUNT.to_owned()
    } else {
        Path::new(WORKSPACE_MOUNT).join(cwd).display().to_string()
    };
    push(&mut args, &["--chdir", &dir, "--clearenv"]);
    let mut all_env = BTreeMap::from([
        ("PATH".to_owned(), SANDBOX_PATH.to_owned()),
        ("LANG".to_owned(), "C.UTF-8".to_owned()),
    ]);
    all_env.extend(policy.env.clone());
    all_env.extend(env.clone());
    for (k, v) in &all_env {
        push(&mut args, &["--setenv", k, v]);
    }
    args.push("--".to_owned());
    args
}

/// `prlimit` arguments (ending with `--`) applying the policy's process limit and, unless a
/// cgroup limits memory (`memory_by_cgroup`), its memory limit as `RLIMIT_DATA`.
pub fn prlimit_args(policy: &SandboxPolicy, memory_by_cgroup: bool) -> Vec<String> {
    let mut args = vec![format!("--nproc={}", policy.limits.pids)];
    if !memory_by_cgroup {
        args.push(format!("--data={}", policy.limits.memory_bytes));
    }
    args.push("--".to_owned());
    args
}

/// Finds `program` on `PATH`.
pub fn which(program: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .map(|dir| dir.join(program))
        .find(|candidate| {
            std::fs::metadata(candidate).is_ok_and(|m| m.is_file() && m.mode() & 0o111 != 0)
        })
}

fn effective_uid() -> u32 {
    std::fs::metadata("/proc/self")
        .map(|m| m.uid())
        .unwrap_or(u32::MAX)
}

/// The bubblewrap backend.
#[derive(Debug, Clone)]
pub struct BwrapSandbox {
    config: SandboxConfig,
    daemon: DaemonId,
    bwrap: PathBuf,
    prlimit: Option<PathBuf>,
    setpriv: Option<PathBuf>,
    layout: HostLayout,
    euid: u32,
    execs: Arc<AtomicU64>,
}

impl BwrapSandbox {
    /// Finds bwrap (and prlimit, setpriv) on `PATH`.
    pub fn new(config: SandboxConfig, daemon: DaemonId) -> Result<Self, SandboxError> {
        config.validate()?;
        let bwrap = which("bwrap").ok_or_else(|| SandboxError::BackendUnavailable {
            backend: "bwrap",
            advice: "bwrap is not installed (Debian: apt-get install bubblewrap)".to_owned(),
        })?;
        Ok(Self {
            config,
            daemon,
            bwrap,
            prlimit: which("prlimit"),
            setpriv: which("setpriv"),
            layout: HostLayout::detect(),
            euid: effective_uid(),
            execs: Arc::new(AtomicU64::new(0)),
        })
    }

    fn command(
        &self,
        policy: &SandboxPolicy,
        request: &ExecRequest,
        cgroup: Option<&ExecCgroup>,
    ) -> Result<(Command, Vec<String>), SandboxError> {
        let cwd = request.relative_cwd()?;
        let host_cwd = policy.workspace.join(&cwd);
        if !host_cwd.is_dir() {
            return Err(SandboxError::InvalidRequest(format!(
                "working directory {} does not exist in the workspace",
                cwd.display()
            )));
        }
        let privileged = self.euid == 0 && policy.uid == 0;
        let mut line: Vec<String> = cgroup.map(join_prefix).unwrap_or_default();
        if self.euid == 0 && policy.uid != 0 {
            let setpriv =
                self.setpriv
                    .as_ref()
                    .ok_or_else(|| SandboxError::BackendUnavailable {
                        backend: "bwrap",
                        advice: "setpriv (util-linux) is needed to drop root before bwrap"
                            .to_owned(),
                    })?;
            line.push(setpriv.display().to_string());
            line.extend([
                format!("--reuid={}", policy.uid),
                format!("--regid={}", policy.gid),
                "--clear-groups".to_owned(),
                "--".to_owned(),
            ]);
        }
        line.push(self.bwrap.display().to_string());
        line.extend(bwrap_args(
            policy,
            &self.layout,
            &cwd,
            &request.env,
            privileged,
        ));
        if let Some(prlimit) = &self.prlimit {
            line.push(prlimit.display().to_string());
            line.extend(prlimit_args(policy, cgroup.is_some()));
        }
        line.extend(request.argv.iter().cloned());
        let mut command = Command::new(&line[0]);
        command
            .args(&line[1..])
            .env_clear()
            .current_dir(&policy.workspace);
        Ok((command, line))
    }

    async fn exec_inner(
        &self,
        session: &SessionSpec,
        request: ExecRequest,
        output: Option<OutputSender>,
    ) -> Result<ExecOutcome, SandboxError> {
        let policy = SandboxPolicy::resolve(&self.config, &self.daemon, session)?;
        let name = format!(
            "lathe-{}-{}-{}",
            self.daemon,
            std::process::id(),
            self.execs.fetch_add(1, Ordering::Relaxed)
        );
        let cgroup = ExecCgroup::create(&name, &policy.limits);
        let (command, _) = self.command(&policy, &request, cgroup.as_ref())?;
        let limits = RunLimits {
            timeout: request
                .timeout
                .unwrap_or(Duration::from_secs(self.config.timeout_secs)),
            grace: Duration::from_millis(self.config.kill_grace_ms),
            limit: self.config.max_output_bytes,
        };
        let mut outcome = local::run(command, "bwrap", limits, output).await;
        if let Some(cgroup) = cgroup {
            if let Ok(done) = &mut outcome
                && let Termination::Exited { code } = done.termination
                && code != 0
                && cgroup.oom_kills() > 0
            {
                done.termination = Termination::OutOfMemory { code };
            }
            cgroup.remove().await;
        }
        outcome
    }

    async fn doctor_inner(&self) -> Vec<HealthCheck> {
        let mut checks = vec![HealthCheck::ok(
            "bwrap",
            format!("{} found", self.bwrap.display()),
        )];
        let probe = Command::new(&self.bwrap)
            .args(["--unshare-all", "--ro-bind", "/", "/", "true"])
            .output()
            .await;
        checks.push(match probe {
            Ok(out) if out.status.success() => HealthCheck::ok(
                "bwrap namespaces",
                "user, pid, net, ipc, uts namespaces work",
            ),
            Ok(out) => HealthCheck::error(
                "bwrap namespaces",
                String::from_utf8_lossy(&out.stderr).trim().to_owned(),
                "enable unprivileged user namespaces (sysctl kernel.unprivileged_userns_clone=1, \
                 or on Ubuntu an AppArmor profile for bwrap)",
            ),
            Err(e) => HealthCheck::error("bwrap namespaces", e.to_string(), "reinstall bubblewrap"),
        });
        checks.push(match &self.prlimit {
            Some(_) => HealthCheck::ok("bwrap limits", "prlimit applies process and memory limits"),
            None => HealthCheck::warning(
                "bwrap limits",
                "prlimit not found: commands run without process and memory limits",
                "install util-linux",
            ),
        });
        let probe = ExecCgroup::create(
            &format!("lathe-probe-{}", std::process::id()),
            &crate::policy::Limits {
                pids: self.config.pids_limit,
                memory_bytes: self.config.memory_bytes,
                nano_cpus: cpus_to_nano(self.config.cpus),
                tmp_size_bytes: 0,
                shm_size_bytes: 0,
            },
        );
        let (cgroups, cpu) = match probe {
            Some(group) => {
                let cpu = if group.limits_cpu() {
                    HealthCheck::ok(
                        "bwrap cpu",
                        format!("each command gets at most {} CPUs", self.config.cpus),
                    )
                } else {
                    HealthCheck::warning(
                        "bwrap cpu",
                        "no cpu cgroup controller here: commands' CPU is not limited",
                        "enable the cpu controller for the daemon's cgroup (cgroup.subtree_control)",
                    )
                };
                group.remove().await;
                let cgroups = HealthCheck::ok(
                    "bwrap cgroups",
                    "per-command memory and pids cgroups; OOM kills are reported",
                );
                (cgroups, Some(cpu))
            }
            None => (
                HealthCheck::warning(
                    "bwrap cgroups",
                    "cannot create cgroups: memory is limited by RLIMIT_DATA and OOM kills are not recognised",
                    "run the daemon as root or in a delegated cgroup v2 subtree (systemd Delegate=yes)",
                ),
                None,
            ),
        };
        checks.push(cgroups);
        checks.extend(cpu);
        if self.euid == 0 && self.setpriv.is_none() {
            checks.push(HealthCheck::error(
                "bwrap user",
                "running as root without setpriv: cannot drop to the workspace owner",
                "install util-linux",
            ));
        }
        checks
    }
}

impl Sandbox for BwrapSandbox {
    fn kind(&self) -> BackendKind {
        BackendKind::Bwrap
    }

    fn prepare<'a>(&'a self, session: &'a SessionSpec) -> BoxFuture<'a, Result<(), SandboxError>> {
        async move { SandboxPolicy::resolve(&self.config, &self.daemon, session).map(|_| ()) }
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
        self.doctor_inner().boxed()
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use super::*;
    use crate::spec::tests::policy;

    fn layout() -> HostLayout {
        HostLayout {
            entries: vec![
                ("/usr".into(), SystemEntry::Dir),
                ("/bin".into(), SystemEntry::Symlink("usr/bin".into())),
                ("/etc".into(), SystemEntry::Dir),
            ],
        }
    }

    #[test]
    fn default_policy_gives_the_tight_bwrap_line() {
        let env = BTreeMap::from([("CI".to_owned(), "1".to_owned())]);
        let args = bwrap_args(&policy(), &layout(), Path::new("src"), &env, false).join(" ");
        expect_test::expect![[r#"--unshare-all --unshare-user --disable-userns --die-with-parent --new-session --hostname lathe-sandbox --ro-bind /usr /usr --symlink usr/bin /bin --ro-bind /etc /etc --proc /proc --dev /dev --perms 1777 --size 536870912 --tmpfs /tmp --bind /home/u/proj /workspace --ro-bind /home/u/proj/.git /workspace/.git --remount-ro / --chdir /workspace/src --clearenv --setenv CI 1 --setenv HOME /tmp --setenv LANG C.UTF-8 --setenv PATH /usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin --"#]]
        .assert_eq(&args);
        assert_eq!(
            prlimit_args(&policy(), false).join(" "),
            "--nproc=256 --data=2147483648 --"
        );
        assert_eq!(prlimit_args(&policy(), true).join(" "), "--nproc=256 --");
    }

    #[test]
    fn read_only_network_and_root_variants() {
        let mut p = policy();
        p.access = WorkspaceAccess::ReadOnly;
        p.network = NetworkAccess::Allow;
        p.git_dir = None;
        let args = bwrap_args(&p, &layout(), Path::new(""), &BTreeMap::new(), true).join(" ");
        expect_test::expect![[r#"--unshare-all --unshare-user --disable-userns --share-net --die-with-parent --new-session --hostname lathe-sandbox --cap-drop ALL --ro-bind /usr /usr --symlink usr/bin /bin --ro-bind /etc /etc --proc /proc --dev /dev --perms 1777 --size 536870912 --tmpfs /tmp --ro-bind /home/u/proj /workspace --remount-ro / --chdir /workspace --clearenv --setenv HOME /tmp --setenv LANG C.UTF-8 --setenv PATH /usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin --"#]]
        .assert_eq(&args);
    }
}
