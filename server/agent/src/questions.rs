//! The question broker: what an MCP server the agent uses asks the user (MCP elicitation:
//! a form, or a page to open), put to every surface the user may be at, first reply wins.
//!
//! Surfaces come in two shapes. A *push* surface ([`QuestionSurface`]: an editor
//! connection, the MCP clients connected to Lathe) is attached for a workspace and asked
//! directly; it says which questions it can put to its user (an editor has no text fields,
//! so it takes only forms of choices). A *pull* surface (the dashboard) holds a
//! [`QuestionBroker::watch`] attachment, sees questions on [`QuestionBroker::subscribe`] or
//! [`QuestionBroker::pending`], and answers with [`QuestionBroker::answer`].
//!
//! Invariants: a question is pending (listed, answerable) from its `asked` event until its
//! `resolved` event, and resolved exactly once; the first reply wins — a reply counts only
//! if it takes the question off the pending list, under the broker's lock — and every push
//! surface still asking is then dropped (its future ends; what the surface shows about it
//! is the surface's business). A question no surface can answer is declined at once, and so
//! is a page that is not an http(s) URL; one whose push surfaces all gave up (dismissed,
//! failed) is cancelled once no pull surface is attached; one nobody answers within its
//! timeout, or whose asker stops waiting, is cancelled.

use crate::error::AgentError;
use futures::StreamExt;
use futures::future::BoxFuture;
use futures::stream::FuturesUnordered;
use lathe_protocol::{Question, QuestionEvent, QuestionId, QuestionKind, QuestionReply, Surface};
use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, MutexGuard, Weak};
use std::time::Duration;
use tokio::sync::{broadcast, oneshot, watch};

/// A surface that puts questions to its user itself (an editor, Lathe's MCP clients).
pub trait QuestionSurface: Send + Sync + 'static {
    /// Which surface this is (who answered, in the `resolved` event and the log).
    fn surface(&self) -> Surface;
    /// Whether this surface can put `question` to its user now.
    fn can_ask(&self, question: &Question) -> bool;
    /// Asks the user; `None` when no reply came (dismissed, or the client failed), so the
    /// other surfaces still may answer. Dropping the future withdraws the question.
    fn ask(&self, question: Question) -> BoxFuture<'static, Option<QuestionReply>>;
}

/// What the broker's unanswered questions wait for.
pub const DEFAULT_QUESTION_TIMEOUT: Duration = Duration::from_secs(300);

struct Attached {
    workspace: PathBuf,
    surface: Arc<dyn QuestionSurface>,
}

#[derive(Default)]
struct State {
    next: u64,
    surfaces: BTreeMap<u64, Attached>,
    pending: HashMap<QuestionId, (Question, oneshot::Sender<(QuestionReply, Surface)>)>,
}

struct Inner {
    state: Mutex<State>,
    /// How many pull surfaces are attached.
    watchers: watch::Sender<usize>,
    events: broadcast::Sender<QuestionEvent>,
    timeout: Duration,
}

impl Inner {
    fn lock(&self) -> MutexGuard<'_, State> {
        self.state
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

/// Routes questions to surfaces and replies back. Cheap to clone; clones are one broker.
#[derive(Clone)]
pub struct QuestionBroker {
    inner: Arc<Inner>,
}

impl Default for QuestionBroker {
    fn default() -> Self {
        Self::new(DEFAULT_QUESTION_TIMEOUT)
    }
}

impl std::fmt::Debug for QuestionBroker {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let state = self.inner.lock();
        f.debug_struct("QuestionBroker")
            .field("surfaces", &state.surfaces.len())
            .field("watchers", &*self.inner.watchers.borrow())
            .field("pending", &state.pending.len())
            .field("timeout", &self.inner.timeout)
            .finish()
    }
}

/// A surface's place at the broker; dropping it detaches the surface.
#[must_use = "the surface is detached when this is dropped"]
pub struct Attachment {
    inner: Weak<Inner>,
    /// The push surface's key, or `None` for a watcher.
    key: Option<u64>,
}

impl std::fmt::Debug for Attachment {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Attachment")
            .field("key", &self.key)
            .finish()
    }
}

impl Drop for Attachment {
    fn drop(&mut self) {
        let Some(inner) = self.inner.upgrade() else {
            return;
        };
        match self.key {
            Some(key) => {
                inner.lock().surfaces.remove(&key);
            }
            None => inner.watchers.send_modify(|n| *n = n.saturating_sub(1)),
        }
    }
}

/// A question being asked: resolves it as cancelled by the policy if the asker stops
/// waiting before a reply.
struct Asking {
    inner: Arc<Inner>,
    id: QuestionId,
    resolved: bool,
}

