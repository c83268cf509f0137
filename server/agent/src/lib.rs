//! The agent core: turn loop, model client, tools, policy and approvals.

pub mod model;
