//! The state of one editor connection: what was negotiated at `initialize`, the open
//! documents, the runs it started, the sessions it is attached to (whose approvals it
//! prompts for), its place at the question broker, review findings and chat sessions.
//!
//! Invariants: `initialize` sets the negotiated [`Session`] exactly once, before any other
//! handler runs (tower-lsp-server refuses other requests until then); all locks here are
//! held for short, non-async sections only; the agent is asked of the provider at every
//! action (the provider keeps it), so fixing the configuration, or trusting the workspace,
//! takes effect at the next action.

use crate::documents::Documents;
use crate::error::LspError;
use crate::from_proto::InitOptions;
use crate::hub::{EditCaps, Peer, Registration};
use crate::questions::EditorQuestions;
use crate::review::Finding;
use crate::services::{AgentService, LspServices};
use lathe_agent::Attachment;
use lathe_edits::PositionEncoding;
use lathe_protocol::SessionId;
use lathe_skills::{Registry, SkillRoots};
use std::collections::{HashMap, HashSet};
use std::path::PathBuf;
use std::sync::{Arc, Mutex, MutexGuard, OnceLock, PoisonError};
use tokio_util::sync::CancellationToken;
use tower_lsp_server::Client;
use tower_lsp_server::gen_lsp_types as lsp;

/// What the client said it can do, reduced to what Lathe uses.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ClientCaps {
    pub edit: EditCaps,
    /// `window.workDoneProgress`: server-created progress tokens.
    pub work_done_progress: bool,
    /// `window.showDocument.support`.
    pub show_document: bool,
    /// `window.showMessage` (message action items for approvals).
    pub show_message_request: bool,
    /// `codeAction/resolve` can fill in `edit`.
    pub resolve_edit: bool,
}

impl ClientCaps {
    pub fn from_lsp(caps: &lsp::ClientCapabilities) -> Self {
        let workspace = caps.workspace.as_ref();
        let window = caps.window.as_ref();
        let code_action = caps
            .text_document
            .as_ref()
            .and_then(|t| t.code_action.as_ref());
        ClientCaps {
            edit: EditCaps {
                apply_edit: workspace.and_then(|w| w.apply_edit).unwrap_or(false),
                document_changes: workspace
                    .and_then(|w| w.workspace_edit.as_ref())
                    .and_then(|e| e.document_changes)
                    .unwrap_or(false),
            },
            work_done_progress: window.and_then(|w| w.work_done_progress).unwrap_or(false),
            show_document: window
                .and_then(|w| w.show_document.as_ref())
                .is_some_and(|d| d.support),
            // Every client must answer `window/showMessageRequest` (`window.showMessage`
            // only refines it, and eglot omits it); one declaring no window capabilities
            // at all is taken at its word.
            show_message_request: window.is_some(),
            resolve_edit: code_action
                .and_then(|c| c.resolve_support.as_ref())
                .is_some_and(|r| r.properties.iter().any(|p| p == "edit")),
        }
    }
}

/// What `initialize` negotiated.
#[derive(Debug)]
pub struct Session {
    pub encoding: PositionEncoding,
    /// The workspace root (the first workspace folder, else `rootUri`, else the daemon's
    /// working directory).
    pub workspace: PathBuf,
    pub options: InitOptions,
    /// `clientInfo.name` (and version), shown to other surfaces as who answered.
    pub client_name: String,
    pub caps: ClientCaps,
    pub skills: Registry,
    /// This connection as the hub knows it (used to apply edits to its documents).
    pub peer: Arc<Peer>,
}

/// A run this connection started and still follows.
#[derive(Clone, Debug)]
pub struct RunEntry {
    pub session: SessionId,
    pub title: String,
    /// The `$/progress` token, when the run reports progress.
    pub token: Option<lsp::ProgressToken>,
    pub cancel: CancellationToken,
}

/// The findings of the last review, per document URI.
pub type Findings = HashMap<String, Vec<Finding>>;

/// One editor connection.
pub struct Conn {
    pub client: Client,
    pub services: LspServices,
    pub documents: Arc<Documents>,
    session: OnceLock<Session>,
    runs: Mutex<HashMap<u64, RunEntry>>,
    next_run: Mutex<u64>,
    attached: Mutex<HashSet<SessionId>>,
    last_session: Mutex<Option<SessionId>>,
    findings: Mutex<Findings>,
    chats: Mutex<HashMap<String, SessionId>>,
    registration: Mutex<Option<Registration>>,
    /// This connection as a surface of the question broker.
    questions: Mutex<Option<Attachment>>,
    /// Cancelled when the connection ends (runs go on; following them stops).
    pub closed: CancellationToken,
}

impl std::fmt::Debug for Conn {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Conn")
            .field("session", &self.session.get())
            .finish_non_exhaustive()
    }
}

fn locked<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

