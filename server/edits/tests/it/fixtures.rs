//! Walks `fixtures/edits/`: each case has `before/` (the tree the edit is computed on), one
//! edit (`edit_file.json`, `write_file.json` or `edit.patch` for apply_patch), optionally
//! `changed/` (the tree when the diff is applied, for stale-base cases), and either
//! `after/` (the expected tree) or `error.txt` (the exact message). Every successful case is
//! also checked through the rendered unified diff and through LSP text edits in each
//! position encoding (UTF-8, UTF-16 and UTF-32), which must all reach the same tree.
//! `UPDATE_EXPECT=1` writes `error.txt` for failing error cases.

use lathe_edits::{
    EditError, EditFileArgs, EditOutcome, FileOp, LineIndex, MemorySource, PositionEncoding,
    WriteFileArgs, apply_patch, apply_unified_diff, edit_file, materialize, render_unified_diff,
    text_edits, write_file,
};
use pretty_assertions::assert_eq;
use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};

fn fixtures_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../fixtures/edits")
}

fn read_tree(root: &Path) -> BTreeMap<String, Vec<u8>> {
    fn walk(root: &Path, dir: &Path, out: &mut BTreeMap<String, Vec<u8>>) {
        let mut entries: Vec<_> = fs::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap().path())
            .collect();
        entries.sort();
        for path in entries {
            if path.is_dir() {
                walk(root, &path, out);
            } else {
                let rel = path
                    .strip_prefix(root)
                    .unwrap()
                    .to_string_lossy()
                    .replace('\\', "/");
                out.insert(rel, fs::read(&path).unwrap());
            }
        }
    }
    let mut out = BTreeMap::new();
    if root.is_dir() {
        walk(root, root, &mut out);
    }
    out
}

fn source(tree: &BTreeMap<String, Vec<u8>>) -> MemorySource {
    tree.iter().map(|(k, v)| (k.clone(), v.clone())).collect()
}

fn run_edit(dir: &Path, src: &MemorySource) -> Result<EditOutcome, EditError> {
    if let Ok(json) = fs::read_to_string(dir.join("edit_file.json")) {
        let args: EditFileArgs = serde_json::from_str(&json).unwrap();
        return edit_file(src, &args);
    }
    if let Ok(json) = fs::read_to_string(dir.join("write_file.json")) {
        let args: WriteFileArgs = serde_json::from_str(&json).unwrap();
        return write_file(src, &args);
    }
    let patch = fs::read_to_string(dir.join("edit.patch")).unwrap();
    apply_patch(src, &patch)
}

fn apply_writes(
    tree: &BTreeMap<String, Vec<u8>>,
    src: &MemorySource,
    outcome: &EditOutcome,
) -> Result<BTreeMap<String, Vec<u8>>, EditError> {
    let mut result = tree.clone();
    for write in materialize(src, &outcome.diff)? {
        match write.content {
            Some(bytes) => result.insert(write.path, bytes),
            None => result.remove(&write.path),
        };
    }
    Ok(result)
}

/// The tree reached by applying each modified file's hunks as LSP text edits in `encoding`.
fn via_text_edits(
    tree: &BTreeMap<String, Vec<u8>>,
    outcome: &EditOutcome,
    encoding: PositionEncoding,
) -> BTreeMap<String, Vec<u8>> {
    let mut result = tree.clone();
    for file in &outcome.diff.files {
        match &file.op {
            FileOp::Create { content } => {
                result.insert(file.path.clone(), content.clone().into_bytes());
            }
            FileOp::Delete { .. } => {
                result.remove(&file.path);
            }
            FileOp::Modify {
                hunks, rename_to, ..
            } => {
                let base = result.remove(&file.path).unwrap();
                let text = if hunks.is_empty() {
                    base
                } else {
                    let base = String::from_utf8(base).unwrap();
                    let edits = text_edits(&file.path, &base, hunks, encoding).unwrap();
                    let index = LineIndex::new(&base);
                    let mut text = base.clone();
                    for edit in edits.iter().rev() {
                        let start = index.offset(edit.range.start, encoding);
                        let end = index.offset(edit.range.end, encoding);
                        text.replace_range(start..end, &edit.new_text);
                    }
                    text.into_bytes()
                };
                result.insert(rename_to.clone().unwrap_or_else(|| file.path.clone()), text);
            }
        }
    }
    result
}

fn lossy(tree: &BTreeMap<String, Vec<u8>>) -> BTreeMap<String, String> {
    tree.iter()
        .map(|(k, v)| (k.clone(), String::from_utf8_lossy(v).into_owned()))
        .collect()
}

fn check_case(dir: &Path) -> Result<(), String> {
    let before = read_tree(&dir.join("before"));
    let src = source(&before);
    let outcome = run_edit(dir, &src);
    let at_apply = if dir.join("changed").is_dir() {
        read_tree(&dir.join("changed"))
    } else {
        before.clone()
    };
    let apply_src = source(&at_apply);
    let result =
        outcome.and_then(|o| apply_writes(&at_apply, &apply_src, &o).map(|tree| (o, tree)));
    let error_file = dir.join("error.txt");
    match result {
        Ok((outcome, tree)) => {
            if error_file.exists() {
                return Err(format!(
                    "expected an error but the edit succeeded:\n{}",
                    outcome.summary()
                ));
            }
            let expected = read_tree(&dir.join("after"));
            if lossy(&tree) != lossy(&expected) || tree != expected {
                return Err(format!(
                    "tree differs:\n{}",
                    pretty_assertions::Comparison::new(&lossy(&tree), &lossy(&expected))
                ));
            }
            let rendered = render_unified_diff(&outcome.diff);
            let replayed = apply_unified_diff(&src, &rendered)
                .and_then(|o| apply_writes(&before, &src, &o))
                .map_err(|e| format!("rendered diff does not replay: {e}\n{rendered}"))?;
            if replayed != expected {
                return Err(format!(
                    "rendered diff replays to a different tree:\n{rendered}"
                ));
            }
            for encoding in [
                PositionEncoding::Utf8,
                PositionEncoding::Utf16,
                PositionEncoding::Utf32,
            ] {
                let reached = via_text_edits(&before, &outcome, encoding);
                if reached != expected {
                    return Err(format!(
                        "{encoding:?} text edits reach a different tree:\n{}",
                        pretty_assertions::Comparison::new(&lossy(&reached), &lossy(&expected))
                    ));
                }
            }
            Ok(())
        }
        Err(err) => {
            let message = err.to_string();
            match fs::read_to_string(&error_file) {
                Ok(expected) if expected.trim_end() == message.trim_end() => Ok(()),
                _ if std::env::var_os("UPDATE_EXPECT").is_some() => {
                    fs::write(&error_file, format!("{message}\n")).unwrap();
                    Ok(())
                }
                Ok(expected) => Err(format!(
                    "error differs:\n{}",
                    pretty_assertions::StrComparison::new(&message, expected.trim_end())
                )),
                Err(_) => Err(format!("unexpected error: {message}")),
            }
        }
    }
}

#[test]
fn every_fixture_case_gives_the_expected_tree_or_error() {
    let mut dirs: Vec<PathBuf> = fs::read_dir(fixtures_dir())
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.is_dir())
        .collect();
    dirs.sort();
    assert!(dirs.len() >= 80, "only {} edit cases", dirs.len());
    let failures: Vec<String> = dirs
        .iter()
        .filter_map(|dir| {
            check_case(dir)
                .err()
                .map(|why| format!("{}: {why}", dir.file_name().unwrap().to_string_lossy()))
        })
        .collect();
    assert_eq!(failures, Vec::<String>::new());
}
