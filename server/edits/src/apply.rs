//! Applying a [`WorkspaceDiff`] to current contents, in memory: the base-hash check that
//! refuses stale diffs, and hunk application that verifies every hunk against the base.
//! lathe-workspace writes what [`materialize`] returns; nothing is written here.

use crate::error::EditError;
use crate::hash::content_hash;
use crate::source::FileSource;
use crate::text::{advance_lines, count_lines, decode, split_bom};
use crate::{ContentHash, FileOp, Hunk, WorkspaceDiff};
use std::collections::HashSet;

/// The new state of one path: its bytes, or `None` when it is removed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FileWrite {
    pub path: String,
    pub content: Option<Vec<u8>>,
    /// What the path held when the write was computed: the hash of its bytes, or `None`
    /// when it did not exist. A writer re-checks it right before writing, so that a file
    /// changed in between is refused as stale rather than overwritten.
    pub base: Option<ContentHash>,
}

/// Applies hunks to a base text, verifying that each hunk's old text is exactly there.
/// A leading BOM is kept and is not part of any line.
pub fn apply_hunks(path: &str, base: &str, hunks: &[Hunk]) -> Result<String, EditError> {
    let (bom, body) = split_bom(base);
    let mut out = String::with_capacity(body.len() + 64);
    out.push_str(bom);
    let mut copied = 0;
    let mut line_cursor = (1usize, 0usize);
    for (i, hunk) in hunks.iter().enumerate() {
        let bad = |reason: String| EditError::BadHunk {
            path: path.to_owned(),
            hunk: i + 1,
            reason,
        };
        let line = hunk.old_start as usize;
        if line < line_cursor.0 {
            return Err(bad(
                "it overlaps the previous hunk or is out of order".into()
            ));
        }
        let at = advance_lines(body, line_cursor.1, line - line_cursor.0)
            .filter(|at| *at < body.len() || hunk.old_text.is_empty())
            .ok_or_else(|| {
                bad(format!(
                    "it starts at line {line} but the file has {} lines",
                    count_lines(body)
                ))
            })?;
        if at < copied {
            return Err(bad(
                "it overlaps the previous hunk or is out of order".into()
            ));
        }
        line_cursor = (line, at);
        let end = at + hunk.old_text.len();
        if body.get(at..end) != Some(hunk.old_text.as_str()) {
            return Err(bad(format!(
                "the base text at line {line} differs from the hunk's old text"
            )));
        }
        if count_lines(&hunk.old_text) != hunk.old_lines as usize
            || count_lines(&hunk.new_text) != hunk.new_lines as usize
        {
            return Err(bad("its line counts disagree with its text".into()));
        }
        let whole_lines =
            hunk.old_text.is_empty() || end == body.len() || body.as_bytes()[end - 1] == b'\n';
        if !whole_lines {
            return Err(bad("its old text does not end at a line end".into()));
        }
        out.push_str(&body[copied..at]);
        out.push_str(&hunk.new_text);
        copied = end;
    }
    out.push_str(&body[copied..]);
    Ok(out)
}

/// The writes that apply `diff` to the files of `src`: verifies every base hash (a
/// mismatch is [`EditError::Stale`]), that created and renamed-to paths do not exist, and
/// every hunk. All-or-nothing: either every write is returned or an error.
pub fn materialize(
    src: &dyn FileSource,
    diff: &WorkspaceDiff,
) -> Result<Vec<FileWrite>, EditError> {
    let mut writes = Vec::new();
    let mut touched = HashSet::new();
    for file in &diff.files {
        let mut paths = vec![file.path.as_str()];
        paths.extend(file.target_path().filter(|t| *t != file.path));
        for path in paths {
            if !touched.insert(path.to_owned()) {
                return Err(EditError::DuplicatePath {
                    path: path.to_owned(),
                });
            }
        }
        let current = src.read(&file.path)?;
        match (&file.op, current) {
            (FileOp::Create { content }, None) => writes.push(FileWrite {
                path: file.path.clone(),
                content: Some(content.clone().into_bytes()),
                base: None,
            }),
            (FileOp::Create { .. }, Some(_)) => {
                return Err(EditError::FileExists {
                    path: file.path.clone(),
                });
            }
            (FileOp::Modify { .. } | FileOp::Delete { .. }, None) => {
                return Err(EditError::Stale {
                    path: file.path.clone(),
                });
            }
            (FileOp::Delete { base_hash }, Some(bytes)) => {
                check_hash(&file.path, base_hash, &bytes)?;
                writes.push(FileWrite {
                    path: file.path.clone(),
                    content: None,
                    base: Some(base_hash.clone()),
                });
            }
            (
                FileOp::Modify {
                    base_hash,
                    hunks,
                    rename_to,
                },
                Some(bytes),
            ) => {
                check_hash(&file.path, base_hash, &bytes)?;
                let content = if hunks.is_empty() {
                    bytes
                } else {
                    let text = decode(&file.path, &bytes)?;
                    apply_hunks(&file.path, text, hunks)?.into_bytes()
                };
                match rename_to {
                    Some(target) => {
                        if src.read(target)?.is_some() {
                            return Err(EditError::FileExists {
                                path: target.clone(),
                            });
                        }
                        writes.push(FileWrite {
                            path: target.clone(),
                            content: Some(content),
                            base: None,
                        });
                        writes.push(FileWrite {
                            path: file.path.clone(),
                            content: None,
                            base: Some(base_hash.clone()),
                        });
                    }
                    None => writes.push(FileWrite {
                        path: file.path.clone(),
                        content: Some(content),
                        base: Some(base_hash.clone()),
                    }),
                }
            }
        }
    }
    Ok(writes)
}

fn check_hash(path: &str, expected: &ContentHash, bytes: &[u8]) -> Result<(), EditError> {
    if content_hash(bytes) == *expected {
        Ok(())
    } else {
        Err(EditError::Stale {
            path: path.to_owned(),
        })
    }
}
