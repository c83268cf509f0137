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
//! loses nothing); the callback has seen the last event before `run_headless` returns; a
//! line typed at the terminal answers only the question showing when it was typed.

use crate::agent::{Agent, RunOutcome, RunRequest};
use crate::approval::Answer;
use crate::approval::ApprovalBroker;
use crate::error::AgentError;
use lathe_protocol::config::ApprovalMode;
use lathe_protocol::skill::RenderedSkill;
use lathe_protocol::{
    ApprovalDecision, ApprovalRequest, CustomEvent, Event, EventPayload, SessionId, SessionStatus,
    Surface,
};
use std::io::BufRead;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::mpsc;
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

/// The terminal's answers. One reader thread, for the whole run, passes lines to the
/// prompt showing; prompts take turns. A prompt gives up (saying so) once its request is
/// no longer pending (answered elsewhere or timed out), and the next prompt ignores what
/// was typed after that, so a late answer can never answer the next question (a line
/// typed ahead of the first prompt still answers it).
#[derive(Clone)]
struct Terminal {
    lines: Arc<tokio::sync::Mutex<Lines>>,
}

struct Lines {
    typed: mpsc::UnboundedReceiver<String>,
    /// A prompt gave up: what is typed until the next prompt shows was meant for it.
    stale: bool,
}

impl Terminal {
    fn start() -> Self {
        let (send, lines) = mpsc::unbounded_channel();
        std::thread::spawn(move || {
            for line in std::io::stdin().lock().lines() {
                let Ok(line) = line else { break };
                if send.send(line).is_err() {
                    break;
                }
            }
        });
        Self {
            lines: Arc::new(tokio::sync::Mutex::new(Lines {
                typed: lines,
                stale: false,
            })),
        }
    }

    /// The answer typed for `request`; `None` when it stopped being pending first.
    async fn ask(&self, broker: &ApprovalBroker, request: &ApprovalRequest) -> Option<Answer> {
        let pending = || broker.pending().iter().any(|p| p.id == request.id);
        let mut lines = self.lines.lock().await;
        if !pending() {
            return None;
        }
        if std::mem::take(&mut lines.stale) {
            while lines.typed.try_recv().is_ok() {}
        }
        eprint!(
            "\nlathe wants to {}\n  allow? [y] once  [s] for this session  [N] deny: ",
            request.summary
        );
        let line = loop {
            tokio::select! {
                line = lines.typed.recv() => break line.unwrap_or_default(),
                () = tokio::time::sleep(Duration::from_millis(200)) => {
                    if !pending() {
                        eprintln!("\n  (no longer asked: answered elsewhere or timed out)");
                        lines.stale = true;
                        return None;
                    }
                }
            }
        };
        let decision = match line.trim().to_ascii_lowercase().as_str() {
            "y" | "yes" => ApprovalDecision::AllowOnce,
            "s" | "session" => ApprovalDecision::AllowForSession,
            _ => ApprovalDecision::Deny,
        };
        Some(Answer {
            decision,
            by: Surface::Cli,
            who: std::env::var("USER").ok(),
        })
    }
}

fn answer(
    agent: &Agent,
    approver: Approver,
    terminal: Option<&Terminal>,
    request: ApprovalRequest,
) {
    let broker = agent.broker().clone();
    match (approver, terminal) {
        (Approver::Others, _) => {}
        (Approver::Deny, _) | (Approver::Terminal, None) => {
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
        (Approver::Terminal, Some(terminal)) => {
            let terminal = terminal.clone();
            tokio::spawn(async move {
                if let Some(answer) = terminal.ask(&broker, &request).await {
                    // Another surface may have answered first; that answer stands.
                    let _ = broker.answer(&request.id, answer);
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
    let terminal = (options.approver == Approver::Terminal).then(Terminal::start);
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
                    answer(agent, options.approver, terminal.as_ref(), request.clone());
                }
            }
        }
        if let Some(result) = finished {
            return result.map_err(|e| AgentError::RunPanicked(e.to_string()))?;
        }
    }
}
