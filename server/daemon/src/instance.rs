//! One daemon per home: the lock that enforces it and the runtime file that advertises it.
//!
//! Invariants: the daemon holds an exclusive lock on `run/daemon.lock` for its whole life;
//! the kernel drops the lock when the process dies, even by `kill -9`, so a stale runtime
//! file or socket is recognised by the lock being free and is replaced. `daemon.json` is
//! written atomically with mode 0600 because it carries the dashboard token.

use crate::paths::Paths;
use anyhow::Context;
use serde::{Deserialize, Serialize};
use std::fs::{File, OpenOptions};
use std::io::Write;
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};

/// What a running daemon advertises in `daemon.json`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct DaemonInfo {
    pub pid: u32,
    pub version: String,
    pub socket: PathBuf,
    /// `http://127.0.0.1:PORT`.
    pub url: String,
    /// Bearer token for the HTTP API and dashboard.
    pub token: String,
    pub started_at: u64,
}

impl DaemonInfo {
    /// The dashboard URL with the token, as printed for users.
    pub fn dashboard_url(&self) -> String {
        format!("{}/?token={}", self.url, self.token)
    }
}

/// The held single-instance lock; dropping it releases the home.
#[derive(Debug)]
pub struct InstanceLock {
    _file: File,
}

/// Takes the home's lock, or says which daemon holds it.
pub fn acquire(paths: &Paths) -> anyhow::Result<InstanceLock> {
    let path = paths.lock_file();
    let file = OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .mode(0o600)
        .open(&path)
        .with_context(|| format!("cannot open {}", path.display()))?;
    match file.try_lock() {
        Ok(()) => Ok(InstanceLock { _file: file }),
        Err(std::fs::TryLockError::WouldBlock) => {
            let running = read_info(paths)
                .map(|info| format!(" (pid {}, {})", info.pid, info.url))
                .unwrap_or_default();
            anyhow::bail!(
                "a Lathe daemon is already running for {}{running}",
                paths.runtime_dir.display()
            )
        }
        Err(std::fs::TryLockError::Error(error)) => {
            Err(error).with_context(|| format!("cannot lock {}", path.display()))
        }
    }
}

/// Whether a daemon holds the home's lock right now.
pub fn is_locked(paths: &Paths) -> bool {
    let Ok(file) = OpenOptions::new().write(true).open(paths.lock_file()) else {
        return false;
    };
    matches!(file.try_lock(), Err(std::fs::TryLockError::WouldBlock))
}

/// The advertised daemon, if the runtime file exists and parses.
pub fn read_info(paths: &Paths) -> Option<DaemonInfo> {
    let text = std::fs::read_to_string(paths.daemon_file()).ok()?;
    serde_json::from_str(&text).ok()
}

/// Writes `daemon.json` atomically with mode 0600.
pub fn write_info(paths: &Paths, info: &DaemonInfo) -> anyhow::Result<()> {
    let target = paths.daemon_file();
    let temp = target.with_extension("json.tmp");
    write_private(&temp, &serde_json::to_vec_pretty(info)?)?;
    std::fs::rename(&temp, &target).with_context(|| format!("cannot write {}", target.display()))
}

fn write_private(path: &Path, bytes: &[u8]) -> anyhow::Result<()> {
    let _ = std::fs::remove_file(path);
    let mut file = OpenOptions::new()
        .create_new(true)
        .write(true)
        .mode(0o600)
        .open(path)
        .with_context(|| format!("cannot create {}", path.display()))?;
    file.write_all(bytes)?;
    file.sync_all()?;
    Ok(())
}

/// Removes what a dead daemon left behind (socket, runtime file). Call with the lock held.
pub fn clear_stale(paths: &Paths) {
    for stale in [paths.socket(), paths.daemon_file()] {
        if stale.exists() {
            tracing::info!(path = %stale.display(), "removing what a previous daemon left");
            let _ = std::fs::remove_file(&stale);
        }
    }
}

/// A fresh random token (32 bytes from the kernel's CSPRNG, hex).
pub fn new_token() -> anyhow::Result<String> {
    use std::io::Read;
    let mut bytes = [0u8; 32];
    File::open("/dev/urandom")
        .and_then(|mut f| f.read_exact(&mut bytes))
        .context("cannot read /dev/urandom for the dashboard token")?;
    Ok(bytes.iter().map(|b| format!("{b:02x}")).collect())
}
