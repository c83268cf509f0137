//! `edit_file`, `apply_patch` and `write_file`: lathe-edits turns the model's edit into a
//! `WorkspaceDiff` against the files on disk; the diff is materialized (refused when a file
//! changed since it was read) and written atomically (temp file + rename), and every
//! changed file is announced as a `file.changed` event with its unified diff.
//!
//! Invariants: nothing is written unless the whole edit applies; each file is replaced by a
//! rename, so a reader never sees half a file; paths are confined to the workspace
//! (lathe-edits refuses `..` and absolute paths, [`confine`] refuses symlink escapes).

use super::{Tool, ToolContext, ToolKind, ToolOutput, confine};
use crate::model::ToolSpec;
use futures::FutureExt;
use futures::future::BoxFuture;
use lathe_edits::{
    ApplyPatchArgs, EditError, EditFileArgs, EditOutcome, FileSource, WriteFileArgs, materialize,
    normalize_relative_path, render_file_diff,
};
use lathe_protocol::diff::FileOp;
use lathe_protocol::event::{FileChangeKind, FileChanged};
use lathe_protocol::{CustomEvent, EventPayload};
use serde_json::Value;
use std::io::Write;
use std::path::{Path, PathBuf};

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
}

impl EditTool {
    /// `edit_file`: search/replace.
    pub fn edit_file() -> Self {
        Self {
            format: Format::EditFile,
        }
    }

    /// `apply_patch`: Codex envelope or unified diff.
    pub fn apply_patch() -> Self {
        Self {
            format: Format::ApplyPatch,
        }
    }

    /// `write_file`: a whole file.
    pub fn write_file() -> Self {
        Self {
            format: Format::WriteFile,
        }
    }
}

/// The workspace's files on disk, as lathe-edits reads them.
struct DiskSource {
    root: PathBuf,
}

impl FileSource for DiskSource {
    fn resolve(&self, raw: &str) -> Result<String, EditError> {
        let relative = match Path::new(raw.trim()).strip_prefix(&self.root) {
            Ok(inside) => inside.to_string_lossy().into_owned(),
            Err(_) => raw.to_owned(),
        };
        let key = normalize_relative_path(&relative)?;
        confine(&self.root, &key).map_err(|reason| EditError::InvalidPath {
            path: raw.to_owned(),
            reason,
        })?;
        Ok(key)
    }

    fn read(&self, path: &str) -> Result<Option<Vec<u8>>, EditError> {
        match std::fs::read(self.root.join(path)) {
            Ok(bytes) => Ok(Some(bytes)),
            Err(error) if error.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(error) => Err(EditError::Read {
                path: path.to_owned(),
                reason: error.to_string(),
            }),
        }
    }
}

/// Writes `content` to `path` through a temp file in the same directory and a rename.
fn write_atomically(path: &Path, content: &[u8]) -> std::io::Result<()> {
    let dir = path.parent().unwrap_or(Path::new("."));
    std::fs::create_dir_all(dir)?;
    let name = path
        .file_name()
        .map_or_else(String::new, |n| n.to_string_lossy().into_owned());
    let temp = dir.join(format!(".{name}.lathe-{}.tmp", std::process::id()));
    let result = (|| {
        let mut file = std::fs::File::create(&temp)?;
        file.write_all(content)?;
        file.sync_all()?;
        if let Ok(meta) = std::fs::metadata(path) {
            std::fs::set_permissions(&temp, meta.permissions())?;
        }
        std::fs::rename(&temp, path)
    })();
    if result.is_err() {
        let _ = std::fs::remove_file(&temp);
    }
    result
}

fn compute(format: Format, src: &DiskSource, args: Value) -> Result<EditOutcome, String> {
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

/// Computes, checks and writes the edit; returns the outcome and the changes to announce.
fn apply(
    format: Format,
    root: &Path,
    args: Value,
) -> Result<(EditOutcome, Vec<FileChanged>), String> {
    let src = DiskSource {
        root: root.to_owned(),
    };
    let outcome = compute(format, &src, args)?;
    let writes = materialize(&src, &outcome.diff).map_err(|e| e.to_string())?;
    for write in &writes {
        let path = root.join(&write.path);
        let done = match &write.content {
            Some(content) => write_atomically(&path, content),
            None => match std::fs::remove_file(&path) {
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
                other => other,
            },
        };
        done.map_err(|e| format!("writing {}: {e}", write.path))?;
    }
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
        args.get("path").and_then(Value::as_str).map(str::to_owned)
    }

    fn call(&self, ctx: ToolContext, args: Value) -> BoxFuture<'static, ToolOutput> {
        let format = self.format;
        async move {
            let root = ctx.workspace.clone();
            let applied = tokio::task::spawn_blocking(move || apply(format, &root, args)).await;
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
