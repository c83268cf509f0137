//! Building the agent for a workspace: configuration, model client, sandbox, tools, policy.
//!
//! Every surface gets its agent here (`lathe run`, and in the daemon the LSP and MCP front
//! ends), so a workspace behaves the same from every surface.
//! Invariants: a missing model is an error that says how to configure one; configuration
//! problems and sandbox warnings are returned to the caller to show, never swallowed.

use crate::config::{self, NO_MODEL_HELP};
use crate::paths::Paths;
use anyhow::Context;
use lathe_agent::model::OpenAiClient;
use lathe_agent::tools::{ToolRegistry, WorkspaceRoot};
use lathe_agent::{Agent, AgentConfig};
use lathe_protocol::config::ApprovalMode;
use lathe_sandbox::{BackendChoice, BackendKind, DaemonId, WorkspaceAccess};
use lathe_store::Store;
use std::path::Path;
use std::sync::Arc;

/// Per-surface adjustments on top of the workspace's configuration (e.g. an editor's
/// `initializationOptions`).
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash)]
pub struct Overrides {
    pub model: Option<String>,
    pub approval: Option<ApprovalMode>,
    pub sandbox: Option<BackendChoice>,
}

/// A built agent and what the user should be told about how it was built.
pub struct BuiltAgent {
    pub agent: Agent,
    /// Configuration problems and sandbox warnings, one line each.
    pub warnings: Vec<String>,
}

/// Adjusts a workspace's tools after the built-ins are registered (the daemon routes edits
/// through the editors this way).
pub type ToolHook = Arc<dyn Fn(&mut ToolRegistry, &WorkspaceRoot) + Send + Sync>;

/// Builds the agent of `workspace` (an existing directory) over `store`.
pub async fn build(
    paths: &Paths,
    store: Store,
    workspace: &Path,
    overrides: &Overrides,
    hook: Option<&ToolHook>,
) -> anyhow::Result<BuiltAgent> {
    let workspace = workspace
        .canonicalize()
        .with_context(|| format!("workspace {}", workspace.display()))?;
    let loaded = config::load(paths, Some(&workspace));
    let mut warnings: Vec<String> = loaded
        .problems
        .iter()
        .map(|p| format!("config: {p}"))
        .collect();
    let mut config = loaded.config;
    if let Some(model) = &overrides.model {
        config.model.model = Some(model.clone());
    }
    if let Some(mode) = overrides.approval {
        config.policy.mode = mode;
    }
    if let Some(backend) = overrides.sandbox {
        config.sandbox.backend = backend;
    }
    if !config.model.is_configured() {
        anyhow::bail!("{NO_MODEL_HELP}");
    }
    let selection = lathe_sandbox::select(&config.sandbox, &DaemonId::from_home(&paths.state_dir))
        .await
        .context("choosing a sandbox")?;
    warnings.extend(selection.warnings.iter().map(ToString::to_string));

    let mut agent_config = AgentConfig::new(workspace.clone(), config.model.clone());
    agent_config.policy = config.policy.clone();
    agent_config.sandbox_isolated = selection.sandbox.kind() != BackendKind::None;
    let model = OpenAiClient::from_config(&config.model)?;
    let root = WorkspaceRoot::new(&workspace, &paths.state_dir);
    let mut tools = ToolRegistry::builtins(
        &root,
        Some(selection.sandbox),
        WorkspaceAccess::WorkspaceWrite,
    );
    if let Some(hook) = hook {
        hook(&mut tools, &root);
    }
    let agent = Agent::new(store, Arc::new(model), tools, agent_config)?;
    Ok(BuiltAgent { agent, warnings })
}