impl Asking {
    fn resolve(&mut self, reply: &QuestionReply, by: Surface) {
        self.resolved = true;
        self.inner.lock().pending.remove(&self.id);
        let _ = self.inner.events.send(QuestionEvent::Resolved {
            id: self.id.clone(),
            action: reply.action().to_owned(),
            by,
        });
    }
}

impl Drop for Asking {
    fn drop(&mut self) {
        if !self.resolved {
            self.resolve(&QuestionReply::Cancel, Surface::Policy);
        }
    }
}

impl QuestionBroker {
    /// A broker whose questions wait at most `timeout` for a reply.
    pub fn new(timeout: Duration) -> Self {
        Self {
            inner: Arc::new(Inner {
                state: Mutex::new(State::default()),
                watchers: watch::channel(0).0,
                events: broadcast::channel(64).0,
                timeout,
            }),
        }
    }

    /// Attaches a push surface for the questions of `workspace` (a canonical root).
    pub fn attach(&self, workspace: &Path, surface: Arc<dyn QuestionSurface>) -> Attachment {
        let mut state = self.inner.lock();
        state.next += 1;
        let key = state.next;
        state.surfaces.insert(
            key,
            Attached {
                workspace: workspace.to_owned(),
                surface,
            },
        );
        Attachment {
            inner: Arc::downgrade(&self.inner),
            key: Some(key),
        }
    }

    /// Attaches a pull surface that can answer any question (an open dashboard).
    pub fn watch(&self) -> Attachment {
        self.inner.watchers.send_modify(|n| *n += 1);
        Attachment {
            inner: Arc::downgrade(&self.inner),
            key: None,
        }
    }

    /// How many push surfaces are attached for `workspace`.
    pub fn attached(&self, workspace: &Path) -> usize {
        self.inner
            .lock()
            .surfaces
            .values()
            .filter(|a| a.workspace == workspace)
            .count()
    }

    /// Questions asked and resolved from now on.
    pub fn subscribe(&self) -> broadcast::Receiver<QuestionEvent> {
        self.inner.events.subscribe()
    }

    /// The questions waiting for a reply, oldest first.
    pub fn pending(&self) -> Vec<Question> {
        let mut pending: Vec<Question> = self
            .inner
            .lock()
            .pending
            .values()
            .map(|(q, _)| q.clone())
            .collect();
        pending.sort_by(|a, b| (a.asked_at, &a.id).cmp(&(b.asked_at, &b.id)));
        pending
    }

    /// Replies to a pending question. The first reply wins.
    pub fn answer(
        &self,
        id: &QuestionId,
        reply: QuestionReply,
        by: Surface,
    ) -> Result<(), AgentError> {
        // Sent under the lock: the asker's claim (see `ask`) then sees either the question
        // still pending or this reply already delivered.
        let mut state = self.inner.lock();
        let (_, responder) = state
            .pending
            .remove(id)
            .ok_or_else(|| AgentError::QuestionNotPending(id.clone()))?;
        responder
            .send((reply, by))
            .map_err(|_| AgentError::QuestionNotPending(id.clone()))
    }

    /// Asks the user, on behalf of `asker` in `workspace`, and waits for the first reply
    /// for at most `within` (capped by the broker's timeout).
    pub async fn ask(
        &self,
        workspace: &Path,
        asker: &str,
        message: &str,
        kind: QuestionKind,
        within: Duration,
    ) -> QuestionReply {
        if let QuestionKind::Url { url, .. } = &kind
            && !is_web_page(url)
        {
            tracing::warn!(%asker, %url, "question declined: the page to open is not an http(s) URL");
            return QuestionReply::Decline;
        }
        let timeout = within.min(self.inner.timeout);
        let asked_at = crate::approval::now_ms();
        let question = Question {
            id: QuestionId::new(),
            workspace: workspace.display().to_string(),
            asker: asker.to_owned(),
            message: message.to_owned(),
            kind,
            asked_at,
            expires_at: asked_at
                .saturating_add(u64::try_from(timeout.as_millis()).unwrap_or(u64::MAX)),
        };
        let (responder, mut answered) = oneshot::channel();
        let mut watchers = self.inner.watchers.subscribe();
        let surfaces = {
            let mut state = self.inner.lock();
            let surfaces: Vec<Arc<dyn QuestionSurface>> = state
                .surfaces
                .values()
                .filter(|a| a.workspace == workspace && a.surface.can_ask(&question))
                .map(|a| a.surface.clone())
                .collect();
            if surfaces.is_empty() && *watchers.borrow_and_update() == 0 {
                drop(state);
                tracing::info!(%asker, workspace = %workspace.display(), "question declined: no surface can answer it");
                return QuestionReply::Decline;
            }
            state
                .pending
                .insert(question.id.clone(), (question.clone(), responder));
            surfaces
        };
        let mut asking = Asking {
            inner: self.inner.clone(),
            id: question.id.clone(),
            resolved: false,
        };
        let _ = self
            .inner
            .events
            .send(QuestionEvent::Asked(question.clone()));
        let mut asks: FuturesUnordered<_> = surfaces
            .iter()
            .map(|surface| {
                let by = surface.surface();
                let reply = surface.ask(question.clone());
                async move { (reply.await, by) }
            })
            .collect();
        let pushed = async {
            while let Some((reply, by)) = asks.next().await {
                if let Some(reply) = reply {
                    return (reply, by);
                }
            }
            // Every push surface gave up: wait for a pull surface while one is attached.
            let _ = watchers.wait_for(|n| *n == 0).await;
            (QuestionReply::Cancel, Surface::Policy)
        };
        let (mut reply, mut by) = tokio::select! {
            Ok(answer) = &mut answered => answer,
            answer = pushed => answer,
            () = tokio::time::sleep(timeout) => (QuestionReply::Cancel, Surface::Policy),
        };
        // A pull surface that took the question off the list first (under the lock) has
        // already sent its answer: that one wins.
        let claimed = self.inner.lock().pending.remove(&question.id).is_some();
        if !claimed && let Ok(answer) = answered.try_recv() {
            (reply, by) = answer;
        }
        tracing::info!(%asker, action = reply.action(), ?by, "question resolved");
        asking.resolve(&reply, by);
        reply
    }
}

