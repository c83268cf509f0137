//! Unified diffs as `git diff`, `diff -u` and models write them: `diff --git` headers
//! (optional), `---`/`+++` file lines (`a/`/`b/` prefixes, `/dev/null`, timestamps),
//! `new file`/`deleted file`/`rename from`/`rename to` headers, and hunks with or without
//! line numbers (`@@ -3,4 +3,5 @@` or a bare `@@`). Line numbers are hints: the hunk is
//! located by its content, with the same fallbacks as search/replace, nearest the hint.

use crate::error::EditError;
use crate::locate::LineHunk;
use crate::patch::{claim, update};
use crate::source::FileSource;
use crate::{EditOutcome, FileDiff, FileOp};
use std::collections::HashSet;

const FORMAT: &str = "unified diff";
const DEV_NULL: &str = "/dev/null";

#[derive(Clone, Debug, Default, PartialEq, Eq)]
struct FilePatch {
    old_path: Option<String>,
    new_path: Option<String>,
    rename_from: Option<String>,
    rename_to: Option<String>,
    new_file: bool,
    deleted_file: bool,
    hunks: Vec<LineHunk>,
    /// `---`/`+++` lines were seen for this file.
    dashes: bool,
    line: usize,
}

/// Every path a unified diff names (old, new, rename source and target), as written.
pub(crate) fn named_paths(diff: &str) -> Result<Vec<String>, EditError> {
    let mut paths = Vec::new();
    for file in parse(diff)? {
        let named = [
            file.old_path,
            file.new_path,
            file.rename_from,
            file.rename_to,
        ];
        paths.extend(named.into_iter().flatten().filter(|p| p != DEV_NULL));
    }
    Ok(paths)
}

/// Computes the diff of a unified diff.
pub fn apply_unified_diff(src: &dyn FileSource, diff: &str) -> Result<EditOutcome, EditError> {
    let files = parse(diff)?;
    let mut seen = HashSet::new();
    let mut outcome = EditOutcome::default();
    for file in files {
        let creates = file.new_file || file.old_path.as_deref() == Some(DEV_NULL);
        let deletes = file.deleted_file || file.new_path.as_deref() == Some(DEV_NULL);
        let source = file
            .rename_from
            .clone()
            .or_else(|| file.old_path.clone().filter(|p| p != DEV_NULL));
        let target = file
            .rename_to
            .clone()
            .or_else(|| file.new_path.clone().filter(|p| p != DEV_NULL));
        let entry = if creates {
            let raw =
                target.ok_or_else(|| parse_error(file.line, "a new file needs a `+++` path"))?;
            let path = claim(src, &mut seen, &raw)?;
            if src.read(&path)?.is_some() {
                return Err(EditError::FileExists { path });
            }
            FileDiff {
                op: FileOp::Create {
                    content: created_content(&file.hunks),
                },
                path,
            }
        } else if deletes {
            let raw = source
                .ok_or_else(|| parse_error(file.line, "a deleted file needs a `---` path"))?;
            let path = claim(src, &mut seen, &raw)?;
            let Some(bytes) = src.read(&path)? else {
                return Err(EditError::FileNotFound { path });
            };
            FileDiff {
                op: FileOp::Delete {
                    base_hash: crate::content_hash(&bytes),
                },
                path,
            }
        } else {
            let raw = source
                .clone()
                .or_else(|| target.clone())
                .ok_or_else(|| parse_error(file.line, "no file path before the hunks"))?;
            let path = claim(src, &mut seen, &raw)?;
            let rename_to = match target {
                Some(t) if src.resolve(&t)? != path => {
                    let t = claim(src, &mut seen, &t)?;
                    if src.read(&t)?.is_some() {
                        return Err(EditError::FileExists { path: t });
                    }
                    Some(t)
                }
                _ => None,
            };
            if file.hunks.is_empty() && rename_to.is_none() {
                continue;
            }
            let (op, notes) = update(src, &path, rename_to, &file.hunks)?;
            outcome.notes.extend(notes);
            FileDiff { path, op }
        };
        outcome.diff.files.push(entry);
    }
    if outcome.diff.is_empty() {
        return Err(parse_error(
            1,
            "the diff changes no file content (expected `---`/`+++` headers followed by `@@` hunks)",
        ));
    }
    Ok(outcome)
}

fn created_content(hunks: &[LineHunk]) -> String {
    let mut content = String::new();
    for hunk in hunks {
        for line in &hunk.new {
            content.push_str(line);
            content.push('\n');
        }
    }
    if hunks.last().is_some_and(|h| h.new_no_newline) {
        content.pop();
    }
    content
}

