//! The tools Lathe serves: their schemas and annotations, and the ones that need no run
//! (`code_context`, `repo_map`, `list_sessions`, `sandbox_exec`). `run_task`, `reply` and
//! `cancel` live in `run.rs`.
//!
//! Invariants: every tool has an input schema and an output schema, and every successful
//! result carries structured content matching it plus the same facts as text; a failure
//! the caller can act on is a result with `isError`, never a protocol error.

use super::documents::Documents;
use super::services::Services;
use lathe_agent::policy::{Policy, Verdict};
use lathe_agent::tools::ToolKind;
use lathe_context::{CursorRequest, Encoding, Position, TextRange};
use rmcp::model::{CallToolResult, ContentBlock, Tool};
use serde_json::{Map, Value, json};
use std::path::Path;
use std::time::Duration;

/// The tool list, in the order clients show it.
pub fn definitions() -> Vec<Tool> {
    let turn_output = json!({
        "type": "object",
        "properties": {
            "sessionId": {"type": "string"},
            "status": {"type": "string", "enum": ["finished", "failed", "cancelled", "idle", "running"]},
            "answer": {"type": "string"},
            "changedFiles": {"type": "array", "items": {"type": "object", "properties": {
                "path": {"type": "string"}, "kind": {"type": "string"}}, "required": ["path", "kind"]}},
            "diffSummary": {"type": "string"},
            "error": {"type": "object", "properties": {"code": {"type": "string"}, "message": {"type": "string"}}}
        },
        "required": ["sessionId", "status", "answer", "changedFiles", "diffSummary"]
    });
    let tools = json!([
        {
            "name": "run_task",
            "title": "Run a coding task",
            "description": "Runs the Lathe agent on a task in the workspace: it reads and searches code, edits files and runs commands in its sandbox (asking for approval where the policy says so). Returns the answer, a summary of the changed files and the session id; follow up with `reply`. Sends progress notifications while it works.",
            "inputSchema": {"type": "object", "properties": {
                "prompt": {"type": "string", "description": "What to do"},
                "skill": {"type": "string", "description": "A skill to run (see the prompts list), e.g. `fix`"},
                "arguments": {"type": "object", "additionalProperties": {"type": "string"}, "description": "The skill's arguments"},
                "workspace": {"type": "string", "description": "The workspace root; must be the one this Lathe serves"},
                "approval": {"type": "string", "enum": ["read-only", "ask", "auto"], "description": "Approval mode for this run; it can only be stricter than the mode the user configured (read-only < ask < auto)"}
            }, "required": ["prompt"]},
            "outputSchema": turn_output,
            "annotations": {"title": "Run a coding task", "readOnlyHint": false, "destructiveHint": true, "idempotentHint": false, "openWorldHint": false}
        },
        {
            "name": "reply",
            "title": "Reply in a session",
            "description": "Continues a Lathe session with a new message (a follow-up instruction or an answer to the agent's question). Returns like `run_task`.",
            "inputSchema": {"type": "object", "properties": {
                "sessionId": {"type": "string"},
                "message": {"type": "string"}
            }, "required": ["sessionId", "message"]},
            "outputSchema": turn_output,
            "annotations": {"title": "Reply in a session", "readOnlyHint": false, "destructiveHint": true, "idempotentHint": false, "openWorldHint": false}
        },
        {
            "name": "cancel",
            "title": "Cancel a run",
            "description": "Cancels the run in progress in a session (its pending approvals are denied).",
            "inputSchema": {"type": "object", "properties": {"sessionId": {"type": "string"}}, "required": ["sessionId"]},
            "outputSchema": {"type": "object", "properties": {"sessionId": {"type": "string"}, "cancelled": {"type": "boolean"}}, "required": ["sessionId", "cancelled"]},
            "annotations": {"title": "Cancel a run", "readOnlyHint": false, "destructiveHint": false, "idempotentHint": true, "openWorldHint": false}
        },
        {
            "name": "code_context",
            "title": "Code context",
            "description": "The code context Lathe's agent sees at a position or symbol: the enclosing definitions and their signatures, the focus text, imports and the definitions it references, packed to a token budget (tree-sitter).",
            "inputSchema": {"type": "object", "properties": {
                "file": {"type": "string", "description": "Workspace-relative path"},
                "line": {"type": "integer", "minimum": 1, "description": "1-based line"},
                "column": {"type": "integer", "minimum": 1, "description": "1-based column in characters (default 1)"},
                "symbol": {"type": "string", "description": "A definition instead of a position: `name`, `Type::method` or `Class.method`"},
                "budget": {"type": "integer", "minimum": 64, "description": "Token budget (default 2000)"}
            }, "required": ["file"]},
            "outputSchema": {"type": "object", "properties": {
                "text": {"type": "string"}, "tokens": {"type": "integer"}, "path": {"type": "string"},
                "language": {"type": ["string", "null"]}, "line": {"type": "integer"}, "column": {"type": "integer"}
            }, "required": ["text", "tokens", "path", "line", "column"]},
            "annotations": {"title": "Code context", "readOnlyHint": true, "destructiveHint": false, "idempotentHint": true, "openWorldHint": false}
        },
        {
            "name": "repo_map",
            "title": "Repository map",
            "description": "A ranked map of the workspace's definitions (files, types, functions with line numbers) packed to a token budget, personalized toward focus files.",
            "inputSchema": {"type": "object", "properties": {
                "budget": {"type": "integer", "minimum": 64, "description": "Token budget (default 1024)"},
                "focus": {"type": "array", "items": {"type": "string"}, "description": "Files to rank toward"}
            }},
            "outputSchema": {"type": "object", "properties": {
                "text": {"type": "string"}, "tokens": {"type": "integer"}, "budget": {"type": "integer"},
                "totalFiles": {"type": "integer"}, "totalDefinitions": {"type": "integer"}, "shownDefinitions": {"type": "integer"}
            }, "required": ["text", "tokens", "budget", "totalFiles", "totalDefinitions", "shownDefinitions"]},
            "annotations": {"title": "Repository map", "readOnlyHint": true, "destructiveHint": false, "idempotentHint": true, "openWorldHint": false}
        },
        {
            "name": "sandbox_exec",
            "title": "Run a command in the sandbox",
            "description": "Runs a shell command in the workspace's sandbox (no network, resource limits) and returns its exit code and output. The policy decides; when it asks, the question goes to you by elicitation if your client supports it.",
            "inputSchema": {"type": "object", "properties": {
                "command": {"type": "string", "description": "A shell command, run with /bin/sh -c in the workspace"},
                "timeoutSec": {"type": "number", "exclusiveMinimum": 0, "description": "Kill it after this many seconds"}
            }, "required": ["command"]},
            "outputSchema": {"type": "object", "properties": {
                "exitCode": {"type": "integer"}, "timedOut": {"type": "boolean"}, "stdout": {"type": "string"},
                "stderr": {"type": "string"}, "durationMs": {"type": "integer"}
            }, "required": ["exitCode", "timedOut", "stdout", "stderr", "durationMs"]},
            "annotations": {"title": "Run a command in the sandbox", "readOnlyHint": false, "destructiveHint": true, "idempotentHint": false, "openWorldHint": false}
        },
        {
            "name": "list_sessions",
            "title": "List sessions",
            "description": "Lathe's sessions, most recently active first, with their status; read one with the resource lathe://sessions/{id}.",
            "inputSchema": {"type": "object", "properties": {
                "limit": {"type": "integer", "minimum": 1, "description": "At most this many (default 50)"},
                "status": {"type": "string", "enum": ["idle", "running", "finished", "failed", "cancelled"]}
            }},
            "outputSchema": {"type": "object", "properties": {"sessions": {"type": "array", "items": {"type": "object", "properties": {
                "id": {"type": "string"}, "title": {"type": "string"}, "status": {"type": "string"}, "workspace": {"type": "string"},
                "origin": {"type": "string"}, "createdAt": {"type": "integer"}, "updatedAt": {"type": "integer"}
            }, "required": ["id", "title", "status"]}}}, "required": ["sessions"]},
            "annotations": {"title": "List sessions", "readOnlyHint": true, "destructiveHint": false, "idempotentHint": true, "openWorldHint": false}
        }
    ]);
    serde_json::from_value(tools).unwrap_or_default()
}

