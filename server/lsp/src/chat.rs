//! Chat documents (`*.lathe.md`): the conversation as markdown, and the writer that streams
//! an answer into the document through `workspace/applyEdit`.
//!
//! ```markdown
//! ## You
//!
//! How does the parser recover from errors?
//!
//! ## Lathe <!-- session: 0193f5c2-… -->
//!
//! It …
//!
//! ## You
//!
//! /review src/parser.rs
//! ```
//!
//! Invariants: only `## You` (or `## User`) and `## Lathe` lines are chat headings, so an
//! answer may use any other markdown; the session a document continues is the last
//! `<!-- session: ID -->` marker in it; every write appends at the document's logical end
//! (before its final line break) with the version the server last saw, and waits for the
//! editor's echo before the next one, so streamed chunks land in order and never at a
//! stale position (a refused write is retried on the new version).

use crate::documents::{Documents, lock};
use crate::error::LspError;
use crate::hub::Peer;
use lathe_edits::{DocumentEdit, LineIndex, TextEdit};
use lathe_protocol::SessionId;
use tokio::sync::mpsc;

/// The user's last message in a chat document.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ChatTurn {
    /// The message text, trimmed.
    pub prompt: String,
    /// `/name rest`: the skill and its input, when the message is a slash command.
    pub slash: Option<(String, String)>,
    /// The session recorded in the document, if any.
    pub session: Option<SessionId>,
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Heading {
    You,
    Lathe,
}

fn heading(line: &str) -> Option<Heading> {
    let rest = line.strip_prefix("##")?;
    if rest.starts_with('#') {
        return None;
    }
    let word = rest
        .trim_start()
        .split(|c: char| !c.is_alphanumeric())
        .next()?;
    match word.to_ascii_lowercase().as_str() {
        "you" | "user" => Some(Heading::You),
        "lathe" => Some(Heading::Lathe),
        _ => None,
    }
}

/// The last `<!-- session: ID -->` marker.
pub fn recorded_session(text: &str) -> Option<SessionId> {
    const OPEN: &str = "<!-- session:";
    let at = text.rfind(OPEN)?;
    let rest = &text[at + OPEN.len()..];
    let id = rest[..rest.find("-->")?].trim();
    (!id.is_empty()).then(|| SessionId::from(id))
}

/// The last user message; `Err` says what to write when there is none.
pub fn last_turn(text: &str) -> Result<ChatTurn, String> {
    let mut last: Option<(Heading, usize)> = None;
    let mut offset = 0;
    for line in text.split_inclusive('\n') {
        if let Some(kind) = heading(line) {
            last = Some((kind, offset + line.len()));
        }
        offset += line.len();
    }
    let body = match last {
        None => text,
        Some((Heading::You, start)) => &text[start..],
        Some((Heading::Lathe, _)) => {
            return Err("there is no new message: write it under a `## You` heading".into());
        }
    };
    let prompt = body.trim().to_owned();
    if prompt.is_empty() {
        return Err("the message is empty: write it under the last `## You` heading".into());
    }
    let slash = prompt.strip_prefix('/').and_then(|command| {
        let name: String = command
            .chars()
            .take_while(|c| c.is_alphanumeric() || matches!(c, '-' | '_' | ':'))
            .collect();
        (!name.is_empty()).then(|| (name.clone(), command[name.len()..].trim().to_owned()))
    });
    Ok(ChatTurn {
        prompt,
        slash,
        session: recorded_session(text),
    })
}

/// The heading that opens an answer of `session`, after `text` (the document up to its
/// logical end).
pub fn answer_heading(text: &str, session: &SessionId) -> String {
    let gap = if text.is_empty() || text.ends_with("\n\n") {
        ""
    } else if text.ends_with('\n') {
        "\n"
    } else {
        "\n\n"
    };
    format!("{gap}## Lathe <!-- session: {session} -->\n\n")
}

/// What closes an answer: a fresh `## You` heading for the next message (plus the
/// document's final line break).
pub const NEXT_TURN: &str = "\n\n## You\n";

