//! The official conformance suite's fixture set (`test_*` tools and prompts, `test://`
//! resources), as the suite's scenario descriptions specify them. Registered only by
//! `Shared::with_conformance_fixtures`, which exists only with the
//! `conformance-fixtures` cargo feature (the conformance test enables it): the shipped
//! server never lists them.

use super::polling::{ResponseStreams, SESSION_HEADER};
use rmcp::model::{CallToolResponse, CallToolResult, ContentBlock, ErrorData, Tool};
use rmcp::service::{RequestContext, RoleServer};
use serde_json::{Map, Value, json};
use std::time::Duration;

/// A 1×1 red PNG.
const PNG: &str = "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8DwHwAFBQIAX8jx0gAAAABJRU5ErkJggg==";
/// A WAV header with no samples.
const WAV: &str = "UklGRiQAAABXQVZFZm10IBAAAAABAAEAQB8AAEAfAAABAAgAZGF0YQAAAAA=";

pub fn tools() -> Vec<Tool> {
    let empty = json!({"type": "object", "properties": {}});
    let mut tools = vec![
        json!({"name": "json_schema_2020_12_tool", "description": "Tool with JSON Schema 2020-12 features",
            "inputSchema": {
                "$schema": "https://json-schema.org/draft/2020-12/schema", "type": "object",
                "$defs": {"address": {"type": "object", "properties": {"street": {"type": "string"}, "city": {"type": "string"}}}},
                "properties": {"name": {"type": "string"}, "address": {"$ref": "#/$defs/address"}},
                "additionalProperties": false}}),
        json!({"name": "test_sampling", "description": "Asks the client's model",
            "inputSchema": {"type": "object", "properties": {"prompt": {"type": "string"}}, "required": ["prompt"]}}),
        json!({"name": "test_elicitation", "description": "Asks the user",
            "inputSchema": {"type": "object", "properties": {"message": {"type": "string"}}, "required": ["message"]}}),
    ];
    for name in [
        "test_simple_text",
        "test_image_content",
        "test_audio_content",
        "test_embedded_resource",
        "test_multiple_content_types",
        "test_tool_with_logging",
        "test_error_handling",
        "test_tool_with_progress",
        "test_elicitation_sep1034_defaults",
        "test_elicitation_sep1330_enums",
        "test_reconnection",
    ] {
        tools.push(json!({"name": name, "description": format!("Conformance fixture {name}"), "inputSchema": empty}));
    }
    tools
        .into_iter()
        .filter_map(|t| serde_json::from_value(t).ok())
        .collect()
}

fn text(text: impl Into<String>) -> Result<CallToolResponse, ErrorData> {
    Ok(CallToolResult::success(vec![ContentBlock::text(text)]).into())
}

fn blocks(value: Value) -> Result<CallToolResponse, ErrorData> {
    let content: Vec<ContentBlock> = super::catalog::from_json(value)?;
    Ok(CallToolResult::success(content).into())
}

async fn elicit(
    context: &RequestContext<RoleServer>,
    params: Value,
    prefix: &str,
) -> Result<CallToolResponse, ErrorData> {
    let params = super::catalog::from_json(params)?;
    match context.peer.create_elicitation(params).await {
        Ok(result) => {
            let value = serde_json::to_value(&result).unwrap_or_default();
            text(format!(
                "{prefix}action={}, content={}",
                value["action"].as_str().unwrap_or_default(),
                value.get("content").cloned().unwrap_or(json!({}))
            ))
        }
        Err(e) => Ok(CallToolResult::error(vec![ContentBlock::text(format!(
            "elicitation failed: {e}"
        ))])
        .into()),
    }
}

