//! `code_context`: what lathe-context sees of a file — the context at a position or at a
//! named symbol (enclosing symbol, signature chain, imports, nearby definitions), or the
//! file's outline when neither is given.
//!
//! With a repo index ([`CodeContext::with_repo_index`]) the definitions the symbol refers
//! to are looked up across the workspace too: the tool keeps the index between calls and
//! refreshes it first, which re-reads only changed files; an index that cannot be built
//! leaves the context to the file alone, never an error.

use super::{Tool, ToolContext, ToolKind, ToolOutput, confine, string_arg, usize_arg};
use crate::model::ToolSpec;
use futures::FutureExt;
use futures::future::BoxFuture;
use lathe_context::{
    CursorRequest, DEFAULT_CURSOR_BUDGET, DefinitionLookup, Encoding, IndexOptions, RepoIndex,
    TextRange, read_document, render_outline,
};
use serde_json::{Value, json};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

/// `code_context`.
#[derive(Debug, Default)]
pub struct CodeContext {
    /// The repo index, when definitions elsewhere are looked up.
    index: Option<Arc<KeptIndex>>,
}

/// The repo index one tool keeps between calls, and its disk cache.
#[derive(Debug)]
struct KeptIndex {
    cache: PathBuf,
    index: Mutex<Option<RepoIndex>>,
}

impl CodeContext {
    /// The context of one file alone.
    pub fn file_only() -> Self {
        Self::default()
    }

    /// Also resolves referenced definitions across the workspace, through a repo index
    /// cached in `cache` (the one `repo_map` and the prompt use).
    pub fn with_repo_index(cache: PathBuf) -> Self {
        Self {
            index: Some(Arc::new(KeptIndex {
                cache,
                index: Mutex::new(None),
            })),
        }
    }
}

impl KeptIndex {
    /// Runs `f` with the workspace's index, fresh, or `None` when it cannot be built.
    fn with<T>(&self, workspace: &Path, f: impl FnOnce(Option<&RepoIndex>) -> T) -> T {
        let mut kept = self.index.lock().unwrap_or_else(|e| e.into_inner());
        if kept.as_ref().is_none_or(|index| index.root() != workspace) {
            let options = IndexOptions {
                cache_dir: Some(self.cache.clone()),
                ..IndexOptions::default()
            };
            *kept = RepoIndex::open(workspace, options)
                .inspect_err(
                    |error| tracing::warn!(%error, "code_context goes without the repo index"),
                )
                .ok();
        }
        if let Some(index) = kept.as_mut()
            && let Err(error) = index.refresh()
        {
            tracing::warn!(%error, "code_context goes without the repo index");
            *kept = None;
        }
        f(kept.as_ref())
    }
}

fn run(workspace: &Path, index: Option<&KeptIndex>, args: &Value) -> Result<String, String> {
    let raw = string_arg(args, "path")?;
    let path = confine(workspace, raw)?;
    let mut doc = read_document(&path).map_err(|e| format!("cannot read {raw}: {e}"))?;
    let symbol = args.get("symbol").and_then(Value::as_str);
    let line = usize_arg(args, "line")?;
    let selection = match (symbol, line) {
        (Some(symbol), _) => doc.find_symbol(symbol, Encoding::Utf32).ok_or_else(|| {
            format!("no definition named `{symbol}` in {raw}; call code_context without a symbol for the outline")
        })?,
        (None, Some(line)) => {
            let column = usize_arg(args, "column")?.unwrap_or(1);
            let at = lathe_context::Position::new(
                u32::try_from(line.saturating_sub(1)).unwrap_or(u32::MAX),
                u32::try_from(column.saturating_sub(1)).unwrap_or(u32::MAX),
            );
            TextRange::point(at)
        }
        (None, None) => {
            let outline = render_outline(&doc.outline(Encoding::Utf32));
            return Ok(if outline.trim().is_empty() {
                format!("{raw}: no symbols found")
            } else {
                format!("Outline of {raw}:\n{outline}")
            });
        }
    };
    let request = CursorRequest {
        path: Some(raw.to_owned()),
        selection,
        encoding: Encoding::Utf32,
        budget: DEFAULT_CURSOR_BUDGET,
        diagnostics: Vec::new(),
    };
    let mut context = |lookup: Option<&RepoIndex>| {
        doc.cursor_context(&request, lookup.map(|index| index as &dyn DefinitionLookup))
    };
    match index {
        Some(kept) => kept.with(workspace, context),
        None => context(None),
    }
    .map(|context| context.render())
    .map_err(|e| e.to_string())
}

impl Tool for CodeContext {
    fn spec(&self) -> ToolSpec {
        ToolSpec {
            name: "code_context".into(),
            description: "Understand code with tree-sitter: give a file and a symbol name \
                 (`Type::method`) or a 1-based line (and column) to get the enclosing symbol, \
                 its signature chain, the imports and nearby definitions; give only the file \
                 to get its outline."
                .into(),
            parameters: json!({
                "type": "object",
                "properties": {
                    "path": {"type": "string"},
                    "symbol": {"type": "string"},
                    "line": {"type": "integer", "minimum": 1},
                    "column": {"type": "integer", "minimum": 1}
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
        let index = self.index.clone();
        async move {
            let context =
                tokio::task::spawn_blocking(move || run(&ctx.workspace, index.as_deref(), &args));
            match context.await {
                Ok(Ok(text)) => ToolOutput::ok(text),
                Ok(Err(error)) => ToolOutput::error(error),
                Err(join) => ToolOutput::error(format!("code_context failed: {join}")),
            }
        }
        .boxed()
    }
}
