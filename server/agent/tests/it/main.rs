//! lathe-agent's integration tests: the model client, the turn loop, tools, policy and
//! approvals, all against the testkit's scripted model server and a real store.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod approvals;
mod fixtures;
mod model_client;
mod support;
mod tools;
mod turn;