#[allow(deprecated)]
pub async fn call_tool(
    name: &str,
    args: &Map<String, Value>,
    context: &RequestContext<RoleServer>,
    streams: Option<&ResponseStreams>,
) -> Result<CallToolResponse, ErrorData> {
    let pause = || tokio::time::sleep(Duration::from_millis(50));
    match name {
        "test_simple_text" => text("This is a simple text response for testing."),
        "test_image_content" => blocks(json!([{"type": "image", "data": PNG, "mimeType": "image/png"}])),
        "test_audio_content" => blocks(json!([{"type": "audio", "data": WAV, "mimeType": "audio/wav"}])),
        "test_embedded_resource" => blocks(json!([{"type": "resource", "resource": {
            "uri": "test://embedded-resource", "mimeType": "text/plain", "text": "This is an embedded resource content."}}])),
        "test_multiple_content_types" => blocks(json!([
            {"type": "text", "text": "Multiple content types test:"},
            {"type": "image", "data": PNG, "mimeType": "image/png"},
            {"type": "resource", "resource": {"uri": "test://mixed-content-resource", "mimeType": "application/json",
                "text": "{\"test\":\"data\",\"value\":123}"}}])),
        "test_error_handling" => Ok(CallToolResult::error(vec![ContentBlock::text(
            "This tool intentionally returns an error for testing",
        )])
        .into()),
        "test_tool_with_logging" => {
            for (i, message) in ["Tool execution started", "Tool processing data", "Tool execution completed"]
                .into_iter()
                .enumerate()
            {
                if i > 0 {
                    pause().await;
                }
                let params = super::catalog::from_json(json!({"level": "info", "logger": "conformance", "data": message}))?;
                let _ = context.peer.notify_logging_message(params).await;
            }
            text("Tool with logging executed successfully")
        }
        "test_tool_with_progress" => {
            if let Some(token) = context.meta.get_progress_token() {
                for (i, progress) in [0.0, 50.0, 100.0].into_iter().enumerate() {
                    if i > 0 {
                        pause().await;
                    }
                    if let Some(param) = super::run::progress_param(&token, progress, Some(100.0), None) {
                        let _ = context.peer.notify_progress(param).await;
                    }
                }
            }
            text("Tool with progress executed successfully")
        }
        "test_reconnection" => {
            let session = context
                .extensions
                .get::<http::request::Parts>()
                .and_then(|parts| parts.headers.get(SESSION_HEADER))
                .and_then(|v| v.to_str().ok());
            let id = serde_json::to_value(&context.id).unwrap_or_default();
            let ended = matches!((streams, session), (Some(streams), Some(session)) if streams.end(session, &id));
            pause().await;
            text(if ended {
                "Reconnection test completed: the result arrived after the stream was ended"
            } else {
                "Reconnection test completed without an HTTP stream to end"
            })
        }
        "test_sampling" => {
            let prompt = args.get("prompt").and_then(Value::as_str).unwrap_or_default();
            let params = super::catalog::from_json(json!({
                "messages": [{"role": "user", "content": {"type": "text", "text": prompt}}], "maxTokens": 100}))?;
            match context.peer.create_message(params).await {
                Ok(result) => {
                    let value = serde_json::to_value(&result).unwrap_or_default();
                    text(format!("LLM response: {}", value["content"]["text"].as_str().unwrap_or_default()))
                }
                Err(e) => Ok(CallToolResult::error(vec![ContentBlock::text(format!("sampling failed: {e}"))]).into()),
            }
        }
        "test_elicitation" => {
            let message = args.get("message").and_then(Value::as_str).unwrap_or_default();
            elicit(context, json!({"message": message, "requestedSchema": {"type": "object", "properties": {
                "username": {"type": "string", "description": "User's response"},
                "email": {"type": "string", "description": "User's email address"}},
                "required": ["username", "email"]}}), "User response: ").await
        }
        "test_elicitation_sep1034_defaults" => {
            elicit(context, json!({"message": "Please review and update the form fields with defaults", "requestedSchema": {
                "type": "object", "properties": {
                    "name": {"type": "string", "description": "User name", "default": "John Doe"},
                    "age": {"type": "integer", "description": "User age", "default": 30},
                    "score": {"type": "number", "description": "User score", "default": 95.5},
                    "status": {"type": "string", "description": "User status", "enum": ["active", "inactive", "pending"], "default": "active"},
                    "verified": {"type": "boolean", "description": "Verification status", "default": true}}}}),
                "Elicitation completed: ").await
        }
        "test_elicitation_sep1330_enums" => {
            elicit(context, json!({"message": "Please select options from the enum fields", "requestedSchema": {
                "type": "object", "properties": {
                    "untitledSingle": {"type": "string", "description": "Select one option", "enum": ["option1", "option2", "option3"]},
                    "titledSingle": {"type": "string", "description": "Select one option with titles", "oneOf": [
                        {"const": "value1", "title": "First Option"}, {"const": "value2", "title": "Second Option"},
                        {"const": "value3", "title": "Third Option"}]},
                    "legacyEnum": {"type": "string", "description": "Select one option (legacy)", "enum": ["opt1", "opt2", "opt3"],
                        "enumNames": ["Option One", "Option Two", "Option Three"]},
                    "untitledMulti": {"type": "array", "description": "Select multiple options",
                        "items": {"type": "string", "enum": ["option1", "option2", "option3"]}},
                    "titledMulti": {"type": "array", "description": "Select multiple options with titles",
                        "items": {"anyOf": [{"const": "value1", "title": "First Choice"}, {"const": "value2", "title": "Second Choice"},
                            {"const": "value3", "title": "Third Choice"}]}}}}}),
                "Elicitation completed: ").await
        }
        other => Err(ErrorData::invalid_params(format!("no tool {other:?}"), None)),
    }
}

