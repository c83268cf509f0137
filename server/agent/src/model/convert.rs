//! Conversions between Lathe's vocabulary and async-openai's chat-completion types: the
//! request (messages, tools) out, stream chunks in.
//!
//! Invariant: a tool call is announced ([`ModelEvent::ToolCallStarted`]) once, on the first
//! chunk of its index that names it; servers that repeat the id or name on every chunk
//! (some proxies do) do not start it twice.

use super::{FinishReason, ModelEvent, ModelRequest, TokenUsage, ToolSpec};
use async_openai::types::chat::{
    ChatCompletionMessageToolCall, ChatCompletionMessageToolCalls,
    ChatCompletionRequestAssistantMessage, ChatCompletionRequestAssistantMessageContent,
    ChatCompletionRequestMessage, ChatCompletionRequestSystemMessage,
    ChatCompletionRequestSystemMessageContent, ChatCompletionRequestToolMessage,
    ChatCompletionRequestToolMessageContent, ChatCompletionRequestUserMessage,
    ChatCompletionRequestUserMessageContent, ChatCompletionStreamOptions, ChatCompletionTool,
    ChatCompletionTools, CreateChatCompletionRequest, CreateChatCompletionStreamResponse,
    FinishReason as WireFinish, FunctionCall, FunctionObject,
};
use lathe_protocol::{Message, Role};

fn message(message: &Message) -> ChatCompletionRequestMessage {
    match message.role {
        Role::System => ChatCompletionRequestMessage::System(ChatCompletionRequestSystemMessage {
            content: ChatCompletionRequestSystemMessageContent::Text(message.content.clone()),
            name: None,
        }),
        Role::User => ChatCompletionRequestMessage::User(ChatCompletionRequestUserMessage {
            content: ChatCompletionRequestUserMessageContent::Text(message.content.clone()),
            name: None,
        }),
        Role::Assistant => {
            let tool_calls: Vec<ChatCompletionMessageToolCalls> = message
                .tool_calls
                .iter()
                .map(|call| {
                    ChatCompletionMessageToolCalls::Function(ChatCompletionMessageToolCall {
                        id: call.id.to_string(),
                        function: FunctionCall {
                            name: call.name.clone(),
                            arguments: wire_arguments(&call.arguments),
                        },
                    })
                })
                .collect();
            #[allow(deprecated)]
            ChatCompletionRequestMessage::Assistant(ChatCompletionRequestAssistantMessage {
                content: (!message.content.is_empty() || tool_calls.is_empty()).then(|| {
                    ChatCompletionRequestAssistantMessageContent::Text(message.content.clone())
                }),
                refusal: None,
                name: None,
                audio: None,
                tool_calls: (!tool_calls.is_empty()).then_some(tool_calls),
                function_call: None,
            })
        }
        Role::Tool => ChatCompletionRequestMessage::Tool(ChatCompletionRequestToolMessage {
            content: ChatCompletionRequestToolMessageContent::Text(message.content.clone()),
            tool_call_id: message
                .tool_call_id
                .as_ref()
                .map(ToString::to_string)
                .unwrap_or_default(),
        }),
    }
}

/// Arguments as sent back to the server: the model's text when it is a JSON object, else
/// `{}` (servers that render tool calls through a chat template parse them, and a call the
/// model botched was already answered with an error saying what it sent).
fn wire_arguments(arguments: &str) -> String {
    match serde_json::from_str::<serde_json::Value>(arguments) {
        Ok(serde_json::Value::Object(_)) => arguments.to_owned(),
        _ => "{}".to_owned(),
    }
}

fn tool(spec: &ToolSpec) -> ChatCompletionTools {
    ChatCompletionTools::Function(ChatCompletionTool {
        function: FunctionObject {
            name: spec.name.clone(),
            description: Some(spec.description.clone()),
            parameters: Some(spec.parameters.clone()),
            strict: None,
        },
    })
}

