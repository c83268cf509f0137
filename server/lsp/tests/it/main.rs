//! lathe-lsp's integration tests: a scripted editor drives the real server over in-memory
//! streams, with a real agent, store and skills, and the scripted model.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod actions;
mod bad_input;
mod chat;
mod commands;
mod editor;
mod edits;
mod lifecycle;
mod peers;
mod questions;
mod review;
mod support;
mod sync;
