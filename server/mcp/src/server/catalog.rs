//! Resources, prompts and completion: sessions as `lathe://sessions/{id}` (markdown and
//! JSON transcript) and `lathe://sessions/{id}/diff`, every skill as a prompt, and
//! completion of session ids and file paths.
//!
//! Invariants: pages hold at most [`PAGE`] items and the cursor is the opaque offset of the
//! next page (an unknown cursor is an invalid-params error); what a resource holds is a view
//! of the stored events at the time of reading.

use super::services::Services;
use super::transcript;
use lathe_protocol::SessionId;
use lathe_protocol::skill::SkillVars;
use rmcp::ErrorData;
use serde::de::DeserializeOwned;
use serde_json::{Map, Value, json};
use std::collections::BTreeMap;

/// Items per page of a list.
pub const PAGE: usize = 50;

pub const SESSION_SCHEME: &str = "lathe://sessions/";

pub fn from_json<T: DeserializeOwned>(value: Value) -> Result<T, ErrorData> {
    serde_json::from_value(value)
        .map_err(|e| ErrorData::internal_error(format!("building a result: {e}"), None))
}

/// The page of `items` at `cursor`, and the next cursor.
pub fn page<T: Clone>(
    items: &[T],
    cursor: Option<&str>,
) -> Result<(Vec<T>, Option<String>), ErrorData> {
    let start = match cursor {
        None => 0,
        Some(cursor) => cursor
            .parse::<usize>()
            .ok()
            .filter(|n| *n <= items.len())
            .ok_or_else(|| ErrorData::invalid_params(format!("unknown cursor {cursor:?}"), None))?,
    };
    let end = (start + PAGE).min(items.len());
    let next = (end < items.len()).then(|| end.to_string());
    Ok((items[start..end].to_vec(), next))
}

fn store_error(e: lathe_store::StoreError) -> ErrorData {
    tracing::error!(error = %e, "store read failed");
    ErrorData::internal_error(format!("the session store failed: {e}"), None)
}

/// `resources/list`: every session, most recent first.
pub fn list_resources(services: &Services, cursor: Option<&str>) -> Result<Value, ErrorData> {
    let sessions = services.store.sessions().map_err(store_error)?;
    let (page, next) = page(&sessions, cursor)?;
    let resources: Vec<Value> = page
        .iter()
        .map(|s| {
            json!({
                "uri": format!("{SESSION_SCHEME}{}", s.id),
                "name": if s.title.is_empty() { s.id.to_string() } else { s.title.clone() },
                "description": format!("Lathe session ({:?}, from {})", s.status, s.origin).to_lowercase(),
                "mimeType": "text/markdown",
            })
        })
        .collect();
    Ok(with_cursor(json!({ "resources": resources }), next))
}

fn with_cursor(mut value: Value, next: Option<String>) -> Value {
    if let Some(next) = next {
        value["nextCursor"] = json!(next);
    }
    value
}

pub fn resource_templates() -> Value {
    json!({"resourceTemplates": [
        {"uriTemplate": "lathe://sessions/{id}", "name": "session", "title": "Session transcript",
         "description": "A Lathe session's transcript as markdown and its event log as JSON (AG-UI events)",
         "mimeType": "text/markdown"},
        {"uriTemplate": "lathe://sessions/{id}/diff", "name": "session-diff", "title": "Session diff",
         "description": "Every change a Lathe session made to files, as a unified diff",
         "mimeType": "text/x-diff"}
    ]})
}

/// `resources/read` of a session URI; `None` when the URI is not Lathe's.
pub fn read_resource(services: &Services, uri: &str) -> Result<Option<Value>, ErrorData> {
    let Some(rest) = uri.strip_prefix(SESSION_SCHEME) else {
        return Ok(None);
    };
    let (id, diff) = match rest.strip_suffix("/diff") {
        Some(id) => (id, true),
        None => (rest, false),
    };
    let session = SessionId::from(id);
    let Some(meta) = services.store.session(&session).map_err(store_error)? else {
        return Err(ErrorData::resource_not_found(
            format!("no session {id}"),
            Some(json!({ "uri": uri })),
        ));
    };
    let events = services
        .store
        .events(&session, 0, usize::MAX)
        .map_err(store_error)?;
    let contents = if diff {
        json!([{"uri": uri, "mimeType": "text/x-diff", "text": transcript::diff(&events)}])
    } else {
        json!([
            {"uri": uri, "mimeType": "text/markdown", "text": transcript::markdown(&meta, &events)},
            {"uri": uri, "mimeType": "application/json",
             "text": serde_json::to_string(&json!({"session": meta, "events": events})).unwrap_or_default()}
        ])
    };
    Ok(Some(json!({ "contents": contents })))
}

