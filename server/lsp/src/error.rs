//! The crate's one error type, and how each error becomes a JSON-RPC error at the boundary.
//!
//! Invariant: every error message says what was wrong and what to do about it; details
//! that only help debugging go to the log, not to the editor.

use tower_lsp_server::jsonrpc;

/// What can go wrong serving an editor.
#[derive(Debug, thiserror::Error)]
pub enum LspError {
    /// A request names a document the client never opened (or already closed).
    #[error("{uri} is not open; send textDocument/didOpen before asking about it")]
    NotOpen { uri: String },
    /// A command or request carried arguments of the wrong shape.
    #[error("invalid arguments for {what}: {reason}")]
    BadArguments { what: String, reason: String },
    /// `workspace/executeCommand` named a command this server does not have.
    #[error("unknown command {0:?}; Lathe's commands start with `lathe.`")]
    UnknownCommand(String),
    /// `initializationOptions` could not be understood.
    #[error("invalid initializationOptions: {0}")]
    InitOptions(String),
    /// No agent can serve this workspace (no model configured, bad config…); the message
    /// says how to fix it.
    #[error("{0}")]
    AgentUnavailable(String),
    /// The agent refused or failed an operation (a busy session, a store failure…).
    #[error("{0}")]
    Agent(String),
    /// An undo was refused because files changed after the run; the message names them.
    #[error("{0}")]
    ChangedSinceRun(String),
    /// A skill could not be found or rendered.
    #[error(transparent)]
    Skill(#[from] lathe_skills::SkillError),
    /// Computing the code context failed.
    #[error(transparent)]
    Context(#[from] lathe_context::ContextError),
    /// A diff could not be turned into editor edits.
    #[error(transparent)]
    Edit(#[from] lathe_edits::EditError),
    /// The editor refused, failed or never answered a request of ours.
    #[error("the editor {0}")]
    Client(String),
    /// Reading or writing a file of our own (explanations under the state directory).
    #[error("{path}: {source}")]
    Io {
        path: String,
        source: std::io::Error,
    },
}

impl LspError {
    /// Shorthand for [`LspError::BadArguments`].
    pub fn bad_arguments(what: impl Into<String>, reason: impl Into<String>) -> Self {
        LspError::BadArguments {
            what: what.into(),
            reason: reason.into(),
        }
    }

    /// The JSON-RPC error a request answers with.
    pub fn to_jsonrpc(&self) -> jsonrpc::Error {
        let code = match self {
            LspError::NotOpen { .. }
            | LspError::BadArguments { .. }
            | LspError::UnknownCommand(_)
            | LspError::InitOptions(_) => jsonrpc::ErrorCode::InvalidParams,
            // LSP's RequestFailed: the request was valid but could not be carried out.
            _ => jsonrpc::ErrorCode::ServerError(-32803),
        };
        jsonrpc::Error {
            code,
            message: self.to_string().into(),
            data: None,
        }
    }
}

impl From<LspError> for jsonrpc::Error {
    fn from(error: LspError) -> Self {
        error.to_jsonrpc()
    }
}
