//! Running the real `lathe` binary under a private home.
//!
//! Invariants: every [`LatheHome`] is a fresh temporary `LATHE_HOME` whose config sets
//! `[daemon] port = 0`, and every command it builds has the model and sandbox variables of
//! the developer's shell removed, so tests never share a daemon, a port or a setting.
//! Processes started through it are killed when their handle drops, and a daemon still
//! running under a home (one a shim started, say) is stopped when the home drops, so a
//! failing test leaks no daemon.

use anyhow::Context;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

/// The `lathe` executable: `$LATHE_BIN`, else the one beside the test binary, built on
/// first use when missing.
pub fn lathe_bin() -> &'static Path {
    static BIN: OnceLock<PathBuf> = OnceLock::new();
    BIN.get_or_init(|| {
        if let Some(bin) = std::env::var_os("LATHE_BIN") {
            return PathBuf::from(bin);
        }
        let exe = std::env::current_exe().unwrap_or_default();
        // target/<profile>/deps/<test binary> -> target/<profile>/lathe
        let profile_dir = exe
            .parent()
            .and_then(Path::parent)
            .map(Path::to_path_buf)
            .unwrap_or_default();
        let bin = profile_dir.join("lathe");
        let profile = if profile_dir.ends_with("release") {
            "release"
        } else {
            "dev"
        };
        let target = profile_dir
            .parent()
            .map(Path::to_path_buf)
            .unwrap_or_default();
        let status = Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".into()))
            .args([
                "build",
                "-p",
                "lathe",
                "--bin",
                "lathe",
                "--profile",
                profile,
            ])
            .env("CARGO_TARGET_DIR", &target)
            .status();
        assert!(
            matches!(status, Ok(s) if s.success()) && bin.exists(),
            "could not build the lathe binary into {}",
            bin.display()
        );
        bin
    })
}

/// A private `LATHE_HOME`.
pub struct LatheHome {
    dir: tempfile::TempDir,
}

impl LatheHome {
    /// A fresh home whose daemon listens on a free port.
    pub fn new() -> anyhow::Result<LatheHome> {
        let dir = tempfile::Builder::new().prefix("lathe-home-").tempdir()?;
        let home = LatheHome { dir };
        home.write_user_config("[daemon]\nport = 0\n")?;
        Ok(home)
    }

    pub fn path(&self) -> &Path {
        self.dir.path()
    }

    /// Replaces the user config file (`$LATHE_HOME/config/config.toml`).
    pub fn write_user_config(&self, text: &str) -> anyhow::Result<()> {
        let dir = self.path().join("config");
        std::fs::create_dir_all(&dir)?;
        std::fs::write(dir.join("config.toml"), text)?;
        Ok(())
    }

    /// `lathe <args>` with this home and a clean environment.
    pub fn command(&self) -> Command {
        self.command_of(lathe_bin())
    }

    /// `program` with this home and the clean environment of [`LatheHome::command`] (for
    /// wrappers such as `script`, which run lathe on a terminal).
    pub fn command_of(&self, program: impl AsRef<std::ffi::OsStr>) -> Command {
        let mut command = Command::new(program);
        for var in [
            "LATHE_BASE_URL",
            "LATHE_MODEL",
            "LATHE_API_KEY",
            "LATHE_SANDBOX",
            "OPENAI_BASE_URL",
            "OPENAI_API_KEY",
            "XDG_CONFIG_HOME",
            "XDG_STATE_HOME",
            "XDG_RUNTIME_DIR",
        ] {
            command.env_remove(var);
        }
        command.env("LATHE_HOME", self.path()).stdin(Stdio::null());
        command
    }

    /// Runs `lathe <args>` to completion.
    pub fn run(&self, args: &[&str]) -> anyhow::Result<Output> {
        self.command()
            .args(args)
            .output()
            .context("cannot run lathe")
    }

    /// `lathe trust --workspace <workspace>`: lets it start the MCP servers it names.
    pub fn trust(&self, workspace: &Path) -> anyhow::Result<()> {
        let workspace = workspace
            .to_str()
            .context("a workspace path that is not UTF-8")?;
        let output = self.run(&["trust", "--workspace", workspace])?;
        anyhow::ensure!(
            output.status.success(),
            "lathe trust failed: {}",
            String::from_utf8_lossy(&output.stderr)
        );
        Ok(())
    }

    /// The runtime file of the running daemon, if any.
    pub fn daemon_info(&self) -> Option<serde_json::Value> {
        let text = std::fs::read_to_string(self.path().join("run/daemon.json")).ok()?;
        serde_json::from_str(&text).ok()
    }

    /// The daemon's pid from the runtime file.
    pub fn daemon_pid(&self) -> Option<u32> {
        self.daemon_info()?
            .get("pid")?
            .as_u64()
            .map(|pid| pid as u32)
    }

    /// Starts `lathe serve --foreground` and waits until its runtime file is written.
    pub fn start_daemon(&self) -> anyhow::Result<Daemon> {
        let child = self
            .command()
            .args(["serve", "--foreground", "--port", "0"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .context("cannot start lathe serve")?;
        let mut daemon = Daemon { child };
        let pid = daemon.child.id();
        wait_until(Duration::from_secs(20), || self.daemon_pid() == Some(pid))
            .context("the daemon did not write its runtime file")?;
        if let Some(status) = daemon.child.try_wait()? {
            anyhow::bail!("the daemon exited early: {status}");
        }
        Ok(daemon)
    }
}

/// A daemon started by a test; killed on drop.
pub struct Daemon {
    pub child: Child,
}

impl Daemon {
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// `kill -9`.
    pub fn kill_hard(&mut self) -> anyhow::Result<()> {
        self.child.kill()?;
        self.child.wait()?;
        Ok(())
    }

    /// SIGTERM, then wait for the exit status.
    pub fn terminate(&mut self) -> anyhow::Result<std::process::ExitStatus> {
        signal(self.child.id(), "TERM");
        Ok(self.child.wait()?)
    }
}

impl Drop for Daemon {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Sends a signal (by name, e.g. `TERM`) to a process.
pub fn signal(pid: u32, signal: &str) {
    let _ = Command::new("kill")
        .arg(format!("-{signal}"))
        .arg(pid.to_string())
        .status();
}

impl Drop for LatheHome {
    fn drop(&mut self) {
        let Some(pid) = self.daemon_pid() else {
            return;
        };
        // The runtime file may be stale: only stop a process that runs under this home.
        let home = format!("LATHE_HOME={}", self.path().display());
        let ours = std::fs::read(format!("/proc/{pid}/environ"))
            .is_ok_and(|environ| environ.split(|&b| b == 0).any(|var| var == home.as_bytes()));
        if !ours {
            return;
        }
        signal(pid, "TERM");
        let gone = || !Path::new(&format!("/proc/{pid}")).exists();
        if wait_until(Duration::from_secs(10), gone).is_err() {
            signal(pid, "KILL");
        }
    }
}

/// Polls `condition` (with a short backoff) until it holds or `timeout` passes.
pub fn wait_until(timeout: Duration, mut condition: impl FnMut() -> bool) -> anyhow::Result<()> {
    let deadline = Instant::now() + timeout;
    let mut delay = Duration::from_millis(1);
    while !condition() {
        if Instant::now() > deadline {
            anyhow::bail!("condition not met within {timeout:?}");
        }
        std::thread::sleep(delay);
        delay = (delay * 2).min(Duration::from_millis(50));
    }
    Ok(())
}
