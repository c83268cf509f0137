//! A session's log as people read it: a markdown transcript, and the diff of every file the
//! session changed. Both are pure functions of the stored events.
//!
//! Invariant: nothing is invented — every line comes from an event; long tool results are
//! shortened in the markdown (the JSON form, the events themselves, keeps everything).

use crate::client::cap_text;
use lathe_protocol::event::{CustomEvent, FileChangeKind};
use lathe_protocol::{Event, EventPayload, Role, SessionMeta};
use std::collections::BTreeMap;
use std::fmt::Write as _;

/// Longest tool result shown in the markdown transcript, in bytes.
const TOOL_RESULT_SHOWN: usize = 4000;

/// The markdown transcript of a session.
pub fn markdown(meta: &SessionMeta, events: &[Event]) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "# {}\n",
        if meta.title.is_empty() {
            "(untitled)"
        } else {
            &meta.title
        }
    );
    let _ = writeln!(
        out,
        "Session `{}` · {:?} · workspace `{}` · started from {}\n",
        meta.id, meta.status, meta.workspace, meta.origin
    );
    let mut role = Role::Assistant;
    let mut text = String::new();
    let mut args: BTreeMap<String, (String, String)> = BTreeMap::new();
    for event in events {
        match &event.payload {
            EventPayload::TextMessageStart { role: r, .. } => {
                role = *r;
                text.clear();
            }
            EventPayload::TextMessageContent { delta, .. } => text.push_str(delta),
            EventPayload::TextMessageEnd { .. } => {
                let heading = match role {
                    Role::User => "User",
                    Role::Assistant => "Assistant",
                    Role::System => "System",
                    Role::Tool => "Tool",
                };
                let _ = writeln!(out, "## {heading}\n\n{}\n", text.trim_end());
            }
            EventPayload::ToolCallStart {
                tool_call_id,
                tool_call_name,
                ..
            } => {
                args.insert(
                    tool_call_id.to_string(),
                    (tool_call_name.clone(), String::new()),
                );
            }
            EventPayload::ToolCallArgs {
                tool_call_id,
                delta,
            } => {
                if let Some((_, a)) = args.get_mut(tool_call_id.as_str()) {
                    a.push_str(delta);
                }
            }
            EventPayload::ToolCallEnd { tool_call_id } => {
                if let Some((name, a)) = args.get(tool_call_id.as_str()) {
                    let _ = writeln!(out, "**Tool call** `{name}` `{a}`\n");
                }
            }
            EventPayload::ToolCallResult {
                content, is_error, ..
            } => {
                let label = if *is_error {
                    "Tool error"
                } else {
                    "Tool result"
                };
                let _ = writeln!(
                    out,
                    "{label}:\n\n```text\n{}\n```\n",
                    cap_text(content, TOOL_RESULT_SHOWN).trim_end()
                );
            }
            EventPayload::RunError { message, code } => {
                let _ = writeln!(
                    out,
                    "**Run failed** ({}): {message}\n",
                    code.as_deref().unwrap_or("error")
                );
            }
            EventPayload::Custom(CustomEvent::ApprovalRequested(request)) => {
                let _ = writeln!(out, "> Approval asked: {}\n", request.summary);
            }
            EventPayload::Custom(CustomEvent::ApprovalResolved(resolved)) => {
                let who = resolved
                    .who
                    .as_deref()
                    .map(|w| format!(" ({w})"))
                    .unwrap_or_default();
                let _ = writeln!(
                    out,
                    "> Approval {:?} by {:?}{who}\n",
                    resolved.decision, resolved.by
                );
            }
            EventPayload::Custom(CustomEvent::FileChanged(change)) => {
                let _ = writeln!(
                    out,
                    "**File {}** `{}`\n\n```diff\n{}\n```\n",
                    kind_word(change.kind),
                    change.path,
                    change.diff.trim_end()
                );
            }
            _ => {}
        }
    }
    out
}

fn kind_word(kind: FileChangeKind) -> &'static str {
    match kind {
        FileChangeKind::Created => "created",
        FileChangeKind::Modified => "modified",
        FileChangeKind::Deleted => "deleted",
        FileChangeKind::Renamed => "renamed",
    }
}

