//! The LSP surface: lathe-lsp on every `LATHE/1 lsp` connection and on stdio for
//! `lathe lsp --in-process`, with one agent per workspace and editor overrides.
//!
//! Invariants: editors with the same workspace and the same `initializationOptions`
//! overrides share one agent, rebuilt when the workspace's entry is replaced (a new trust); every agent asks through the daemon's one approval broker
//! and runs commands in the daemon's sandboxes; every connection that shows message
//! requests answers its workspace's MCP servers' questions; every agent is
//! built by [`agents`] over the daemon's store and the workspace's MCP hub, with the editor
//! hub's edit tools, so its edits reach open buffers through `workspace/applyEdit` and
//! other files are checkpointed and written on disk; a workspace without a configured
//! model is an error the editor shows, asked again at the next action.

use super::workspaces::Workspaces;
use crate::agents::{self, Overrides, ToolHook};
use futures::FutureExt;
use futures::future::BoxFuture;
use lathe_lsp::{
    AgentBackend, AgentProvider, AgentService, EditorHub, EditorOverrides, LspError, LspServices,
    SandboxChoice, register_editor_tools,
};
use lathe_sandbox::BackendChoice;
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// An agent built for a workspace and overrides, over the workspace entry of a generation.
type Built = (PathBuf, EditorOverrides, u64, Arc<dyn AgentService>);

/// The daemon's agents for editors, built on first use per workspace and overrides.
struct DaemonAgents(Arc<Inner>);

struct Inner {
    workspaces: Arc<Workspaces>,
    hub: EditorHub,
    dashboard: Option<String>,
    built: tokio::sync::Mutex<Vec<Built>>,
}

/// The services every LSP connection of this process shares.
pub(crate) fn services(workspaces: Arc<Workspaces>, dashboard: Option<String>) -> LspServices {
    let hub = EditorHub::new();
    let paths = workspaces.paths().clone();
    let questions = workspaces.questions().clone();
    let agents = DaemonAgents(Arc::new(Inner {
        workspaces,
        hub: hub.clone(),
        dashboard,
        built: tokio::sync::Mutex::new(Vec::new()),
    }));
    let mut services = LspServices::new(Arc::new(agents), paths.skill_roots(None), paths.state_dir);
    services.hub = hub;
    services.questions = Some(questions);
    services
}

fn overrides(editor: &EditorOverrides) -> Overrides {
    Overrides {
        model: editor.model.clone(),
        approval: editor.approval,
        sandbox: editor.sandbox.map(|choice| match choice {
            SandboxChoice::Docker => BackendChoice::Docker,
            SandboxChoice::Bwrap => BackendChoice::Bwrap,
            SandboxChoice::None => BackendChoice::None,
        }),
    }
}

impl Inner {
    async fn build(
        &self,
        workspace: &Path,
        editor: &EditorOverrides,
    ) -> anyhow::Result<(Arc<dyn AgentService>, u64)> {
        let (mcp_hub, generation) = self.workspaces.hub(workspace)?;
        let editors = self.hub.clone();
        let hook: ToolHook = Arc::new(move |tools, root| {
            register_editor_tools(tools, root, &editors);
        });
        let paths = self.workspaces.paths();
        let prepared = agents::prepare(
            paths,
            self.workspaces.sandboxes(),
            workspace,
            &overrides(editor),
        )
        .await?;
        for warning in &prepared.warnings {
            tracing::warn!(workspace = %workspace.display(), %warning, "editor agent");
        }
        let agent = prepared.agent(
            self.workspaces.store().clone(),
            self.workspaces.broker(),
            self.workspaces.runs(),
            &mcp_hub,
            Some(&hook),
        )?;
        let root = lathe_agent::tools::WorkspaceRoot::new(&prepared.workspace, &paths.state_dir);
        let mut backend = AgentBackend::new(agent).with_checkpoints(root);
        if let Some(url) = &self.dashboard {
            backend = backend.with_dashboard(url.clone());
        }
        Ok((Arc::new(backend), generation))
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
            let unavailable = |e: anyhow::Error| LspError::AgentUnavailable(format!("{e:#}"));
            let current = this
                .workspaces
                .generation(&workspace)
                .map_err(unavailable)?;
            let mut built = this.built.lock().await;
            if let Some(i) = built
                .iter()
                .position(|(w, o, _, _)| *w == workspace && *o == overrides)
            {
                if built[i].2 == current {
                    return Ok(built[i].3.clone());
                }
                built.swap_remove(i);
            }
            let (agent, generation) = this
                .build(&workspace, &overrides)
                .await
                .map_err(unavailable)?;
            built.push((workspace, overrides, generation, agent.clone()));
            Ok(agent)
        }
        .boxed()
    }
}
