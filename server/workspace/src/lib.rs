//! The files on disk: path confinement, gitignore-aware walking, atomic writes, applying
//! [`WorkspaceDiff`]s, gix checkpoints with undo, and the `git` tool's status/diff/log.
//!
//! Invariants:
//! - every path the agent names goes through [`Workspace::resolve`]: no `..`, nothing
//!   outside the root (symlinks are followed and checked), and nothing is ever written
//!   under a `.git` directory;
//! - a file is replaced atomically (temp file in the same directory, fsync, rename, with
//!   its permissions kept, also by a file moved elsewhere): a reader sees the old or the
//!   new content, never a mix, and a failed write leaves no temporary file; a diff whose
//!   base hash no longer matches is refused before anything is written, and each file is
//!   re-hashed right before it is replaced, so a file changed in between is refused too;
//! - a failed multi-file apply (a write the disk refused, a stale file) restores the files
//!   it already wrote and removes the directories it created, and its error tells the model
//!   that nothing changed or names the files that could not be restored;
//! - checkpoints only add objects and move `refs/lathe/checkpoints/<session>`: the user's
//!   index, HEAD, branches and work tree are never touched by a checkpoint (undo writes
//!   only the checkpointed files). Outside git, checkpoints live in a private bare
//!   repository under the caller's state directory.

mod apply;
mod atomic;
mod checkpoint;
mod error;
mod git;
mod paths;
mod walk;

pub use apply::ApplyReport;
pub use checkpoint::{CheckpointFile, CheckpointInfo, LeftByRun, UndoMode, UndoReport};
pub use error::WorkspaceError;
pub use git::GitDiffTarget;
pub use paths::ResolvedPath;
pub use walk::WalkOptions;

use std::path::{Path, PathBuf};

/// One workspace root on disk, with its git repository if it lies inside one.
#[derive(Clone)]
pub struct Workspace {
    root: PathBuf,
    state_dir: PathBuf,
    repo: Option<gix::ThreadSafeRepository>,
}

impl std::fmt::Debug for Workspace {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Workspace")
            .field("root", &self.root)
            .field("state_dir", &self.state_dir)
            .field(
                "git_dir",
                &self.repo.as_ref().map(|r| r.git_dir().to_path_buf()),
            )
            .finish()
    }
}

impl Workspace {
    /// Opens the workspace at `root` (which must be a directory). `state_dir` is where
    /// Lathe keeps private state; checkpoints of a workspace outside git are stored there.
    pub fn open(
        root: impl AsRef<Path>,
        state_dir: impl Into<PathBuf>,
    ) -> Result<Self, WorkspaceError> {
        let given = root.as_ref();
        let root = given.canonicalize().map_err(|source| WorkspaceError::Io {
            path: given.display().to_string(),
            source,
        })?;
        if !root.is_dir() {
            return Err(WorkspaceError::NotADirectory {
                path: root.display().to_string(),
            });
        }
        let repo = gix::ThreadSafeRepository::discover(&root)
            .ok()
            .filter(|r| r.work_dir().is_some());
        Ok(Self {
            root,
            state_dir: state_dir.into(),
            repo,
        })
    }

    /// The canonical root directory.
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// Whether the workspace lies inside a git work tree.
    pub fn is_git(&self) -> bool {
        self.repo.is_some()
    }

    fn repo(&self) -> Result<gix::Repository, WorkspaceError> {
        self.repo
            .as_ref()
            .map(gix::ThreadSafeRepository::to_thread_local)
            .ok_or(WorkspaceError::NotARepository)
    }
}
