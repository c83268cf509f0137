//! Review findings: the fenced JSON block `/review` ends its answer with, turned into
//! diagnostics (`source: "lathe"`) and quick fixes that apply the suggested change.
//!
//! ```json
//! {"findings": [{"file": "src/lib.rs", "line": 42, "end_line": 44, "severity": "error",
//!   "message": "…", "suggestion": "replacement for lines 42-44, or null"}]}
//! ```
//!
//! Invariants: lines are 1-based and inclusive in the block, zero-based ranges in LSP;
//! a finding remembers the exact text of its lines when it was published, and its quick fix
//! is offered only while the document still has that text there (an edit since then
//! disables it with the reason), so a stale suggestion never overwrites new code.

use lathe_edits::{LineIndex, PositionEncoding, Range};
use serde::{Deserialize, Serialize};

/// One finding as the model wrote it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct RawFinding {
    pub file: String,
    pub line: u32,
    #[serde(default)]
    pub end_line: Option<u32>,
    #[serde(default)]
    pub severity: Option<String>,
    pub message: String,
    #[serde(default)]
    pub suggestion: Option<String>,
}

#[derive(Deserialize)]
struct Block {
    findings: Vec<RawFinding>,
}

/// The findings of the last fenced `json` block that holds `{"findings": [...]}` (earlier
/// blocks may be examples); none when there is no such block.
pub fn parse_findings(answer: &str) -> Vec<RawFinding> {
    let mut found = None;
    let mut rest = answer;
    while let Some(start) = rest.find("```") {
        let after = &rest[start + 3..];
        let Some(newline) = after.find('\n') else {
            break;
        };
        let info = after[..newline].trim();
        let body = &after[newline + 1..];
        let Some(end) = body.find("```") else {
            break;
        };
        if (info.is_empty() || info.eq_ignore_ascii_case("json"))
            && let Ok(block) = serde_json::from_str::<Block>(body[..end].trim())
        {
            found = Some(block.findings);
        }
        rest = &body[end + 3..];
    }
    found.unwrap_or_default()
}

/// A published finding: where it is, in the document's encoding, and what it replaces.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Finding {
    pub raw: RawFinding,
    /// The whole lines of the finding (end: start of the next line, or end of file).
    pub lines: Range,
    /// The text of those lines when the finding was published.
    pub old_text: String,
}

/// Locates a finding's lines in `text`; `None` when the lines are not in the file.
pub fn locate(raw: RawFinding, text: &str, encoding: PositionEncoding) -> Option<Finding> {
    let first = raw.line.checked_sub(1)? as usize;
    let last = raw.end_line.unwrap_or(raw.line).max(raw.line) as usize;
    let starts = line_starts(text);
    let start = *starts.get(first)?;
    let end = starts.get(last).copied().unwrap_or(text.len());
    let index = LineIndex::new(text);
    Some(Finding {
        lines: index.range(start..end, encoding),
        old_text: text.get(start..end)?.to_owned(),
        raw,
    })
}

/// The range a diagnostic shows: the finding's lines without the last line break.
pub fn diagnostic_range(finding: &Finding, text: &str, encoding: PositionEncoding) -> Range {
    let index = LineIndex::new(text);
    let start = index.offset(finding.lines.start, encoding);
    let end = index.offset(finding.lines.end, encoding);
    let trimmed = text
        .get(start..end)
        .map_or(0, |t| t.len() - t.trim_end_matches(['\n', '\r']).len());
    index.range(start..end - trimmed, encoding)
}

/// The text edit of a finding's suggestion against the current `text`, or why there is
/// none.
pub fn suggestion_edit(
    finding: &Finding,
    text: &str,
    encoding: PositionEncoding,
) -> Result<lathe_edits::TextEdit, String> {
    let Some(suggestion) = &finding.raw.suggestion else {
        return Err("the finding has no suggested change".into());
    };
    let index = LineIndex::new(text);
    let start = index.offset(finding.lines.start, encoding);
    let end = index.offset(finding.lines.end, encoding);
    if text.get(start..end) != Some(finding.old_text.as_str()) {
        return Err("the code changed since the review".into());
    }
    let mut new_text = suggestion.clone();
    let ending = if finding.old_text.ends_with("\r\n") {
        "\r\n"
    } else if finding.old_text.ends_with('\n') {
        "\n"
    } else {
        ""
    };
    if !ending.is_empty() && !new_text.ends_with('\n') {
        new_text.push_str(ending);
    }
    Ok(lathe_edits::TextEdit {
        range: finding.lines,
        new_text,
    })
}

