//! Rendering a diff as unified-diff text (no context lines, like `git diff -U0`), for
//! humans (the `file.changed` event, the dashboard) and for the model. The output parses
//! back with [`crate::apply_unified_diff`].

use crate::{FileDiff, FileOp, Hunk, WorkspaceDiff};
use std::fmt::Write as _;

/// The whole diff as unified-diff text.
pub fn render_unified_diff(diff: &WorkspaceDiff) -> String {
    diff.files.iter().map(render_file_diff).collect()
}

/// One file's change as unified-diff text with git-style headers.
pub fn render_file_diff(file: &FileDiff) -> String {
    let mut out = String::new();
    match &file.op {
        FileOp::Create { content } => {
            let _ = writeln!(out, "diff --git a/{0} b/{0}", file.path);
            out.push_str("new file mode 100644\n");
            if content.is_empty() {
                return out;
            }
            let _ = writeln!(out, "--- /dev/null\n+++ b/{}", file.path);
            let lines = crate::text::count_lines(content);
            let _ = writeln!(out, "@@ -0,0 +1,{lines} @@");
            push_side(&mut out, '+', content);
        }
        FileOp::Delete { .. } => {
            let _ = writeln!(out, "diff --git a/{0} b/{0}", file.path);
            out.push_str("deleted file mode 100644\n");
        }
        FileOp::Modify {
            hunks, rename_to, ..
        } => {
            let target = rename_to.as_deref().unwrap_or(&file.path);
            let _ = writeln!(out, "diff --git a/{} b/{target}", file.path);
            if let Some(to) = rename_to {
                let _ = writeln!(out, "rename from {}\nrename to {to}", file.path);
            }
            if hunks.is_empty() {
                return out;
            }
            let _ = writeln!(out, "--- a/{}\n+++ b/{target}", file.path);
            for hunk in hunks {
                push_hunk(&mut out, hunk);
            }
        }
    }
    out
}

fn range(start: u32, lines: u32) -> String {
    match lines {
        0 => format!("{},0", start.saturating_sub(1)),
        1 => start.to_string(),
        n => format!("{start},{n}"),
    }
}

fn push_hunk(out: &mut String, hunk: &Hunk) {
    let _ = writeln!(
        out,
        "@@ -{} +{} @@",
        range(hunk.old_start, hunk.old_lines),
        range(hunk.new_start, hunk.new_lines)
    );
    push_side(out, '-', &hunk.old_text);
    push_side(out, '+', &hunk.new_text);
}

fn push_side(out: &mut String, marker: char, text: &str) {
    for line in text.split_inclusive('\n') {
        out.push(marker);
        out.push_str(line.strip_suffix('\n').unwrap_or(line));
        out.push('\n');
    }
    if !text.is_empty() && !text.ends_with('\n') {
        out.push_str("\\ No newline at end of file\n");
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;
    use pretty_assertions::assert_eq;

    #[test]
    fn renders_git_style() {
        let file = FileDiff {
            path: "a.txt".into(),
            op: FileOp::Modify {
                base_hash: crate::ContentHash::from_text("blake3:0"),
                hunks: vec![Hunk {
                    old_start: 2,
                    old_lines: 1,
                    new_start: 2,
                    new_lines: 2,
                    old_text: "b".into(),
                    new_text: "b\nc\n".into(),
                }],
                rename_to: None,
            },
        };
        assert_eq!(
            render_file_diff(&file),
            "diff --git a/a.txt b/a.txt\n--- a/a.txt\n+++ b/a.txt\n@@ -2 +2,2 @@\n-b\n\\ No newline at end of file\n+b\n+c\n"
        );
    }
}
