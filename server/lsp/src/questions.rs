//! What MCP servers ask the user (MCP elicitation), put to the editor's user: each
//! connection whose client shows message requests is a surface of the daemon's question
//! broker for its workspace, racing the dashboard and Lathe's MCP clients.
//!
//! LSP has buttons but no text fields, so an editor takes a form only when every field it
//! must fill is a choice (a boolean, an enum, a `oneOf` of constants): one
//! `window/showMessageRequest` per field, each with a Decline button. Other forms are left
//! to the surfaces that render them (the dashboard). A page to open (URL elicitation) is
//! offered with Open / Decline and opened with `window/showDocument` (external); a client
//! without it is asked to open the page itself (Opened it / Decline).
//!
//! Invariants: a dismissed prompt is no reply (the other surfaces may still answer), never
//! a decline; the question's future is dropped when another surface answered, so a later
//! click changes nothing (LSP gives the server no way to take a shown prompt back).

use crate::connection::ClientCaps;
use crate::pick::pick;
use futures::FutureExt;
use futures::future::BoxFuture;
use lathe_agent::QuestionSurface;
use lathe_protocol::{Question, QuestionKind, QuestionReply, Surface};
use serde_json::{Map, Value};
use tower_lsp_server::Client;
use tower_lsp_server::gen_lsp_types as lsp;

const DECLINE: &str = "Decline";
const OPEN: &str = "Open";
const OPENED: &str = "Opened it";

/// One field of a form, as choices.
#[derive(Clone, Debug, PartialEq)]
struct Field {
    name: String,
    /// What the user reads: the field's title and description.
    label: String,
    /// Button titles and the values they stand for.
    choices: Vec<(String, Value)>,
}

/// The fields of `schema` to ask, in order; `None` when a field that must be filled is not
/// a choice (optional ones that are not are left out).
fn choice_fields(schema: &Value) -> Option<Vec<Field>> {
    let properties = match schema.get("properties") {
        Some(Value::Object(properties)) => properties.clone(),
        None => Map::new(),
        Some(_) => return None,
    };
    let required: Vec<&str> = schema
        .get("required")
        .and_then(Value::as_array)
        .map(|r| r.iter().filter_map(Value::as_str).collect())
        .unwrap_or_default();
    let mut fields = Vec::new();
    for (name, property) in &properties {
        match choices(property) {
            Some(choices) if !choices.is_empty() => {
                let title = property
                    .get("title")
                    .and_then(Value::as_str)
                    .unwrap_or(name);
                let label = match property.get("description").and_then(Value::as_str) {
                    Some(description) => format!("{title}: {description}"),
                    None => title.to_owned(),
                };
                fields.push(Field {
                    name: name.clone(),
                    label,
                    choices,
                });
            }
            _ if required.contains(&name.as_str()) => return None,
            _ => {}
        }
    }
    Some(fields)
}

/// The buttons for one property, if it is a choice.
fn choices(property: &Value) -> Option<Vec<(String, Value)>> {
    if property.get("type").and_then(Value::as_str) == Some("boolean") {
        return Some(vec![
            ("Yes".to_owned(), Value::Bool(true)),
            ("No".to_owned(), Value::Bool(false)),
        ]);
    }
    if let Some(values) = property.get("enum").and_then(Value::as_array) {
        let names = property.get("enumNames").and_then(Value::as_array);
        return Some(
            values
                .iter()
                .enumerate()
                .map(|(i, value)| {
                    let title = names
                        .and_then(|n| n.get(i))
                        .and_then(Value::as_str)
                        .map_or_else(|| shown(value), str::to_owned);
                    (title, value.clone())
                })
                .collect(),
        );
    }
    let options = property.get("oneOf").and_then(Value::as_array)?;
    options
        .iter()
        .map(|option| {
            let value = option.get("const")?.clone();
            let title = option
                .get("title")
                .and_then(Value::as_str)
                .map_or_else(|| shown(&value), str::to_owned);
            Some((title, value))
        })
        .collect()
}

fn shown(value: &Value) -> String {
    value
        .as_str()
        .map_or_else(|| value.to_string(), str::to_owned)
}

/// One editor connection as a question surface.
pub struct EditorQuestions {
    pub client: Client,
    pub caps: ClientCaps,
}

impl QuestionSurface for EditorQuestions {
    fn surface(&self) -> Surface {
        Surface::Lsp
    }

