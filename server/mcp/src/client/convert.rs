//! An MCP tool result as the model reads it: one text.
//!
//! Text blocks are kept as they are; images and audio become a one-line note with their
//! type and size (the model API here takes text tool results); resource links name their
//! URI; embedded text resources are inlined, binary ones noted; structured content is
//! shown as JSON when the result has no text block (which would already carry it).
//!
//! Invariant: the result is at most `cap` bytes; a longer one keeps its head and tail with
//! a note in the middle saying how much was cut, split on character boundaries.

use rmcp::model::{CallToolResult, ContentBlock, ResourceContents};
use std::fmt::Write as _;

/// Default cap on a tool result the model sees, in bytes.
pub const DEFAULT_OUTPUT_CAP: usize = 64 * 1024;

/// The text of a result and whether the server flagged it as an error.
pub fn result_text(result: &CallToolResult, cap: usize) -> (String, bool) {
    let mut parts: Vec<String> = Vec::new();
    for block in &result.content {
        parts.push(block_text(block));
    }
    // Servers put the serialized structured content (or a rendering of it) in a text
    // block too; only a result without any text shows the JSON itself.
    let has_text = result
        .content
        .iter()
        .any(|block| matches!(block, ContentBlock::Text(_)));
    if let Some(structured) = result.structured_content.as_ref().filter(|_| !has_text) {
        let json = serde_json::to_string_pretty(structured).unwrap_or_default();
        parts.push(format!("Structured result:\n{json}"));
    }
    let mut text = parts.join("\n");
    if text.is_empty() {
        text = "(the tool returned no content)".into();
    }
    (cap_text(&text, cap), result.is_error.unwrap_or(false))
}

fn block_text(block: &ContentBlock) -> String {
    match block {
        ContentBlock::Text(text) => text.text.clone(),
        ContentBlock::Image(image) => format!(
            "[image: {}, {} bytes, not shown]",
            image.mime_type,
            base64_len(&image.data)
        ),
        ContentBlock::Audio(audio) => format!(
            "[audio: {}, {} bytes, not shown]",
            audio.mime_type,
            base64_len(&audio.data)
        ),
        ContentBlock::ResourceLink(link) => {
            let mut out = format!("[resource link: {} <{}>", link.name, link.uri);
            if let Some(mime) = &link.mime_type {
                let _ = write!(out, ", {mime}");
            }
            if let Some(description) = &link.description {
                let _ = write!(out, " — {description}");
            }
            out.push(']');
            out
        }
        ContentBlock::Resource(embedded) => match &embedded.resource {
            ResourceContents::TextResourceContents { uri, text, .. } => {
                format!("[resource {uri}]\n{text}")
            }
            ResourceContents::BlobResourceContents {
                uri,
                mime_type,
                blob,
                ..
            } => format!(
                "[resource {uri}: {}, {} bytes, binary, not shown]",
                mime_type.as_deref().unwrap_or("application/octet-stream"),
                base64_len(blob)
            ),
            _ => "[resource of an unknown kind, not shown]".to_owned(),
        },
        _ => "[content of an unknown kind, not shown]".to_owned(),
    }
}

/// Decoded size of base64 text.
fn base64_len(data: &str) -> usize {
    let trimmed = data.trim_end_matches('=');
    trimmed.len() * 3 / 4
}

/// Cuts `text` to at most `cap` bytes, keeping the head and the tail.
pub fn cap_text(text: &str, cap: usize) -> String {
    if text.len() <= cap {
        return text.to_owned();
    }
    let note_room = 80;
    let keep = cap.saturating_sub(note_room);
    let mut head_end = keep / 2;
    while !text.is_char_boundary(head_end) {
        head_end -= 1;
    }
    let mut tail_start = text.len() - (keep - head_end);
    while !text.is_char_boundary(tail_start) {
        tail_start += 1;
    }
    let cut = tail_start - head_end;
    format!(
        "{}\n[… {cut} bytes cut from the middle of the tool output …]\n{}",
        &text[..head_end],
        &text[tail_start..]
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use pretty_assertions::assert_eq;
    use rmcp::model::Resource;
    use serde_json::json;

    #[test]
    fn blocks_become_text() {
        let result = CallToolResult::success(vec![
            ContentBlock::text("hello"),
            ContentBlock::image("aGVsbG8=", "image/png"),
            ContentBlock::resource_link(
                Resource::new("file:///a.txt", "a.txt").with_mime_type("text/plain"),
            ),
            ContentBlock::embedded_text("file:///b.txt", "bee"),
        ]);
        let (text, is_error) = result_text(&result, 10_000);
        assert_eq!(
            text,
            "hello\n[image: image/png, 5 bytes, not shown]\n[resource link: a.txt <file:///a.txt>, text/plain]\n[resource file:///b.txt]\nbee"
        );
        assert!(!is_error);
    }

    #[test]
    fn structured_content_is_shown_once() {
        let value = json!({"n": 1});
        let mut with_text = CallToolResult::success(vec![ContentBlock::text("n is 1")]);
        with_text.structured_content = Some(value.clone());
        assert_eq!(result_text(&with_text, 1000).0, "n is 1");
        let mut alone = CallToolResult::success(vec![]);
        alone.structured_content = Some(value);
        assert_eq!(
            result_text(&alone, 1000).0,
            "Structured result:\n{\n  \"n\": 1\n}"
        );
        let error = CallToolResult::error(vec![ContentBlock::text("boom")]);
        assert_eq!(result_text(&error, 1000), ("boom".to_owned(), true));
    }

    #[test]
    fn long_output_keeps_head_and_tail_on_char_boundaries() {
        let text = format!("{}{}", "é".repeat(500), "z".repeat(500));
        let capped = cap_text(&text, 400);
        assert!(capped.len() <= 400, "{}", capped.len());
        assert!(capped.starts_with("éé"));
        assert!(capped.ends_with("zz"));
        assert!(capped.contains("bytes cut from the middle"));
    }
}
