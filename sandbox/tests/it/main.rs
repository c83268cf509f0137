//! Integration tests of lathe-sandbox against real peers: a Docker engine (`DOCKER_HOST`, set by
//! `.ci/dockerd.sh`), bubblewrap and the host. Nothing is mocked; a missing engine fails loudly.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod bwrap;
mod docker_isolation;
mod docker_lifecycle;
mod engine_restart;
mod host;
mod plain_exec;
mod policy;
mod select;
mod support;