    fn can_ask(&self, question: &Question) -> bool {
        self.caps.show_message_request
            && match &question.kind {
                QuestionKind::Url { .. } => true,
                QuestionKind::Form { schema } => choice_fields(schema).is_some(),
            }
    }

    fn ask(&self, question: Question) -> BoxFuture<'static, Option<QuestionReply>> {
        let (client, caps) = (self.client.clone(), self.caps);
        async move {
            let asks = format!(
                "The MCP server `{}` asks: {}",
                question.asker, question.message
            );
            match question.kind {
                QuestionKind::Url { url, .. } => open(&client, caps, &asks, url).await,
                QuestionKind::Form { schema } => fill(&client, &asks, &schema).await,
            }
        }
        .boxed()
    }
}

/// Asks one message request; the chosen title, or `None` when dismissed or failed.
async fn choose(client: &Client, message: String, titles: &[&str]) -> Option<String> {
    pick(client, lsp::MessageType::Info, message, titles).await
}

async fn open(client: &Client, caps: ClientCaps, asks: &str, url: String) -> Option<QuestionReply> {
    if !caps.show_document {
        let message = format!("{asks}\nOpen {url} in your browser");
        let chosen = choose(client, message, &[OPENED, DECLINE]).await?;
        return Some(if chosen == OPENED {
            QuestionReply::Accept {
                content: Value::Null,
            }
        } else {
            QuestionReply::Decline
        });
    }
    let message = format!("{asks}\nOpen {url}");
    let chosen = choose(client, message, &[OPEN, DECLINE]).await?;
    if chosen == DECLINE {
        return Some(QuestionReply::Decline);
    }
    let shown = client
        .show_document(lsp::ShowDocumentParams {
            uri: lsp::Uri::from(url),
            external: Some(true),
            take_focus: Some(true),
            selection: None,
        })
        .await;
    matches!(shown, Ok(true)).then_some(QuestionReply::Accept {
        content: Value::Null,
    })
}

async fn fill(client: &Client, asks: &str, schema: &Value) -> Option<QuestionReply> {
    let fields = choice_fields(schema)?;
    if fields.is_empty() {
        let chosen = choose(client, asks.to_owned(), &["Accept", DECLINE]).await?;
        return Some(if chosen == DECLINE {
            QuestionReply::Decline
        } else {
            QuestionReply::Accept {
                content: Value::Object(Map::new()),
            }
        });
    }
    let mut content = Map::new();
    for field in fields {
        let mut titles: Vec<&str> = field.choices.iter().map(|(t, _)| t.as_str()).collect();
        titles.push(DECLINE);
        let chosen = choose(client, format!("{asks}\n{}", field.label), &titles).await?;
        let Some((_, value)) = field.choices.into_iter().find(|(t, _)| *t == chosen) else {
            return Some(QuestionReply::Decline);
        };
        content.insert(field.name, value);
    }
    Some(QuestionReply::Accept {
        content: Value::Object(content),
    })
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn booleans_enums_and_one_ofs_are_choices() {
        let schema = json!({
            "type": "object",
            "properties": {
                "confirm": {"type": "boolean", "title": "Go ahead?"},
                "size": {"type": "string", "enum": ["s", "l"], "enumNames": ["Small", "Large"]},
                "tier": {"type": "string", "oneOf": [{"const": "a", "title": "Tier A"}, {"const": "b"}]},
                "note": {"type": "string", "description": "optional text"}
            },
            "required": ["confirm", "size"]
        });
        let fields = choice_fields(&schema).unwrap();
        let summary: Vec<(&str, &str, Vec<&str>)> = fields
            .iter()
            .map(|f| {
                (
                    f.name.as_str(),
                    f.label.as_str(),
                    f.choices.iter().map(|(t, _)| t.as_str()).collect(),
                )
            })
            .collect();
        assert_eq!(
            summary,
            vec![
                ("confirm", "Go ahead?", vec!["Yes", "No"]),
                ("size", "size", vec!["Small", "Large"]),
                ("tier", "tier", vec!["Tier A", "b"]),
            ]
        );
        assert_eq!(fields[1].choices[1].1, json!("l"));
    }

    #[test]
    fn a_required_text_field_is_left_to_other_surfaces() {
        let schema = json!({
            "type": "object",
            "properties": {"name": {"type": "string"}, "ok": {"type": "boolean"}},
            "required": ["name"]
        });
        assert_eq!(choice_fields(&schema), None);
        assert_eq!(
            choice_fields(&json!({"type": "object"})),
            Some(Vec::new()),
            "a form without fields is a confirmation"
        );
    }
}
