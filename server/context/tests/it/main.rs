//! Integration tests of lathe-context: per-language snapshots on `fixtures/workspaces`,
//! documents and incremental edits, cursor context, and the repo map.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod cursor;
mod document;
mod languages;
mod repomap;

use std::path::PathBuf;

/// `fixtures/workspaces` at the repository root.
pub fn fixtures() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../fixtures/workspaces")
}
