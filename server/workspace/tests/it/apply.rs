//! Applying diffs to disk: all formats through the workspace as the edits' file source,
//! stale bases refused with the disk untouched, permissions kept (also by a moved file),
//! and rollback when a write fails part-way. Writes refused by the disk itself are tested
//! inside the crate, against an injected disk (`src/apply/tests.rs`).

use crate::support::{Scratch, tree};
use lathe_edits::{EditError, EditFileArgs, apply_patch, edit_file};
use lathe_workspace::{ApplyReport, WorkspaceError};
use pretty_assertions::assert_eq;
use std::collections::BTreeMap;
use std::os::unix::fs::PermissionsExt;

fn files(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
    pairs
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect()
}

#[test]
fn applies_a_multi_file_patch() {
    let s = Scratch::new();
    s.write("src/a.rs", "fn a() {\n    1\n}\n");
    s.write("old.txt", "move me\n");
    s.write("gone.txt", "bye\n");
    let ws = s.workspace();
    let patch = "*** Begin Patch\n*** Update File: src/a.rs\n@@\n fn a() {\n-    1\n+    2\n }\n*** Update File: old.txt\n*** Move to: new/place.txt\n*** Delete File: gone.txt\n*** Add File: added.md\n+hi\n*** End Patch\n";
    let outcome = apply_patch(&ws, patch).unwrap();
    let report = ws.apply(&outcome.diff).unwrap();
    let ApplyReport {
        written,
        deleted,
        left,
    } = report;
    assert_eq!(written, ["src/a.rs", "new/place.txt", "added.md"]);
    assert_eq!(deleted, ["old.txt", "gone.txt"]);
    let mut left: Vec<(String, Option<String>)> = left
        .into_iter()
        .map(|(path, hash)| (path, hash.map(|h| h.as_str().to_owned())))
        .collect();
    left.sort();
    let hash = |text: &str| {
        Some(
            lathe_edits::content_hash(text.as_bytes())
                .as_str()
                .to_owned(),
        )
    };
    assert_eq!(
        left,
        [
            ("added.md".to_owned(), hash("hi\n")),
            ("gone.txt".to_owned(), None),
            ("new/place.txt".to_owned(), hash("move me\n")),
            ("old.txt".to_owned(), None),
            ("src/a.rs".to_owned(), hash("fn a() {\n    2\n}\n")),
        ]
    );
    assert_eq!(
        tree(s.dir.path()),
        files(&[
            ("added.md", "hi\n"),
            ("new/place.txt", "move me\n"),
            ("src/a.rs", "fn a() {\n    2\n}\n")
        ])
    );
}

#[test]
fn refuses_a_stale_diff_and_leaves_the_file_alone() {
    let s = Scratch::new();
    s.write("a.txt", "one\ntwo\n");
    let ws = s.workspace();
    let args = EditFileArgs {
        path: "a.txt".into(),
        old_string: "two".into(),
        new_string: "2".into(),
        replace_all: false,
    };
    let outcome = edit_file(&ws, &args).unwrap();
    s.write("a.txt", "one\ntwo\nthree (someone else)\n");
    let err = ws.apply(&outcome.diff).unwrap_err();
    assert!(
        matches!(&err, WorkspaceError::Edit(EditError::Stale { path }) if path == "a.txt"),
        "{err}"
    );
    assert_eq!(s.read("a.txt").unwrap(), "one\ntwo\nthree (someone else)\n");
}

#[test]
fn keeps_permissions_of_replaced_files() {
    let s = Scratch::new();
    s.write("run.sh", "echo one\n");
    let path = s.dir.path().join("run.sh");
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o750)).unwrap();
    let ws = s.workspace();
    let args = EditFileArgs {
        path: "run.sh".into(),
        old_string: "one".into(),
        new_string: "two".into(),
        replace_all: false,
    };
    ws.apply(&edit_file(&ws, &args).unwrap().diff).unwrap();
    assert_eq!(s.read("run.sh").unwrap(), "echo two\n");
    assert_eq!(
        std::fs::metadata(&path).unwrap().permissions().mode() & 0o777,
        0o750
    );
}

