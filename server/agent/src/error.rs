//! The crate's error type. Tool failures are not errors (they are data for the model);
//! these are failures of the agent's own machinery: the store, the configuration, a
//! session that does not exist.

use lathe_protocol::SessionId;

/// What can go wrong running the agent itself.
#[derive(Debug, thiserror::Error)]
pub enum AgentError {
    #[error("session store: {0}")]
    Store(#[from] lathe_store::StoreError),
    #[error("no session {0} in the store")]
    UnknownSession(SessionId),
    #[error("session {0} already has a run in progress")]
    SessionBusy(SessionId),
    #[error("cannot lock the session for its run: {0}")]
    Lock(String),
    #[error(
        "/undo restores files and asks no model: use `lathe run --skill undo --session <id>`, \
         the editor's `lathe.undo` command or /undo in a chat document"
    )]
    UndoIsNotARun,
    #[error("session {session} belongs to the workspace {stored}, not {here}; continue it there")]
    OtherWorkspace {
        session: SessionId,
        stored: String,
        here: String,
    },
    #[error("the event writer stopped")]
    WriterStopped,
    #[error("model: {0}")]
    Model(#[from] crate::model::ModelError),
    #[error("invalid policy rule {rule:?}: {reason}")]
    InvalidRule { rule: String, reason: String },
    #[error("approval {0} is not pending (already answered or unknown)")]
    ApprovalNotPending(lathe_protocol::ApprovalId),
    #[error("question {0} is not pending (already answered, withdrawn or unknown)")]
    QuestionNotPending(lathe_protocol::QuestionId),
    #[error("the run stopped abnormally: {0}")]
    RunPanicked(String),
    #[error("configuration: {0}")]
    Config(String),
}
