//! A file's hunks as LSP-shaped text edits, for `workspace/applyEdit` with a versioned
//! `TextDocumentEdit` when the file is open in an editor (so the editor's undo works and a
//! stale version is refused by the editor). Protocol-neutral: lathe-lsp maps these structs
//! to its LSP types.
//!
//! Invariants: edits are sorted, do not overlap, refer to positions in the base text, never
//! split a character or a `\r\n`, and are minimal within each hunk (the hunk's common prefix
//! and suffix are left out), so applying them to the base yields exactly the new text.

use crate::apply::apply_hunks;
use crate::error::EditError;
use crate::hash::content_hash;
use crate::position::{LineIndex, PositionEncoding, Range};
use crate::text::{line_starts, split_bom};
use crate::{FileDiff, FileOp, Hunk};
use serde::{Deserialize, Serialize};

/// Replace the text of `range` with `new_text`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TextEdit {
    pub range: Range,
    pub new_text: String,
}

/// Text edits of one document at one version.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DocumentEdit {
    /// Workspace-relative path of the document (the base path for a rename).
    pub path: String,
    /// The document version the edits apply to.
    pub version: i32,
    pub edits: Vec<TextEdit>,
}

/// The text edits that turn `base` into the hunks' result, in `encoding`.
pub fn text_edits(
    path: &str,
    base: &str,
    hunks: &[Hunk],
    encoding: PositionEncoding,
) -> Result<Vec<TextEdit>, EditError> {
    apply_hunks(path, base, hunks)?;
    let (bom, body) = split_bom(base);
    let starts = line_starts(body);
    let index = LineIndex::new(base);
    let mut edits = Vec::with_capacity(hunks.len());
    for hunk in hunks {
        let at = bom.len()
            + starts
                .get(hunk.old_start as usize - 1)
                .copied()
                .unwrap_or(body.len());
        let (old, new) = (hunk.old_text.as_str(), hunk.new_text.as_str());
        let mut prefix = common_prefix(old, new);
        if prefix > 0 && splits_crlf(base, at + prefix) {
            prefix -= 1;
        }
        let mut suffix = common_suffix(&old[prefix..], &new[prefix..]);
        if suffix > 0 && splits_crlf(base, at + old.len() - suffix) {
            suffix -= 1;
        }
        let start = at + prefix;
        let end = at + old.len() - suffix;
        edits.push(TextEdit {
            range: index.range(start..end, encoding),
            new_text: new[prefix..new.len() - suffix].to_owned(),
        });
    }
    Ok(edits)
}

/// The versioned document edit of one file change, checking that `base` is the text the
/// diff was computed against (else [`EditError::Stale`]).
pub fn document_edit(
    base: &str,
    file: &FileDiff,
    version: i32,
    encoding: PositionEncoding,
) -> Result<DocumentEdit, EditError> {
    let (base_hash, hunks) = match &file.op {
        FileOp::Modify {
            base_hash, hunks, ..
        } => (base_hash, hunks),
        FileOp::Create { .. } => {
            return Err(EditError::NotTextEdit {
                path: file.path.clone(),
                kind: "file creation",
            });
        }
        FileOp::Delete { .. } => {
            return Err(EditError::NotTextEdit {
                path: file.path.clone(),
                kind: "file deletion",
            });
        }
    };
    if content_hash(base.as_bytes()) != *base_hash {
        return Err(EditError::Stale {
            path: file.path.clone(),
        });
    }
    Ok(DocumentEdit {
        path: file.path.clone(),
        version,
        edits: text_edits(&file.path, base, hunks, encoding)?,
    })
}

fn splits_crlf(text: &str, offset: usize) -> bool {
    offset > 0
        && text.as_bytes().get(offset - 1) == Some(&b'\r')
        && text.as_bytes().get(offset) == Some(&b'\n')
}

/// Length in bytes of the longest common prefix, on a character boundary.
fn common_prefix(a: &str, b: &str) -> usize {
    a.char_indices()
        .zip(b.chars())
        .find(|((_, x), y)| x != y)
        .map_or(a.len().min(b.len()), |((i, _), _)| i)
}

