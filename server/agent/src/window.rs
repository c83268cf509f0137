//! Context-window management: counting tokens with tiktoken-rs, truncating long tool output
//! head+tail, and choosing which old turns to fold into a summary so a prompt fits the
//! model's window minus the answer reserve.
//!
//! Invariants: counts use the model's encoding when tiktoken knows the model and
//! `o200k_base` otherwise; a truncated text always keeps its first and last lines and says
//! how much was cut; a compaction cut falls on a user message, or, inside the newest user
//! turn (one long task), on an assistant message, so a tool call is never separated from
//! its result; a user message folded into a summary from inside its own turn is kept
//! whole there, so the task is never lost to a snippet.

use crate::model::ToolSpec;
use lathe_protocol::{Message, Role};
use tiktoken_rs::CoreBPE;

/// Tokens a chat message costs beyond its text (role and separators).
const MESSAGE_OVERHEAD: usize = 4;
/// The most a summary line keeps of a message.
const SUMMARY_SNIPPET_CHARS: usize = 160;

/// Counts tokens for one model.
#[derive(Clone)]
pub struct TokenCounter {
    bpe: &'static CoreBPE,
}

impl std::fmt::Debug for TokenCounter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("TokenCounter")
    }
}

impl TokenCounter {
    /// The counter for `model`: its tiktoken encoding, else `o200k_base`.
    pub fn for_model(model: &str) -> Self {
        let bpe = tiktoken_rs::tokenizer::get_tokenizer(model)
            .and_then(|t| tiktoken_rs::bpe_for_tokenizer(t).ok())
            .unwrap_or_else(tiktoken_rs::o200k_base_singleton);
        Self { bpe }
    }

    /// Tokens of a text.
    pub fn count(&self, text: &str) -> usize {
        self.bpe.count_ordinary(text)
    }

    /// Tokens of a message, including its tool calls.
    pub fn message(&self, message: &Message) -> usize {
        MESSAGE_OVERHEAD
            + self.count(&message.content)
            + message
                .tool_calls
                .iter()
                .map(|c| MESSAGE_OVERHEAD + self.count(&c.name) + self.count(&c.arguments))
                .sum::<usize>()
    }

    /// Tokens of the tool definitions.
    pub fn tools(&self, tools: &[ToolSpec]) -> usize {
        tools
            .iter()
            .map(|t| {
                MESSAGE_OVERHEAD
                    + self.count(&t.name)
                    + self.count(&t.description)
                    + self.count(&t.parameters.to_string())
            })
            .sum()
    }

    /// Keeps `text` within `max_tokens` by cutting its middle, on line boundaries where it
    /// can, leaving a marker that says what was cut.
    pub fn truncate_middle(&self, text: &str, max_tokens: usize) -> String {
        // A token is at least one byte, so a short text needs no counting.
        if text.len() <= max_tokens {
            return text.to_owned();
        }
        let total = self.count(text);
        if total <= max_tokens {
            return text.to_owned();
        }
        let keep_bytes = text.len().saturating_mul(max_tokens) / total.max(1);
        let half = keep_bytes / 2;
        let head_end = line_boundary_before(text, floor_char(text, half));
        let tail_start = line_boundary_after(text, ceil_char(text, text.len() - half));
        if tail_start <= head_end {
            return text.to_owned();
        }
        let omitted = &text[head_end..tail_start];
        format!(
            "{}\n[... {} lines ({} bytes) omitted from the middle of {} bytes of output ...]\n{}",
            text[..head_end].trim_end_matches('\n'),
            omitted.lines().count(),
            omitted.len(),
            text.len(),
            &text[tail_start..]
        )
    }
}

fn floor_char(text: &str, mut at: usize) -> usize {
    while at > 0 && !text.is_char_boundary(at) {
        at -= 1;
    }
    at
}

fn ceil_char(text: &str, mut at: usize) -> usize {
    while at < text.len() && !text.is_char_boundary(at) {
        at += 1;
    }
    at
}

/// The end of the last whole line before `at` (or `at` when the head is one long line).
fn line_boundary_before(text: &str, at: usize) -> usize {
    match text[..at].rfind('\n') {
        Some(newline) if newline > at / 2 => newline + 1,
        _ => at,
    }
}

/// The start of the first whole line after `at` (or `at` when the tail is one long line).
fn line_boundary_after(text: &str, at: usize) -> usize {
    let tail = text.len() - at;
    match text[at..].find('\n') {
        Some(newline) if newline < tail / 2 => at + newline + 1,
        _ => at,
    }
}

