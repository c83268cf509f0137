//! The scripted OpenAI-compatible model server: a real HTTP server on `127.0.0.1:0`
//! speaking the chat-completions API (SSE streaming with text and tool-call deltas, usage
//! chunks when `stream_options.include_usage` asks, non-streamed answers too), playing a
//! [`Script`] (see [`script`] for the fixture format of `fixtures/models/*.json`), recording
//! every request, and injecting faults on demand.
//!
//! ```no_run
//! # async fn demo() -> anyhow::Result<()> {
//! use lathe_tests::scripted_model::{ScriptedModel, Script, Step};
//! let model = ScriptedModel::start(Script::new([Step::text("Hello!")])).await?;
//! // point the agent at model.base_url() (ends in /v1), run it, then:
//! let requests = model.requests();
//! model.assert_played();
//! # Ok(()) }
//! ```
//!
//! Invariants: each request consumes exactly one step (injected steps first, then the
//! script in order; a `repeat` step is never consumed); a request that meets no step, or
//! not its step's expectations, gets HTTP 400 and is listed by [`ScriptedModel::mismatches`].
//! The server stops when the handle is dropped.

pub mod script;
mod server;
pub mod wire;

pub use script::{
    Expect, HttpError, Reply, Script, ScriptError, ScriptedToolCall, ScriptedUsage, Step,
    StreamFault,
};
pub use server::RecordedRequest;

use std::net::SocketAddr;
use std::sync::Arc;

/// A running scripted model server. Dropping it stops the server.
#[derive(Debug)]
pub struct ScriptedModel {
    addr: SocketAddr,
    shared: Arc<server::Shared>,
    task: tokio::task::JoinHandle<()>,
}

impl ScriptedModel {
    /// Starts a server playing `script` on an ephemeral loopback port.
    pub async fn start(script: Script) -> std::io::Result<Self> {
        let listener = tokio::net::TcpListener::bind(("127.0.0.1", 0)).await?;
        let addr = listener.local_addr()?;
        let shared = server::Shared::new(script);
        let app = server::router(shared.clone());
        let task = tokio::spawn(async move {
            if let Err(err) = axum::serve(listener, app).await {
                tracing::error!("scripted model server stopped: {err}");
            }
        });
        Ok(Self { addr, shared, task })
    }

    /// Starts a server playing `fixtures/models/<name>.json`.
    pub async fn fixture(name: &str) -> anyhow::Result<Self> {
        Ok(Self::start(Script::fixture(name)?).await?)
    }

    /// The API base URL including `/v1`, as `LATHE_BASE_URL` takes it.
    pub fn base_url(&self) -> String {
        format!("http://{}/v1", self.addr)
    }

    /// The socket address the server listens on.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// Every request received so far, in order.
    pub fn requests(&self) -> Vec<RecordedRequest> {
        self.shared.requests()
    }

    /// Requests that were answered with 400 because they met no step, with the reason.
    pub fn mismatches(&self) -> Vec<String> {
        self.shared.mismatches()
    }

    /// Steps not played yet (a `repeat` step counts as one).
    pub fn remaining_steps(&self) -> usize {
        self.shared.remaining_steps()
    }

    /// Answers the next request with `step` before the script continues (fault injection:
    /// `model.inject(Step::rate_limited(1))`).
    pub fn inject(&self, step: Step) {
        self.shared.inject(step);
    }

    /// Waits until at least `count` requests have arrived.
    pub async fn wait_for_requests(&self, count: usize) {
        let mut receiver = self.shared.subscribe_count();
        // The sender lives in `self.shared`, so the channel cannot close while we wait.
        let _ = receiver.wait_for(|seen| *seen >= count).await;
    }

    /// Panics with the mismatches or the unplayed steps unless the script played exactly.
    pub fn assert_played(&self) {
        let mismatches = self.mismatches();
        assert!(
            mismatches.is_empty(),
            "scripted model mismatches: {mismatches:#?}"
        );
        let remaining = self.remaining_steps();
        let repeating = remaining == 1 && self.shared.ends_with_repeat();
        assert!(
            remaining == 0 || repeating,
            "scripted model: {remaining} step(s) never played"
        );
    }
}

impl Drop for ScriptedModel {
    fn drop(&mut self) {
        self.task.abort();
    }
}
