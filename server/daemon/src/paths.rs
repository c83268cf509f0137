//! Where Lathe keeps things.
//!
//! With `LATHE_HOME` set every path lives under it (`config/`, `state/`, `run/`), so that
//! tests and parallel users never share a daemon. Otherwise the XDG base directories are
//! used: `$XDG_CONFIG_HOME/lathe`, `$XDG_STATE_HOME/lathe`, `$XDG_RUNTIME_DIR/lathe` (or a
//! per-user directory under the temp dir when there is no runtime dir).

use std::path::{Path, PathBuf};

/// Every directory and file path Lathe uses for one home.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Paths {
    pub config_dir: PathBuf,
    pub state_dir: PathBuf,
    pub runtime_dir: PathBuf,
    /// Claude Code's user directory (`~/.claude`), whose commands and skills Lathe reads too;
    /// `None` under `LATHE_HOME`, which isolates from everything of the user's.
    pub claude_dir: Option<PathBuf>,
}

impl Paths {
    /// Paths from the environment.
    pub fn from_env() -> Paths {
        let var = |name: &str| {
            std::env::var_os(name)
                .filter(|v| !v.is_empty())
                .map(PathBuf::from)
        };
        if let Some(home) = var("LATHE_HOME") {
            return Paths::under(&home);
        }
        let user_home = var("HOME").unwrap_or_else(std::env::temp_dir);
        let config = var("XDG_CONFIG_HOME").unwrap_or_else(|| user_home.join(".config"));
        let state = var("XDG_STATE_HOME").unwrap_or_else(|| user_home.join(".local/state"));
        let runtime = var("XDG_RUNTIME_DIR")
            .map(|dir| dir.join("lathe"))
            .unwrap_or_else(|| std::env::temp_dir().join(format!("lathe-{}", current_uid())));
        Paths {
            config_dir: config.join("lathe"),
            state_dir: state.join("lathe"),
            runtime_dir: runtime,
            claude_dir: Some(user_home.join(".claude")),
        }
    }

    /// Paths under one directory (`LATHE_HOME`).
    pub fn under(home: &Path) -> Paths {
        Paths {
            config_dir: home.join("config"),
            state_dir: home.join("state"),
            runtime_dir: home.join("run"),
            claude_dir: None,
        }
    }

    /// Where skills are found for a workspace (DESIGN.md §7).
    pub fn skill_roots(&self, workspace: Option<&Path>) -> lathe_skills::SkillRoots {
        lathe_skills::SkillRoots {
            user: Some(self.config_dir.join("skills")),
            claude_user: self.claude_dir.clone(),
            workspace: workspace.map(Path::to_path_buf),
        }
    }

    /// The repo-map cache of a workspace, keyed by its path.
    pub fn repo_map_cache(&self, workspace: &Path) -> PathBuf {
        let key: String = workspace
            .to_string_lossy()
            .chars()
            .map(|c| if c.is_ascii_alphanumeric() { c } else { '_' })
            .collect();
        self.state_dir.join("repo-map").join(key)
    }

    pub fn user_config_file(&self) -> PathBuf {
        self.config_dir.join("config.toml")
    }

    pub fn store_file(&self) -> PathBuf {
        self.state_dir.join("lathe.redb")
    }

    pub fn log_dir(&self) -> PathBuf {
        self.state_dir.join("logs")
    }

    pub fn socket(&self) -> PathBuf {
        self.runtime_dir.join("lathe.sock")
    }

    /// The runtime file a running daemon writes (pid, socket, URL, token).
    pub fn daemon_file(&self) -> PathBuf {
        self.runtime_dir.join("daemon.json")
    }

    /// Where a session's run holds its lock (the daemon's and `lathe run`'s alike): beside
    /// the store they guard, so every process of the home finds the same locks.
    pub fn session_locks(&self) -> PathBuf {
        self.state_dir.join("sessions")
    }

    /// Held locked by the running daemon for its whole life.
    pub fn lock_file(&self) -> PathBuf {
        self.runtime_dir.join("daemon.lock")
    }

    /// Creates the directories; the state directory (the store with every transcript, the
    /// logs, checkpoints) and the runtime one are private to the user.
    pub fn create(&self) -> std::io::Result<()> {
        use std::os::unix::fs::PermissionsExt;
        for dir in [&self.config_dir, &self.state_dir, &self.runtime_dir] {
            std::fs::create_dir_all(dir)?;
        }
        for private in [&self.state_dir, &self.runtime_dir] {
            std::fs::set_permissions(private, std::fs::Permissions::from_mode(0o700))?;
        }
        Ok(())
    }
}

fn current_uid() -> u32 {
    use std::os::unix::fs::MetadataExt;
    std::fs::metadata("/proc/self")
        .map(|m| m.uid())
        .unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lathe_home_moves_everything() {
        let paths = Paths::under(Path::new("/h"));
        assert_eq!(paths.daemon_file(), Path::new("/h/run/daemon.json"));
        assert_eq!(paths.store_file(), Path::new("/h/state/lathe.redb"));
        assert_eq!(paths.user_config_file(), Path::new("/h/config/config.toml"));
        assert_eq!(paths.socket(), Path::new("/h/run/lathe.sock"));
    }
}
