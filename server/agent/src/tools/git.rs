//! `git`: status, diff and log of the workspace's repository, through lathe-workspace (gix).
//! Read-only: it never changes the index, HEAD or the work tree.

use super::WorkspaceRoot;
use super::{Tool, ToolContext, ToolKind, ToolOutput, usize_arg};
use crate::model::ToolSpec;
use futures::FutureExt;
use futures::future::BoxFuture;
use lathe_workspace::{GitDiffTarget, Workspace};
use serde_json::{Value, json};

const DEFAULT_LOG: usize = 20;

/// `git`.
#[derive(Debug)]
pub struct Git {
    workspace: WorkspaceRoot,
}

impl Git {
    pub fn new(workspace: WorkspaceRoot) -> Self {
        Self { workspace }
    }
}

fn run(workspace: &Workspace, args: &Value) -> Result<String, String> {
    if !workspace.is_git() {
        return Err("the workspace is not inside a git repository".into());
    }
    let command = args
        .get("command")
        .and_then(Value::as_str)
        .unwrap_or("status");
    let text = match command {
        "status" => workspace.git_status(),
        "diff" => {
            let target = match args.get("target").and_then(Value::as_str).unwrap_or("head") {
                "unstaged" => GitDiffTarget::Unstaged,
                "staged" => GitDiffTarget::Staged,
                "head" => GitDiffTarget::Head,
                other => {
                    return Err(format!(
                        "unknown diff target {other:?}; use unstaged, staged or head"
                    ));
                }
            };
            workspace.git_diff(target)
        }
        "log" => workspace.git_log(usize_arg(args, "max_count")?.unwrap_or(DEFAULT_LOG)),
        other => {
            return Err(format!(
                "unknown git command {other:?}; use status, diff or log"
            ));
        }
    };
    let text = text.map_err(|e| e.to_string())?;
    Ok(if text.trim().is_empty() {
        format!("(git {command}: nothing to show)")
    } else {
        text
    })
}

impl Tool for Git {
    fn spec(&self) -> ToolSpec {
        ToolSpec {
            name: "git".into(),
            description: "Inspect the workspace's git repository (read-only): `status` (changed \
                 and untracked files), `diff` (target `head` = work tree vs HEAD, `unstaged`, \
                 `staged`), `log` (recent commits, max_count)."
                .into(),
            parameters: json!({
                "type": "object",
                "properties": {
                    "command": {"type": "string", "enum": ["status", "diff", "log"]},
                    "target": {"type": "string", "enum": ["head", "unstaged", "staged"]},
                    "max_count": {"type": "integer", "minimum": 1}
                },
                "required": ["command"],
                "additionalProperties": false
            }),
        }
    }

    fn kind(&self) -> ToolKind {
        ToolKind::ReadOnly
    }

    fn rule_argument(&self, args: &Value) -> Option<String> {
        args.get("command")
            .and_then(Value::as_str)
            .map(str::to_owned)
    }

    fn call(&self, _ctx: ToolContext, args: Value) -> BoxFuture<'static, ToolOutput> {
        let workspace = self.workspace.clone();
        async move {
            let outcome = tokio::task::spawn_blocking(move || run(&workspace.open()?, &args)).await;
            match outcome {
                Ok(Ok(text)) => ToolOutput::ok(text),
                Ok(Err(error)) => ToolOutput::error(error),
                Err(join) => ToolOutput::error(format!("git failed: {join}")),
            }
        }
        .boxed()
    }
}
