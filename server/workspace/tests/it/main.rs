//! Integration tests of lathe-workspace against real directories and real git repositories
//! (the `git` CLI sets repositories up and inspects them).

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod apply;
mod checkpoint;
mod git;
mod paths;
mod support;
mod walk;