pub fn add_resources(value: &mut Value) {
    if let Some(list) = value["resources"].as_array_mut() {
        list.extend([
            json!({"uri": "test://static-text", "name": "static-text", "description": "A static text resource", "mimeType": "text/plain"}),
            json!({"uri": "test://static-binary", "name": "static-binary", "description": "A static binary resource", "mimeType": "image/png"}),
            json!({"uri": "test://watched-resource", "name": "watched-resource", "description": "A resource to subscribe to", "mimeType": "text/plain"}),
        ]);
    }
}

pub fn add_templates(value: &mut Value) {
    if let Some(list) = value["resourceTemplates"].as_array_mut() {
        list.push(
            json!({"uriTemplate": "test://template/{id}/data", "name": "template-data",
            "description": "Data by id", "mimeType": "application/json"}),
        );
    }
}

pub fn read_resource(uri: &str) -> Option<Value> {
    let content = match uri {
        "test://static-text" => {
            json!({"uri": uri, "mimeType": "text/plain", "text": "This is the content of the static text resource."})
        }
        "test://static-binary" => json!({"uri": uri, "mimeType": "image/png", "blob": PNG}),
        "test://watched-resource" => {
            json!({"uri": uri, "mimeType": "text/plain", "text": "Watched resource content."})
        }
        _ => {
            let id = uri
                .strip_prefix("test://template/")?
                .strip_suffix("/data")?;
            let text =
                json!({"id": id, "templateTest": true, "data": format!("Data for ID: {id}")})
                    .to_string();
            json!({"uri": uri, "mimeType": "application/json", "text": text})
        }
    };
    Some(json!({"contents": [content]}))
}

pub fn add_prompts(value: &mut Value) {
    if let Some(list) = value["prompts"].as_array_mut() {
        list.extend([
            json!({"name": "test_simple_prompt", "description": "A simple prompt"}),
            json!({"name": "test_prompt_with_arguments", "description": "A prompt with arguments", "arguments": [
                {"name": "arg1", "description": "First test argument", "required": true},
                {"name": "arg2", "description": "Second test argument", "required": true}]}),
            json!({"name": "test_prompt_with_embedded_resource", "description": "A prompt with a resource", "arguments": [
                {"name": "resourceUri", "description": "URI of the resource to embed", "required": true}]}),
            json!({"name": "test_prompt_with_image", "description": "A prompt with an image"}),
        ]);
    }
}

pub fn get_prompt(name: &str, args: &Map<String, Value>) -> Option<Value> {
    let arg = |n: &str| {
        args.get(n)
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_owned()
    };
    let user = |content: Value| json!({"role": "user", "content": content});
    let messages = match name {
        "test_simple_prompt" => vec![user(
            json!({"type": "text", "text": "This is a simple prompt for testing."}),
        )],
        "test_prompt_with_arguments" => vec![user(json!({"type": "text",
            "text": format!("Prompt with arguments: arg1='{}', arg2='{}'", arg("arg1"), arg("arg2"))}))],
        "test_prompt_with_embedded_resource" => vec![
            user(
                json!({"type": "resource", "resource": {"uri": arg("resourceUri"), "mimeType": "text/plain",
                "text": "Embedded resource content for testing."}}),
            ),
            user(json!({"type": "text", "text": "Please process the embedded resource above."})),
        ],
        "test_prompt_with_image" => vec![
            user(json!({"type": "image", "data": PNG, "mimeType": "image/png"})),
            user(json!({"type": "text", "text": "Please analyze the image above."})),
        ],
        _ => return None,
    };
    Some(json!({"messages": messages}))
}

pub fn complete(argument: &str, prefix: &str) -> Vec<String> {
    let candidates: &[&str] = match argument {
        "arg1" | "arg2" => &["paris", "park", "party", "hello", "world"],
        _ => &[],
    };
    candidates
        .iter()
        .filter(|c| c.starts_with(prefix))
        .map(|c| (*c).to_owned())
        .collect()
}