/// The streamed chat-completion request for `request`.
pub(super) fn request(request: &ModelRequest, include_usage: bool) -> CreateChatCompletionRequest {
    CreateChatCompletionRequest {
        model: request.model.clone(),
        messages: request.messages.iter().map(message).collect(),
        tools: (!request.tools.is_empty()).then(|| request.tools.iter().map(tool).collect()),
        max_completion_tokens: request.max_output_tokens,
        stream: Some(true),
        stream_options: include_usage.then_some(ChatCompletionStreamOptions {
            include_usage: Some(true),
            include_obfuscation: None,
        }),
        ..CreateChatCompletionRequest::default()
    }
}

/// Turns chunks into [`ModelEvent`]s, remembering which tool calls were announced.
///
/// A call's wire `index` is not trusted to tell calls apart: some servers (Ollama) send
/// every parallel call as index 0, each with its own id. A delta that carries a new id for
/// an index already seen starts a new call, under an index of its own; the events' indices
/// are the decoder's, one per call.
#[derive(Debug, Default)]
pub(super) struct ChunkDecoder {
    /// For each wire index seen: the id of its current call and that call's index.
    current: Vec<(u32, String, u32)>,
    /// Calls started so far (the next call's index).
    calls: u32,
    /// Ids handed out to calls whose server sent none.
    anonymous: u32,
}

impl ChunkDecoder {
    /// The events of one chunk, in order, appended to `out`.
    pub(super) fn decode(
        &mut self,
        chunk: CreateChatCompletionStreamResponse,
        out: &mut Vec<ModelEvent>,
    ) {
        for choice in chunk.choices.into_iter().filter(|c| c.index == 0) {
            let delta = choice.delta;
            if let Some(text) = delta.content
                && !text.is_empty()
            {
                out.push(ModelEvent::TextDelta(text));
            }
            for call in delta.tool_calls.unwrap_or_default() {
                let (name, arguments) = match call.function {
                    Some(function) => (function.name, function.arguments),
                    None => (None, None),
                };
                let id = call.id.filter(|id| !id.is_empty());
                let known = self
                    .current
                    .iter()
                    .position(|(wire, ..)| *wire == call.index);
                let index = match known {
                    Some(at) if id.as_ref().is_none_or(|id| *id == self.current[at].1) => {
                        self.current[at].2
                    }
                    _ => {
                        let id = id.unwrap_or_else(|| {
                            self.anonymous += 1;
                            format!("call_{}", self.anonymous)
                        });
                        let index = self.calls;
                        self.calls += 1;
                        match known {
                            Some(at) => self.current[at] = (call.index, id.clone(), index),
                            None => self.current.push((call.index, id.clone(), index)),
                        }
                        out.push(ModelEvent::ToolCallStarted {
                            index,
                            id,
                            name: name.unwrap_or_default(),
                        });
                        index
                    }
                };
                if let Some(arguments) = arguments
                    && !arguments.is_empty()
                {
                    out.push(ModelEvent::ToolCallArgs {
                        index,
                        delta: arguments,
                    });
                }
            }
            if let Some(reason) = choice.finish_reason {
                out.push(ModelEvent::Finished(match reason {
                    WireFinish::Stop => FinishReason::Stop,
                    WireFinish::ToolCalls | WireFinish::FunctionCall => FinishReason::ToolCalls,
                    WireFinish::Length => FinishReason::Length,
                    WireFinish::ContentFilter => FinishReason::ContentFilter,
                }));
            }
        }
        if let Some(usage) = chunk.usage {
            out.push(ModelEvent::Usage(TokenUsage {
                input_tokens: u64::from(usage.prompt_tokens),
                output_tokens: u64::from(usage.completion_tokens),
                cached_input_tokens: usage
                    .prompt_tokens_details
                    .and_then(|d| d.cached_tokens)
                    .map_or(0, u64::from),
            }));
        }
    }
}
