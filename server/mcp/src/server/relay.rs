//! The MCP clients connected to Lathe as one surface of the question broker: the servers
//! of a workspace's hub ask the user (MCP elicitation), the broker asks this relay among
//! the other surfaces, and the relay asks every connected client of that workspace.
//!
//! ```text
//! server (hub child) --elicitation/create--> hub --AskTheUser--> QuestionBroker
//!     --> ElicitationRelay --elicitation/create--> every connected client that declared
//!         the mode (form or url); the first accept wins, the others get notifications/cancelled
//!     --> the editors, the dashboard (the broker's other surfaces)
//! ```
//!
//! A connection registers on `notifications/initialized` (2025-11-25 sessions, stdio and
//! HTTP; stateless 2026-07-28 requests cannot be asked outside a request and never
//! register) and is removed when its handler is dropped.
//!
//! Invariants: the relay is attached to the broker for its workspace before the MCP server
//! serves, for as long as its owner keeps the [`ElicitationRelay::attach`] attachment (the
//! daemon's workspace entry, `assemble`'s `Built`). A question ends at the relay as soon as
//! one client accepts (the relay's reply), or when every asked client has answered without
//! accepting: a decline if one declined, else no reply (all cancelled or failed: the other
//! surfaces may still answer); whatever is still pending, and everything when the broker
//! withdraws the question, is cancelled at its client. A form whose schema cannot be
//! forwarded is not asked here.

use futures::future::BoxFuture;
use lathe_agent::{Attachment, QuestionBroker, QuestionSurface};
use lathe_protocol::{Question, QuestionKind, QuestionReply, Surface};
use rmcp::model::{
    CancelledNotificationParam, ClientResult, ElicitRequest, ElicitRequestParams,
    ElicitationAction, ServerRequest,
};
use rmcp::service::{ElicitationMode, Peer, PeerRequestOptions, RoleServer};
use std::collections::BTreeMap;
use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use tokio::sync::{mpsc, watch};
use tokio_util::sync::CancellationToken;

struct Client {
    peer: Peer<RoleServer>,
    form: bool,
    url: bool,
    name: String,
}

struct Inner {
    clients: Mutex<BTreeMap<u64, Client>>,
    next: AtomicU64,
    /// How many registered clients can answer (forms or URLs).
    count: watch::Sender<usize>,
}

/// Puts the user's questions to the MCP clients connected to Lathe. Cheap to clone; every
/// clone is the same relay.
#[derive(Clone)]
pub struct ElicitationRelay {
    inner: Arc<Inner>,
}

/// A relay attached to no broker yet (tests and benches of the MCP server alone keep it so:
/// its clients are never asked).
impl Default for ElicitationRelay {
    fn default() -> Self {
        Self {
            inner: Arc::new(Inner {
                clients: Mutex::new(BTreeMap::new()),
                next: AtomicU64::new(1),
                count: watch::channel(0).0,
            }),
        }
    }
}

impl std::fmt::Debug for ElicitationRelay {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ElicitationRelay")
            .field("clients", &*self.inner.count.borrow())
            .finish()
    }
}

/// A client's place in the relay; dropping it removes the client.
pub(crate) struct Registration {
    relay: ElicitationRelay,
    id: u64,
}

impl Drop for Registration {
    fn drop(&mut self) {
        let inner = &self.relay.inner;
        let mut clients = inner.clients.lock().unwrap_or_else(|e| e.into_inner());
        if clients.remove(&self.id).is_some() {
            inner.count.send_replace(clients.len());
        }
    }
}

/// What one asked client did.
enum Outcome {
    Accepted(QuestionReply),
    Declined,
    Cancelled,
    Failed(String),
}

impl ElicitationRelay {
    /// Lets `broker` ask this relay the questions of `workspace` (its canonical root) for as
    /// long as the attachment is kept.
    pub fn attach(&self, broker: &QuestionBroker, workspace: &Path) -> Attachment {
        broker.attach(workspace, Arc::new(self.clone()))
    }

    /// The number of connected clients that can answer, as it changes.
    pub fn watch_clients(&self) -> watch::Receiver<usize> {
        self.inner.count.subscribe()
    }

    /// Registers an initialized connection when its client declared elicitation.
    pub(crate) fn register(&self, peer: &Peer<RoleServer>) -> Option<Registration> {
        let modes = peer.supported_elicitation_modes();
        let (form, url) = (
            modes.contains(&ElicitationMode::Form),
            modes.contains(&ElicitationMode::Url),
        );
        if !form && !url {
            return None;
        }
        let name = peer.peer_info().map_or_else(
            || "an MCP client".to_owned(),
            |i| i.client_info.name.clone(),
        );
        let id = self.inner.next.fetch_add(1, Ordering::Relaxed);
        let mut clients = self.inner.clients.lock().unwrap_or_else(|e| e.into_inner());
        clients.insert(
            id,
            Client {
                peer: peer.clone(),
                form,
                url,
                name,
            },
        );
        self.inner.count.send_replace(clients.len());
        Some(Registration {
            relay: self.clone(),
            id,
        })
    }