impl Conn {
    pub fn new(client: Client, services: LspServices) -> Self {
        Self {
            client,
            services,
            documents: Arc::new(Documents::default()),
            session: OnceLock::new(),
            runs: Mutex::new(HashMap::new()),
            next_run: Mutex::new(0),
            attached: Mutex::new(HashSet::new()),
            last_session: Mutex::new(None),
            findings: Mutex::new(HashMap::new()),
            chats: Mutex::new(HashMap::new()),
            registration: Mutex::new(None),
            questions: Mutex::new(None),
            closed: CancellationToken::new(),
        }
    }

    /// Records the negotiated session; `false` if one was already set.
    pub fn set_session(&self, session: Session) -> bool {
        self.session.set(session).is_ok()
    }

    /// The negotiated session. Handlers only run after `initialize`, which sets it.
    pub fn session(&self) -> Result<&Session, LspError> {
        self.session
            .get()
            .ok_or_else(|| LspError::bad_arguments("request", "the server is not initialized"))
    }

    /// Skill roots for a workspace: the daemon's plus the workspace's own directories.
    pub fn skill_roots(&self, workspace: PathBuf) -> SkillRoots {
        SkillRoots {
            workspace: Some(workspace),
            ..self.services.skill_roots.clone()
        }
    }

    pub fn set_registration(&self, registration: Registration) {
        *locked(&self.registration) = Some(registration);
    }

    /// Attaches the connection to the question broker for its workspace, when its client
    /// can show message requests.
    pub fn attach_questions(&self) {
        let (Some(broker), Ok(session)) = (&self.services.questions, self.session()) else {
            return;
        };
        if !session.caps.show_message_request {
            return;
        }
        let root = session
            .workspace
            .canonicalize()
            .unwrap_or_else(|_| session.workspace.clone());
        let surface = EditorQuestions {
            client: self.client.clone(),
            caps: session.caps,
        };
        *locked(&self.questions) = Some(broker.attach(&root, Arc::new(surface)));
        // `initialized` runs as its own task: a connection that closed meanwhile leaves.
        if self.closed.is_cancelled() {
            locked(&self.questions).take();
        }
    }

    /// Ends the connection: unregisters from the hub and the question broker and stops
    /// following runs.
    pub fn close(&self) {
        locked(&self.registration).take();
        locked(&self.questions).take();
        self.closed.cancel();
    }

    /// The agent of this connection's workspace, as the provider has it now.
    pub async fn agent(&self) -> Result<Arc<dyn AgentService>, LspError> {
        let session = self.session()?;
        self.services
            .agents
            .agent(&session.workspace, &session.options.overrides())
            .await
    }

    /// A number unique within this connection (run ids, progress tokens).
    pub fn next_id(&self) -> u64 {
        let mut next = locked(&self.next_run);
        *next += 1;
        *next
    }

    /// Registers a run under `id` (from [`Conn::next_id`]).
    pub fn add_run(&self, id: u64, entry: RunEntry) {
        self.attach(entry.session.clone());
        *locked(&self.last_session) = Some(entry.session.clone());
        locked(&self.runs).insert(id, entry);
    }

    /// The session of the run this editor started last.
    pub fn last_session(&self) -> Option<SessionId> {
        locked(&self.last_session).clone()
    }

    pub fn remove_run(&self, id: u64) {
        locked(&self.runs).remove(&id);
    }

    /// The runs in flight.
    pub fn runs(&self) -> Vec<RunEntry> {
        locked(&self.runs).values().cloned().collect()
    }

    /// Cancels runs whose session is `session` (every run when `None`); how many.
    pub fn cancel_runs(&self, session: Option<&SessionId>) -> usize {
        let runs = locked(&self.runs);
        let mut count = 0;
        for run in runs.values() {
            if session.is_none_or(|s| *s == run.session) {
                run.cancel.cancel();
                count += 1;
            }
        }
        count
    }

    /// Cancels the run reporting progress under `token`; whether one did.
    pub fn cancel_token(&self, token: &lsp::ProgressToken) -> bool {
        let runs = locked(&self.runs);
        let found = runs.values().find(|r| r.token.as_ref() == Some(token));
        if let Some(run) = found {
            run.cancel.cancel();
        }
        found.is_some()
    }

    /// Marks a session as followed by this editor (it prompts for its approvals).
    pub fn attach(&self, session: SessionId) {
        locked(&self.attached).insert(session);
    }

    pub fn is_attached(&self, session: &SessionId) -> bool {
        locked(&self.attached).contains(session)
    }

    /// Replaces the review findings; returns the URIs that had findings before.
    pub fn replace_findings(&self, findings: Findings) -> Vec<String> {
        let mut current = locked(&self.findings);
        let old = current.keys().cloned().collect();
        *current = findings;
        old
    }

    /// The findings of a document.
    pub fn findings(&self, uri: &str) -> Vec<Finding> {
        locked(&self.findings).get(uri).cloned().unwrap_or_default()
    }

    /// The session a chat document continues.
    pub fn chat_session(&self, uri: &str) -> Option<SessionId> {
        locked(&self.chats).get(uri).cloned()
    }

    pub fn set_chat_session(&self, uri: &str, session: SessionId) {
        locked(&self.chats).insert(uri.to_owned(), session);
    }
}
