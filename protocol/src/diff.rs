//! Workspace diffs: what an edit will change, per file, before anything is written.
//!
//! A [`WorkspaceDiff`] is produced by `lathe-edits` from any edit format (search/replace,
//! `apply_patch`, unified diff, whole-file write) and consumed by `lathe-workspace` (disk),
//! the LSP front end (`workspace/applyEdit`) and every surface that shows changes.
//!
//! Invariants:
//! - paths are workspace-relative, `/`-separated, with no `.`/`..` components;
//! - a file appears at most once per diff (by its base path), and no two files share a
//!   target path;
//! - every change of an existing file names the [`ContentHash`] of the exact bytes it was
//!   computed against, so a diff is refused if the file changed in between;
//! - hunks of a file are sorted, do not overlap, and are whole lines: `old_text` is exactly
//!   the text of lines `old_start .. old_start + old_lines` of the base (line terminators
//!   included; only the file's last line may lack one) and `new_text` replaces it; a
//!   leading byte order mark belongs to no line and is kept as is.

use serde::{Deserialize, Serialize};
use std::fmt;

/// The hash of a file's exact bytes, written `<algorithm>:<hex digits>` (Lathe writes `blake3:…`).
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct ContentHash(String);

impl ContentHash {
    /// Wraps an already computed hash text (`lathe-edits` computes it from bytes).
    pub fn from_text(text: impl Into<String>) -> Self {
        Self(text.into())
    }

    /// The hash as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for ContentHash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// Every file change one edit makes, in the order the edit named them.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct WorkspaceDiff {
    pub files: Vec<FileDiff>,
}

impl WorkspaceDiff {
    /// True when the diff changes nothing.
    pub fn is_empty(&self) -> bool {
        self.files.is_empty()
    }

    /// Every path the diff reads or writes (base paths and rename targets), in order.
    pub fn touched_paths(&self) -> Vec<&str> {
        let mut paths = Vec::new();
        for file in &self.files {
            paths.push(file.path.as_str());
            if let FileOp::Modify {
                rename_to: Some(target),
                ..
            } = &file.op
            {
                paths.push(target.as_str());
            }
        }
        paths
    }

    /// Lines added and removed over all files (a created file counts its lines as added,
    /// a deleted file counts nothing: its content is not carried).
    pub fn stats(&self) -> DiffStats {
        let mut stats = DiffStats::default();
        for file in &self.files {
            match &file.op {
                FileOp::Create { content } => {
                    stats.added += count_lines(content);
                }
                FileOp::Modify { hunks, .. } => {
                    for hunk in hunks {
                        stats.added += u64::from(hunk.new_lines);
                        stats.removed += u64::from(hunk.old_lines);
                    }
                }
                FileOp::Delete { .. } => {}
            }
        }
        stats
    }
}

fn count_lines(text: &str) -> u64 {
    let newlines = text.bytes().filter(|b| *b == b'\n').count() as u64;
    if text.is_empty() || text.ends_with('\n') {
        newlines
    } else {
        newlines + 1
    }
}

/// Line counts of a diff.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct DiffStats {
    pub added: u64,
    pub removed: u64,
}

/// One file's change.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct FileDiff {
    /// The file's workspace-relative path before the change.
    pub path: String,
    pub op: FileOp,
}

impl FileDiff {
    /// The path the file has after the change (`None` when it is deleted).
    pub fn target_path(&self) -> Option<&str> {
        match &self.op {
            FileOp::Create { .. } => Some(&self.path),
            FileOp::Modify { rename_to, .. } => Some(rename_to.as_deref().unwrap_or(&self.path)),
            FileOp::Delete { .. } => None,
        }
    }

    /// The hash the change was computed against (`None` for a file that must not exist yet).
    pub fn base_hash(&self) -> Option<&ContentHash> {
        match &self.op {
            FileOp::Create { .. } => None,
            FileOp::Modify { base_hash, .. } | FileOp::Delete { base_hash } => Some(base_hash),
        }
    }
}

/// What happens to one file.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(
    tag = "kind",
    rename_all = "snake_case",
    rename_all_fields = "camelCase"
)]
pub enum FileOp {
    /// A new file; refused if the path exists when applied.
    Create { content: String },
    /// An existing file's text changes by `hunks` and, with `rename_to`, moves.
    /// A rename with no hunks moves the file unchanged.
    Modify {
        base_hash: ContentHash,
        hunks: Vec<Hunk>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        rename_to: Option<String>,
    },
    /// The file is removed.
    Delete { base_hash: ContentHash },
}

/// One contiguous change of whole lines.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Hunk {
    /// 1-based number of the first base line replaced; for a pure insertion
    /// (`old_lines == 0`) the line the new text is inserted before (line count + 1 = at the end).
    pub old_start: u32,
    /// Number of base lines replaced.
    pub old_lines: u32,
    /// 1-based number of the first line of `new_text` in the new file
    /// (for a pure deletion, the line that follows the deleted ones).
    pub new_start: u32,
    /// Number of lines in `new_text`.
    pub new_lines: u32,
    /// The exact base text replaced.
    pub old_text: String,
    /// The exact text that replaces it.
    pub new_text: String,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn serializes_with_kind_tags() -> Result<(), serde_json::Error> {
        let diff = WorkspaceDiff {
            files: vec![
                FileDiff {
                    path: "a.txt".into(),
                    op: FileOp::Create {
                        content: "x\n".into(),
                    },
                },
                FileDiff {
                    path: "b.txt".into(),
                    op: FileOp::Modify {
                        base_hash: ContentHash::from_text("blake3:00"),
                        hunks: vec![Hunk {
                            old_start: 1,
                            old_lines: 1,
                            new_start: 1,
                            new_lines: 1,
                            old_text: "a\n".into(),
                            new_text: "b\n".into(),
                        }],
                        rename_to: Some("c.txt".into()),
                    },
                },
            ],
        };
        let json = serde_json::to_value(&diff)?;
        assert_eq!(
            json,
            serde_json::json!({"files": [
                {"path": "a.txt", "op": {"kind": "create", "content": "x\n"}},
                {"path": "b.txt", "op": {"kind": "modify", "baseHash": "blake3:00", "renameTo": "c.txt",
                    "hunks": [{"oldStart": 1, "oldLines": 1, "newStart": 1, "newLines": 1,
                               "oldText": "a\n", "newText": "b\n"}]}}
            ]})
        );
        let back: WorkspaceDiff = serde_json::from_value(json)?;
        assert_eq!(back, diff);
        assert_eq!(diff.touched_paths(), vec!["a.txt", "b.txt", "c.txt"]);
        assert_eq!(
            diff.stats(),
            DiffStats {
                added: 2,
                removed: 1
            }
        );
        Ok(())
    }
}
