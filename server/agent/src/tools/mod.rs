//! Tools the model can call: the [`Tool`] trait, the [`ToolRegistry`] of built-in tools
//! and [`ToolSource`]s (the MCP hub offers its servers' tools as `mcp__<server>__<tool>`).
//!
//! Invariants: a tool never fails the run — every failure is a [`ToolOutput`] with
//! `is_error` whose text tells the model what went wrong; every path a tool touches is
//! confined to the workspace ([`confine`]); a tool's [`ToolKind`] is what the policy
//! judges, so a tool that writes can never pass as read-only.

mod code_context;
mod command;
mod edit;
mod files;
mod git;
mod repo_map;
mod search;

pub use code_context::CodeContext;
pub use command::RunCommand;
pub use edit::EditTool;
pub use files::{ListFiles, ReadFile};
pub use git::Git;
pub use repo_map::RepoMapTool;
pub use search::Search;

use crate::model::ToolSpec;
use crate::policy::ReadGuard;
use crate::sink::EventSink;
use futures::future::BoxFuture;
use lathe_protocol::{RunId, SessionId, ToolCallId};
use serde_json::Value;
use std::collections::BTreeMap;
use std::path::{Component, Path, PathBuf};
use std::sync::Arc;
use tokio_util::sync::CancellationToken;

/// What a tool does, as far as the policy is concerned.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ToolKind {
    /// Only reads the workspace; calls may run concurrently.
    ReadOnly,
    /// Changes files inside the workspace (checkpointed, undoable).
    WorkspaceWrite,
    /// Runs a command in the sandbox.
    Command,
    /// Acts outside Lathe's control (an MCP server's tool that is not read-only).
    External,
    /// An MCP server's tool that its server declares read-only (`readOnlyHint`): a hint,
    /// not a guarantee, so only `auto` allows it without asking.
    ExternalReadOnly,
}

impl ToolKind {
    /// Whether calls only read (so independent calls may run concurrently).
    pub fn reads_only(self) -> bool {
        matches!(self, ToolKind::ReadOnly | ToolKind::ExternalReadOnly)
    }
}

/// The result of a tool call as the model sees it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ToolOutput {
    pub content: String,
    pub is_error: bool,
}

impl ToolOutput {
    pub fn ok(content: impl Into<String>) -> Self {
        Self {
            content: content.into(),
            is_error: false,
        }
    }

    pub fn error(content: impl Into<String>) -> Self {
        Self {
            content: content.into(),
            is_error: true,
        }
    }
}

/// What a running tool call can use.
#[derive(Clone, Debug)]
pub struct ToolContext {
    /// The workspace root (canonical).
    pub workspace: PathBuf,
    pub session_id: SessionId,
    pub run_id: RunId,
    pub tool_call_id: ToolCallId,
    /// For events the tool emits while it runs (`sandbox.output`, `file.changed`).
    pub sink: EventSink,
    /// Cancelled when the run is.
    pub cancel: CancellationToken,
    /// Files the policy's `read_file` deny rules hide from tools that walk the workspace.
    pub reads: ReadGuard,
}

/// A tool.
pub trait Tool: Send + Sync + 'static {
    /// The name, description and argument schema the model sees.
    fn spec(&self) -> ToolSpec;
    fn kind(&self) -> ToolKind;
    /// The argument the policy's rules match, e.g. the command of `run_command` or the path
    /// of `write_file` (`run_command(cargo test:*)` matches the command `cargo test -q`).
    fn rule_argument(&self, _args: &Value) -> Option<String> {
        None
    }
    /// Runs the call. Failures are outputs with `is_error`, never panics.
    fn call(&self, ctx: ToolContext, args: Value) -> BoxFuture<'static, ToolOutput>;
}

/// Files as the user's editors have them open, unsaved changes included (the LSP front end
/// provides them): `read_file` and `search` read these, so that the agent sees the text its
/// own edits to open buffers produced.
pub trait OpenBuffers: Send + Sync + std::fmt::Debug + 'static {
    /// The text of `path` (absolute, as [`confine`] gives it) in an editor that has it open.
    fn text(&self, path: &Path) -> Option<String>;
}

/// A tool offered by a [`ToolSource`].
#[derive(Clone, Debug, PartialEq)]
pub struct ExternalTool {
    /// The spec, already named `mcp__<server>__<tool>`.
    pub spec: ToolSpec,
    /// The server declares the tool read-only (MCP's `readOnlyHint`).
    pub read_only: bool,
}