/// Whether a finding's diagnostic range touches `range`.
pub fn touches(finding: &Finding, range: Range) -> bool {
    let (start, end) = (finding.lines.start, finding.lines.end);
    start <= range.end && (range.start < end || range.start == start)
}

fn line_starts(text: &str) -> Vec<usize> {
    std::iter::once(0)
        .chain(text.match_indices('\n').map(|(i, _)| i + 1))
        .filter(|&i| i < text.len() || i == 0)
        .collect()
}

/// The LSP severity named in a finding (`error`, `warning`, anything else: information).
pub fn severity(raw: &RawFinding) -> tower_lsp_server::gen_lsp_types::DiagnosticSeverity {
    use tower_lsp_server::gen_lsp_types::DiagnosticSeverity as S;
    match raw
        .severity
        .as_deref()
        .map(str::to_ascii_lowercase)
        .as_deref()
    {
        Some("error" | "critical" | "high") => S::Error,
        Some("warning" | "warn" | "medium") => S::Warning,
        Some("hint") => S::Hint,
        _ => S::Information,
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use lathe_edits::Position;
    use pretty_assertions::assert_eq;

    fn raw(line: u32, end: u32, suggestion: Option<&str>) -> RawFinding {
        RawFinding {
            file: "a.rs".into(),
            line,
            end_line: Some(end),
            severity: Some("error".into()),
            message: "m".into(),
            suggestion: suggestion.map(str::to_owned),
        }
    }

    #[test]
    fn takes_the_last_findings_block() {
        let answer = "Verdict.\n```json\n{\"findings\": []}\n```\ntext\n```json\n{\"findings\": [\
            {\"file\": \"a.rs\", \"line\": 2, \"end_line\": 3, \"severity\": \"error\", \
            \"message\": \"m\", \"suggestion\": \"x\"}]}\n```\n```rust\nfn x() {}\n```\n";
        assert_eq!(parse_findings(answer), vec![raw(2, 3, Some("x"))]);
        assert_eq!(parse_findings("no block"), Vec::<RawFinding>::new());
        assert_eq!(
            parse_findings("```json\n{broken\n```"),
            Vec::<RawFinding>::new()
        );
    }

    #[test]
    fn suggestion_replaces_whole_lines_and_refuses_when_stale() {
        let text = "a\n😀 b\nc\nd";
        let finding = locate(raw(2, 3, Some("B\nC")), text, PositionEncoding::Utf16).unwrap();
        assert_eq!(finding.old_text, "😀 b\nc\n");
        assert_eq!(
            diagnostic_range(&finding, text, PositionEncoding::Utf16),
            Range {
                start: Position::new(1, 0),
                end: Position::new(2, 1)
            }
        );
        let edit = suggestion_edit(&finding, text, PositionEncoding::Utf16).unwrap();
        assert_eq!(edit.new_text, "B\nC\n");
        assert_eq!(edit.range.start, Position::new(1, 0));
        assert_eq!(edit.range.end, Position::new(3, 0));
        let changed = "a\n😀 b!\nc\nd";
        assert_eq!(
            suggestion_edit(&finding, changed, PositionEncoding::Utf16),
            Err("the code changed since the review".into())
        );
        let last = locate(raw(4, 4, Some("D")), text, PositionEncoding::Utf8).unwrap();
        assert_eq!(
            suggestion_edit(&last, text, PositionEncoding::Utf8)
                .unwrap()
                .new_text,
            "D"
        );
        assert_eq!(locate(raw(9, 9, None), text, PositionEncoding::Utf8), None);
        assert_eq!(locate(raw(0, 1, None), text, PositionEncoding::Utf8), None);
    }
}