fn parse_error(line: usize, message: impl Into<String>) -> EditError {
    EditError::Parse {
        format: FORMAT,
        line,
        message: message.into(),
    }
}

/// `a/x` and `b/x` lose their prefix; a tab-separated timestamp is dropped; a path git
/// quoted (`"a/caf\303\251.txt"`) is unquoted.
fn header_path(raw: &str, prefix: &str) -> String {
    let raw = raw.split('\t').next().unwrap_or(raw).trim();
    let raw = unquote(raw);
    if raw == DEV_NULL {
        return raw;
    }
    raw.strip_prefix(prefix).map(str::to_owned).unwrap_or(raw)
}

/// A path as git writes it: plain, or in double quotes with C escapes (`\"`, `\\`, `\t`,
/// `\n`, and octal bytes for anything not printable ASCII).
fn unquote(raw: &str) -> String {
    let Some(inner) = raw
        .strip_prefix('"')
        .and_then(|rest| rest.strip_suffix('"'))
    else {
        return raw.to_owned();
    };
    let mut bytes = Vec::with_capacity(inner.len());
    let mut chars = inner.bytes().peekable();
    while let Some(b) = chars.next() {
        if b != b'\\' {
            bytes.push(b);
            continue;
        }
        match chars.next() {
            Some(d @ b'0'..=b'7') => {
                let mut value = u32::from(d - b'0');
                for _ in 0..2 {
                    match chars.peek() {
                        Some(d @ b'0'..=b'7') => {
                            value = value * 8 + u32::from(d - b'0');
                            chars.next();
                        }
                        _ => break,
                    }
                }
                bytes.push(u8::try_from(value).unwrap_or(b'?'));
            }
            Some(b'n') => bytes.push(b'\n'),
            Some(b't') => bytes.push(b'\t'),
            Some(b'r') => bytes.push(b'\r'),
            Some(b'a') => bytes.push(0x07),
            Some(b'b') => bytes.push(0x08),
            Some(b'f') => bytes.push(0x0c),
            Some(b'v') => bytes.push(0x0b),
            Some(other) => bytes.push(other),
            None => bytes.push(b'\\'),
        }
    }
    String::from_utf8_lossy(&bytes).into_owned()
}

/// Parses `@@ -a,b +c,d @@`; `None` counts for a bare `@@`.
fn hunk_header(line: &str, no: usize) -> Result<Option<(usize, usize, usize, usize)>, EditError> {
    let inner = line.trim_start_matches('@').trim();
    let inner = inner.split("@@").next().unwrap_or("").trim();
    if inner.is_empty() || !inner.starts_with('-') {
        return Ok(None);
    }
    let bad = || parse_error(no, format!("malformed hunk header `{line}`"));
    let mut parts = inner.split_whitespace();
    let old = parts
        .next()
        .and_then(|p| p.strip_prefix('-'))
        .ok_or_else(bad)?;
    let new = parts
        .next()
        .and_then(|p| p.strip_prefix('+'))
        .ok_or_else(bad)?;
    let range = |text: &str| -> Option<(usize, usize)> {
        match text.split_once(',') {
            Some((start, count)) => Some((start.parse().ok()?, count.parse().ok()?)),
            None => Some((text.parse().ok()?, 1)),
        }
    };
    let (os, oc) = range(old).ok_or_else(bad)?;
    let (ns, nc) = range(new).ok_or_else(bad)?;
    Ok(Some((os, oc, ns, nc)))
}

fn is_file_header(lines: &[(usize, &str)], i: usize) -> bool {
    let line = lines[i].1;
    line.starts_with("diff --git ")
        || (line.starts_with("--- ")
            && lines.get(i + 1).is_some_and(|(_, l)| l.starts_with("+++ ")))
}