/// The token budget of a prompt.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Budget {
    /// The model's context window.
    pub window: usize,
    /// Tokens kept free for the answer.
    pub reserve: usize,
}

impl Budget {
    /// Tokens the prompt may use.
    pub fn prompt_tokens(&self) -> usize {
        self.window.saturating_sub(self.reserve)
    }
}

/// How to make a conversation fit.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Fit {
    /// Everything fits.
    Whole,
    /// Replace `history[..keep_from]` with `summary`.
    Compact { keep_from: usize, summary: String },
}

fn snippet(text: &str) -> String {
    let line = text.split_whitespace().collect::<Vec<_>>().join(" ");
    if line.chars().count() <= SUMMARY_SNIPPET_CHARS {
        return line;
    }
    let cut: String = line.chars().take(SUMMARY_SNIPPET_CHARS).collect();
    format!("{}…", cut.trim_end())
}

/// A short summary of messages, one line per step, for the compacted part of a prompt.
pub fn summarize(messages: &[Message]) -> String {
    summarize_keeping(messages, None)
}

/// [`summarize`], with the message at index `whole` (the task being worked on) in full.
fn summarize_keeping(messages: &[Message], whole: Option<usize>) -> String {
    let mut lines = Vec::new();
    for (index, message) in messages.iter().enumerate() {
        match message.role {
            Role::User if whole == Some(index) => {
                lines.push(format!("- The user asked: {}", message.content.trim()));
            }
            Role::User => lines.push(format!("- The user asked: {}", snippet(&message.content))),
            Role::Assistant => {
                if !message.content.trim().is_empty() {
                    lines.push(format!("- You answered: {}", snippet(&message.content)));
                }
                for call in &message.tool_calls {
                    lines.push(format!(
                        "- You called {}({})",
                        call.name,
                        snippet(&call.arguments)
                    ));
                }
            }
            Role::Tool => lines.push(format!("  result: {}", snippet(&message.content))),
            // An earlier summary is kept whole: it is already short.
            Role::System => lines.push(message.content.clone()),
        }
    }
    lines.join("\n")
}

/// Decides how `history` (whose messages cost `sizes` tokens) fits in `budget` next to a
/// system prompt and tools of `fixed_tokens`: whole, or with its oldest turns summarized,
/// cut at the earliest user message that makes it fit, else at the earliest assistant
/// message of the newest turn that does (else the newest one: the latest step is always
/// kept whole, even when it alone is too large).
pub fn fit(
    history: &[Message],
    sizes: &[usize],
    fixed_tokens: usize,
    budget: Budget,
    counter: &TokenCounter,
) -> Fit {
    let available = budget.prompt_tokens().saturating_sub(fixed_tokens);
    if sizes.iter().sum::<usize>() <= available {
        return Fit::Whole;
    }
    let last_user = history.iter().rposition(|m| m.role == Role::User);
    // The newest turn starts at its user message, or, once an earlier compaction folded
    // that message into the summary, at the summary.
    let turn_start = last_user.or_else(|| {
        history
            .first()
            .is_some_and(|m| m.role == Role::System)
            .then_some(0)
    });
    let cuts: Vec<usize> = history
        .iter()
        .enumerate()
        .filter(|(i, m)| match m.role {
            Role::User => *i > 0,
            Role::Assistant => turn_start.is_some_and(|start| *i > start),
            Role::Tool | Role::System => false,
        })
        .map(|(i, _)| i)
        .collect();
    let Some(&last_cut) = cuts.last() else {
        return Fit::Whole;
    };
    for &cut in &cuts {
        let summary = summarize_keeping(&history[..cut], last_user.filter(|u| *u < cut));
        let kept: usize = sizes[cut..].iter().sum();
        if kept + counter.count(&summary) + MESSAGE_OVERHEAD <= available || cut == last_cut {
            return Fit::Compact {
                keep_from: cut,
                summary,
            };
        }
    }
    Fit::Whole
}

#[cfg(test)]
mod tests {
    use super::*;
    use lathe_protocol::MessageId;
    use pretty_assertions::assert_eq;

    fn message(role: Role, content: &str) -> Message {
        Message {
            id: MessageId::from("m"),
            role,
            content: content.into(),
            tool_calls: vec![],
            tool_call_id: None,
        }
    }