/// Whether `url` is a web page a surface may offer to open: http(s), nothing that could
/// pass for more text in a prompt.
fn is_web_page(url: &str) -> bool {
    (url.starts_with("https://") || url.starts_with("http://"))
        && !url.chars().any(|c| c.is_whitespace() || c.is_control())
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use futures::FutureExt;
    use serde_json::json;
    use std::sync::atomic::{AtomicUsize, Ordering};

    /// A push surface that replies after `delay` with `reply`, counting withdrawals.
    struct Scripted {
        reply: Option<QuestionReply>,
        delay: Duration,
        forms: bool,
        withdrawn: Arc<AtomicUsize>,
    }

    struct CountsDrop(Arc<AtomicUsize>, bool);
    impl Drop for CountsDrop {
        fn drop(&mut self) {
            if !self.1 {
                self.0.fetch_add(1, Ordering::SeqCst);
            }
        }
    }

    impl QuestionSurface for Scripted {
        fn surface(&self) -> Surface {
            Surface::Lsp
        }
        fn can_ask(&self, question: &Question) -> bool {
            self.forms || !matches!(question.kind, QuestionKind::Form { .. })
        }
        fn ask(&self, _question: Question) -> BoxFuture<'static, Option<QuestionReply>> {
            let (reply, delay) = (self.reply.clone(), self.delay);
            let guard = CountsDrop(self.withdrawn.clone(), false);
            async move {
                let mut guard = guard;
                tokio::time::sleep(delay).await;
                guard.1 = true;
                reply
            }
            .boxed()
        }
    }

    fn scripted(reply: Option<QuestionReply>, delay_ms: u64) -> (Arc<Scripted>, Arc<AtomicUsize>) {
        let withdrawn = Arc::new(AtomicUsize::new(0));
        let surface = Arc::new(Scripted {
            reply,
            delay: Duration::from_millis(delay_ms),
            forms: true,
            withdrawn: withdrawn.clone(),
        });
        (surface, withdrawn)
    }

    const MINUTE: Duration = Duration::from_secs(60);

    fn form() -> QuestionKind {
        QuestionKind::Form {
            schema: json!({"type": "object", "properties": {"ok": {"type": "boolean"}}}),
        }
    }

    #[tokio::test]
    async fn with_no_surface_a_question_is_declined_at_once() {
        let broker = QuestionBroker::new(Duration::from_secs(60));
        let ws = Path::new("/ws");
        let (other, _) = scripted(Some(QuestionReply::Decline), 0);
        let _elsewhere = broker.attach(Path::new("/other"), other);
        let reply = broker.ask(ws, "srv", "?", form(), MINUTE).await;
        assert_eq!(reply, QuestionReply::Decline);
        assert!(broker.pending().is_empty());
    }

    #[tokio::test]
    async fn the_first_reply_wins_and_the_slower_surface_is_withdrawn() {
        let broker = QuestionBroker::new(Duration::from_secs(60));
        let ws = Path::new("/ws");
        let accept = QuestionReply::Accept {
            content: json!({"ok": true}),
        };
        let (fast, fast_withdrawn) = scripted(Some(accept.clone()), 10);
        let (slow, slow_withdrawn) = scripted(Some(QuestionReply::Decline), 5_000);
        let _a = broker.attach(ws, fast);
        let _b = broker.attach(ws, slow);
        let mut events = broker.subscribe();
        assert_eq!(broker.ask(ws, "srv", "?", form(), MINUTE).await, accept);
        assert_eq!(fast_withdrawn.load(Ordering::SeqCst), 0);
        assert_eq!(slow_withdrawn.load(Ordering::SeqCst), 1);
        let QuestionEvent::Asked(asked) = events.recv().await.unwrap() else {
            panic!("asked first");
        };
        assert_eq!(
            events.recv().await.unwrap(),
            QuestionEvent::Resolved {
                id: asked.id,
                action: "accept".into(),
                by: Surface::Lsp
            }
        );
    }

    #[tokio::test]
    async fn surfaces_that_cannot_ask_are_skipped_and_a_watcher_answers() {
        let broker = QuestionBroker::new(Duration::from_secs(60));
        let ws = Path::new("/ws");
        let withdrawn = Arc::new(AtomicUsize::new(0));
        let no_forms = Arc::new(Scripted {
            reply: Some(QuestionReply::Decline),
            delay: Duration::ZERO,
            forms: false,
            withdrawn,
        });
        let _editor = broker.attach(ws, no_forms);
        let _dashboard = broker.watch();
        let mut events = broker.subscribe();
        let answering = {
            let broker = broker.clone();
            tokio::spawn(async move {
                let QuestionEvent::Asked(question) = events.recv().await.unwrap() else {
                    panic!("asked first");
                };
                assert_eq!(broker.pending(), vec![question.clone()]);
                let reply = QuestionReply::Accept {
                    content: json!({"ok": false}),
                };
                broker
                    .answer(&question.id, reply, Surface::Dashboard)
                    .unwrap();
                let again = broker.answer(&question.id, QuestionReply::Decline, Surface::Dashboard);
                assert!(matches!(again, Err(AgentError::QuestionNotPending(_))));
            })
        };
        let reply = broker.ask(ws, "srv", "?", form(), MINUTE).await;
        assert_eq!(
            reply,
            QuestionReply::Accept {
                content: json!({"ok": false})
            }
        );
        answering.await.unwrap();
        assert!(broker.pending().is_empty());
    }

    #[tokio::test]
    async fn surfaces_that_give_up_cancel_once_no_dashboard_watches_and_nobody_answering_cancels() {
        let broker = QuestionBroker::new(Duration::from_secs(60));
        let ws = Path::new("/ws");
        let (dismissed, _) = scripted(None, 0);
        let _editor = broker.attach(ws, dismissed);
        assert_eq!(
            broker.ask(ws, "srv", "?", form(), MINUTE).await,
            QuestionReply::Cancel
        );
        let dashboard = broker.watch();
        let asked = tokio::spawn({
            let broker = broker.clone();
            async move {
                broker
                    .ask(Path::new("/ws"), "srv", "?", form(), MINUTE)
                    .await
            }
        });
        tokio::time::sleep(Duration::from_millis(50)).await;
        assert_eq!(
            broker.pending().len(),
            1,
            "a watching dashboard keeps it open"
        );
        drop(dashboard);
        assert_eq!(asked.await.unwrap(), QuestionReply::Cancel);
        let _dashboard = broker.watch();
        assert_eq!(
            broker
                .ask(ws, "srv", "?", form(), Duration::from_millis(50))
                .await,
            QuestionReply::Cancel,
            "nobody answered in time"
        );
        assert!(broker.pending().is_empty());
    }

    #[tokio::test]
    async fn only_web_pages_are_offered() {
        let broker = QuestionBroker::new(Duration::from_secs(60));
        let _dashboard = broker.watch();
        for url in [
            "file:///etc/passwd",
            "javascript:alert(1)",
            "https://x.invalid/\nAllow",
        ] {
            let kind = QuestionKind::Url {
                url: url.into(),
                elicitation_id: None,
            };
            let reply = broker.ask(Path::new("/ws"), "srv", "?", kind, MINUTE).await;
            assert_eq!(reply, QuestionReply::Decline, "{url}");
        }
        assert!(broker.pending().is_empty());
    }

    #[tokio::test]
    async fn an_asker_that_stops_waiting_resolves_its_question_as_cancelled() {
        let broker = QuestionBroker::new(Duration::from_secs(60));
        let _dashboard = broker.watch();
        let mut events = broker.subscribe();
        let ask = broker.ask(Path::new("/ws"), "srv", "?", form(), MINUTE);
        let stopped = tokio::time::timeout(Duration::from_millis(20), ask).await;
        assert!(stopped.is_err());
        assert!(broker.pending().is_empty());
        assert!(matches!(
            events.recv().await.unwrap(),
            QuestionEvent::Asked(_)
        ));
        assert!(matches!(
            events.recv().await.unwrap(),
            QuestionEvent::Resolved { by: Surface::Policy, ref action, .. } if action == "cancel"
        ));
    }
}