#[test]
fn a_moved_file_keeps_its_permissions() {
    let s = Scratch::new();
    s.write("tool.sh", "#!/bin/sh\necho one\n");
    s.write("notes.txt", "private\n");
    let mode = |rel: &str| {
        std::fs::metadata(s.dir.path().join(rel))
            .unwrap()
            .permissions()
            .mode()
            & 0o7777
    };
    let chmod = |rel: &str, mode: u32| {
        std::fs::set_permissions(
            s.dir.path().join(rel),
            std::fs::Permissions::from_mode(mode),
        )
        .unwrap();
    };
    chmod("tool.sh", 0o751);
    chmod("notes.txt", 0o600);
    let ws = s.workspace();
    let patch = "*** Begin Patch\n*** Update File: tool.sh\n*** Move to: bin/tool.sh\n@@\n #!/bin/sh\n-echo one\n+echo two\n*** Update File: notes.txt\n*** Move to: private/notes.txt\n*** End Patch\n";
    ws.apply(&apply_patch(&ws, patch).unwrap().diff).unwrap();
    assert_eq!(
        tree(s.dir.path()),
        files(&[
            ("bin/tool.sh", "#!/bin/sh\necho two\n"),
            ("private/notes.txt", "private\n")
        ])
    );
    assert_eq!(
        (mode("bin/tool.sh"), mode("private/notes.txt")),
        (0o751, 0o600)
    );
}

#[test]
fn rolls_back_written_files_when_a_later_write_fails() {
    let s = Scratch::new();
    s.write("a.txt", "a\n");
    let ws = s.workspace();
    // Valid when checked, but writing `x` first makes `x/y` impossible (x is not a directory).
    let patch = "*** Begin Patch\n*** Update File: a.txt\n@@\n-a\n+A\n*** Add File: x\n+file\n*** Add File: x/y\n+nested\n*** End Patch\n";
    let outcome = apply_patch(&ws, patch).unwrap();
    let err = ws.apply(&outcome.diff).unwrap_err();
    match &err {
        WorkspaceError::Write {
            path, unrestored, ..
        } => {
            assert_eq!(path, "x/y");
            assert_eq!(unrestored, &Vec::<String>::new());
        }
        other => panic!("unexpected error {other}"),
    }
    assert!(err.to_string().contains("Nothing was changed"), "{err}");
    assert_eq!(tree(s.dir.path()), files(&[("a.txt", "a\n")]));
}

#[test]
fn refuses_diffs_touching_dot_git_or_escaping() {
    let s = Scratch::new();
    s.git(&["init", "-q"]);
    let ws = s.workspace();
    let patch =
        "*** Begin Patch\n*** Add File: .git/hooks/post-checkout\n+#!/bin/sh\n*** End Patch\n";
    let outcome = apply_patch(&ws, patch).unwrap();
    assert!(matches!(
        ws.apply(&outcome.diff),
        Err(WorkspaceError::GitDir { .. })
    ));
    let escape = apply_patch(
        &ws,
        "*** Begin Patch\n*** Add File: ../evil.txt\n+x\n*** End Patch\n",
    )
    .unwrap_err();
    assert_eq!(
        escape.to_string(),
        "invalid path `../evil.txt`: `..` is not allowed; stay inside the workspace"
    );
}

#[test]
fn deleting_or_moving_a_symbolic_link_keeps_the_file_it_points_to() {
    let s = Scratch::new();
    s.write("AGENTS.md", "# rules\n");
    s.write("docs/guide.md", "guide\n");
    let root = s.dir.path();
    std::os::unix::fs::symlink("AGENTS.md", root.join("CLAUDE.md")).unwrap();
    std::os::unix::fs::symlink("docs/guide.md", root.join("GUIDE.md")).unwrap();
    let ws = s.workspace();
    let patch = "*** Begin Patch\n*** Delete File: CLAUDE.md\n*** Update File: GUIDE.md\n*** Move to: HANDBOOK.md\n@@\n-guide\n+handbook\n*** End Patch\n";
    ws.apply(&apply_patch(&ws, patch).unwrap().diff).unwrap();
    assert!(std::fs::symlink_metadata(root.join("CLAUDE.md")).is_err());
    assert!(std::fs::symlink_metadata(root.join("GUIDE.md")).is_err());
    assert_eq!(
        tree(root),
        files(&[
            ("AGENTS.md", "# rules\n"),
            ("HANDBOOK.md", "handbook\n"),
            ("docs/guide.md", "guide\n"),
        ])
    );
}
