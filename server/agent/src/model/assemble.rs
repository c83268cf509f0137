//! Folding a stream of [`ModelEvent`]s into the finished answer. Pure.
//!
//! Invariant: tool calls are kept in the order of their stream `index`; argument deltas for
//! an index that never started are dropped (they cannot be attributed to a call).

use super::{FinishReason, ModelEvent, TokenUsage};
use lathe_protocol::{ToolCall, ToolCallId};

/// The answer so far (or finished).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct AssembledReply {
    pub content: String,
    pub tool_calls: Vec<ToolCall>,
    pub finish: Option<FinishReason>,
    pub usage: Option<TokenUsage>,
}

/// Accumulates model events.
#[derive(Debug, Default)]
pub struct Assembler {
    reply: AssembledReply,
    /// Stream index of each entry of `reply.tool_calls`.
    indices: Vec<u32>,
}

impl Assembler {
    pub fn new() -> Self {
        Self::default()
    }

    /// Folds one event in.
    pub fn push(&mut self, event: &ModelEvent) {
        match event {
            ModelEvent::TextDelta(delta) => self.reply.content.push_str(delta),
            ModelEvent::ToolCallStarted { index, id, name } => {
                self.indices.push(*index);
                self.reply.tool_calls.push(ToolCall {
                    id: ToolCallId::from(id.as_str()),
                    name: name.clone(),
                    arguments: String::new(),
                });
            }
            ModelEvent::ToolCallArgs { index, delta } => {
                if let Some(position) = self.indices.iter().rposition(|i| i == index)
                    && let Some(call) = self.reply.tool_calls.get_mut(position)
                {
                    call.arguments.push_str(delta);
                }
            }
            ModelEvent::Usage(usage) => self.reply.usage = Some(*usage),
            ModelEvent::Finished(reason) => self.reply.finish = Some(*reason),
        }
    }

    /// The answer so far.
    pub fn reply(&self) -> &AssembledReply {
        &self.reply
    }

    /// The answer.
    pub fn finish(self) -> AssembledReply {
        self.reply
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use pretty_assertions::assert_eq;

    #[test]
    fn interleaved_tool_call_deltas_land_on_their_calls() {
        let mut assembler = Assembler::new();
        for event in [
            ModelEvent::TextDelta("Let me ".into()),
            ModelEvent::TextDelta("look.".into()),
            ModelEvent::ToolCallStarted {
                index: 0,
                id: "a".into(),
                name: "read_file".into(),
            },
            ModelEvent::ToolCallStarted {
                index: 1,
                id: "b".into(),
                name: "search".into(),
            },
            ModelEvent::ToolCallArgs {
                index: 0,
                delta: "{\"path\":".into(),
            },
            ModelEvent::ToolCallArgs {
                index: 1,
                delta: "{}".into(),
            },
            ModelEvent::ToolCallArgs {
                index: 0,
                delta: "\"x\"}".into(),
            },
            ModelEvent::ToolCallArgs {
                index: 7,
                delta: "lost".into(),
            },
            ModelEvent::Finished(FinishReason::ToolCalls),
        ] {
            assembler.push(&event);
        }
        assert_eq!(
            assembler.finish(),
            AssembledReply {
                content: "Let me look.".into(),
                tool_calls: vec![
                    ToolCall {
                        id: "a".into(),
                        name: "read_file".into(),
                        arguments: "{\"path\":\"x\"}".into()
                    },
                    ToolCall {
                        id: "b".into(),
                        name: "search".into(),
                        arguments: "{}".into()
                    },
                ],
                finish: Some(FinishReason::ToolCalls),
                usage: None,
            }
        );
    }
}
