//! Editor-aware tools for the agent: `edit_file`, `apply_patch` and `write_file` that
//! read open files from the editors' buffers and apply changes to open files through the
//! editor (`workspace/applyEdit`, so the editor's undo works), writing the other files
//! through lathe-workspace (checkpoint, then atomic apply); and `read_file` and `search`
//! reading open files from the buffers too, so that the agent sees what its edits did.
//!
//! The daemon registers them over the agent's own tools with [`register_editor_tools`];
//! their names, schemas and descriptions are the same.
//!
//! Invariants: an edit is computed against exactly the text the editor shows (unsaved
//! changes included) or the disk for files no editor has open; editor edits go first, so
//! a refused edit stops the tool before any disk write, and the result names what was
//! applied where; files written to disk are checkpointed before the first byte changes
//! (`/undo` restores them); every changed file is announced as `file.changed`.

use crate::hub::{EditorApply, EditorHub};
use futures::FutureExt;
use futures::future::BoxFuture;
use lathe_agent::model::ToolSpec;
use lathe_agent::tools::{
    OpenBuffers, ReadFile, Search, Tool, ToolContext, ToolKind, ToolOutput, ToolRegistry,
    WorkspaceRoot,
};
use lathe_edits::{
    ApplyPatchArgs, EditError, EditFileArgs, EditOutcome, FileDiff, FileOp, FileSource,
    WorkspaceDiff, WriteFileArgs, render_file_diff,
};
use lathe_protocol::event::{FileChangeKind, FileChanged};
use lathe_protocol::{CustomEvent, EventPayload};
use lathe_workspace::Workspace;
use serde_json::Value;
use std::sync::Arc;

/// Which edit format a tool speaks.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Format {
    EditFile,
    ApplyPatch,
    WriteFile,
}

/// An edit tool that goes through the editors when they have the file open.
#[derive(Debug)]
pub struct EditorEditTool {
    format: Format,
    workspace: WorkspaceRoot,
    hub: EditorHub,
}

/// Registers `edit_file`, `apply_patch`, `write_file`, `read_file` and `search` over
/// `hub`, replacing tools of the same names.
pub fn register_editor_tools(tools: &mut ToolRegistry, workspace: &WorkspaceRoot, hub: &EditorHub) {
    for format in [Format::EditFile, Format::ApplyPatch, Format::WriteFile] {
        tools.register(Arc::new(EditorEditTool {
            format,
            workspace: workspace.clone(),
            hub: hub.clone(),
        }));
    }
    let buffers: Arc<dyn OpenBuffers> = Arc::new(hub.clone());
    tools.register(Arc::new(ReadFile::over(buffers.clone())));
    tools.register(Arc::new(Search::over(buffers)));
}

impl OpenBuffers for EditorHub {
    fn text(&self, path: &std::path::Path) -> Option<String> {
        self.open_text(path).map(|open| open.text)
    }
}

/// The workspace's files as the editors show them.
struct Overlay<'a> {
    workspace: &'a Workspace,
    hub: &'a EditorHub,
}

impl FileSource for Overlay<'_> {
    fn resolve(&self, raw: &str) -> Result<String, EditError> {
        FileSource::resolve(self.workspace, raw)
    }

    fn read(&self, path: &str) -> Result<Option<Vec<u8>>, EditError> {
        match self.hub.open_text(&self.workspace.root().join(path)) {
            Some(open) => Ok(Some(open.text.into_bytes())),
            None => FileSource::read(self.workspace, path),
        }
    }
}

fn compute(format: Format, source: &dyn FileSource, args: Value) -> Result<EditOutcome, String> {
    let bad_args = |e: serde_json::Error| format!("invalid arguments: {e}");
    let outcome = match format {
        Format::EditFile => {
            let args: EditFileArgs = serde_json::from_value(args).map_err(bad_args)?;
            lathe_edits::edit_file(source, &args)
        }
        Format::ApplyPatch => {
            let args: ApplyPatchArgs = serde_json::from_value(args).map_err(bad_args)?;
            lathe_edits::apply_patch(source, &args.patch)
        }
        Format::WriteFile => {
            let args: WriteFileArgs = serde_json::from_value(args).map_err(bad_args)?;
            lathe_edits::write_file(source, &args)
        }
    };
    outcome.map_err(|e| e.to_string())
}

