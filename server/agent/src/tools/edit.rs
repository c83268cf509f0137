//! `edit_file`, `apply_patch` and `write_file`: lathe-edits turns the model's edit into a
//! `WorkspaceDiff` against the files on disk; lathe-workspace checkpoints the touched files
//! (`refs/lathe/checkpoints/<session>`, so `/undo` can restore them) and applies the diff
//! atomically; every changed file is announced as a `file.changed` event with its diff.
//!
//! Invariants: nothing is written unless the whole edit applies (a stale base hash or a
//! failed write restores what was already written); the checkpoint is taken before the
//! first byte changes; paths are confined by the workspace (no `..`, no symlink escape,
//! never under `.git`).

use super::WorkspaceRoot;
use super::{Tool, ToolContext, ToolKind, ToolOutput};
use crate::model::ToolSpec;
use futures::FutureExt;
use futures::future::BoxFuture;
use lathe_edits::{
    ApplyPatchArgs, EditFileArgs, EditOutcome, FileSource, WriteFileArgs, render_file_diff,
};
use lathe_protocol::diff::FileOp;
use lathe_protocol::event::{FileChangeKind, FileChanged};
use lathe_protocol::{CustomEvent, EventPayload};
use lathe_workspace::Workspace;
use serde_json::Value;

/// Which edit format a tool speaks.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Format {
    EditFile,
    ApplyPatch,
    WriteFile,
}

/// One of the file-changing tools.
#[derive(Debug)]
pub struct EditTool {
    format: Format,
    workspace: WorkspaceRoot,
}

impl EditTool {
    /// `edit_file`: search/replace.
    pub fn edit_file(workspace: WorkspaceRoot) -> Self {
        Self {
            format: Format::EditFile,
            workspace,
        }
    }

    /// `apply_patch`: Codex envelope or unified diff.
    pub fn apply_patch(workspace: WorkspaceRoot) -> Self {
        Self {
            format: Format::ApplyPatch,
            workspace,
        }
    }

    /// `write_file`: a whole file.
    pub fn write_file(workspace: WorkspaceRoot) -> Self {
        Self {
            format: Format::WriteFile,
            workspace,
        }
    }
}

fn compute(format: Format, src: &dyn FileSource, args: Value) -> Result<EditOutcome, String> {
    let bad_args = |e: serde_json::Error| format!("invalid arguments: {e}");
    let outcome = match format {
        Format::EditFile => {
            let args: EditFileArgs = serde_json::from_value(args).map_err(bad_args)?;
            lathe_edits::edit_file(src, &args)
        }
        Format::ApplyPatch => {
            let args: ApplyPatchArgs = serde_json::from_value(args).map_err(bad_args)?;
            lathe_edits::apply_patch(src, &args.patch)
        }
        Format::WriteFile => {
            let args: WriteFileArgs = serde_json::from_value(args).map_err(bad_args)?;
            lathe_edits::write_file(src, &args)
        }
    };
    outcome.map_err(|e| e.to_string())
}

/// Computes the edit and applies it as the run's (checkpointed first); returns the outcome
/// and the changes to announce.
fn apply(
    format: Format,
    workspace: &Workspace,
    session: &str,
    run: &str,
    args: Value,
) -> Result<(EditOutcome, Vec<FileChanged>), String> {
    let outcome = compute(format, workspace, args)?;
    workspace
        .apply_for_run(session, run, &outcome.diff)
        .map_err(|e| e.to_string())?;
    let changes = outcome
        .diff
        .files
        .iter()
        .map(|file| {
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
        })
        .collect();
    Ok((outcome, changes))
}

impl Tool for EditTool {
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
        let format = self.format;
        let workspace = self.workspace.clone();
        async move {
            let session = ctx.session_id.to_string();
            let run = ctx.run_id.to_string();
            let applied = tokio::task::spawn_blocking(move || {
                apply(format, &workspace.open()?, &session, &run, args)
            })
            .await;
            match applied {
                Ok(Ok((outcome, changes))) => {
                    for mut change in changes {
                        change.tool_call_id = Some(ctx.tool_call_id.clone());
                        ctx.sink
                            .emit(EventPayload::Custom(CustomEvent::FileChanged(change)));
                    }
                    ToolOutput::ok(outcome.summary())
                }
                Ok(Err(error)) => ToolOutput::error(error),
                Err(join) => ToolOutput::error(format!("the edit failed: {join}")),
            }
        }
        .boxed()
    }
}
