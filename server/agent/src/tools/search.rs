//! `search`: a regex over the workspace's text files, gitignore-aware, with a result cap.
//! Files the policy denies reading are skipped (see [`ReadGuard`]); a file open in an editor
//! is searched as the editor has it ([`OpenBuffers`]).

use super::{
    OpenBuffers, Tool, ToolContext, ToolKind, ToolOutput, confine, relative, string_arg, usize_arg,
};
use crate::model::ToolSpec;
use crate::policy::ReadGuard;
use futures::FutureExt;
use futures::future::BoxFuture;
use serde_json::{Value, json};
use std::path::Path;
use std::sync::Arc;

const DEFAULT_MAX_RESULTS: usize = 200;
/// Files larger than this are skipped.
const MAX_FILE_BYTES: u64 = 2 * 1024 * 1024;
/// Matching lines are cut to this many characters.
const MAX_LINE_CHARS: usize = 300;

/// `search`: regex search over the workspace.
#[derive(Debug, Default)]
pub struct Search {
    buffers: Option<Arc<dyn OpenBuffers>>,
}

impl Search {
    /// `search` reading open files from `buffers`.
    pub fn over(buffers: Arc<dyn OpenBuffers>) -> Self {
        Self {
            buffers: Some(buffers),
        }
    }
}

impl Tool for Search {
    fn spec(&self) -> ToolSpec {
        ToolSpec {
            name: "search".into(),
            description: format!(
                "Search the workspace's text files for a regular expression (Rust regex \
                 syntax), respecting .gitignore. Returns `path:line: text` for each matching \
                 line, at most max_results (default {DEFAULT_MAX_RESULTS})."
            ),
            parameters: json!({
                "type": "object",
                "properties": {
                    "pattern": {"type": "string", "description": "Regular expression."},
                    "path": {"type": "string", "description": "Directory or file to search (default \".\")."},
                    "case_insensitive": {"type": "boolean"},
                    "max_results": {"type": "integer", "minimum": 1}
                },
                "required": ["pattern"],
                "additionalProperties": false
            }),
        }
    }

    fn kind(&self) -> ToolKind {
        ToolKind::ReadOnly
    }

    fn rule_argument(&self, args: &Value) -> Option<String> {
        args.get("pattern")
            .and_then(Value::as_str)
            .map(str::to_owned)
    }

    fn call(&self, ctx: ToolContext, args: Value) -> BoxFuture<'static, ToolOutput> {
        let buffers = self.buffers.clone();
        async move {
            let outcome = tokio::task::spawn_blocking(move || {
                search(&ctx.workspace, &ctx.reads, buffers.as_deref(), &args)
            })
            .await;
            match outcome {
                Ok(Ok(text)) => ToolOutput::ok(text),
                Ok(Err(error)) => ToolOutput::error(error),
                Err(join) => ToolOutput::error(format!("search failed: {join}")),
            }
        }
        .boxed()
    }
}

fn search(
    workspace: &Path,
    reads: &ReadGuard,
    buffers: Option<&dyn OpenBuffers>,
    args: &Value,
) -> Result<String, String> {
    let pattern = string_arg(args, "pattern")?;
    let regex = regex::RegexBuilder::new(pattern)
        .case_insensitive(args.get("case_insensitive").and_then(Value::as_bool) == Some(true))
        .build()
        .map_err(|e| format!("invalid regex {pattern:?}: {e}"))?;
    let root_arg = args.get("path").and_then(Value::as_str).unwrap_or(".");
    let root = confine(workspace, root_arg)?;
    let max = usize_arg(args, "max_results")?.unwrap_or(DEFAULT_MAX_RESULTS);
    let mut walker = ignore::WalkBuilder::new(&root);
    walker
        .hidden(false)
        .require_git(false)
        .sort_by_file_path(Ord::cmp)
        .filter_entry(|e| e.file_name() != ".git");
    let mut hits = Vec::new();
    let mut truncated = false;
    'files: for entry in walker.build().flatten() {
        if !entry.file_type().is_some_and(|t| t.is_file())
            || entry.metadata().is_ok_and(|m| m.len() > MAX_FILE_BYTES)
        {
            continue;
        }
        let shown = relative(workspace, entry.path());
        if reads.hides(&shown) {
            continue;
        }
        let open = buffers.and_then(|b| b.text(entry.path()));
        let Some(bytes) = open
            .map(String::into_bytes)
            .or_else(|| std::fs::read(entry.path()).ok())
        else {
            continue;
        };
        if bytes.iter().take(8192).any(|b| *b == 0) {
            continue;
        }
        let text = String::from_utf8_lossy(&bytes);
        for (number, line) in text.lines().enumerate() {
            if regex.is_match(line) {
                if hits.len() == max {
                    truncated = true;
                    break 'files;
                }
                let line: String = line.chars().take(MAX_LINE_CHARS).collect();
                hits.push(format!("{shown}:{}: {line}", number + 1));
            }
        }
    }
    if hits.is_empty() {
        return Ok(format!("no matches for {pattern:?} under {root_arg}"));
    }
    let mut out = hits.join("\n");
    if truncated {
        out.push_str(&format!(
            "\n[stopped at {max} matches; narrow the pattern or the path]"
        ));
    }
    Ok(out)
}
