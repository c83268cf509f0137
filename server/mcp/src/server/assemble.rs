//! A whole MCP server built from plain options: the store, the hub of MCP servers, the
//! agent (when a model is configured) with the file tools and the hub's tools, and the
//! skills. The crate's example and tests use it; the daemon builds its servers
//! itself (`workspaces.rs` there), with its own agents, sandbox and configuration.
//!
//! Invariant: a missing model is not an error — the server still serves code context,
//! sessions and prompts, and `run_task` says how to configure a model.

use super::Shared;
use super::relay::ElicitationRelay;
use super::services::{AgentService, CommandRunner, Services};
use crate::client::{AskTheUser, Hub, HubOptions};
use crate::config::ServerConfig;
use crate::error::McpError;
use lathe_agent::model::OpenAiClient;
use lathe_agent::tools::ToolRegistry;
use lathe_agent::{Agent, AgentConfig, Attachment, QuestionBroker};
use lathe_protocol::config::{ModelConfig, PolicyConfig};
use lathe_skills::{Registry, SkillRoots};
use lathe_store::Store;
use std::path::PathBuf;
use std::sync::Arc;

/// What to build a server from.
#[derive(Clone)]
pub struct BuildOptions {
    pub store: Store,
    pub workspace: PathBuf,
    pub model: ModelConfig,
    pub policy: PolicyConfig,
    /// The MCP servers whose tools the agent gets.
    pub mcp_servers: Vec<ServerConfig>,
    /// Where skills are read from besides the built-ins.
    pub skills: SkillRoots,
    pub commands: Option<Arc<dyn CommandRunner>>,
    pub repo_map_cache: Option<PathBuf>,
}

impl std::fmt::Debug for BuildOptions {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("BuildOptions")
            .field("workspace", &self.workspace)
            .field("mcp_servers", &self.mcp_servers.len())
            .finish()
    }
}

/// The built server and the hub behind its agent (for health and shutdown).
#[derive(Debug)]
pub struct Built {
    pub shared: Arc<Shared>,
    pub hub: Hub,
    /// Keeps the server's MCP clients attached to the question broker the hub asks.
    _relay: Attachment,
}

/// Builds the services; the hub starts its servers in the background.
pub fn build(options: BuildOptions) -> Result<Built, McpError> {
    let workspace = options
        .workspace
        .canonicalize()
        .map_err(|e| McpError::Serve(format!("workspace {}: {e}", options.workspace.display())))?;
    let questions = QuestionBroker::default();
    let elicitation = ElicitationRelay::default();
    let relay = elicitation.attach(&questions, &workspace);
    let hub = Hub::start(
        options.mcp_servers,
        HubOptions {
            workspace: Some(workspace.clone()),
            elicitation: Some(Arc::new(AskTheUser {
                broker: questions.clone(),
                workspace: workspace.clone(),
            })),
            ..HubOptions::default()
        },
    );
    let agent: Option<Arc<dyn AgentService>> = if options.model.is_configured() {
        let client = OpenAiClient::from_config(&options.model)
            .map_err(|e| McpError::Serve(e.to_string()))?;
        let mut tools = ToolRegistry::with_file_tools();
        tools.add_source(Arc::new(hub.clone()));
        let mut config = AgentConfig::new(workspace.clone(), options.model.clone());
        config.policy = options.policy.clone();
        config.sandbox_isolated = options.commands.as_ref().is_some_and(|c| c.isolated());
        let agent = Agent::new(options.store.clone(), Arc::new(client), tools, config)
            .map_err(|e| McpError::Serve(e.to_string()))?;
        Some(Arc::new(agent))
    } else {
        None
    };
    let services = Services {
        store: options.store,
        agent,
        skills: Arc::new(Registry::new(options.skills)),
        workspace,
        repo_map_cache: options.repo_map_cache,
        commands: options.commands,
        policy: options.policy,
        elicitation,
    };
    Ok(Built {
        shared: Shared::new(services),
        hub,
        _relay: relay,
    })
}
