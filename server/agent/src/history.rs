//! The conversation as the model sees it, rebuilt from a session's event log. Pure.
//!
//! This is how a session resumes (`--session ID`, a reply from another surface): the log
//! is the only state. Invariants of the result, whatever the log holds (a run killed
//! mid-stream, a cancelled run, a compaction):
//! - every assistant tool call that was finished (`TOOL_CALL_END`) is followed by exactly
//!   one tool message; a finished call whose result never came gets a result saying so;
//! - a message that never ended (`TEXT_MESSAGE_END`: the process died mid-stream) is
//!   dropped, as is a tool call whose arguments never finished streaming and an assistant
//!   message left with neither text nor calls;
//! - a `context.compacted` event replaces every message that started at or before its
//!   `through_seq` with one system message holding the summary.

use lathe_protocol::event::ContextCompacted;
use lathe_protocol::{CustomEvent, Event, EventPayload, Message, MessageId, Role, ToolCall};

/// What the model is told for a finished tool call that never got a result.
/// The run may have stopped before the call or while it ran (the process was killed), so
/// the model is told to check rather than that nothing happened.
pub const INTERRUPTED_RESULT: &str = "error: the run stopped before this tool call's result \
     was recorded; it may not have run, or may have run in part: check its effect before \
     repeating it";

#[derive(Debug)]
struct Entry {
    first_seq: u64,
    message: Message,
    /// Per tool call: whether `TOOL_CALL_END` was seen.
    calls_ended: Vec<bool>,
    /// Whether the message was finished (`TEXT_MESSAGE_END`, or it is not a text message).
    ended: bool,
}

/// Rebuilds the conversation (without the system prompt) from `events`, in seq order.
pub fn conversation(events: &[Event]) -> Vec<Message> {
    conversation_with_seqs(events)
        .into_iter()
        .map(|(_, message)| message)
        .collect()
}

/// [`conversation`], each message with the seq of the event that started it (0 for the
/// summary of a compaction).
pub fn conversation_with_seqs(events: &[Event]) -> Vec<(u64, Message)> {
    let mut entries: Vec<Entry> = Vec::new();
    let mut summary: Option<String> = None;
    for event in events {
        match &event.payload {
            EventPayload::TextMessageStart { message_id, role } => entries.push(Entry {
                first_seq: event.seq,
                message: Message {
                    id: message_id.clone(),
                    role: *role,
                    content: String::new(),
                    tool_calls: Vec::new(),
                    tool_call_id: None,
                },
                calls_ended: Vec::new(),
                ended: false,
            }),
            EventPayload::TextMessageContent { message_id, delta } => {
                if let Some(entry) = entries
                    .iter_mut()
                    .rev()
                    .find(|e| e.message.id == *message_id)
                {
                    entry.message.content.push_str(delta);
                }
            }
            EventPayload::TextMessageEnd { message_id } => {
                if let Some(entry) = entries
                    .iter_mut()
                    .rev()
                    .find(|e| e.message.id == *message_id)
                {
                    entry.ended = true;
                }
            }
            EventPayload::ToolCallStart {
                tool_call_id,
                tool_call_name,
                parent_message_id,
            } => {
                let parent = entries.iter().rposition(|e| {
                    e.message.role == Role::Assistant
                        && parent_message_id
                            .as_ref()
                            .is_none_or(|p| *p == e.message.id)
                });
                let index = match parent {
                    Some(index) => index,
                    None => {
                        entries.push(Entry {
                            first_seq: event.seq,
                            message: Message {
                                id: parent_message_id.clone().unwrap_or_default(),
                                role: Role::Assistant,
                                content: String::new(),
                                tool_calls: Vec::new(),
                                tool_call_id: None,
                            },
                            calls_ended: Vec::new(),
                            ended: true,
                        });
                        entries.len() - 1
                    }
                };
                let entry = &mut entries[index];
                entry.message.tool_calls.push(ToolCall {
                    id: tool_call_id.clone(),
                    name: tool_call_name.clone(),
                    arguments: String::new(),
                });
                entry.calls_ended.push(false);
            }
            EventPayload::ToolCallArgs {
                tool_call_id,
                delta,
            } => {
                if let Some((entry, index)) = find_call(&mut entries, tool_call_id) {
                    entry.message.tool_calls[index].arguments.push_str(delta);
                }
            }
            EventPayload::ToolCallEnd { tool_call_id } => {
                if let Some((entry, index)) = find_call(&mut entries, tool_call_id) {
                    entry.calls_ended[index] = true;
                }
            }
            EventPayload::ToolCallResult {
                message_id,
                tool_call_id,
                content,
                ..
            } => entries.push(Entry {
                first_seq: event.seq,
                message: Message {
                    id: message_id.clone(),
                    role: Role::Tool,
                    content: content.clone(),
                    tool_calls: Vec::new(),
                    tool_call_id: Some(tool_call_id.clone()),
                },
                calls_ended: Vec::new(),
                ended: true,
            }),
            EventPayload::Custom(CustomEvent::ContextCompacted(ContextCompacted {
                summary: text,
                through_seq,
            })) => {
                entries.retain(|e| e.first_seq > *through_seq);
                summary = Some(text.clone());
            }
            EventPayload::RunStarted { .. }
            | EventPayload::RunFinished { .. }
            | EventPayload::RunError { .. }
            | EventPayload::StepStarted { .. }
            | EventPayload::StepFinished { .. }
            | EventPayload::StateSnapshot { .. }
            | EventPayload::Custom(_) => {}
        }
    }
    let mut messages = Vec::new();
    if let Some(summary) = summary {
        messages.push((
            0,
            Message {
                id: MessageId::new(),
                role: Role::System,
                content: format!("Summary of the earlier conversation:\n{summary}"),
                tool_calls: Vec::new(),
                tool_call_id: None,
            },
        ));
    }
    messages.extend(repair(entries));
    messages
}