/// A provider of tools from outside the agent (the MCP client hub).
pub trait ToolSource: Send + Sync + 'static {
    /// The tools offered now (servers come and go; this is asked at every model call).
    fn tools(&self) -> Vec<ExternalTool>;
    /// Calls a tool by its full name.
    fn call(
        &self,
        name: &str,
        args: Value,
        cancel: CancellationToken,
    ) -> BoxFuture<'static, ToolOutput>;
    /// Resolves once the source knows its tools (e.g. its servers' first connection
    /// attempts ended, each bounded by its own startup timeout). A run waits for it before
    /// its first model call, so that the model sees every tool of a source just started.
    fn ready(&self) -> BoxFuture<'static, ()> {
        Box::pin(std::future::ready(()))
    }
}

struct SourceTool {
    source: Arc<dyn ToolSource>,
    tool: ExternalTool,
}

impl Tool for SourceTool {
    fn spec(&self) -> ToolSpec {
        self.tool.spec.clone()
    }

    fn kind(&self) -> ToolKind {
        if self.tool.read_only {
            ToolKind::ExternalReadOnly
        } else {
            ToolKind::External
        }
    }

    fn call(&self, ctx: ToolContext, args: Value) -> BoxFuture<'static, ToolOutput> {
        self.source.call(&self.tool.spec.name, args, ctx.cancel)
    }
}

/// The tools of a session: built-ins by name, then every source's tools.
#[derive(Clone, Default)]
pub struct ToolRegistry {
    tools: BTreeMap<String, Arc<dyn Tool>>,
    sources: Vec<Arc<dyn ToolSource>>,
}

impl std::fmt::Debug for ToolRegistry {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ToolRegistry")
            .field("tools", &self.tools.keys().collect::<Vec<_>>())
            .field("sources", &self.sources.len())
            .finish()
    }
}

impl ToolRegistry {
    /// An empty registry.
    pub fn new() -> Self {
        Self::default()
    }

    /// The built-in tools that need nothing but the workspace: `read_file`, `list_files`,
    /// `search`, `code_context`.
    pub fn with_file_tools() -> Self {
        let mut registry = Self::new();
        registry.register(Arc::new(ReadFile::default()));
        registry.register(Arc::new(ListFiles));
        registry.register(Arc::new(Search::default()));
        registry.register(Arc::new(CodeContext::file_only()));
        registry
    }

    /// Every built-in tool: the file tools, `edit_file`, `apply_patch`, `write_file` and
    /// `git` on `workspace`, and `run_command` in `sandbox` (with the workspace mounted with
    /// `access`).
    pub fn builtins(
        workspace: &WorkspaceRoot,
        sandbox: Option<Arc<dyn lathe_sandbox::Sandbox>>,
        access: lathe_sandbox::WorkspaceAccess,
    ) -> Self {
        let mut registry = Self::with_file_tools();
        registry.register(Arc::new(EditTool::edit_file(workspace.clone())));
        registry.register(Arc::new(EditTool::apply_patch(workspace.clone())));
        registry.register(Arc::new(EditTool::write_file(workspace.clone())));
        registry.register(Arc::new(Git::new(workspace.clone())));
        if let Some(sandbox) = sandbox {
            registry.register(Arc::new(RunCommand::new(sandbox, access)));
        }
        registry
    }

    /// Adds (or replaces) a tool under its spec's name.
    pub fn register(&mut self, tool: Arc<dyn Tool>) {
        self.tools.insert(tool.spec().name, tool);
    }

    /// Adds a source of external tools.
    pub fn add_source(&mut self, source: Arc<dyn ToolSource>) {
        self.sources.push(source);
    }

    /// Resolves once every source is [ready](ToolSource::ready).
    pub async fn ready(&self) {
        futures::future::join_all(self.sources.iter().map(|source| source.ready())).await;
    }

    /// Every tool offered now: built-ins in name order, then the sources' tools.
    pub fn all(&self) -> Vec<Arc<dyn Tool>> {
        let mut all: Vec<Arc<dyn Tool>> = self.tools.values().cloned().collect();
        for source in &self.sources {
            for tool in source.tools() {
                if !self.tools.contains_key(&tool.spec.name) {
                    all.push(Arc::new(SourceTool {
                        source: source.clone(),
                        tool,
                    }));
                }
            }
        }
        all
    }

