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

/// Every path a patch names, in order, once each: the Codex envelope's `*** Add File:`,
/// `*** Update File:`, `*** Delete File:` and `*** Move to:` headers and a unified diff's
/// `---` / `+++` lines (without `a/` / `b/`, never `/dev/null`). The policy judges each.
fn patch_paths(patch: &str) -> Vec<String> {
    const HEADERS: [&str; 6] = [
        "*** Add File:",
        "*** Update File:",
        "*** Delete File:",
        "*** Move to:",
        "--- ",
        "+++ ",
    ];
    let mut paths: Vec<String> = Vec::new();
    for line in patch.lines() {
        let Some(rest) = HEADERS.iter().find_map(|h| line.strip_prefix(h)) else {
            continue;
        };
        let path = rest.split('\t').next().unwrap_or_default().trim();
        let path = path
            .strip_prefix("a/")
            .or_else(|| path.strip_prefix("b/"))
            .unwrap_or(path);
        if !path.is_empty() && path != "/dev/null" && !paths.iter().any(|p| p == path) {
            paths.push(path.to_owned());
        }
    }
    paths
}

/// Computes the edit, checkpoints the files it touches, applies it; returns the outcome
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
        .checkpoint(session, run, &outcome.diff.touched_paths())
        .map_err(|e| format!("could not checkpoint the files before changing them: {e}"))?;
    workspace.apply(&outcome.diff).map_err(|e| e.to_string())?;
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
        if self.format == Format::ApplyPatch {
            let patch = args.get("patch").or_else(|| args.get("input"))?.as_str()?;
            return Some(patch_paths(patch).join("\n"));
        }
        args.get("path").and_then(Value::as_str).map(str::to_owned)
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

#[cfg(test)]
mod tests {
    use super::patch_paths;
    use pretty_assertions::assert_eq;

    #[test]
    fn patches_name_every_path_they_touch() {
        let codex = "*** Begin Patch\n*** Update File: src/a.rs\n*** Move to: src/b.rs\n@@\n-x\n+y\n*** Add File: .env\n+K=V\n*** Delete File: old.txt\n*** End Patch\n";
        assert_eq!(
            patch_paths(codex),
            ["src/a.rs", "src/b.rs", ".env", "old.txt"]
        );
        let unified = "--- a/src/a.rs\t2026-01-01\n+++ b/src/a.rs\n@@ -1 +1 @@\n-x\n+y\n--- /dev/null\n+++ b/new.rs\n@@ -0,0 +1 @@\n+z\n";
        assert_eq!(patch_paths(unified), ["src/a.rs", "new.rs"]);
    }
}
