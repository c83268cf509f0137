//! The harness: a temp workspace with files, a real store, the scripted model, a real
//! agent with the editor-aware edit tools, and the server served over in-memory streams.

use crate::editor::Editor;
use lathe_agent::model::{OpenAiClient, RetryPolicy};
use lathe_agent::tools::{ToolRegistry, WorkspaceRoot};
use lathe_agent::{Agent, AgentConfig};
use lathe_lsp::{AgentBackend, FixedAgent, LspServices, Timeouts, register_editor_tools};
use lathe_protocol::config::ModelConfig;
use lathe_protocol::{Event, EventPayload, SessionId};
use lathe_skills::SkillRoots;
use lathe_store::Store;
use lathe_tests::scripted_model::{Script, ScriptedModel, Step};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;
use tempfile::TempDir;

pub struct Harness {
    pub workspace: TempDir,
    pub state: TempDir,
    pub store: Store,
    pub model: ScriptedModel,
    pub agent: Agent,
    pub services: LspServices,
}

impl Harness {
    /// A workspace holding `files`, and a model playing `steps`.
    pub async fn new(steps: Vec<Step>, files: &[(&str, &str)]) -> Harness {
        Self::with_config(steps, files, |_| {}).await
    }

    /// Like [`Harness::new`], with the agent's configuration adjusted by `configure`.
    pub async fn with_config(
        steps: Vec<Step>,
        files: &[(&str, &str)],
        configure: impl FnOnce(&mut AgentConfig),
    ) -> Harness {
        let workspace = tempfile::tempdir().unwrap();
        for (path, text) in files {
            let path = workspace.path().join(path);
            std::fs::create_dir_all(path.parent().unwrap()).unwrap();
            std::fs::write(path, text).unwrap();
        }
        let state = tempfile::tempdir().unwrap();
        let store = Store::open(&state.path().join("lathe.redb")).unwrap();
        let model = ScriptedModel::start(Script::new(steps)).await.unwrap();
        let client = OpenAiClient::new(
            &model.base_url(),
            Some("sk-test"),
            RetryPolicy {
                max_retries: 0,
                base_delay: Duration::from_millis(1),
                max_delay: Duration::from_millis(5),
                max_retry_after: Duration::from_secs(1),
                request_timeout: Duration::from_secs(30),
            },
            Duration::from_secs(30),
        )
        .unwrap();
        let model_config = ModelConfig {
            base_url: Some(model.base_url()),
            model: Some("gpt-4o".into()),
            ..ModelConfig::default()
        };
        let root = WorkspaceRoot::new(workspace.path(), state.path());
        let hub = lathe_lsp::EditorHub::new();
        let mut tools = ToolRegistry::with_file_tools();
        register_editor_tools(&mut tools, &root, &hub);
        let mut config = AgentConfig::new(workspace.path().to_owned(), model_config);
        configure(&mut config);
        let agent = Agent::new(store.clone(), Arc::new(client), tools, config).unwrap();
        let backend = AgentBackend::new(agent.clone()).with_checkpoints(root);
        let services = LspServices {
            agents: Arc::new(FixedAgent(Arc::new(backend))),
            hub,
            skill_roots: SkillRoots::default(),
            state_dir: state.path().to_owned(),
            timeouts: Timeouts {
                apply_edit: Duration::from_secs(10),
                edit_echo: Duration::from_secs(2),
                request: Duration::from_secs(10),
            },
            questions: None,
        };
        Harness {
            workspace,
            state,
            store,
            model,
            agent,
            services,
        }
    }

    /// The canonical workspace root.
    pub fn root(&self) -> PathBuf {
        self.workspace.path().canonicalize().unwrap()
    }

    pub fn root_uri(&self) -> String {
        lathe_lsp::file_uri(&self.root())
    }

    pub fn uri(&self, relative: &str) -> String {
        lathe_lsp::file_uri(&self.root().join(relative))
    }

    pub fn read(&self, relative: &str) -> String {
        std::fs::read_to_string(self.root().join(relative)).unwrap()
    }

    /// A new editor connection to the server.
    pub fn connect(&self) -> Editor {
        connect_with(self.services.clone())
    }

    /// Every stored event of a session.
    pub fn events(&self, session: &SessionId) -> Vec<Event> {
        self.store.events(session, 0, usize::MAX).unwrap()
    }

    /// Waits until the session's run has ended (its last event is RUN_FINISHED or RUN_ERROR).
    pub async fn run_end(&self, session: &SessionId) -> EventPayload {
        let mut bus = self.store.subscribe();
        let ended = |e: &Event| {
            matches!(
                e.payload,
                EventPayload::RunFinished { .. } | EventPayload::RunError { .. }
            )
        };
        if let Some(event) = self.events(session).into_iter().rev().find(ended) {
            return event.payload;
        }
        tokio::time::timeout(crate::editor::PATIENCE, async {
            loop {
                let event = bus.recv().await.unwrap();
                if &event.session_id == session && ended(&event) {
                    return event.payload;
                }
            }
        })
        .await
        .expect("the run did not end")
    }
}

/// An editor connected to a server built from `services`.
pub fn connect_with(services: LspServices) -> Editor {
    let (client, server) = tokio::io::duplex(1 << 20);
    let (read, write) = tokio::io::split(server);
    tokio::spawn(lathe_lsp::serve_connection(read, write, services));
    Editor::new(client)
}

/// The session id a run-starting command answered with.
pub fn session_of(result: &serde_json::Value) -> SessionId {
    SessionId::from(result["sessionId"].as_str().expect("a sessionId"))
}