    /// The tool called `name`, if offered.
    pub fn get(&self, name: &str) -> Option<Arc<dyn Tool>> {
        if let Some(tool) = self.tools.get(name) {
            return Some(tool.clone());
        }
        self.sources.iter().find_map(|source| {
            source
                .tools()
                .into_iter()
                .find(|t| t.spec.name == name)
                .map(|tool| {
                    Arc::new(SourceTool {
                        source: source.clone(),
                        tool,
                    }) as Arc<dyn Tool>
                })
        })
    }
}

/// Where lathe-workspace opens the workspace for a call. Tools open it per call, on a
/// blocking thread: gix repository handles are not shared between threads in this build,
/// and a fresh open sees the repository as it is now.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct WorkspaceRoot {
    pub root: PathBuf,
    /// Lathe's state directory (checkpoints of a workspace outside git live there).
    pub state_dir: PathBuf,
}

impl WorkspaceRoot {
    pub fn new(root: impl Into<PathBuf>, state_dir: impl Into<PathBuf>) -> Self {
        Self {
            root: root.into(),
            state_dir: state_dir.into(),
        }
    }

    /// Opens the workspace; the error is text for the model.
    pub fn open(&self) -> Result<lathe_workspace::Workspace, String> {
        lathe_workspace::Workspace::open(&self.root, &self.state_dir)
            .map_err(|e| format!("cannot open the workspace: {e}"))
    }
}

/// Resolves a workspace-relative (or absolute, inside the workspace) path, refusing `..`
/// and anything that leaves the workspace, including through symlinks. The path need not
/// exist; its nearest existing ancestor is what is checked.
pub fn confine(workspace: &Path, path: &str) -> Result<PathBuf, String> {
    let requested = Path::new(path);
    if requested
        .components()
        .any(|c| matches!(c, Component::ParentDir))
    {
        return Err(format!(
            "path {path:?} contains `..`; use a path inside the workspace"
        ));
    }
    let joined = if requested.is_absolute() {
        requested.to_path_buf()
    } else {
        workspace.join(requested)
    };
    let mut existing = joined.as_path();
    let mut rest = Vec::new();
    let resolved = loop {
        match existing.canonicalize() {
            Ok(real) => break real,
            Err(_) => match (existing.parent(), existing.file_name()) {
                (Some(parent), Some(name)) => {
                    rest.push(name.to_owned());
                    existing = parent;
                }
                _ => return Err(format!("path {path:?} cannot be resolved")),
            },
        }
    };
    if !resolved.starts_with(workspace) {
        return Err(format!(
            "path {path:?} is outside the workspace {}",
            workspace.display()
        ));
    }
    Ok(rest
        .into_iter()
        .rev()
        .fold(resolved, |p, name| p.join(name)))
}

/// `path` relative to the workspace, with `/` separators, for messages to the model.
pub fn relative(workspace: &Path, path: &Path) -> String {
    path.strip_prefix(workspace)
        .unwrap_or(path)
        .to_string_lossy()
        .replace('\\', "/")
}

/// Reads a required string argument.
pub fn string_arg<'a>(args: &'a Value, name: &str) -> Result<&'a str, String> {
    args.get(name)
        .and_then(Value::as_str)
        .ok_or_else(|| format!("missing string argument `{name}`"))
}

/// Reads an optional non-negative integer argument.
pub fn usize_arg(args: &Value, name: &str) -> Result<Option<usize>, String> {
    match args.get(name) {
        None | Some(Value::Null) => Ok(None),
        Some(value) => value
            .as_u64()
            .and_then(|n| usize::try_from(n).ok())
            .map(Some)
            .ok_or_else(|| format!("argument `{name}` must be a non-negative integer")),
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn confine_refuses_parent_dirs_absolute_escapes_and_symlinks() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().canonicalize().unwrap();
        std::fs::create_dir(root.join("src")).unwrap();
        let outside = tempfile::tempdir().unwrap();
        std::os::unix::fs::symlink(outside.path(), root.join("escape")).unwrap();
        assert_eq!(
            confine(&root, "src/new.rs").unwrap(),
            root.join("src/new.rs")
        );
        assert_eq!(
            confine(&root, root.join("src").to_str().unwrap()).unwrap(),
            root.join("src")
        );
        assert!(confine(&root, "../x").unwrap_err().contains(".."));
        assert!(
            confine(&root, "/etc/passwd")
                .unwrap_err()
                .contains("outside")
        );
        assert!(
            confine(&root, "escape/file")
                .unwrap_err()
                .contains("outside")
        );
    }
}