/// Every file the events changed, in order, as `(path, kind)` with later changes of the
/// same path replacing earlier ones.
pub fn changed_files(events: &[Event]) -> Vec<(String, &'static str)> {
    let mut files: Vec<(String, &'static str)> = Vec::new();
    for event in events {
        if let EventPayload::Custom(CustomEvent::FileChanged(change)) = &event.payload {
            let kind = kind_word(change.kind);
            match files.iter_mut().find(|(p, _)| *p == change.path) {
                Some(entry) => entry.1 = kind,
                None => files.push((change.path.clone(), kind)),
            }
        }
    }
    files
}

/// One line about the changed files: `2 files changed: src/a.rs (modified), b.rs (created)`.
pub fn diff_summary(files: &[(String, &'static str)]) -> String {
    match files.len() {
        0 => "no files changed".to_owned(),
        n => format!(
            "{n} file{} changed: {}",
            if n == 1 { "" } else { "s" },
            files
                .iter()
                .map(|(p, k)| format!("{p} ({k})"))
                .collect::<Vec<_>>()
                .join(", ")
        ),
    }
}

/// The unified diffs of every change, in order.
pub fn diff(events: &[Event]) -> String {
    let mut out = String::new();
    for event in events {
        if let EventPayload::Custom(CustomEvent::FileChanged(change)) = &event.payload {
            out.push_str(&change.diff);
            if !change.diff.ends_with('\n') {
                out.push('\n');
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use lathe_protocol::event::FileChanged;
    use lathe_protocol::{MessageId, SessionId, SessionStatus, ToolCallId};
    use pretty_assertions::assert_eq;

    fn event(seq: u64, payload: EventPayload) -> Event {
        Event {
            session_id: SessionId::from("s1"),
            seq,
            timestamp: 0,
            payload,
        }
    }

    #[test]
    fn transcript_and_diff_from_events() {
        let meta = SessionMeta {
            id: SessionId::from("s1"),
            title: "fix it".into(),
            workspace: "/w".into(),
            status: SessionStatus::Finished,
            created_at: 0,
            updated_at: 0,
            origin: "mcp".into(),
            model: None,
            usage: Default::default(),
        };
        let m = MessageId::from("m1");
        let a = MessageId::from("m2");
        let c = ToolCallId::from("c1");
        let change = FileChanged {
            path: "a.txt".into(),
            kind: FileChangeKind::Modified,
            old_path: None,
            diff: "--- a/a.txt\n+++ b/a.txt\n@@ -1 +1 @@\n-x\n+y".into(),
            tool_call_id: Some(c.clone()),
        };
        let events = vec![
            event(
                1,
                EventPayload::TextMessageStart {
                    message_id: m.clone(),
                    role: Role::User,
                },
            ),
            event(
                2,
                EventPayload::TextMessageContent {
                    message_id: m.clone(),
                    delta: "fix it".into(),
                },
            ),
            event(3, EventPayload::TextMessageEnd { message_id: m }),
            event(
                4,
                EventPayload::ToolCallStart {
                    tool_call_id: c.clone(),
                    tool_call_name: "edit_file".into(),
                    parent_message_id: None,
                },
            ),
            event(
                5,
                EventPayload::ToolCallArgs {
                    tool_call_id: c.clone(),
                    delta: "{\"path\":\"a.txt\"}".into(),
                },
            ),
            event(
                6,
                EventPayload::ToolCallEnd {
                    tool_call_id: c.clone(),
                },
            ),
            event(7, EventPayload::Custom(CustomEvent::FileChanged(change))),
            event(
                8,
                EventPayload::ToolCallResult {
                    message_id: a.clone(),
                    tool_call_id: c,
                    content: "edited".into(),
                    is_error: false,
                },
            ),
            event(
                9,
                EventPayload::TextMessageStart {
                    message_id: a.clone(),
                    role: Role::Assistant,
                },
            ),
            event(
                10,
                EventPayload::TextMessageContent {
                    message_id: a.clone(),
                    delta: "Done.".into(),
                },
            ),
            event(11, EventPayload::TextMessageEnd { message_id: a }),
        ];
        assert_eq!(
            markdown(&meta, &events),
            "# fix it\n\nSession `s1` · Finished · workspace `/w` · started from mcp\n\n## User\n\nfix it\n\n**Tool call** `edit_file` `{\"path\":\"a.txt\"}`\n\n**File modified** `a.txt`\n\n```diff\n--- a/a.txt\n+++ b/a.txt\n@@ -1 +1 @@\n-x\n+y\n```\n\nTool result:\n\n```text\nedited\n```\n\n## Assistant\n\nDone.\n\n"
        );
        assert_eq!(
            diff(&events),
            "--- a/a.txt\n+++ b/a.txt\n@@ -1 +1 @@\n-x\n+y\n"
        );
        let files = changed_files(&events);
        assert_eq!(diff_summary(&files), "1 file changed: a.txt (modified)");
        assert_eq!(diff_summary(&[]), "no files changed");
    }
}