/// Length in bytes of the longest common suffix, on a character boundary.
fn common_suffix(a: &str, b: &str) -> usize {
    a.chars()
        .rev()
        .zip(b.chars().rev())
        .take_while(|(x, y)| x == y)
        .map(|(x, _)| x.len_utf8())
        .sum()
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;
    use crate::position::Position;
    use crate::{EditFileArgs, MemorySource, WriteFileArgs, apply_patch, edit_file, write_file};
    use pretty_assertions::assert_eq;

    const BASE: &str = "fn main() {\n    let s = \"é😀x\";\n}\n";

    fn src() -> MemorySource {
        [("main.rs".to_owned(), BASE.as_bytes().to_vec())]
            .into_iter()
            .collect()
    }

    /// The change of `main.rs` that turns the emoji 😀 into 😁.
    fn emoji_change() -> FileDiff {
        let args = EditFileArgs {
            path: "main.rs".into(),
            old_string: "\"é😀x\"".into(),
            new_string: "\"é😁x\"".into(),
            replace_all: false,
        };
        let mut diff = edit_file(&src(), &args).unwrap().diff;
        assert_eq!(diff.files.len(), 1);
        diff.files.remove(0)
    }

    fn apply(base: &str, edits: &[TextEdit], encoding: PositionEncoding) -> String {
        let index = LineIndex::new(base);
        let mut text = base.to_owned();
        for edit in edits.iter().rev() {
            let start = index.offset(edit.range.start, encoding);
            let end = index.offset(edit.range.end, encoding);
            text.replace_range(start..end, &edit.new_text);
        }
        text
    }

    #[test]
    fn minimal_edit_inside_a_line() {
        let base = "fn a() {\r\n    x😀y\r\n}\r\n";
        let hunks = vec![Hunk {
            old_start: 2,
            old_lines: 1,
            new_start: 2,
            new_lines: 1,
            old_text: "    x😀y\r\n".into(),
            new_text: "    x😀z\r\n".into(),
        }];
        let edits = text_edits("a.rs", base, &hunks, PositionEncoding::Utf16).unwrap();
        assert_eq!(
            edits,
            vec![TextEdit {
                range: Range {
                    start: Position::new(1, 7),
                    end: Position::new(1, 8)
                },
                new_text: "z".into()
            }]
        );
    }

    #[test]
    fn document_edit_carries_the_version_and_counts_utf16_units() {
        let edit = document_edit(BASE, &emoji_change(), 7, PositionEncoding::Utf16).unwrap();
        // `    let s = "` is 13 units, `é` one UTF-16 unit, 😀 a surrogate pair.
        assert_eq!(
            edit,
            DocumentEdit {
                path: "main.rs".into(),
                version: 7,
                edits: vec![TextEdit {
                    range: Range {
                        start: Position::new(1, 14),
                        end: Position::new(1, 16)
                    },
                    new_text: "😁".into()
                }],
            }
        );
        assert_eq!(
            apply(BASE, &edit.edits, PositionEncoding::Utf16),
            "fn main() {\n    let s = \"é😁x\";\n}\n"
        );
    }

    #[test]
    fn document_edit_counts_utf8_bytes_without_splitting_a_character() {
        // 😀 and 😁 share their first three UTF-8 bytes; the edit still covers the whole
        // character: `é` is 2 bytes, the emoji 4.
        let edit = document_edit(BASE, &emoji_change(), 42, PositionEncoding::Utf8).unwrap();
        assert_eq!(
            edit,
            DocumentEdit {
                path: "main.rs".into(),
                version: 42,
                edits: vec![TextEdit {
                    range: Range {
                        start: Position::new(1, 15),
                        end: Position::new(1, 19)
                    },
                    new_text: "😁".into()
                }],
            }
        );
        assert_eq!(
            apply(BASE, &edit.edits, PositionEncoding::Utf8),
            "fn main() {\n    let s = \"é😁x\";\n}\n"
        );
    }

    #[test]
    fn document_edit_refuses_a_base_that_changed() {
        let changed = "fn main() {\n    let s = \"é😀x\"; // edited in the editor\n}\n";
        for encoding in [PositionEncoding::Utf8, PositionEncoding::Utf16] {
            assert_eq!(
                document_edit(changed, &emoji_change(), 3, encoding),
                Err(EditError::Stale {
                    path: "main.rs".into()
                })
            );
        }
    }

    #[test]
    fn document_edit_refuses_creation_and_deletion() {
        let args = WriteFileArgs {
            path: "new.rs".into(),
            content: "// ü\n".into(),
        };
        let created = write_file(&src(), &args).unwrap().diff.files.remove(0);
        assert_eq!(
            document_edit("", &created, 1, PositionEncoding::Utf16),
            Err(EditError::NotTextEdit {
                path: "new.rs".into(),
                kind: "file creation"
            })
        );
        let patch = "*** Begin Patch\n*** Delete File: main.rs\n*** End Patch\n";
        let deleted = apply_patch(&src(), patch).unwrap().diff.files.remove(0);
        assert_eq!(
            document_edit(BASE, &deleted, 1, PositionEncoding::Utf8),
            Err(EditError::NotTextEdit {
                path: "main.rs".into(),
                kind: "file deletion"
            })
        );
    }

    #[test]
    fn text_edits_refuse_hunks_that_do_not_fit_the_base() {
        let FileOp::Modify { hunks, .. } = emoji_change().op else {
            panic!("an edit of an existing file is a modification");
        };
        let other = "fn main() {\n    let s = \"ü\";\n}\n";
        assert!(matches!(
            text_edits("main.rs", other, &hunks, PositionEncoding::Utf16),
            Err(EditError::BadHunk { hunk: 1, .. })
        ));
    }
}
