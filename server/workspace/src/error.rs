//! The one error type of lathe-workspace. Messages are written for the model (a refused
//! path or write says why and what to do); I/O and git failures keep their source.

use lathe_edits::EditError;

/// Why a workspace operation failed.
#[derive(Debug, thiserror::Error)]
pub enum WorkspaceError {
    #[error("`{path}` is outside the workspace; use a path inside {root}")]
    OutsideWorkspace { path: String, root: String },

    #[error("`{path}` leads outside the workspace through a symbolic link")]
    SymlinkEscape { path: String },

    #[error("`{path}` is inside a .git directory, which Lathe never writes")]
    GitDir { path: String },

    #[error("invalid path `{path}`: {reason}")]
    InvalidPath { path: String, reason: String },

    #[error("{path} is not a directory")]
    NotADirectory { path: String },

    #[error("{path} does not exist")]
    NotFound { path: String },

    #[error("{path} is a binary or non-UTF-8 file")]
    Binary { path: String },

    #[error(transparent)]
    Edit(#[from] EditError),

    #[error("I/O error on {path}: {source}")]
    Io {
        path: String,
        #[source]
        source: std::io::Error,
    },

    #[error("could not write {path}: {source}. {}", restore_note(unrestored))]
    Write {
        path: String,
        #[source]
        source: std::io::Error,
        /// Files of the change that could not be restored after the failure.
        unrestored: Vec<String>,
    },

    /// An apply stopped part-way for `cause` (not a write error) and restoring the files
    /// already written failed for `unrestored`.
    #[error("{cause} {}", restore_note(unrestored))]
    PartlyApplied {
        cause: Box<WorkspaceError>,
        unrestored: Vec<String>,
    },

    #[error("the workspace is not inside a git repository")]
    NotARepository,

    #[error("invalid session name `{0}`: use letters, digits, `-`, `_` and `.`")]
    InvalidSession(String),

    #[error("session {0} has no checkpoint to undo")]
    NoCheckpoint(String),

    #[error(
        "undo would lose changes made after the run to {}: they hold neither what the run \
         left nor what was there before it. Keep those changes elsewhere first, or undo \
         anyway to restore the checkpoint over them",
        files.join(", ")
    )]
    ChangedSinceRun { session: String, files: Vec<String> },

    #[error("could not checkpoint the files before changing them: {0}")]
    CheckpointFailed(Box<WorkspaceError>),

    #[error("checkpoint {id} is damaged: {reason}")]
    BadCheckpoint { id: String, reason: String },

    #[error("git: {0}")]
    Git(String),
}

impl WorkspaceError {
    pub(crate) fn io(path: impl std::fmt::Display, source: std::io::Error) -> Self {
        WorkspaceError::Io {
            path: path.to_string(),
            source,
        }
    }

    pub(crate) fn git(err: impl std::fmt::Display) -> Self {
        WorkspaceError::Git(err.to_string())
    }
}

/// What a failed apply left behind, for the model.
fn restore_note(unrestored: &[String]) -> String {
    if unrestored.is_empty() {
        return "Nothing was changed: any file this change had already written was restored. \
                Fix the cause (for example, free disk space) and apply the change again."
            .into();
    }
    let names: Vec<String> = unrestored.iter().map(|p| format!("`{p}`")).collect();
    format!(
        "Restoring {} also failed: each holds either its old or its new content, so read \
         them before editing again.",
        names.join(", ")
    )
}
