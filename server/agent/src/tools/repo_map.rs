//! `repo_map`: lathe-context's ranked map of the workspace (definitions ranked over the
//! reference graph, personalized toward focus files and mentioned identifiers, packed to a
//! token budget), for the model to find its way around; the prompt builder puts one in
//! every run's system prompt too (see `prompt.rs`).
//!
//! Invariants: the map is built on a blocking thread from the disk cache (only changed
//! files are parsed again); a failure is text for the model, never an error of the run.

use super::{Tool, ToolContext, ToolKind, ToolOutput, usize_arg};
use crate::model::ToolSpec;
use futures::FutureExt;
use futures::future::BoxFuture;
use lathe_context::{DEFAULT_MAP_BUDGET, MapRequest, RepoMap};
use serde_json::{Value, json};
use std::path::{Path, PathBuf};

/// `repo_map`, caching its index in `cache` (memory only when `None`).
#[derive(Debug)]
pub struct RepoMapTool {
    cache: Option<PathBuf>,
}

impl RepoMapTool {
    pub fn new(cache: Option<PathBuf>) -> Self {
        Self { cache }
    }
}

/// Builds the map of `workspace` for `request` on a blocking thread.
async fn build_map(
    workspace: &Path,
    cache: Option<&Path>,
    request: MapRequest,
) -> Result<RepoMap, String> {
    let (root, cache) = (workspace.to_owned(), cache.map(Path::to_path_buf));
    tokio::task::spawn_blocking(move || RepoMap::build(&root, cache.as_deref(), &request))
        .await
        .map_err(|e| format!("the repo map failed: {e}"))?
        .map_err(|e| format!("the repo map failed: {e}"))
}

fn strings(args: &Value, name: &str) -> Vec<String> {
    args.get(name)
        .and_then(Value::as_array)
        .map(|items| {
            items
                .iter()
                .filter_map(Value::as_str)
                .map(str::to_owned)
                .collect()
        })
        .unwrap_or_default()
}

impl Tool for RepoMapTool {
    fn spec(&self) -> ToolSpec {
        ToolSpec {
            name: "repo_map".into(),
            description: "A ranked map of the workspace: the most important definitions \
                 (signatures, in file order) within a token budget, personalized toward \
                 `focus` files and `mentioned` identifiers. Use it to find where things live \
                 before reading files."
                .into(),
            parameters: json!({
                "type": "object",
                "properties": {
                    "budget": {"type": "integer", "minimum": 64, "description": "token budget (default 1024)"},
                    "focus": {"type": "array", "items": {"type": "string"}, "description": "workspace-relative files to center on"},
                    "mentioned": {"type": "array", "items": {"type": "string"}, "description": "identifiers to rank up"}
                },
                "additionalProperties": false
            }),
        }
    }

    fn kind(&self) -> ToolKind {
        ToolKind::ReadOnly
    }

    fn call(&self, ctx: ToolContext, args: Value) -> BoxFuture<'static, ToolOutput> {
        let cache = self.cache.clone();
        async move {
            let budget = match usize_arg(&args, "budget") {
                Ok(budget) => budget.unwrap_or(DEFAULT_MAP_BUDGET).max(64),
                Err(error) => return ToolOutput::error(error),
            };
            let request = MapRequest {
                budget,
                focus: strings(&args, "focus")
                    .into_iter()
                    .map(PathBuf::from)
                    .collect(),
                mentioned: strings(&args, "mentioned"),
            };
            match build_map(&ctx.workspace, cache.as_deref(), request).await {
                Ok(map) => ToolOutput::ok(map.render()),
                Err(error) => ToolOutput::error(error),
            }
        }
        .boxed()
    }
}
