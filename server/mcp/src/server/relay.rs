//! The relay of MCP servers' elicitations to the people at Lathe's MCP clients: the hub's
//! [`ElicitationSink`] for a workspace, answered by the MCP clients connected to Lathe's
//! MCP server for the same workspace.
//!
//! ```text
//! server (hub child) --elicitation/create--> hub --ServerElicitation--> ElicitationRelay
//!     --elicitation/create--> every connected client that declared the mode (form or url)
//!     <-- the first accept wins; the others get notifications/cancelled
//! ```
//!
//! A connection registers on `notifications/initialized` (2025-11-25 sessions, stdio and
//! HTTP; stateless 2026-07-28 requests cannot be asked outside a request and never
//! register) and is removed when its handler is dropped.
//!
//! Invariants: the relay exists before the hub and the server (the daemon hands the same
//! relay to both); an elicitation ends as soon as one client accepts, or when every asked
//! client has declined, cancelled or failed, or at the timeout — whatever is still pending
//! is then cancelled at its client. No client able to answer, every client declining, or a
//! form whose schema cannot be forwarded is a `Decline` with the reason logged; the timeout
//! (nobody answered) is a `Cancel`.

use crate::client::{ElicitationReply, ElicitationSink, ServerElicitation};
use futures::future::BoxFuture;
use rmcp::model::{
    CancelledNotificationParam, ClientResult, ElicitRequest, ElicitRequestParams,
    ElicitationAction, ServerRequest,
};
use rmcp::service::{ElicitationMode, Peer, PeerRequestOptions, RoleServer};
use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::sync::{mpsc, watch};
use tokio_util::sync::CancellationToken;

/// How long a relayed question waits for an answer by default.
pub const DEFAULT_ELICITATION_TIMEOUT: Duration = Duration::from_secs(300);

struct Client {
    peer: Peer<RoleServer>,
    form: bool,
    url: bool,
    name: String,
}

struct Inner {
    clients: Mutex<BTreeMap<u64, Client>>,
    next: AtomicU64,
    timeout: Duration,
    /// How many registered clients can answer (forms or URLs).
    count: watch::Sender<usize>,
}

/// Forwards MCP servers' elicitations to the MCP clients connected to Lathe. Cheap to
/// clone; every clone is the same relay.
#[derive(Clone)]
pub struct ElicitationRelay {
    inner: Arc<Inner>,
}

impl Default for ElicitationRelay {
    fn default() -> Self {
        Self::new(DEFAULT_ELICITATION_TIMEOUT)
    }
}

impl std::fmt::Debug for ElicitationRelay {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ElicitationRelay")
            .field("clients", &*self.inner.count.borrow())
            .field("timeout", &self.inner.timeout)
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
    Accepted(ElicitationReply),
    Declined,
    Cancelled,
    Failed(String),
}

impl ElicitationRelay {
    /// A relay whose questions wait at most `timeout` for an answer.
    pub fn new(timeout: Duration) -> Self {
        Self {
            inner: Arc::new(Inner {
                clients: Mutex::new(BTreeMap::new()),
                next: AtomicU64::new(1),
                timeout,
                count: watch::channel(0).0,
            }),
        }
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

    async fn relay(self, question: ServerElicitation) -> ElicitationReply {
        let server = question.server.clone();
        let params = match forwarded(question) {
            Ok(params) => params,
            Err(reason) => {
                tracing::warn!(%server, %reason, "elicitation declined");
                return ElicitationReply::Decline;
            }
        };
        let url = matches!(params, ElicitRequestParams::UrlElicitationParams { .. });
        let asked: Vec<(Peer<RoleServer>, String)> = {
            let clients = self.inner.clients.lock().unwrap_or_else(|e| e.into_inner());
            clients
                .values()
                .filter(|c| if url { c.url } else { c.form })
                .map(|c| (c.peer.clone(), c.name.clone()))
                .collect()
        };
        if asked.is_empty() {
            tracing::info!(
                %server,
                mode = if url { "url" } else { "form" },
                "elicitation declined: no connected MCP client can answer it"
            );
            return ElicitationReply::Decline;
        }
        // Cancelled when this relay ends (answered, timed out, or dropped because the server
        // withdrew its question): the clients still asking are then told to stop.
        let done = CancellationToken::new();
        let _ends = done.clone().drop_guard();
        let (outcomes, mut received) = mpsc::channel(asked.len());
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
        let answers = async {
            let mut declined = false;
            while let Some((name, outcome)) = received.recv().await {
                match outcome {
                    Outcome::Accepted(reply) => {
                        tracing::info!(%server, client = %name, "elicitation answered");
                        return reply;
                    }
                    Outcome::Declined => declined = true,
                    Outcome::Cancelled => {}
                    Outcome::Failed(error) => {
                        tracing::warn!(%server, client = %name, %error, "asking an MCP client failed");
                    }
                }
            }
            tracing::info!(%server, "elicitation declined: no connected MCP client accepted it");
            if declined {
                ElicitationReply::Decline
            } else {
                ElicitationReply::Cancel
            }
        };
        match tokio::time::timeout(self.inner.timeout, answers).await {
            Ok(reply) => reply,
            Err(_) => {
                tracing::info!(%server, timeout = ?self.inner.timeout, "elicitation cancelled: nobody answered in time");
                ElicitationReply::Cancel
            }
        }
    }
}

impl ElicitationSink for ElicitationRelay {
    fn elicit(&self, request: ServerElicitation) -> BoxFuture<'static, ElicitationReply> {
        Box::pin(self.clone().relay(request))
    }
}

/// The request Lathe's clients get: the server's, with the server named in the message.
fn forwarded(question: ServerElicitation) -> Result<ElicitRequestParams, String> {
    let message = format!(
        "The MCP server `{}` asks: {}",
        question.server, question.message
    );
    match (question.url, question.schema) {
        (Some(url), _) => Ok(ElicitRequestParams::UrlElicitationParams {
            meta: None,
            message,
            url,
            elicitation_id: question.elicitation_id.unwrap_or_default(),
        }),
        (None, Some(schema)) => serde_json::from_value(schema)
            .map(
                |requested_schema| ElicitRequestParams::FormElicitationParams {
                    meta: None,
                    message,
                    requested_schema,
                },
            )
            .map_err(|e| format!("its form cannot be forwarded: {e}")),
        (None, None) => Err("it has neither a form nor a URL".to_owned()),
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
                ElicitationAction::Accept => Outcome::Accepted(ElicitationReply::Accept(
                    result.content.unwrap_or(serde_json::Value::Null),
                )),
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