/// The arguments a skill's prompt takes: `input` (unless the skill names it) and the
/// skill's own.
fn prompt_arguments(spec: &lathe_protocol::skill::SkillSpec) -> Vec<Value> {
    let mut arguments = Vec::new();
    if !spec.arguments.iter().any(|a| a.name == "input") {
        arguments.push(json!({"name": "input", "description": "What to do (the text after the slash command)", "required": false}));
    }
    for argument in &spec.arguments {
        arguments.push(json!({"name": argument.name, "description": argument.description, "required": argument.required}));
    }
    for (name, description) in [
        ("file", "A workspace-relative file the prompt is about"),
        ("selection", "Code the prompt is about"),
    ] {
        if !spec.arguments.iter().any(|a| a.name == name) {
            arguments.push(json!({"name": name, "description": description, "required": false}));
        }
    }
    arguments
}

/// `prompts/list`: every skill.
pub fn list_prompts(services: &Services, cursor: Option<&str>) -> Result<Value, ErrorData> {
    let snapshot = services.skills.snapshot();
    let prompts: Vec<Value> = snapshot
        .skills()
        .iter()
        .map(|skill| {
            let spec = skill.spec();
            json!({"name": spec.name, "description": spec.description, "arguments": prompt_arguments(spec)})
        })
        .collect();
    let (page, next) = page(&prompts, cursor)?;
    Ok(with_cursor(json!({ "prompts": page }), next))
}

/// The variables a prompt's arguments give.
pub fn skill_vars(arguments: &Map<String, Value>) -> SkillVars {
    let text = |name: &str| {
        arguments
            .get(name)
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_owned()
    };
    let named: BTreeMap<String, String> = arguments
        .iter()
        .filter(|(k, _)| !matches!(k.as_str(), "input" | "file" | "selection" | "language"))
        .filter_map(|(k, v)| v.as_str().map(|v| (k.clone(), v.to_owned())))
        .collect();
    SkillVars {
        input: text("input"),
        selection: text("selection"),
        file: text("file"),
        language: text("language"),
        arguments: named,
        ..SkillVars::default()
    }
}

/// `prompts/get`: the skill rendered as one user message (instructions, then the request).
pub fn get_prompt(
    services: &Services,
    name: &str,
    arguments: &Map<String, Value>,
) -> Result<Value, ErrorData> {
    let snapshot = services.skills.snapshot();
    let skill = snapshot
        .get(name)
        .ok_or_else(|| ErrorData::invalid_params(format!("no prompt {name:?}"), None))?;
    for argument in &skill.spec().arguments {
        if argument.required && !arguments.contains_key(&argument.name) {
            return Err(ErrorData::invalid_params(
                format!("prompt {name:?} needs the argument {:?}", argument.name),
                None,
            ));
        }
    }
    let rendered = skill
        .render(&skill_vars(arguments))
        .map_err(|e| ErrorData::invalid_params(e.to_string(), None))?;
    let text = format!(
        "{}\n\n{}",
        rendered.system_prompt.trim_end(),
        rendered.user_prompt
    );
    Ok(json!({
        "description": skill.spec().description,
        "messages": [{"role": "user", "content": {"type": "text", "text": text}}],
    }))
}

/// Completion values for an argument: session ids for the session templates, workspace
/// paths for `file`, nothing else.
pub fn complete(
    services: &Services,
    reference: &Value,
    argument: &str,
    prefix: &str,
) -> Vec<String> {
    let is_session_template = reference["type"] == "ref/resource"
        && reference["uri"]
            .as_str()
            .is_some_and(|uri| uri.starts_with(SESSION_SCHEME));
    let mut values: Vec<String> = if is_session_template && argument == "id" {
        services
            .store
            .sessions()
            .unwrap_or_default()
            .into_iter()
            .map(|s| s.id.to_string())
            .filter(|id| id.starts_with(prefix))
            .collect()
    } else if reference["type"] == "ref/prompt" && argument == "file" {
        workspace_files(&services.workspace, prefix)
    } else {
        Vec::new()
    };
    values.truncate(100);
    values
}

fn workspace_files(root: &std::path::Path, prefix: &str) -> Vec<String> {
    let mut files = Vec::new();
    for entry in ignore::WalkBuilder::new(root)
        .hidden(true)
        .build()
        .flatten()
    {
        if files.len() >= 100 {
            break;
        }
        if !entry.file_type().is_some_and(|t| t.is_file()) {
            continue;
        }
        let relative = lathe_agent::tools::relative(root, entry.path());
        if relative.starts_with(prefix) {
            files.push(relative);
        }
    }
    files.sort();
    files
}
