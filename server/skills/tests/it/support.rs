//! A temporary home and workspace with skill files, and helpers to read results back.

use lathe_skills::{Registry, SkillProblem, SkillRoots};
use std::fs;
use std::path::PathBuf;
use tempfile::TempDir;

/// A private directory holding `home/.config/lathe/skills`, `home/.claude` and `ws/`.
pub struct Dirs {
    pub root: TempDir,
}

impl Dirs {
    pub fn new() -> Self {
        Self {
            root: tempfile::tempdir().unwrap(),
        }
    }

    pub fn user(&self) -> PathBuf {
        self.root.path().join("home/.config/lathe/skills")
    }

    pub fn claude_user(&self) -> PathBuf {
        self.root.path().join("home/.claude")
    }

    pub fn workspace(&self) -> PathBuf {
        self.root.path().join("ws")
    }

    pub fn roots(&self) -> SkillRoots {
        SkillRoots {
            user: Some(self.user()),
            claude_user: Some(self.claude_user()),
            workspace: Some(self.workspace()),
        }
    }

    pub fn registry(&self) -> Registry {
        Registry::new(self.roots())
    }

    /// Writes `text` at `rel` under the root (`ws/.lathe/skills/x.md`), creating directories.
    pub fn write(&self, rel: &str, text: &str) -> PathBuf {
        let path = self.root.path().join(rel);
        fs::create_dir_all(path.parent().unwrap()).unwrap();
        fs::write(&path, text).unwrap();
        path
    }

    pub fn remove(&self, rel: &str) {
        fs::remove_file(self.root.path().join(rel)).unwrap();
    }

    /// `text` with the root directory replaced by `$ROOT`.
    pub fn scrub(&self, text: &str) -> String {
        text.replace(&self.root.path().display().to_string(), "$ROOT")
    }

    /// Problems as `path:line: severity: message` lines, root scrubbed.
    pub fn problems(&self, problems: &[SkillProblem]) -> Vec<String> {
        problems
            .iter()
            .map(|p| self.scrub(&p.to_string()))
            .collect()
    }
}
