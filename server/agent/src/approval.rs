//! The approval broker: asks every attached surface, takes the first answer.
//!
//! How a surface attaches (LSP, MCP, dashboard, CLI): it listens to the store's bus
//! (`Store::subscribe`) for `CUSTOM` events named `approval.requested` — or lists
//! [`ApprovalBroker::pending`] when it connects late —, shows the request, and calls
//! [`ApprovalBroker::answer`] with the decision, its [`Surface`] and who answered. The
//! first answer wins; later answers get [`AgentError::ApprovalNotPending`] (and should
//! withdraw their prompt when they see `approval.resolved`).
//!
//! Invariants: a request is stored (pending) and its `approval.requested` event is durable
//! before any surface can answer; the decision is stored with who answered and
//! `approval.resolved` committed before the tool runs; no answer within the timeout, or
//! the run being cancelled, is a deny by [`Surface::Policy`]. "Allow for session" is
//! remembered per session under a grant key — the action (`run_command(cargo test)`) for
//! commands, the tool name for everything else — and survives restarts because grants are
//! reloaded from the stored approvals.

use crate::error::AgentError;
use crate::sink::EventSink;
use lathe_protocol::event::ApprovalResolved;
use lathe_protocol::{
    Approval, ApprovalDecision, ApprovalId, ApprovalRequest, ApprovalStatus, CustomEvent,
    EventPayload, SessionId, Surface, TimestampMs,
};
use lathe_store::Store;
use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;
use tokio::sync::oneshot;
use tokio_util::sync::CancellationToken;

/// An answer to an approval request.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Answer {
    pub decision: ApprovalDecision,
    pub by: Surface,
    /// Who answered, as the surface knows them.
    pub who: Option<String>,
}

/// The key an "allow for session" grant is remembered under.
pub fn grant_key(request: &ApprovalRequest) -> String {
    if request.tool == "run_command" {
        request.action.clone()
    } else {
        request.tool.clone()
    }
}

/// Milliseconds since the epoch.
pub(crate) fn now_ms() -> TimestampMs {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
}

#[derive(Default)]
struct State {
    pending: HashMap<ApprovalId, (ApprovalRequest, oneshot::Sender<Answer>)>,
    grants: HashMap<SessionId, HashSet<String>>,
}

/// Routes approval requests to surfaces and answers back. Cheap to clone.
#[derive(Clone)]
pub struct ApprovalBroker {
    store: Store,
    timeout: Duration,
    state: Arc<Mutex<State>>,
}

impl std::fmt::Debug for ApprovalBroker {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ApprovalBroker")
            .field("timeout", &self.timeout)
            .finish()
    }
}

impl ApprovalBroker {
    /// A broker storing approvals in `store`; unanswered requests are denied after `timeout`.
    pub fn new(store: Store, timeout: Duration) -> Self {
        Self {
            store,
            timeout,
            state: Arc::default(),
        }
    }

    /// A broker sharing this one's pending requests and grants (so every surface that
    /// answers either answers both) whose requests wait `timeout`.
    pub fn with_timeout(&self, timeout: Duration) -> Self {
        Self {
            store: self.store.clone(),
            timeout,
            state: self.state.clone(),
        }
    }

    /// How long a request waits for an answer.
    pub fn timeout(&self) -> Duration {
        self.timeout
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        self.state
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Whether "allow for session" was granted for `key` in `session` (stored grants of the
    /// session are loaded on first use).
    pub fn granted(&self, session: &SessionId, key: &str) -> Result<bool, AgentError> {
        if !self.lock().grants.contains_key(session) {
            let stored: HashSet<String> = self
                .store
                .approvals(Some(session))?
                .into_iter()
                .filter(|a| {
                    matches!(
                        a.status,
                        ApprovalStatus::Resolved {
                            decision: ApprovalDecision::AllowForSession,
                            ..
                        }
                    )
                })
                .map(|a| grant_key(&a.request))
                .collect();
            self.lock()
                .grants
                .entry(session.clone())
                .or_default()
                .extend(stored);
        }
        Ok(self
            .lock()
            .grants
            .get(session)
            .is_some_and(|keys| keys.contains(key)))
    }

    /// The requests waiting for an answer, oldest first.
    pub fn pending(&self) -> Vec<ApprovalRequest> {
        let mut pending: Vec<ApprovalRequest> = self
            .lock()
            .pending
            .values()
            .map(|(r, _)| r.clone())
            .collect();
        pending.sort_by_key(|r| r.requested_at);
        pending
    }

    /// Answers a pending request. The first answer wins.
    pub fn answer(&self, id: &ApprovalId, answer: Answer) -> Result<(), AgentError> {
        let (_, responder) = self
            .lock()
            .pending
            .remove(id)
            .ok_or_else(|| AgentError::ApprovalNotPending(id.clone()))?;
        responder
            .send(answer)
            .map_err(|_| AgentError::ApprovalNotPending(id.clone()))
    }

    /// Asks every surface about `request` and waits for the first answer, the timeout (a
    /// deny) or `cancel` (a deny). The request and the decision are stored and their events
    /// committed through `sink`.
    pub async fn ask(
        &self,
        sink: &EventSink,
        request: ApprovalRequest,
        cancel: &CancellationToken,
    ) -> Result<Answer, AgentError> {
        let (responder, answered) = oneshot::channel();
        self.store
            .put_approval(&Approval {
                request: request.clone(),
                status: ApprovalStatus::Pending,
            })
            .await?;
        self.lock()
            .pending
            .insert(request.id.clone(), (request.clone(), responder));
        let asked = sink
            .commit(vec![EventPayload::Custom(CustomEvent::ApprovalRequested(
                request.clone(),
            ))])
            .await;
        let answer = match asked {
            Err(error) => {
                self.lock().pending.remove(&request.id);
                return Err(error);
            }
            Ok(_) => tokio::select! {
                answer = answered => answer.ok(),
                () = tokio::time::sleep(self.timeout) => None,
                () = cancel.cancelled() => Some(Answer {
                    decision: ApprovalDecision::Deny,
                    by: Surface::Policy,
                    who: Some("run cancelled".into()),
                }),
            },
        };
        let answer = answer.unwrap_or_else(|| Answer {
            decision: ApprovalDecision::Deny,
            by: Surface::Policy,
            who: Some(format!("no answer within {} s", self.timeout.as_secs())),
        });
        self.lock().pending.remove(&request.id);
        if answer.decision == ApprovalDecision::AllowForSession {
            self.lock()
                .grants
                .entry(request.session_id.clone())
                .or_default()
                .insert(grant_key(&request));
        }
        self.store
            .put_approval(&Approval {
                request: request.clone(),
                status: ApprovalStatus::Resolved {
                    decision: answer.decision,
                    by: answer.by.clone(),
                    who: answer.who.clone(),
                    at: now_ms(),
                },
            })
            .await?;
        sink.commit(vec![EventPayload::Custom(CustomEvent::ApprovalResolved(
            ApprovalResolved {
                id: request.id.clone(),
                decision: answer.decision,
                by: answer.by.clone(),
                who: answer.who.clone(),
            },
        ))])
        .await?;
        Ok(answer)
    }
}
