//! The LSP surface: lathe-lsp on every `LATHE/1 lsp` connection and on stdio for
//! `lathe lsp --in-process`, with one agent per workspace and editor overrides.
//!
//! Invariants: editors with the same workspace and the same `initializationOptions`
//! overrides share one agent (one approval broker, one set of sessions); every agent uses
//! the daemon's store and the editor hub, so its edits reach open buffers through
//! `workspace/applyEdit` and other files are checkpointed and written on disk; a workspace
//! without a configured model is an error the editor shows, asked again at the next action.

use crate::config;
use crate::paths::Paths;
use futures::FutureExt;
use futures::future::BoxFuture;
use lathe_agent::model::OpenAiClient;
use lathe_agent::tools::{ToolRegistry, WorkspaceRoot};
use lathe_agent::{Agent, AgentConfig};
use lathe_lsp::{
    AgentBackend, AgentProvider, AgentService, EditorHub, EditorOverrides, LspError, LspServices,
    SandboxChoice, register_editor_edit_tools,
};
use lathe_sandbox::{BackendChoice, BackendKind, DaemonId, WorkspaceAccess};
use lathe_store::Store;
use std::path::{Path, PathBuf};
use std::sync::Arc;

type Built = (PathBuf, EditorOverrides, Arc<dyn AgentService>);

/// The daemon's agents, built on first use per workspace and overrides.
struct DaemonAgents(Arc<Inner>);

struct Inner {
    paths: Paths,
    store: Store,
    hub: EditorHub,
    dashboard: Option<String>,
    built: tokio::sync::Mutex<Vec<Built>>,
}

/// The services every LSP connection of this process shares.
pub(crate) fn services(paths: &Paths, store: Store, dashboard: Option<String>) -> LspServices {
    let hub = EditorHub::new();
    let agents = DaemonAgents(Arc::new(Inner {
        paths: paths.clone(),
        store,
        hub: hub.clone(),
        dashboard,
        built: tokio::sync::Mutex::new(Vec::new()),
    }));
    let mut services = LspServices::new(
        Arc::new(agents),
        paths.skill_roots(None),
        paths.state_dir.clone(),
    );
    services.hub = hub;
    services
}

impl Inner {
    async fn build(
        &self,
        workspace: &Path,
        overrides: &EditorOverrides,
    ) -> Result<Arc<dyn AgentService>, LspError> {
        let mut config = config::load(&self.paths, Some(workspace)).config;
        if let Some(model) = &overrides.model {
            config.model.model = Some(model.clone());
        }
        if let Some(mode) = overrides.approval {
            config.policy.mode = mode;
        }
        if let Some(sandbox) = overrides.sandbox {
            config.sandbox.backend = match sandbox {
                SandboxChoice::Docker => BackendChoice::Docker,
                SandboxChoice::Bwrap => BackendChoice::Bwrap,
                SandboxChoice::None => BackendChoice::None,
            };
        }
        if !config.model.is_configured() {
            return Err(LspError::AgentUnavailable(format!(
                "no model configured: set LATHE_BASE_URL (the API base including /v1) and \
                 LATHE_MODEL, or [model] base_url and model in {}",
                self.paths.user_config_file().display()
            )));
        }
        let unavailable = |what: &str, e: &dyn std::fmt::Display| {
            LspError::AgentUnavailable(format!("{what}: {e}"))
        };
        let selection =
            lathe_sandbox::select(&config.sandbox, &DaemonId::from_home(&self.paths.state_dir))
                .await
                .map_err(|e| unavailable("choosing a sandbox", &e))?;
        for warning in &selection.warnings {
            tracing::warn!(%warning, "sandbox");
        }
        let mut agent_config = AgentConfig::new(workspace.to_owned(), config.model.clone());
        agent_config.policy = config.policy.clone();
        agent_config.sandbox_isolated = selection.sandbox.kind() != BackendKind::None;
        let model = OpenAiClient::from_config(&config.model)
            .map_err(|e| unavailable("model client", &e))?;
        let root = WorkspaceRoot::new(workspace, &self.paths.state_dir);
        let mut tools = ToolRegistry::builtins(
            &root,
            Some(selection.sandbox),
            WorkspaceAccess::WorkspaceWrite,
        );
        register_editor_edit_tools(&mut tools, &root, &self.hub);
        let agent = Agent::new(self.store.clone(), Arc::new(model), tools, agent_config)
            .map_err(|e| unavailable("agent", &e))?;
        let mut backend = AgentBackend::new(agent).with_checkpoints(root);
        if let Some(url) = &self.dashboard {
            backend = backend.with_dashboard(url.clone());
        }
        Ok(Arc::new(backend))
    }
}

impl AgentProvider for DaemonAgents {
    fn agent(
        &self,
        workspace: &Path,
        overrides: &EditorOverrides,
    ) -> BoxFuture<'static, Result<Arc<dyn AgentService>, LspError>> {
        let this = self.0.clone();
        let workspace = workspace.to_owned();
        let overrides = overrides.clone();
        async move {
            let mut built = this.built.lock().await;
            if let Some((_, _, agent)) = built
                .iter()
                .find(|(w, o, _)| *w == workspace && *o == overrides)
            {
                return Ok(agent.clone());
            }
            let agent = this.build(&workspace, &overrides).await?;
            built.push((workspace, overrides, agent.clone()));
            Ok(agent)
        }
        .boxed()
    }
}