/// A successful result: `text` for people and older clients, `structured` for programs.
pub fn structured(text: String, structured: Value) -> CallToolResult {
    let mut result = CallToolResult::success(vec![ContentBlock::text(text)]);
    result.structured_content = Some(structured);
    result
}

/// A failed call the caller can act on.
pub fn failure(message: impl Into<String>) -> CallToolResult {
    CallToolResult::error(vec![ContentBlock::text(message.into())])
}

fn int(args: &Map<String, Value>, name: &str) -> Result<Option<u64>, String> {
    match args.get(name) {
        None | Some(Value::Null) => Ok(None),
        Some(value) => value
            .as_u64()
            .map(Some)
            .ok_or_else(|| format!("`{name}` must be a non-negative integer")),
    }
}

/// A workspace path from an argument, refused when it leaves the workspace.
fn workspace_path(workspace: &Path, file: &str) -> Result<std::path::PathBuf, String> {
    lathe_agent::tools::confine(workspace, file)
}

/// `code_context`, on the kept documents (parsed once per file version, see `documents`).
pub fn code_context(
    services: &Services,
    documents: &Documents,
    args: &Map<String, Value>,
) -> CallToolResult {
    let Some(file) = args.get("file").and_then(Value::as_str) else {
        return failure("`file` is required");
    };
    let budget = match int(args, "budget") {
        Ok(budget) => budget.map_or(2000, |b| b.max(64) as usize),
        Err(e) => return failure(e),
    };
    let path = match workspace_path(&services.workspace, file) {
        Ok(path) => path,
        Err(e) => return failure(e),
    };
    let symbol = args.get("symbol").and_then(Value::as_str);
    let position = match (int(args, "line"), int(args, "column")) {
        (Err(e), _) | (_, Err(e)) => return failure(e),
        (Ok(line), Ok(column)) => line.filter(|l| *l >= 1).map(|line| {
            (
                u32::try_from(line).unwrap_or(u32::MAX),
                u32::try_from(column.unwrap_or(1).max(1)).unwrap_or(u32::MAX),
            )
        }),
    };
    if symbol.is_none() && position.is_none() {
        return failure("give `line` (1-based) or `symbol`");
    }
    let computed = documents.with(&path, |document| {
        let (line, column) = match symbol {
            Some(symbol) => match document.find_symbol(symbol, Encoding::Utf32) {
                Some(range) => (range.start.line + 1, range.start.character + 1),
                None => return Err(format!("no definition `{symbol}` in {file}")),
            },
            None => position.unwrap_or((1, 1)),
        };
        let request = CursorRequest {
            path: Some(path.to_string_lossy().into_owned()),
            selection: TextRange::point(Position::new(line - 1, column - 1)),
            encoding: Encoding::Utf32,
            budget,
            diagnostics: Vec::new(),
        };
        document
            .cursor_context(&request, None)
            .map(|context| (context, line, column))
            .map_err(|e| e.to_string())
    });
    match computed {
        Ok(Ok((context, line, column))) => {
            let text = context.render();
            let relative = lathe_agent::tools::relative(&services.workspace, &path);
            structured(
                text.clone(),
                json!({
                    "text": text, "tokens": context.tokens, "path": relative,
                    "language": context.language.map(|l| l.name()), "line": line, "column": column,
                }),
            )
        }
        Ok(Err(e)) => failure(e),
        Err(e) => failure(e.to_string()),
    }
}

