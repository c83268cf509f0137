//! `sandbox_exec` approvals of 2026-07-28 clients, which answer through `input_required`
//! and a second call rather than an elicitation within the first.
//!
//! The first call parks the question: it is asked through the daemon's approval broker at
//! once (so every surface sees it, the answer is stored with who gave it, and "allow for
//! session" is remembered) and the client gets a `requestState` naming it. The second call
//! must carry that state and the same command; its answer then races the other surfaces'
//! (first answer wins) and the broker's decision is the one used.
//!
//! Invariants: an answer counts only for a question this server asked, once, for the
//! command it was asked about; an answer sent without one is ignored and the question is
//! asked; a parked question nobody answers is denied by the broker's timeout and dropped.

use super::run::decision_of_response;
use super::services::AgentService;
use lathe_protocol::{ApprovalDecision, ApprovalId, ApprovalRequest};
use serde_json::Value;
use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};
use tokio::sync::oneshot;
use tokio_util::sync::CancellationToken;

/// The prefix of the `requestState` of a parked question.
const STATE_PREFIX: &str = "sandbox_exec:";
/// How often (every 20 ms) an answer is offered to a broker that has not registered the
/// question yet.
const ANSWER_TRIES: usize = 100;

/// The questions parked until their client calls again.
#[derive(Default)]
pub(crate) struct ExecAsks {
    parked: Mutex<HashMap<String, Parked>>,
}

struct Parked {
    command: String,
    since: Instant,
    /// The question the broker asks, and its decision when it comes; `None` without a
    /// broker (the client's answer decides).
    asked: Option<(
        ApprovalId,
        oneshot::Receiver<Result<ApprovalDecision, String>>,
    )>,
}

impl ExecAsks {
    /// Parks `request` (about `command`), asking it through `agent`'s broker when there is
    /// one; the `requestState` the client must send back.
    pub(crate) fn park(
        &self,
        agent: Option<Arc<dyn AgentService>>,
        command: &str,
        request: ApprovalRequest,
        kept_for: Duration,
    ) -> String {
        let state = format!("{STATE_PREFIX}{}", request.id);
        let asked = agent.map(|agent| {
            let (decided, decision) = oneshot::channel();
            let id = request.id.clone();
            tokio::spawn(async move {
                let _ = decided.send(agent.ask(request, CancellationToken::new()).await);
            });
            (id, decision)
        });
        let mut parked = self.lock();
        parked.retain(|_, p| p.since.elapsed() < kept_for);
        parked.insert(
            state.clone(),
            Parked {
                command: command.to_owned(),
                since: Instant::now(),
                asked,
            },
        );
        state
    }

    /// Whether `state` names a question parked for `command` (an answer may then be used).
    pub(crate) fn is_parked(&self, state: Option<&str>, command: &str) -> bool {
        state.is_some_and(|state| {
            self.lock()
                .get(state)
                .is_some_and(|parked| parked.command == command)
        })
    }

    /// The decision on the question `state` names, answered by `response` from `who`: the
    /// broker's (whichever surface answered first), or the client's without a broker.
    /// `Err` when no question about `command` is parked under `state`.
    pub(crate) async fn answer(
        &self,
        agent: Option<&Arc<dyn AgentService>>,
        state: &str,
        command: &str,
        response: Option<&Value>,
        who: Option<String>,
    ) -> Result<ApprovalDecision, String> {
        let parked = {
            let mut parked = self.lock();
            match parked.get(state) {
                Some(p) if p.command == command => parked.remove(state),
                _ => None,
            }
        };
        let parked = parked.ok_or_else(|| {
            "this approval is no longer pending (it expired or was asked about another command); call sandbox_exec again".to_owned()
        })?;
        let decision = response
            .and_then(decision_of_response)
            .unwrap_or(ApprovalDecision::Deny);
        let (Some(agent), Some((id, mut decided))) = (agent, parked.asked) else {
            return Ok(decision);
        };
        for _ in 0..ANSWER_TRIES {
            // Not pending: answered elsewhere first, or the broker has not registered it yet.
            if agent.answer(&id, decision, who.clone()).is_ok() {
                break;
            }
            tokio::select! {
                result = &mut decided => return flatten(result),
                () = tokio::time::sleep(Duration::from_millis(20)) => {}
            }
        }
        flatten(decided.await)
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, Parked>> {
        self.parked.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

fn flatten(
    result: Result<Result<ApprovalDecision, String>, oneshot::error::RecvError>,
) -> Result<ApprovalDecision, String> {
    result.map_err(|_| "the approval was dropped before it was decided".to_owned())?
}
