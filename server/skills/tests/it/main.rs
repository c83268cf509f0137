#![allow(clippy::unwrap_used, clippy::expect_used)]
//! Integration tests of the skills crate: the loader, the registry and the built-in library.

mod bad_input;
mod builtins;
mod claude;
mod format;
mod listing;
mod overrides;
mod support;
