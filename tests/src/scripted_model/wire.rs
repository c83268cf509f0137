//! The OpenAI chat-completions wire shapes the scripted server sends: the frames of a
//! streamed reply (chunks, faults, `[DONE]`) and the body of a non-streamed one. Pure.

use super::script::{Reply, ScriptedUsage, StreamFault};
use serde_json::{Value, json};

/// One unit of a streamed answer.
#[derive(Clone, Debug, PartialEq)]
pub enum Frame {
    /// `data: <chunk>\n\n`.
    Chunk(Value),
    /// `data: <text>\n\n` where the text is not JSON.
    Raw(String),
    /// `data: [DONE]\n\n`.
    Done,
    /// The connection is dropped without ending the body.
    Cut,
    /// Nothing more is sent; the connection stays open until the client leaves.
    Stall,
}

/// What the server needs to know about the request to shape the answer.
#[derive(Clone, Debug)]
pub struct ReplyContext {
    pub completion_id: String,
    pub model: String,
    /// Used to name tool calls that have no id in the script.
    pub step_index: usize,
    /// The request asked for `stream_options.include_usage` and the script supports it.
    pub include_usage: bool,
    /// The request's size in bytes, for the fallback usage estimate.
    pub request_bytes: usize,
}

fn chunk(ctx: &ReplyContext, choices: Value, usage: Option<Value>) -> Value {
    let mut value = json!({
        "id": ctx.completion_id,
        "object": "chat.completion.chunk",
        "created": 1_700_000_000u32,
        "model": ctx.model,
        "choices": choices,
    });
    if let Some(usage) = usage {
        value["usage"] = usage;
    }
    value
}

fn delta(ctx: &ReplyContext, delta: Value) -> Value {
    chunk(
        ctx,
        json!([{"index": 0, "delta": delta, "finish_reason": null}]),
        None,
    )
}

fn split(text: &str, chars: usize) -> Vec<String> {
    let chars_per_piece = chars.max(1);
    let all: Vec<char> = text.chars().collect();
    all.chunks(chars_per_piece)
        .map(|piece| piece.iter().collect())
        .collect()
}

fn usage_of(reply: &Reply, ctx: &ReplyContext) -> ScriptedUsage {
    reply.usage.unwrap_or_else(|| {
        let output_bytes = reply.content.as_deref().map_or(0, str::len)
            + reply
                .tool_calls
                .iter()
                .map(|call| call.name.len() + call.argument_text().len())
                .sum::<usize>();
        ScriptedUsage {
            prompt_tokens: u32::try_from(ctx.request_bytes / 4).unwrap_or(u32::MAX),
            completion_tokens: u32::try_from(output_bytes.div_ceil(4)).unwrap_or(u32::MAX),
        }
    })
}

fn usage_json(usage: ScriptedUsage) -> Value {
    json!({
        "prompt_tokens": usage.prompt_tokens,
        "completion_tokens": usage.completion_tokens,
        "total_tokens": usage.prompt_tokens + usage.completion_tokens,
    })
}

fn finish_reason(reply: &Reply) -> String {
    reply.finish_reason.clone().unwrap_or_else(|| {
        if reply.tool_calls.is_empty() {
            "stop".to_owned()
        } else {
            "tool_calls".to_owned()
        }
    })
}

fn call_id(ctx: &ReplyContext, index: usize, id: Option<&String>) -> String {
    id.cloned()
        .unwrap_or_else(|| format!("call_{}_{index}", ctx.step_index))
}

