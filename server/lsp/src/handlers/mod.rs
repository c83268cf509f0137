//! The LSP methods, one module per method family. Each handler takes the connection and
//! the request's parameters and answers at once: work that takes longer (agent runs) is
//! spawned and reports through progress, edits and messages.

pub mod code_action;
pub mod completion;
pub mod execute;
pub mod lifecycle;
pub mod status;
pub mod sync;
