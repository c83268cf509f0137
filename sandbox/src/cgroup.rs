//! Per-command cgroups for the bwrap backend, where the host lets us create them (root, or a
//! delegated cgroup v2 subtree): memory (= memory+swap), pids and CPU (a CFS quota of
//! `nano_cpus` per 100 ms period) limits enforced by the kernel, and the OOM-kill counter
//! that tells an OOM kill from an ordinary failure.
//!
//! Invariants: a cgroup is created under the daemon's own cgroup, named per command, and
//! removed after the command; when memory or pids cannot be limited, `create` returns `None`
//! and the caller falls back to rlimits. CPU has no rlimit to fall back to: a host without
//! the cpu controller gets the cgroup without a CPU limit, and [`ExecCgroup::limits_cpu`]
//! says so.

use std::path::{Path, PathBuf};
use std::time::Duration;

use crate::policy::Limits;

/// The hierarchy in use.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Version {
    V1,
    V2,
}

/// One command's cgroup (one directory per hierarchy).
#[derive(Debug)]
pub struct ExecCgroup {
    version: Version,
    memory: PathBuf,
    pids: Option<PathBuf>,
    /// The v1 cpu hierarchy's directory (v2 limits CPU in `memory`'s directory).
    cpu: Option<PathBuf>,
    limits_cpu: bool,
}

/// The CFS period the CPU quota is given per, in microseconds.
const CPU_PERIOD_US: i64 = 100_000;

/// The CFS quota per [`CPU_PERIOD_US`] for `nano_cpus`, or `None` for no limit.
fn cpu_quota_us(nano_cpus: i64) -> Option<i64> {
    (nano_cpus > 0).then(|| (nano_cpus * CPU_PERIOD_US / 1_000_000_000).max(1_000))
}

fn own_path(controller: &str) -> Option<String> {
    let text = std::fs::read_to_string("/proc/self/cgroup").ok()?;
    text.lines().find_map(|line| {
        let mut parts = line.splitn(3, ':');
        let (_, controllers, path) = (parts.next()?, parts.next()?, parts.next()?);
        let matches = if controller.is_empty() {
            controllers.is_empty()
        } else {
            controllers.split(',').any(|c| c == controller)
        };
        matches.then(|| path.trim_start_matches('/').to_owned())
    })
}

fn write(path: &Path, value: &str) -> bool {
    std::fs::write(path, value).is_ok()
}

fn make(dir: PathBuf) -> Option<PathBuf> {
    std::fs::create_dir(&dir).ok()?;
    Some(dir)
}

impl ExecCgroup {
    /// Creates the cgroup `name` with `limits`, or `None` when cgroups cannot be used here.
    pub fn create(name: &str, limits: &Limits) -> Option<Self> {
        let root = Path::new("/sys/fs/cgroup");
        let memory = limits.memory_bytes.to_string();
        let pids = limits.pids.to_string();
        if root.join("cgroup.controllers").exists() {
            let dir = make(root.join(own_path("")?).join(name))?;
            let mut group = Self {
                version: Version::V2,
                memory: dir.clone(),
                pids: None,
                cpu: None,
                limits_cpu: false,
            };
            let ok = write(&dir.join("memory.max"), &memory)
                && write(&dir.join("pids.max"), &pids)
                && (write(&dir.join("memory.swap.max"), "0")
                    || !dir.join("memory.swap.max").exists());
            if !ok {
                group.remove_now();
                return None;
            }
            group.limits_cpu = cpu_quota_us(limits.nano_cpus).is_some_and(|quota| {
                write(&dir.join("cpu.max"), &format!("{quota} {CPU_PERIOD_US}"))
            });
            return Some(group);
        }
        let memory_dir = make(root.join("memory").join(own_path("memory")?).join(name))?;
        let mut group = Self {
            version: Version::V1,
            memory: memory_dir.clone(),
            pids: None,
            cpu: None,
            limits_cpu: false,
        };
        if !write(&memory_dir.join("memory.limit_in_bytes"), &memory) {
            group.remove_now();
            return None;
        }
        let memsw = memory_dir.join("memory.memsw.limit_in_bytes");
        if memsw.exists() && !write(&memsw, &memory) {
            group.remove_now();
            return None;
        }
        let pids_dir = own_path("pids").and_then(|p| make(root.join("pids").join(p).join(name)));
        match pids_dir {
            Some(dir) if write(&dir.join("pids.max"), &pids) => group.pids = Some(dir),
            Some(dir) => {
                let _removed = std::fs::remove_dir(dir);
                group.remove_now();
                return None;
            }
            None => {
                group.remove_now();
                return None;
            }
        }
        if let Some(quota) = cpu_quota_us(limits.nano_cpus)
            && let Some(dir) =
                own_path("cpu").and_then(|p| make(root.join("cpu").join(p).join(name)))
        {
            group.limits_cpu = write(&dir.join("cpu.cfs_period_us"), &CPU_PERIOD_US.to_string())
                && write(&dir.join("cpu.cfs_quota_us"), &quota.to_string());
            group.cpu = Some(dir);
        }
        Some(group)
    }

    /// Whether the kernel limits the command's CPU time (false where the cpu controller is
    /// not available, or the policy sets no CPU limit).
    pub fn limits_cpu(&self) -> bool {
        self.limits_cpu
    }

    /// The `cgroup.procs` files the command's first process must join.
    pub fn procs_files(&self) -> Vec<PathBuf> {
        self.dirs()
            .into_iter()
            .map(|dir| dir.join("cgroup.procs"))
            .collect()
    }

    /// How many processes the OOM killer killed in this cgroup.
    pub fn oom_kills(&self) -> u64 {
        let file = match self.version {
            Version::V1 => self.memory.join("memory.oom_control"),
            Version::V2 => self.memory.join("memory.events"),
        };
        std::fs::read_to_string(file)
            .unwrap_or_default()
            .lines()
            .find_map(|l| l.strip_prefix("oom_kill ")?.trim().parse().ok())
            .unwrap_or(0)
    }

    fn dirs(&self) -> Vec<PathBuf> {
        let mut dirs = vec![self.memory.clone()];
        dirs.extend(self.pids.clone());
        dirs.extend(self.cpu.clone());
        dirs
    }

    fn remove_now(&self) {
        for dir in self.dirs() {
            let _removed = std::fs::remove_dir(dir);
        }
    }

    /// Removes the cgroup once its last process is gone (they die asynchronously after the
    /// sandbox's pid namespace ends), giving up after about a second.
    pub async fn remove(self) {
        for dir in self.dirs() {
            let mut pause = Duration::from_millis(2);
            for _ in 0..10 {
                match std::fs::remove_dir(&dir) {
                    Ok(()) => break,
                    Err(e) if e.kind() == std::io::ErrorKind::NotFound => break,
                    Err(_) => {
                        tokio::time::sleep(pause).await;
                        pause *= 2;
                    }
                }
            }
        }
    }
}

/// The shell prefix that moves the command into `group` before it runs.
pub fn join_prefix(group: &ExecCgroup) -> Vec<String> {
    let files = group.procs_files();
    let mut line = vec![
        "/bin/sh".to_owned(),
        "-c".to_owned(),
        r#"n=$1; shift; while [ "$n" -gt 0 ]; do echo $$ > "$1" || exit 125; shift; n=$((n-1)); done; exec "$@""#
            .to_owned(),
        "lathe-cgroup".to_owned(),
        files.len().to_string(),
    ];
    line.extend(files.iter().map(|f| f.display().to_string()));
    line
}