fn find_call<'a>(
    entries: &'a mut [Entry],
    id: &lathe_protocol::ToolCallId,
) -> Option<(&'a mut Entry, usize)> {
    entries.iter_mut().rev().find_map(|entry| {
        let index = entry.message.tool_calls.iter().rposition(|c| c.id == *id)?;
        Some((entry, index))
    })
}

/// Applies the invariants: drops unfinished calls and empty assistant messages, pairs every
/// call with exactly one result, drops results whose call is gone.
fn repair(entries: Vec<Entry>) -> Vec<(u64, Message)> {
    type Open = Vec<(u64, lathe_protocol::ToolCallId)>;
    let mut out: Vec<(u64, Message)> = Vec::new();
    let mut open: Open = Vec::new();
    let close_open = |out: &mut Vec<(u64, Message)>, open: &mut Open| {
        for (seq, id) in open.drain(..) {
            out.push((
                seq,
                Message {
                    id: MessageId::new(),
                    role: Role::Tool,
                    content: INTERRUPTED_RESULT.to_owned(),
                    tool_calls: Vec::new(),
                    tool_call_id: Some(id),
                },
            ));
        }
    };
    for entry in entries.into_iter().filter(|e| e.ended) {
        let seq = entry.first_seq;
        let mut message = entry.message;
        match message.role {
            Role::Tool => {
                let Some(position) = message
                    .tool_call_id
                    .as_ref()
                    .and_then(|id| open.iter().position(|(_, o)| o == id))
                else {
                    continue;
                };
                open.remove(position);
                out.push((seq, message));
            }
            Role::Assistant => {
                close_open(&mut out, &mut open);
                let mut ended = entry.calls_ended.into_iter();
                message.tool_calls.retain(|_| ended.next().unwrap_or(false));
                if message.content.is_empty() && message.tool_calls.is_empty() {
                    continue;
                }
                open = message
                    .tool_calls
                    .iter()
                    .map(|c| (seq, c.id.clone()))
                    .collect();
                out.push((seq, message));
            }
            Role::User | Role::System => {
                close_open(&mut out, &mut open);
                out.push((seq, message));
            }
        }
    }
    close_open(&mut out, &mut open);
    out
}