/// The document without its final line break: where appended text goes. Editors keep a
/// document's final line break after the last line (Neovim cannot even represent text
/// appended after it), so writes go just before it and it stays last.
pub fn logical_end(text: &str) -> usize {
    text.strip_suffix("\r\n")
        .or_else(|| text.strip_suffix('\n'))
        .unwrap_or(text)
        .len()
}

/// Appends `text` at the logical end of the document at `uri` (see [`logical_end`]),
/// retrying on a newer version when the user typed in between (after their `didChange`
/// arrived, or a moment). Written without a label: editors that show one (Neovim) would
/// show it for every streamed chunk.
pub async fn append(
    peer: &Peer,
    documents: &Documents,
    uri: &str,
    text: &str,
) -> Result<(), LspError> {
    const ATTEMPTS: usize = 5;
    const SETTLE: std::time::Duration = std::time::Duration::from_millis(300);
    let mut last_error = None;
    for attempt in 0..ATTEMPTS {
        if attempt > 0 {
            let mut changed = documents.watch();
            changed.mark_unchanged();
            let _ = tokio::time::timeout(SETTLE, changed.changed()).await;
        }
        let handle = documents.get(uri).ok_or_else(|| LspError::NotOpen {
            uri: uri.to_owned(),
        })?;
        let (at, edit) = {
            let open = lock(&handle);
            let current = open.doc.text();
            let at = logical_end(&current);
            let end = LineIndex::new(&current).position(at, peer.encoding);
            let edit = DocumentEdit {
                path: uri.to_owned(),
                version: open.version,
                edits: vec![TextEdit {
                    range: lathe_edits::Range { start: end, end },
                    new_text: text.to_owned(),
                }],
            };
            (at, edit)
        };
        // At the append point or after it (the user may have typed above meanwhile).
        let holds = |now: &str| {
            now.get(at.min(now.len())..)
                .is_some_and(|rest| rest.contains(text))
        };
        match peer.apply_document_edit(uri, edit, None, &holds).await {
            Ok(()) => return Ok(()),
            Err(error) => last_error = Some(error),
        }
    }
    Err(last_error.unwrap_or_else(|| LspError::Client("refused every chat write".into())))
}

/// Streams chunks from `chunks` into the document, coalescing whatever arrived while the
/// previous write was in flight.
pub async fn stream(
    peer: &Peer,
    documents: &Documents,
    uri: &str,
    mut chunks: mpsc::UnboundedReceiver<String>,
) -> Result<(), LspError> {
    while let Some(mut chunk) = chunks.recv().await {
        while let Ok(more) = chunks.try_recv() {
            chunk.push_str(&more);
        }
        append(peer, documents, uri, &chunk).await?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use pretty_assertions::assert_eq;

    #[test]
    fn finds_the_last_user_message_and_session() {
        let text = "# Chat\n\n## You\n\nfirst\n\n## Lathe <!-- session: s-1 -->\n\n## Notes\nanswer\n\n## You\n\n/review  src/a.rs\nplease\n";
        assert_eq!(
            last_turn(text),
            Ok(ChatTurn {
                prompt: "/review  src/a.rs\nplease".into(),
                slash: Some(("review".into(), "src/a.rs\nplease".into())),
                session: Some(SessionId::from("s-1")),
            })
        );
        assert_eq!(
            last_turn("just a question"),
            Ok(ChatTurn {
                prompt: "just a question".into(),
                slash: None,
                session: None
            })
        );
        assert!(last_turn("## You\n\n   \n").is_err());
        assert!(last_turn("## You\nq\n## Lathe <!-- session: a -->\nanswer\n").is_err());
        assert_eq!(
            last_turn("### You\nq").map(|t| t.prompt),
            Ok("### You\nq".into())
        );
    }

    #[test]
    fn answer_headings_keep_one_blank_line() {
        let id = SessionId::from("s");
        assert_eq!(
            answer_heading("q", &id),
            "\n\n## Lathe <!-- session: s -->\n\n"
        );
        assert_eq!(
            answer_heading("q\n", &id),
            "\n## Lathe <!-- session: s -->\n\n"
        );
        assert_eq!(
            answer_heading("q\n\n", &id),
            "## Lathe <!-- session: s -->\n\n"
        );
    }
}
