//! Test harness: a temp workspace, a real store in a temp redb file, the scripted model,
//! and an agent wired to them.

use lathe_agent::model::{OpenAiClient, RetryPolicy};
use lathe_agent::tools::ToolRegistry;
use lathe_agent::{Agent, AgentConfig};
use lathe_protocol::config::ModelConfig;
use lathe_protocol::{CustomEvent, Event, EventPayload, SessionId};
use lathe_store::Store;
use lathe_tests::scripted_model::{Script, ScriptedModel};
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;
use tempfile::TempDir;

pub struct Harness {
    _workspace: TempDir,
    _state: TempDir,
    pub store: Store,
    pub model: ScriptedModel,
    pub agent: Agent,
}

impl Harness {
    pub async fn new(script: Script) -> Harness {
        Self::with(script, |_| {}, |_, _| ToolRegistry::with_file_tools()).await
    }

    pub async fn with(
        script: Script,
        configure: impl FnOnce(&mut AgentConfig),
        tools: impl FnOnce(&Path, &Path) -> ToolRegistry,
    ) -> Harness {
        let workspace = tempfile::tempdir().unwrap();
        std::fs::create_dir(workspace.path().join("src")).unwrap();
        std::fs::write(
            workspace.path().join("src/lib.rs"),
            "pub fn add(a: i32, b: i32) -> i32 {\n    a + b\n}\n",
        )
        .unwrap();
        std::fs::write(workspace.path().join("README.md"), "# demo\nhello world\n").unwrap();
        let state = tempfile::tempdir().unwrap();
        let store = Store::open(&state.path().join("lathe.redb")).unwrap();
        let model = ScriptedModel::start(script).await.unwrap();
        let model_config = ModelConfig {
            base_url: Some(model.base_url()),
            model: Some("gpt-4o".into()),
            ..ModelConfig::default()
        };
        let client = OpenAiClient::new(
            &model.base_url(),
            Some("sk-test"),
            RetryPolicy {
                max_retries: 2,
                base_delay: Duration::from_millis(1),
                max_delay: Duration::from_millis(5),
                max_retry_after: Duration::from_secs(2),
                request_timeout: Duration::from_secs(10),
            },
            Duration::from_secs(10),
        )
        .unwrap();
        let mut config = AgentConfig::new(workspace.path().to_owned(), model_config);
        configure(&mut config);
        let tools = tools(workspace.path(), state.path());
        let agent = Agent::new(store.clone(), Arc::new(client), tools, config).unwrap();
        Harness {
            _workspace: workspace,
            _state: state,
            store,
            model,
            agent,
        }
    }

    pub fn events(&self, session: &SessionId) -> Vec<Event> {
        self.store.events(session, 0, usize::MAX).unwrap()
    }
}

/// The event names of a log: AG-UI types, custom events by name; deltas left out.
pub fn names(events: &[Event]) -> Vec<String> {
    events
        .iter()
        .filter(|e| {
            !matches!(
                e.payload,
                EventPayload::TextMessageContent { .. } | EventPayload::ToolCallArgs { .. }
            )
        })
        .map(|e| match &e.payload {
            EventPayload::Custom(custom) => match custom {
                CustomEvent::ApprovalRequested(_) => "approval.requested".to_owned(),
                CustomEvent::ApprovalResolved(_) => "approval.resolved".to_owned(),
                CustomEvent::FileChanged(_) => "file.changed".to_owned(),
                CustomEvent::Usage(_) => "usage".to_owned(),
                CustomEvent::SandboxOutput(_) => "sandbox.output".to_owned(),
                CustomEvent::SandboxExited(_) => "sandbox.exited".to_owned(),
                CustomEvent::ContextCompacted(_) => "context.compacted".to_owned(),
            },
            other => other.type_name().to_owned(),
        })
        .collect()
}

/// `(is_error, content)` of every tool result in the log.
pub fn results(events: &[Event]) -> Vec<(bool, String)> {
    events
        .iter()
        .filter_map(|e| match &e.payload {
            EventPayload::ToolCallResult {
                content, is_error, ..
            } => Some((*is_error, content.clone())),
            _ => None,
        })
        .collect()
}

pub fn strings(items: &[&str]) -> Vec<String> {
    items.iter().map(|s| (*s).to_owned()).collect()
}
