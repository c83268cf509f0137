//! The agent core every Lathe surface shares: the model client, the turn loop, the tools,
//! the policy and the approval broker, the question broker (MCP servers asking the user),
//! and the headless runner behind `lathe run`.
//!
//! The entry point is [`Agent`]: build it from a [`lathe_store::Store`], a
//! [`model::ModelClient`] (usually [`model::OpenAiClient`]), a [`tools::ToolRegistry`] and
//! an [`AgentConfig`], then call [`Agent::run`] with a [`RunRequest`]. Everything a run does
//! is an event in the session's log (AG-UI names, DESIGN.md §3); surfaces watch the store's
//! bus and answer approvals through [`Agent::broker`].
//!
//! Invariants: the agent reaches the world only through traits and handles it is given
//! (ModelClient, Store, Tool/ToolSource, the sandbox behind `run_command`); a tool failure
//! is data for the model, never an `Err`; every boundary event (finished message, tool call,
//! tool result, approval, run end) is durable before the run moves past it.

pub mod agent;
pub mod approval;
pub mod error;
pub mod history;
pub mod model;
pub mod policy;
mod prompt;
pub mod questions;
pub mod runner;
pub mod running;
mod shell;
pub mod sink;
pub mod tools;
mod turn;
pub mod window;

pub use agent::{Agent, AgentConfig, RunOutcome, RunRequest, RunUsage};
pub use approval::{Answer, ApprovalBroker};
pub use error::AgentError;
pub use questions::{Attachment, QuestionBroker, QuestionSurface};
pub use runner::{Approver, HeadlessOptions, exit_code, run_headless};
pub use running::RunRegistry;
pub use turn::UNDO_SKILL;
