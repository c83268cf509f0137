//! `code_context`: what lathe-context sees of a file — the context at a position or at a
//! named symbol (enclosing symbol, signature chain, imports, nearby definitions), or the
//! file's outline when neither is given.
//!
//! With a repo index cache ([`CodeContext::with_repo_index`]) the definitions the symbol
//! refers to are looked up across the workspace too (the index is refreshed from the disk
//! cache first, which re-reads only changed files); an index that cannot be built leaves
//! the context to the file alone, never an error.

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

/// `code_context`.
#[derive(Debug, Default)]
pub struct CodeContext {
    /// The repo index's disk cache, when definitions elsewhere are looked up.
    index_cache: Option<PathBuf>,
}

impl CodeContext {
    /// The context of one file alone.
    pub fn file_only() -> Self {
        Self::default()
    }

    /// Also resolves referenced definitions across the workspace, through the repo index
    /// cached in `cache` (the one `repo_map` and the prompt use).
    pub fn with_repo_index(cache: PathBuf) -> Self {
        Self {
            index_cache: Some(cache),
        }
    }
}

/// The workspace's index, fresh, or `None` when it cannot be built.
fn repo_index(workspace: &Path, cache: &Path) -> Option<RepoIndex> {
    let options = IndexOptions {
        cache_dir: Some(cache.to_owned()),
        ..IndexOptions::default()
    };
    let built = RepoIndex::open(workspace, options).and_then(|mut index| {
        index.refresh()?;
        Ok(index)
    });
    match built {
        Ok(index) => Some(index),
        Err(error) => {
            tracing::warn!(%error, "code_context goes without the repo index");
            None
        }
    }
}

fn run(workspace: &Path, index_cache: Option<&Path>, args: &Value) -> Result<String, String> {
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
    let index = index_cache.and_then(|cache| repo_index(workspace, cache));
    let lookup = index.as_ref().map(|index| index as &dyn DefinitionLookup);
    doc.cursor_context(&request, lookup)
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
        let cache = self.index_cache.clone();
        async move {
            let context =
                tokio::task::spawn_blocking(move || run(&ctx.workspace, cache.as_deref(), &args));
            match context.await {
                Ok(Ok(text)) => ToolOutput::ok(text),
                Ok(Err(error)) => ToolOutput::error(error),
                Err(join) => ToolOutput::error(format!("code_context failed: {join}")),
            }
        }
        .boxed()
    }
}