fn parse(diff: &str) -> Result<Vec<FilePatch>, EditError> {
    let lines: Vec<(usize, &str)> = diff
        .lines()
        .enumerate()
        .map(|(i, l)| (i + 1, l.strip_suffix('\r').unwrap_or(l)))
        .collect();
    let mut files: Vec<FilePatch> = Vec::new();
    let mut i = 0;
    while i < lines.len() {
        let (no, line) = lines[i];
        if let Some(rest) = line.strip_prefix("diff --git ") {
            let mut file = FilePatch {
                line: no,
                ..FilePatch::default()
            };
            if let Some((a, b)) = rest.split_once(" b/") {
                file.old_path = Some(header_path(a, "a/"));
                file.new_path = Some(header_path(b, ""));
            }
            files.push(file);
            i += 1;
        } else if line.starts_with("--- ")
            && lines.get(i + 1).is_some_and(|(_, l)| l.starts_with("+++ "))
        {
            let continues = files
                .last()
                .is_some_and(|f| f.hunks.is_empty() && !f.dashes);
            if !continues {
                files.push(FilePatch {
                    line: no,
                    ..FilePatch::default()
                });
            }
            if let Some(file) = files.last_mut() {
                file.old_path = Some(header_path(&line[4..], "a/"));
                file.new_path = Some(header_path(&lines[i + 1].1[4..], "b/"));
                file.dashes = true;
            }
            i += 2;
        } else if line.starts_with("@@") {
            let file = files
                .last_mut()
                .ok_or_else(|| parse_error(no, "a hunk before any `---`/`+++` file header"))?;
            let header = hunk_header(line, no)?;
            let (hunk, next) = parse_hunk(&lines, i + 1, header)?;
            file.hunks.push(hunk);
            i = next;
        } else {
            if let Some(file) = files.last_mut() {
                if let Some(p) = line.strip_prefix("rename from ") {
                    file.rename_from = Some(unquote(p.trim()));
                } else if let Some(p) = line.strip_prefix("rename to ") {
                    file.rename_to = Some(unquote(p.trim()));
                } else if line.starts_with("copy from ") || line.starts_with("copy to ") {
                    return Err(parse_error(
                        no,
                        "copies (`git diff -C`) are not supported; send the new file as an added file (`--- /dev/null`)",
                    ));
                } else if line.starts_with("new file mode") {
                    file.new_file = true;
                } else if line.starts_with("deleted file mode") {
                    file.deleted_file = true;
                } else if line.starts_with("Binary files ") || line.starts_with("GIT binary patch")
                {
                    return Err(parse_error(
                        no,
                        "binary patches are not supported; only text files can be edited",
                    ));
                }
            }
            i += 1;
        }
    }
    if files.is_empty() {
        return Err(parse_error(
            1,
            "no file header found: a unified diff starts with `--- a/path` and `+++ b/path` lines (or use the `*** Begin Patch` format)",
        ));
    }
    Ok(files)
}

/// Parses one hunk body starting at `i`; returns it and the index after it.
fn parse_hunk(
    lines: &[(usize, &str)],
    mut i: usize,
    header: Option<(usize, usize, usize, usize)>,
) -> Result<(LineHunk, usize), EditError> {
    let mut hunk = LineHunk {
        hint: header.map(|(os, oc, _, _)| if oc == 0 { os } else { os.saturating_sub(1) }),
        ..LineHunk::default()
    };
    let (mut old_left, mut new_left) =
        header.map_or((usize::MAX, usize::MAX), |(_, oc, _, nc)| (oc, nc));
    let counted = header.is_some();
    let mut last_side = ' ';
    while i < lines.len() {
        let (_, line) = lines[i];
        if line.starts_with('\\') {
            match last_side {
                '-' => hunk.old_no_newline = true,
                '+' => hunk.new_no_newline = true,
                _ => {
                    hunk.old_no_newline = true;
                    hunk.new_no_newline = true;
                }
            }
            i += 1;
            continue;
        }
        if counted && old_left == 0 && new_left == 0 {
            break;
        }
        if line.starts_with("@@") || is_file_header(lines, i) {
            break;
        }
        let (side, text) = match line.chars().next() {
            Some(c @ ('+' | '-' | ' ')) => (c, &line[1..]),
            None => (' ', ""),
            Some(_) if counted => (' ', line),
            Some(_) => break,
        };
        match side {
            '+' => {
                hunk.push_added(text);
                new_left = new_left.saturating_sub(1);
            }
            '-' => {
                hunk.push_removed(text);
                old_left = old_left.saturating_sub(1);
            }
            _ => {
                hunk.push_context(text);
                old_left = old_left.saturating_sub(1);
                new_left = new_left.saturating_sub(1);
            }
        }
        last_side = side;
        i += 1;
    }
    if !counted {
        let padding = lines[..i]
            .iter()
            .rev()
            .take_while(|(_, l)| l.is_empty())
            .count();
        for _ in 0..padding {
            if hunk.old.last().is_some_and(String::is_empty)
                && hunk.new.last().is_some_and(String::is_empty)
            {
                hunk.old.pop();
                hunk.new.pop();
            }
        }
    }
    Ok((hunk, i))
}