    /// An assistant message calling `read_file` on `<id>.rs`.
    fn read_call(id: &str) -> Message {
        Message {
            tool_calls: vec![lathe_protocol::ToolCall {
                id: lathe_protocol::ToolCallId::from(id),
                name: "read_file".into(),
                arguments: format!("{{\"path\":\"{id}.rs\"}}"),
            }],
            ..message(Role::Assistant, "")
        }
    }

    #[test]
    fn one_long_task_is_compacted_between_its_steps_and_keeps_the_task_whole() {
        let counter = TokenCounter::for_model("gpt-4o");
        let task = "Refactor the parser: ".to_owned() + &"keep every public name. ".repeat(20);
        let history = vec![
            message(Role::User, &task),
            read_call("a"),
            message(Role::Tool, &"fn a() {}\n".repeat(300)),
            read_call("b"),
            message(Role::Tool, &"fn b() {}\n".repeat(300)),
            read_call("c"),
            message(Role::Tool, "fn c() {}"),
        ];
        let sizes: Vec<usize> = history.iter().map(|m| counter.message(m)).collect();
        let budget = Budget {
            window: 1_500,
            reserve: 200,
        };
        let Fit::Compact { keep_from, summary } = fit(&history, &sizes, 100, budget, &counter)
        else {
            panic!("a prompt over its window must be compacted");
        };
        assert_eq!(keep_from, 5, "cut at the last step, after the big results");
        assert!(summary.contains(task.trim()), "{summary}");
        assert!(summary.contains("- You called read_file({\"path\":\"b.rs\"})"));
    }

    #[test]
    fn a_task_compacted_once_can_be_compacted_again() {
        let counter = TokenCounter::for_model("gpt-4o");
        let history = vec![
            message(
                Role::System,
                "Summary of the earlier conversation:\n- The user asked: refactor",
            ),
            read_call("a"),
            message(Role::Tool, &"fn a() {}\n".repeat(300)),
            read_call("b"),
            message(Role::Tool, "fn b() {}"),
        ];
        let sizes: Vec<usize> = history.iter().map(|m| counter.message(m)).collect();
        let budget = Budget {
            window: 900,
            reserve: 200,
        };
        let Fit::Compact { keep_from, summary } = fit(&history, &sizes, 100, budget, &counter)
        else {
            panic!("a prompt over its window must be compacted");
        };
        assert_eq!(keep_from, 3);
        assert!(
            summary.starts_with("Summary of the earlier conversation:\n- The user asked: refactor")
        );
    }

    #[test]
    fn long_output_keeps_head_and_tail_with_a_marker() {
        let counter = TokenCounter::for_model("gpt-4o");
        let text: String = (0..2000).map(|i| format!("line {i}\n")).collect();
        let cut = counter.truncate_middle(&text, 200);
        assert!(cut.starts_with("line 0\nline 1\n"), "{cut}");
        assert!(cut.ends_with("line 1998\nline 1999\n"), "{cut}");
        assert!(cut.contains("lines ("), "{cut}");
        assert!(counter.count(&cut) <= 240, "{}", counter.count(&cut));
        assert_eq!(counter.truncate_middle("short", 200), "short");
    }

    #[test]
    fn unknown_models_count_with_o200k() {
        let a = TokenCounter::for_model("some-local-model");
        let b = TokenCounter::for_model("gpt-4o");
        assert_eq!(
            a.count("hello world, how are you?"),
            b.count("hello world, how are you?")
        );
    }

    #[test]
    fn old_turns_are_summarized_at_a_user_message() {
        let counter = TokenCounter::for_model("gpt-4o");
        let big = "word ".repeat(400);
        let history = vec![
            message(Role::User, "first question"),
            message(Role::Assistant, &big),
            message(Role::User, "second question"),
            message(Role::Assistant, &big),
            message(Role::User, "third question"),
        ];
        let budget = Budget {
            window: 600,
            reserve: 100,
        };
        let sizes: Vec<usize> = history.iter().map(|m| counter.message(m)).collect();
        assert_eq!(
            fit(&history, &sizes, 0, budget, &counter),
            Fit::Compact {
                keep_from: 2,
                summary: format!(
                    "- The user asked: first question\n- You answered: {}…",
                    "word ".repeat(32).trim_end()
                ),
            }
        );
        let roomy = Budget {
            window: 100_000,
            reserve: 100,
        };
        assert_eq!(fit(&history, &sizes, 0, roomy, &counter), Fit::Whole);
    }
}
