//! The headless runner behind `lathe run`: one task, its events streamed to a callback in
//! log order, approvals answered from the terminal (or denied when there is none), and an
//! exit status.
//!
//! ```text
//! let agent = Agent::new(store, Arc::new(OpenAiClient::from_config(&model)?), tools, config)?;
//! let options = HeadlessOptions::new(prompt, Approver::for_terminal(std::io::stdin().is_terminal()));
//! let outcome = run_headless(&agent, options, |event| println!("{}", serde_json::to_string(event)?)).await?;
//! std::process::exit(exit_code(&outcome));
//! ```
//!
//! Invariants: the callback sees every event of the run exactly once, in `seq` order (the
//! store's bus only wakes the runner; events are read back from the log, so a lagging bus
//! loses nothing); the callback has seen the last event before `run_headless` returns.

use crate::agent::{Agent, RunOutcome, RunRequest};
use crate::approval::Answer;
use crate::error::AgentError;
use lathe_protocol::config::ApprovalMode;
use lathe_protocol::skill::RenderedSkill;
use lathe_protocol::{
    ApprovalDecision, ApprovalRequest, CustomEvent, Event, EventPayload, SessionId, SessionStatus,
    Surface,
};
use std::io::BufRead;
use tokio_util::sync::CancellationToken;

/// Who answers approvals during a headless run.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Approver {
    /// Ask on the terminal: the request on stderr, the answer from stdin.
    Terminal,
    /// Nobody can answer here: deny, and say so on stderr.
    Deny,
    /// Leave requests to other surfaces (the dashboard, an editor) and the timeout.
    Others,
}

impl Approver {
    /// `Terminal` when stdin is a terminal, else `Deny`.
    pub fn for_terminal(is_terminal: bool) -> Self {
        if is_terminal {
            Approver::Terminal
        } else {
            Approver::Deny
        }
    }
}

/// What `lathe run` asks for.
#[derive(Clone, Debug)]
pub struct HeadlessOptions {
    pub prompt: String,
    /// Continue this stored session instead of starting one.
    pub session: Option<SessionId>,
    pub skill: Option<RenderedSkill>,
    /// `--approval MODE`; `None` keeps the configured mode.
    pub approval: Option<ApprovalMode>,
    pub approver: Approver,
    /// Cancel the run (Ctrl-C).
    pub cancel: CancellationToken,
}

impl HeadlessOptions {
    pub fn new(prompt: impl Into<String>, approver: Approver) -> Self {
        Self {
            prompt: prompt.into(),
            session: None,
            skill: None,
            approval: None,
            approver,
            cancel: CancellationToken::new(),
        }
    }
}

/// The process exit status for an outcome: 0 finished, 1 failed, 130 cancelled.
pub fn exit_code(outcome: &RunOutcome) -> u8 {
    match outcome.status {
        SessionStatus::Finished => 0,
        SessionStatus::Cancelled => 130,
        SessionStatus::Failed | SessionStatus::Idle | SessionStatus::Running => 1,
    }
}

/// Asks on the terminal. Blocking: call from a blocking thread.
fn ask_terminal(request: &ApprovalRequest) -> Answer {
    eprint!(
        "\nlathe wants to {}\n  allow? [y] once  [s] for this session  [N] deny: ",
        request.summary
    );
    let mut line = String::new();
    let read = std::io::stdin().lock().read_line(&mut line);
    let decision = match (read, line.trim().to_ascii_lowercase().as_str()) {
        (Ok(_), "y" | "yes") => ApprovalDecision::AllowOnce,
        (Ok(_), "s" | "session") => ApprovalDecision::AllowForSession,
        _ => ApprovalDecision::Deny,
    };
    Answer {
        decision,
        by: Surface::Cli,
        who: std::env::var("USER").ok(),
    }
}

fn answer(agent: &Agent, approver: Approver, request: ApprovalRequest) {
    let broker = agent.broker().clone();
    match approver {
        Approver::Others => {}
        Approver::Deny => {
            eprintln!(
                "lathe: denied `{}`: no terminal to ask (run it on a terminal, use --approval \
                 auto, or add an allow rule such as `allow = [\"run_command(cargo test:*)\"]` \
                 under [policy] in the config)",
                request.action
            );
            let _ = broker.answer(
                &request.id,
                Answer {
                    decision: ApprovalDecision::Deny,
                    by: Surface::Policy,
                    who: Some("lathe run without a terminal".into()),
                },
            );
        }
        Approver::Terminal => {
            tokio::spawn(async move {
                let id = request.id.clone();
                if let Ok(answer) =
                    tokio::task::spawn_blocking(move || ask_terminal(&request)).await
                {
                    // Another surface may have answered first; that answer stands.
                    let _ = broker.answer(&id, answer);
                }
            });
        }
    }
}

/// Runs one task headless. `on_event` sees every event this run appends, in order.
pub async fn run_headless(
    agent: &Agent,
    options: HeadlessOptions,
    mut on_event: impl FnMut(&Event),
) -> Result<RunOutcome, AgentError> {
    let store = agent.store().clone();
    let mut bus = store.subscribe();
    let session = match options.session {
        Some(id) => {
            store
                .session(&id)?
                .ok_or_else(|| AgentError::UnknownSession(id.clone()))?;
            id
        }
        None => agent.create_session(&options.prompt, "cli").await?,
    };
    let mut last = store.last_seq(&session)?;
    let request = RunRequest {
        session: Some(session.clone()),
        prompt: options.prompt,
        skill: options.skill,
        approval: options.approval,
        origin: "cli".into(),
        cancel: options.cancel,
    };
    let runner = agent.clone();
    let mut run = tokio::spawn(async move { runner.run(request).await });
    loop {
        let mut finished = None;
        tokio::select! {
            _ = bus.recv() => {}
            result = &mut run => finished = Some(result),
        }
        loop {
            let events = store.events(&session, last, 1024)?;
            if events.is_empty() {
                break;
            }
            for event in &events {
                last = event.seq;
                on_event(event);
                if let EventPayload::Custom(CustomEvent::ApprovalRequested(request)) =
                    &event.payload
                {
                    answer(agent, options.approver, request.clone());
                }
            }
        }
        if let Some(result) = finished {
            return result.map_err(|e| AgentError::RunPanicked(e.to_string()))?;
        }
    }
}