pub async fn repo_map(services: &Services, args: &Map<String, Value>) -> CallToolResult {
    let budget = match int(args, "budget") {
        Ok(budget) => budget.map_or(lathe_context::DEFAULT_MAP_BUDGET, |b| b.max(64) as usize),
        Err(e) => return failure(e),
    };
    let focus: Vec<std::path::PathBuf> = args
        .get("focus")
        .and_then(Value::as_array)
        .map(|items| {
            items
                .iter()
                .filter_map(Value::as_str)
                .map(Into::into)
                .collect()
        })
        .unwrap_or_default();
    let root = services.workspace.clone();
    let cache = services.repo_map_cache.clone();
    let request = lathe_context::MapRequest {
        budget,
        focus,
        mentioned: Vec::new(),
    };
    let built = tokio::task::spawn_blocking(move || {
        lathe_context::RepoMap::build(&root, cache.as_deref(), &request)
    })
    .await;
    match built {
        Ok(Ok(map)) => structured(
            map.render(),
            json!({
                "text": map.text, "tokens": map.tokens, "budget": map.budget,
                "totalFiles": map.total_files, "totalDefinitions": map.total_definitions,
                "shownDefinitions": map.definitions.len(),
            }),
        ),
        Ok(Err(e)) => failure(e.to_string()),
        Err(e) => failure(format!("the repo map failed: {e}")),
    }
}