fn announcement(file: &FileDiff) -> FileChanged {
    let (kind, old_path, path) = match &file.op {
        FileOp::Create { .. } => (FileChangeKind::Created, None, file.path.clone()),
        FileOp::Delete { .. } => (FileChangeKind::Deleted, None, file.path.clone()),
        FileOp::Modify {
            rename_to: Some(to),
            ..
        } => (FileChangeKind::Renamed, Some(file.path.clone()), to.clone()),
        FileOp::Modify { .. } => (FileChangeKind::Modified, None, file.path.clone()),
    };
    FileChanged {
        path,
        kind,
        old_path,
        diff: render_file_diff(file),
        tool_call_id: None,
    }
}

/// Runs blocking workspace work on a blocking thread; errors are text for the model.
async fn blocking<T: Send + 'static>(
    work: impl FnOnce() -> Result<T, String> + Send + 'static,
) -> Result<T, String> {
    tokio::task::spawn_blocking(work)
        .await
        .map_err(|e| format!("the edit failed: {e}"))?
}

impl EditorEditTool {
    async fn run(&self, ctx: &ToolContext, args: Value) -> Result<String, String> {
        let (format, root, hub) = (self.format, self.workspace.clone(), self.hub.clone());
        let outcome = blocking(move || {
            let workspace = root.open()?;
            compute(
                format,
                &Overlay {
                    workspace: &workspace,
                    hub: &hub,
                },
                args,
            )
        })
        .await?;
        let root_dir = self
            .workspace
            .root
            .canonicalize()
            .unwrap_or_else(|_| self.workspace.root.clone());
        let mut on_disk = Vec::new();
        let mut in_editor = Vec::new();
        for file in &outcome.diff.files {
            match self.hub.apply(&root_dir, file).await {
                Ok(EditorApply::Applied { editor }) => {
                    in_editor.push(format!("{} (in {editor})", file.path));
                }
                Ok(EditorApply::NotInEditor) => on_disk.push(file.clone()),
                Err(error) => {
                    let done = if in_editor.is_empty() {
                        "nothing was changed".to_owned()
                    } else {
                        format!("already applied: {}", in_editor.join(", "))
                    };
                    return Err(format!("{}: {error}; {done}", file.path));
                }
            }
        }
        if !on_disk.is_empty() {
            let root = self.workspace.clone();
            let (session, run) = (ctx.session_id.to_string(), ctx.run_id.to_string());
            let diff = WorkspaceDiff { files: on_disk };
            blocking(move || {
                root.open()?
                    .apply_for_run(&session, &run, &diff)
                    .map(drop)
                    .map_err(|e| e.to_string())
            })
            .await?;
        }
        for file in &outcome.diff.files {
            let mut change = announcement(file);
            change.tool_call_id = Some(ctx.tool_call_id.clone());
            ctx.sink
                .emit(EventPayload::Custom(CustomEvent::FileChanged(change)));
        }
        let mut summary = outcome.summary();
        if !in_editor.is_empty() {
            summary.push_str(&format!(
                "\napplied in the editor (unsaved there): {}",
                in_editor.join(", ")
            ));
        }
        Ok(summary)
    }
}

impl Tool for EditorEditTool {
    fn spec(&self) -> ToolSpec {
        let spec = match self.format {
            Format::EditFile => lathe_edits::edit_file_tool(),
            Format::ApplyPatch => lathe_edits::apply_patch_tool(),
            Format::WriteFile => lathe_edits::write_file_tool(),
        };
        ToolSpec {
            name: spec.name.to_owned(),
            description: spec.description.to_owned(),
            parameters: spec.parameters,
        }
    }

    fn kind(&self) -> ToolKind {
        ToolKind::WorkspaceWrite
    }

    fn rule_argument(&self, args: &Value) -> Option<String> {
        lathe_edits::rule_paths(&self.spec().name, args)
    }

    fn call(&self, ctx: ToolContext, args: Value) -> BoxFuture<'static, ToolOutput> {
        let tool = EditorEditTool {
            format: self.format,
            workspace: self.workspace.clone(),
            hub: self.hub.clone(),
        };
        async move {
            match tool.run(&ctx, args).await {
                Ok(summary) => ToolOutput::ok(summary),
                Err(error) => ToolOutput::error(error),
            }
        }
        .boxed()
    }
}
