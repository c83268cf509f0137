//! `read_file` (line ranges, size cap, numbered lines) and `list_files` (gitignore-aware).

use super::{Tool, ToolContext, ToolKind, ToolOutput, confine, relative, string_arg, usize_arg};
use crate::model::ToolSpec;
use futures::FutureExt;
use futures::future::BoxFuture;
use serde_json::{Value, json};
use std::path::Path;

/// Lines `read_file` returns when no range is given.
const DEFAULT_LINES: usize = 2000;
/// The most bytes `read_file` returns.
const MAX_READ_BYTES: usize = 256 * 1024;
/// The most entries `list_files` returns.
const MAX_LIST: usize = 1000;

/// `read_file`: a file's lines, numbered, optionally a range.
#[derive(Debug)]
pub struct ReadFile;

impl Tool for ReadFile {
    fn spec(&self) -> ToolSpec {
        ToolSpec {
            name: "read_file".into(),
            description: format!(
                "Read a text file of the workspace. Returns numbered lines (`N\\tline`). \
                 Without a range, returns the first {DEFAULT_LINES} lines; use start_line and \
                 end_line (1-based, inclusive) for other parts of long files."
            ),
            parameters: json!({
                "type": "object",
                "properties": {
                    "path": {"type": "string", "description": "Workspace-relative path."},
                    "start_line": {"type": "integer", "minimum": 1},
                    "end_line": {"type": "integer", "minimum": 1}
                },
                "required": ["path"],
                "additionalProperties": false
            }),
        }
    }

    fn kind(&self) -> ToolKind {
        ToolKind::ReadOnly
    }

    fn rule_argument(&self, args: &Value) -> Option<String> {
        args.get("path").and_then(Value::as_str).map(str::to_owned)
    }

    fn call(&self, ctx: ToolContext, args: Value) -> BoxFuture<'static, ToolOutput> {
        async move {
            match read(&ctx.workspace, &args).await {
                Ok(text) => ToolOutput::ok(text),
                Err(error) => ToolOutput::error(error),
            }
        }
        .boxed()
    }
}

async fn read(workspace: &Path, args: &Value) -> Result<String, String> {
    let path_arg = string_arg(args, "path")?;
    let path = confine(workspace, path_arg)?;
    let start = usize_arg(args, "start_line")?.unwrap_or(1).max(1);
    let end = usize_arg(args, "end_line")?;
    if let Some(end) = end
        && end < start
    {
        return Err(format!("end_line {end} is before start_line {start}"));
    }
    let bytes = tokio::fs::read(&path)
        .await
        .map_err(|e| format!("cannot read {path_arg}: {e}"))?;
    if bytes.iter().take(8192).any(|b| *b == 0) {
        return Err(format!(
            "{path_arg} is a binary file ({} bytes)",
            bytes.len()
        ));
    }
    let text = String::from_utf8_lossy(&bytes);
    let total = text.lines().count();
    if total == 0 {
        return Ok(format!("({path_arg} is empty)"));
    }
    if start > total {
        return Err(format!(
            "{path_arg} has {total} lines; start_line {start} is past the end"
        ));
    }
    let last = end.unwrap_or(start + DEFAULT_LINES - 1).min(total);
    let mut out = String::new();
    let mut shown_last = start - 1;
    for (number, line) in text
        .lines()
        .enumerate()
        .skip(start - 1)
        .take(last + 1 - start)
    {
        if out.len() + line.len() > MAX_READ_BYTES {
            break;
        }
        out.push_str(&format!("{}\t{line}\n", number + 1));
        shown_last = number + 1;
    }
    if shown_last < total && (end.is_none() || shown_last < last) {
        out.push_str(&format!(
            "[showing lines {start}-{shown_last} of {total}; read more with start_line={}]\n",
            shown_last + 1
        ));
    }
    Ok(out)
}

/// `list_files`: the files under a directory, gitignore-aware.
#[derive(Debug)]
pub struct ListFiles;

impl Tool for ListFiles {
    fn spec(&self) -> ToolSpec {
        ToolSpec {
            name: "list_files".into(),
            description: format!(
                "List the files under a workspace directory (default: the whole workspace), \
                 respecting .gitignore. Returns workspace-relative paths, at most {MAX_LIST}."
            ),
            parameters: json!({
                "type": "object",
                "properties": {
                    "path": {"type": "string", "description": "Directory, workspace-relative (default \".\")."},
                    "max_depth": {"type": "integer", "minimum": 1}
                },
                "additionalProperties": false
            }),
        }
    }

    fn kind(&self) -> ToolKind {
        ToolKind::ReadOnly
    }

    fn rule_argument(&self, args: &Value) -> Option<String> {
        args.get("path").and_then(Value::as_str).map(str::to_owned)
    }

    fn call(&self, ctx: ToolContext, args: Value) -> BoxFuture<'static, ToolOutput> {
        async move {
            let outcome = tokio::task::spawn_blocking(move || list(&ctx.workspace, &args)).await;
            match outcome {
                Ok(Ok(text)) => ToolOutput::ok(text),
                Ok(Err(error)) => ToolOutput::error(error),
                Err(join) => ToolOutput::error(format!("list_files failed: {join}")),
            }
        }
        .boxed()
    }
}

fn list(workspace: &Path, args: &Value) -> Result<String, String> {
    let dir_arg = args.get("path").and_then(Value::as_str).unwrap_or(".");
    let dir = confine(workspace, dir_arg)?;
    if !dir.is_dir() {
        return Err(format!("{dir_arg} is not a directory"));
    }
    let mut walker = ignore::WalkBuilder::new(&dir);
    walker
        .hidden(false)
        .require_git(false)
        .filter_entry(|e| e.file_name() != ".git");
    if let Some(depth) = usize_arg(args, "max_depth")? {
        walker.max_depth(Some(depth));
    }
    let mut files = Vec::new();
    let mut more = false;
    for entry in walker.build().flatten() {
        if entry.file_type().is_some_and(|t| t.is_file()) {
            if files.len() == MAX_LIST {
                more = true;
                break;
            }
            files.push(relative(workspace, entry.path()));
        }
    }
    files.sort();
    let mut out = files.join("\n");
    if files.is_empty() {
        out = format!("(no files under {dir_arg})");
    }
    if more {
        out.push_str(&format!(
            "\n[stopped at {MAX_LIST} files; list a subdirectory to see more]"
        ));
    }
    Ok(out)
}