/// The frames of a streamed reply, faults applied.
pub fn stream_frames(reply: &Reply, ctx: &ReplyContext) -> Vec<Frame> {
    let pieces = reply.chunk_chars.unwrap_or(4);
    let mut frames = vec![Frame::Chunk(delta(
        ctx,
        json!({"role": "assistant", "content": ""}),
    ))];
    if let Some(content) = &reply.content {
        for piece in split(content, pieces) {
            frames.push(Frame::Chunk(delta(ctx, json!({"content": piece}))));
        }
    }
    let mut cut_at = None;
    for (index, call) in reply.tool_calls.iter().enumerate() {
        let wire_index = if reply.one_call_index { 0 } else { index };
        frames.push(Frame::Chunk(delta(
            ctx,
            json!({"tool_calls": [{
                "index": wire_index,
                "id": call_id(ctx, index, call.id.as_ref()),
                "type": "function",
                "function": {"name": call.name, "arguments": ""},
            }]}),
        )));
        let args = split(&call.argument_text(), pieces);
        let half = args.len() / 2;
        for (piece_index, piece) in args.into_iter().enumerate() {
            if index == 0 && piece_index == half.max(1) && cut_at.is_none() {
                cut_at = Some(frames.len());
            }
            frames.push(Frame::Chunk(delta(
                ctx,
                json!({"tool_calls": [{"index": wire_index, "function": {"arguments": piece}}]}),
            )));
        }
    }
    let body_len = frames.len();
    frames.push(Frame::Chunk(chunk(
        ctx,
        json!([{"index": 0, "delta": {}, "finish_reason": finish_reason(reply)}]),
        None,
    )));
    if ctx.include_usage {
        frames.push(Frame::Chunk(chunk(
            ctx,
            json!([]),
            Some(usage_json(usage_of(reply, ctx))),
        )));
    }
    frames.push(Frame::Done);
    match reply.fault {
        None => frames,
        Some(StreamFault::NoDone) => {
            frames.pop();
            frames
        }
        Some(StreamFault::CutMidToolArgs) => {
            frames.truncate(cut_at.unwrap_or(body_len));
            frames.push(Frame::Cut);
            frames
        }
        Some(StreamFault::CutAfter { after_chunks }) => {
            frames.truncate(after_chunks.min(body_len));
            frames.push(Frame::Cut);
            frames
        }
        Some(StreamFault::StallAfter { after_chunks }) => {
            frames.truncate(after_chunks.min(body_len));
            frames.push(Frame::Stall);
            frames
        }
        Some(StreamFault::MalformedChunk { after_chunks }) => {
            let at = after_chunks.min(body_len);
            frames.insert(at, Frame::Raw("{\"choices\": [{\"delta\": ".to_owned()));
            frames
        }
    }
}

/// The body of a non-streamed reply.
pub fn completion_body(reply: &Reply, ctx: &ReplyContext) -> Value {
    let tool_calls: Vec<Value> = reply
        .tool_calls
        .iter()
        .enumerate()
        .map(|(index, call)| {
            json!({
                "id": call_id(ctx, index, call.id.as_ref()),
                "type": "function",
                "function": {"name": call.name, "arguments": call.argument_text()},
            })
        })
        .collect();
    let mut message = json!({"role": "assistant", "content": reply.content});
    if !tool_calls.is_empty() {
        message["tool_calls"] = Value::Array(tool_calls);
    }
    json!({
        "id": ctx.completion_id,
        "object": "chat.completion",
        "created": 1_700_000_000u32,
        "model": ctx.model,
        "choices": [{"index": 0, "message": message, "finish_reason": finish_reason(reply), "logprobs": null}],
        "usage": usage_json(usage_of(reply, ctx)),
    })
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use crate::scripted_model::script::ScriptedToolCall;

    fn ctx(include_usage: bool) -> ReplyContext {
        ReplyContext {
            completion_id: "c".into(),
            model: "m".into(),
            step_index: 0,
            include_usage,
            request_bytes: 40,
        }
    }

    fn deltas(frames: &[Frame]) -> Vec<Value> {
        frames
            .iter()
            .filter_map(|frame| match frame {
                Frame::Chunk(chunk) => chunk["choices"].get(0).map(|c| c["delta"].clone()),
                _ => None,
            })
            .collect()
    }

    #[test]
    fn text_is_split_into_deltas_then_finish_usage_and_done() {
        let reply = Reply {
            content: Some("Hello!".into()),
            chunk_chars: Some(4),
            ..Reply::default()
        };
        let frames = stream_frames(&reply, &ctx(true));
        assert_eq!(
            deltas(&frames),
            vec![
                json!({"role": "assistant", "content": ""}),
                json!({"content": "Hell"}),
                json!({"content": "o!"}),
                json!({}),
            ]
        );
        let Frame::Chunk(usage) = &frames[frames.len() - 2] else {
            panic!("expected the usage chunk, got {frames:?}");
        };
        assert_eq!(
            usage["usage"],
            json!({"prompt_tokens": 10, "completion_tokens": 2, "total_tokens": 12})
        );
        assert_eq!(frames.last(), Some(&Frame::Done));
    }

    #[test]
    fn cut_mid_tool_args_stops_inside_the_first_call() {
        let reply = Reply {
            tool_calls: vec![ScriptedToolCall {
                id: Some("x".into()),
                name: "read_file".into(),
                arguments: json!({"path": "src/main.rs"}),
            }],
            ..Reply::default()
        };
        let frames = stream_frames(
            &Reply {
                fault: Some(StreamFault::CutMidToolArgs),
                ..reply
            },
            &ctx(false),
        );
        assert_eq!(frames.last(), Some(&Frame::Cut));
        let sent: String = deltas(&frames)
            .iter()
            .filter_map(|d| {
                d["tool_calls"][0]["function"]["arguments"]
                    .as_str()
                    .map(str::to_owned)
            })
            .collect();
        assert!(!sent.is_empty() && sent.len() < r#"{"path":"src/main.rs"}"#.len());
    }
}
