//! lathe-lsp: the LSP front end. Editors (Helix, Neovim, VS Code, Emacs…) get the whole
//! agent through standard LSP: code actions on code, chat documents, slash-command
//! completion, agent edits applied by the editor, progress, approvals and review findings
//! as diagnostics (DESIGN.md §10).
//!
//! ```text
//! serve_connection(read, write, LspServices)          one per editor connection
//!   transport   framing, ordered document sync, dispatch
//!   server      tower-lsp-server LanguageServer → handlers/ (one file per method family)
//!   runs        agent runs: progress, approvals, outcome (messages, documents, diagnostics)
//!   hub         EditorHub: every editor's open documents; agent edits → workspace/applyEdit
//! ```
//!
//! The daemon implements [`AgentProvider`] (or uses [`FixedAgent`] with an
//! [`AgentBackend`] over `lathe_agent::Agent`) and calls [`serve_connection`] for each
//! `LATHE/1 lsp` socket connection and for `lathe lsp --in-process` on stdio. The agent's
//! edit tools read open buffers with [`EditorHub::open_text`] and apply diffs with
//! [`EditorHub::apply`].
//!
//! Invariants:
//! - only this crate imports LSP types; `to_proto.rs` and `from_proto.rs` are the boundary;
//! - document sync is applied strictly in the order the client sent it;
//! - positions use the encoding negotiated at `initialize` (UTF-8 when offered, else
//!   UTF-16), never char indices;
//! - no request waits for the model: runs are spawned and report through `$/progress`,
//!   `workspace/applyEdit`, `window/showDocument`, diagnostics and messages;
//! - a run outlives the connection that started it; bad input from a client is answered
//!   with an error, never a panic, and never ends another connection.

mod actions;
mod approvals;
mod backend;
mod chat;
mod connection;
mod documents;
mod error;
mod ext;
mod from_proto;
mod handlers;
mod hub;
mod outcome;
mod pick;
mod questions;
mod review;
mod runs;
mod server;
mod services;
mod to_proto;
mod tools;
mod transport;
mod uri;

pub use backend::{AgentBackend, FixedAgent};
pub use error::LspError;
pub use ext::{
    ACTION_RUN, APPROVAL_ANSWER, CHAT_SEND, COMMANDS, DASHBOARD_OPEN, RUN_CANCEL, SESSION_NEW,
    SKILL_RUN, STATUS, UNDO,
};
pub use hub::{EditorApply, EditorHub, EditorText};
pub use services::{
    AgentProvider, AgentRun, AgentService, EditorOverrides, LspServices, RunSummary, SandboxChoice,
    Timeouts,
};
pub use tools::{EditorEditTool, register_editor_tools};
pub use transport::serve_connection;
pub use uri::{from_path as file_uri, to_path as uri_path};
