//! The testkit: a scripted OpenAI-compatible model server that plays conversations from
//! `fixtures/models/` and injects faults, a daemon spawner that runs the real `lathe`
//! binary under a private `LATHE_HOME`, a minimal HTTP client for its `/api`, a WebDriver
//! client for a real headless Chromium, and where the real peers are installed. Only the
//! model is ever replaced; editors, MCP peers, Docker, the browser and the database in
//! tests are real.

pub mod browser;
pub mod corpus;
pub mod daemon;
pub mod http;
pub mod peers;
pub mod scripted_model;