    /// The clients that can be asked `question`, with their names.
    fn askable(&self, url: bool) -> Vec<(Peer<RoleServer>, String)> {
        let clients = self.inner.clients.lock().unwrap_or_else(|e| e.into_inner());
        clients
            .values()
            .filter(|c| if url { c.url } else { c.form })
            .map(|c| (c.peer.clone(), c.name.clone()))
            .collect()
    }

    async fn relay(self, question: Question) -> Option<QuestionReply> {
        let server = question.asker.clone();
        // `can_ask` checked the form could be forwarded.
        let Ok(params) = forwarded(&question) else {
            return None;
        };
        let asked = self.askable(matches!(
            params,
            ElicitRequestParams::UrlElicitationParams { .. }
        ));
        // Cancelled when this relay ends (answered, or dropped because the question was
        // answered elsewhere or withdrawn): the clients still asking are told to stop.
        let done = CancellationToken::new();
        let _ends = done.clone().drop_guard();
        let (outcomes, mut received) = mpsc::channel(asked.len().max(1));
        for (peer, name) in &asked {
            tokio::spawn(ask(
                peer.clone(),
                params.clone(),
                done.clone(),
                outcomes.clone(),
                name.clone(),
            ));
        }
        drop(outcomes);
        let mut declined = false;
        while let Some((name, outcome)) = received.recv().await {
            match outcome {
                Outcome::Accepted(reply) => {
                    tracing::info!(%server, client = %name, "question answered by an MCP client");
                    return Some(reply);
                }
                Outcome::Declined => declined = true,
                Outcome::Cancelled => {}
                Outcome::Failed(error) => {
                    tracing::warn!(%server, client = %name, %error, "asking an MCP client failed");
                }
            }
        }
        declined.then_some(QuestionReply::Decline)
    }
}

impl QuestionSurface for ElicitationRelay {
    fn surface(&self) -> Surface {
        Surface::Mcp
    }

    fn can_ask(&self, question: &Question) -> bool {
        forwarded(question).is_ok()
            && !self
                .askable(matches!(question.kind, QuestionKind::Url { .. }))
                .is_empty()
    }

    fn ask(&self, question: Question) -> BoxFuture<'static, Option<QuestionReply>> {
        Box::pin(self.clone().relay(question))
    }
}

/// The request Lathe's clients get: the server's, with the server named in the message.
fn forwarded(question: &Question) -> Result<ElicitRequestParams, String> {
    let message = format!(
        "The MCP server `{}` asks: {}",
        question.asker, question.message
    );
    match &question.kind {
        QuestionKind::Url {
            url,
            elicitation_id,
        } => Ok(ElicitRequestParams::UrlElicitationParams {
            meta: None,
            message,
            url: url.clone(),
            elicitation_id: elicitation_id.clone().unwrap_or_default(),
        }),
        QuestionKind::Form { schema } => serde_json::from_value(schema.clone())
            .map(
                |requested_schema| ElicitRequestParams::FormElicitationParams {
                    meta: None,
                    message,
                    requested_schema,
                },
            )
            .map_err(|e| format!("its form cannot be forwarded: {e}")),
    }
}

/// Asks one client; reports what it did unless the relay ended first, in which case the
/// client is told the question is withdrawn.
async fn ask(
    peer: Peer<RoleServer>,
    params: ElicitRequestParams,
    done: CancellationToken,
    outcomes: mpsc::Sender<(String, Outcome)>,
    name: String,
) {
    let request = ServerRequest::ElicitRequest(ElicitRequest::new(params));
    let handle = match peer
        .send_cancellable_request(request, PeerRequestOptions::no_options())
        .await
    {
        Ok(handle) => handle,
        Err(e) => {
            let _ = outcomes.send((name, Outcome::Failed(e.to_string()))).await;
            return;
        }
    };
    let id = handle.id.clone();
    let outcome = tokio::select! {
        response = handle.await_response() => match response {
            Ok(ClientResult::ElicitResult(result)) => match result.action {
                ElicitationAction::Accept => Outcome::Accepted(QuestionReply::Accept {
                    content: result.content.unwrap_or(serde_json::Value::Null),
                }),
                ElicitationAction::Decline => Outcome::Declined,
                _ => Outcome::Cancelled,
            },
            Ok(other) => Outcome::Failed(format!("unexpected answer {other:?}")),
            Err(e) => Outcome::Failed(e.to_string()),
        },
        () = done.cancelled() => {
            let withdrawn = CancelledNotificationParam::new(
                Some(id),
                Some("answered elsewhere or withdrawn".to_owned()),
            );
            let _ = peer.notify_cancelled(withdrawn).await;
            return;
        }
    };
    let _ = outcomes.send((name, outcome)).await;
}
