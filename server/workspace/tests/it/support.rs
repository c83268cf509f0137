//! Test helpers: temporary workspaces, the real `git` CLI with fixed identities and dates,
//! and snapshots of everything a checkpoint must not touch.

use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

pub struct Scratch {
    pub dir: tempfile::TempDir,
    pub state: tempfile::TempDir,
}

impl Scratch {
    pub fn new() -> Self {
        Self {
            dir: tempfile::tempdir().unwrap(),
            state: tempfile::tempdir().unwrap(),
        }
    }

    pub fn root(&self) -> PathBuf {
        self.dir.path().canonicalize().unwrap()
    }

    pub fn write(&self, rel: &str, content: &str) {
        let path = self.dir.path().join(rel);
        fs::create_dir_all(path.parent().unwrap()).unwrap();
        fs::write(path, content).unwrap();
    }

    /// Sets a file's permission bits (so that tests do not depend on the umask).
    pub fn chmod(&self, rel: &str, mode: u32) {
        use std::os::unix::fs::PermissionsExt;
        fs::set_permissions(self.dir.path().join(rel), fs::Permissions::from_mode(mode)).unwrap();
    }

    pub fn read(&self, rel: &str) -> Option<String> {
        fs::read_to_string(self.dir.path().join(rel)).ok()
    }

    pub fn workspace(&self) -> lathe_workspace::Workspace {
        lathe_workspace::Workspace::open(self.dir.path(), self.state.path()).unwrap()
    }

    pub fn git(&self, args: &[&str]) -> String {
        git(self.dir.path(), args)
    }
}

/// Runs git with a fixed identity and dates; panics on failure.
pub fn git(dir: &Path, args: &[&str]) -> String {
    try_git(dir, args).unwrap_or_else(|err| panic!("git {args:?} failed: {err}"))
}

/// Runs git with a fixed identity and dates; the error is git's stderr.
pub fn try_git(dir: &Path, args: &[&str]) -> Result<String, String> {
    let output = Command::new("git")
        .args([
            "-c",
            "user.name=Test User",
            "-c",
            "user.email=test@example.com",
            "-c",
            "init.defaultBranch=main",
            "-c",
            "core.autocrlf=false",
        ])
        .args(args)
        .current_dir(dir)
        .env("GIT_AUTHOR_DATE", "2024-05-01T12:00:00Z")
        .env("GIT_COMMITTER_DATE", "2024-05-01T12:00:00Z")
        .env("GIT_CONFIG_NOSYSTEM", "1")
        .env("HOME", dir)
        .output()
        .unwrap();
    if output.status.success() {
        Ok(String::from_utf8(output.stdout).unwrap())
    } else {
        Err(String::from_utf8_lossy(&output.stderr).into_owned())
    }
}

/// Everything of the user's repository a checkpoint must leave alone.
#[derive(Debug, PartialEq, Eq)]
pub struct RepoState {
    pub head: String,
    pub head_target: String,
    pub user_refs: String,
    pub index_bytes: Option<Vec<u8>>,
    pub staged: String,
}

pub fn repo_state(dir: &Path) -> RepoState {
    let refs = git(dir, &["for-each-ref", "--format=%(refname) %(objectname)"]);
    RepoState {
        head: fs::read_to_string(dir.join(".git/HEAD")).unwrap(),
        head_target: try_git(dir, &["rev-parse", "--verify", "-q", "HEAD"])
            .unwrap_or_default()
            .trim()
            .to_owned(),
        user_refs: refs
            .lines()
            .filter(|l| !l.starts_with("refs/lathe/"))
            .collect::<Vec<_>>()
            .join("\n"),
        index_bytes: fs::read(dir.join(".git/index")).ok(),
        staged: git(
            dir,
            &["--no-optional-locks", "diff", "--cached", "--name-status"],
        ),
    }
}

pub fn tree(dir: &Path) -> BTreeMap<String, String> {
    fn walk(root: &Path, dir: &Path, out: &mut BTreeMap<String, String>) {
        for entry in fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            if path.file_name().is_some_and(|n| n == ".git") {
                continue;
            }
            if path.is_dir() {
                walk(root, &path, out);
            } else {
                let rel = path
                    .strip_prefix(root)
                    .unwrap()
                    .to_string_lossy()
                    .into_owned();
                out.insert(
                    rel,
                    fs::read_to_string(&path).unwrap_or_else(|_| "<binary>".into()),
                );
            }
        }
    }
    let mut out = BTreeMap::new();
    walk(dir, dir, &mut out);
    out
}