pub fn list_sessions(services: &Services, args: &Map<String, Value>) -> CallToolResult {
    let limit = match int(args, "limit") {
        Ok(limit) => limit.map_or(50, |l| l as usize),
        Err(e) => return failure(e),
    };
    let wanted = args.get("status").and_then(Value::as_str);
    let sessions = match services.store.sessions() {
        Ok(sessions) => sessions,
        Err(e) => return failure(e.to_string()),
    };
    let listed: Vec<Value> = sessions
        .into_iter()
        .filter_map(|s| serde_json::to_value(&s).ok())
        .filter(|s| wanted.is_none_or(|w| s["status"] == w))
        .take(limit)
        .collect();
    let text = if listed.is_empty() {
        "No sessions.".to_owned()
    } else {
        listed
            .iter()
            .map(|s| {
                format!(
                    "{}  {}  {}",
                    s["id"].as_str().unwrap_or_default(),
                    s["status"].as_str().unwrap_or_default(),
                    s["title"].as_str().unwrap_or_default()
                )
            })
            .collect::<Vec<_>>()
            .join("\n")
    };
    structured(text, json!({ "sessions": listed }))
}

/// What the policy says about running `command` outside a run.
pub fn exec_verdict(services: &Services, command: &str, isolated: bool) -> Verdict {
    match Policy::from_config(&services.policy) {
        Ok(policy) => policy.decide("run_command", ToolKind::Command, Some(command), isolated),
        Err(e) => Verdict::Deny(format!("the policy is invalid: {e}")),
    }
}

/// Runs an approved command and shapes the result.
pub async fn run_command(
    services: &Services,
    command: &str,
    timeout: Option<Duration>,
    output: tokio::sync::mpsc::Sender<String>,
) -> CallToolResult {
    let Some(runner) = &services.commands else {
        return failure(
            "no sandbox is available to this Lathe server; `lathe doctor` says how to set one up",
        );
    };
    match runner.run(command.to_owned(), timeout, output).await {
        Ok(done) => {
            let mut text = format!("exit code {}", done.exit_code);
            if done.timed_out {
                text.push_str(" (timed out)");
            }
            if !done.stdout.is_empty() {
                text.push_str(&format!("\nstdout:\n{}", done.stdout));
            }
            if !done.stderr.is_empty() {
                text.push_str(&format!("\nstderr:\n{}", done.stderr));
            }
            structured(
                text,
                json!({
                    "exitCode": done.exit_code, "timedOut": done.timed_out, "stdout": done.stdout,
                    "stderr": done.stderr, "durationMs": done.duration_ms,
                }),
            )
        }
        Err(e) => failure(format!("the sandbox failed: {e}")),
    }
}
