//! The vocabulary shared by every Lathe crate: ids, sessions, messages, tool calls, events, approvals, diffs, skills and config types.
//!
//! Invariants: this crate depends on serde only (plus uuid for ids); it holds data and no
//! I/O. Every type that crosses a process or crate boundary lives here so that the store,
//! the agent and the front ends agree on one shape.

pub mod diff;
pub mod skill;
