//! Checkpoints and undo in a repository with history, a repository without commits, and
//! outside git; the user's index, HEAD and refs must be byte-for-byte unchanged.

use crate::support::{Scratch, repo_state, tree};
use lathe_edits::{WriteFileArgs, apply_patch, write_file};
use lathe_workspace::{CheckpointFile, LeftByRun, UndoMode, UndoReport, Workspace, WorkspaceError};
use pretty_assertions::assert_eq;
use std::os::unix::fs::PermissionsExt;

/// Changes the workspace the way a run does: modify, create and delete files.
fn run_changes(ws: &Workspace) {
    let patch = "*** Begin Patch\n*** Update File: src/lib.rs\n@@\n-pub fn one() -> u32 { 1 }\n+pub fn one() -> u32 { 100 }\n*** Add File: src/new.rs\n+pub fn new() {}\n*** Delete File: notes.txt\n*** End Patch\n";
    ws.apply(&apply_patch(ws, patch).unwrap().diff).unwrap();
}

const TOUCHED: [&str; 3] = ["src/lib.rs", "src/new.rs", "notes.txt"];

/// The seed files, with explicit modes so that the recorded modes do not depend on the
/// umask.
fn seed(s: &Scratch) {
    s.write("src/lib.rs", "pub fn one() -> u32 { 1 }\n");
    s.chmod("src/lib.rs", 0o644);
    s.write("notes.txt", "remember\n");
    s.chmod("notes.txt", 0o640);
    s.write("README.md", "# project\n");
}

#[test]
fn undo_restores_modified_created_and_deleted_files_without_touching_git_state() {
    let s = Scratch::new();
    s.git(&["init", "-q"]);
    seed(&s);
    s.git(&["add", "."]);
    s.git(&["commit", "-q", "-m", "initial"]);
    s.git(&["branch", "feature"]);
    s.write("README.md", "# project\nstaged line\n");
    s.git(&["add", "README.md"]);
    s.write(
        "src/lib.rs",
        "pub fn one() -> u32 { 1 }\n// unstaged edit\n",
    );
    let before_files = tree(s.dir.path());
    let before_git = repo_state(s.dir.path());

    let ws = s.workspace();
    let info = ws.checkpoint("session-1", "run-1", &TOUCHED).unwrap();
    assert_eq!(
        info.files,
        vec![
            CheckpointFile {
                path: "notes.txt".into(),
                existed: true,
                mode: 0o640,
                left: None,
                missing_dirs: vec![],
            },
            CheckpointFile {
                path: "src/lib.rs".into(),
                existed: true,
                mode: 0o644,
                left: None,
                missing_dirs: vec![],
            },
            CheckpointFile {
                path: "src/new.rs".into(),
                existed: false,
                mode: 0,
                left: None,
                missing_dirs: vec![],
            },
        ]
    );
    assert_eq!(
        repo_state(s.dir.path()),
        before_git,
        "checkpoint changed git state"
    );
    assert_eq!(
        tree(s.dir.path()),
        before_files,
        "checkpoint changed the work tree"
    );
    let tip = s.git(&["rev-parse", "refs/lathe/checkpoints/session-1"]);
    assert_eq!(tip.trim(), info.id);
    assert_eq!(
        s.git(&["show", &format!("{}:files/src/lib.rs", info.id)]),
        "pub fn one() -> u32 { 1 }\n// unstaged edit\n"
    );

    let patch = "*** Begin Patch\n*** Update File: src/lib.rs\n@@\n-pub fn one() -> u32 { 1 }\n+pub fn one() -> u32 { 100 }\n*** Add File: src/new.rs\n+pub fn new() {}\n*** Delete File: notes.txt\n*** End Patch\n";
    ws.apply(&apply_patch(&ws, patch).unwrap().diff).unwrap();
    assert_ne!(tree(s.dir.path()), before_files);

    let report = ws.undo("session-1").unwrap();
    assert_eq!(
        report,
        UndoReport {
            checkpoint: info.id.clone(),
            restored: vec!["notes.txt".into(), "src/lib.rs".into()],
            deleted: vec!["src/new.rs".into()],
        }
    );
    assert_eq!(tree(s.dir.path()), before_files);
    assert_eq!(
        repo_state(s.dir.path()),
        before_git,
        "undo changed git state"
    );
    assert!(
        s.git(&["for-each-ref", "refs/lathe/"]).is_empty(),
        "the only checkpoint was consumed"
    );
    assert!(matches!(
        ws.undo("session-1"),
        Err(WorkspaceError::NoCheckpoint(_))
    ));
}

#[test]
fn works_in_a_repository_without_commits() {
    let s = Scratch::new();
    s.git(&["init", "-q"]);
    seed(&s);
    s.git(&["add", "src/lib.rs"]);
    let before_files = tree(s.dir.path());
    let before_git = repo_state(s.dir.path());
    let ws = s.workspace();
    ws.checkpoint("s", "r", &TOUCHED).unwrap();
    run_changes(&ws);
    ws.undo("s").unwrap();
    assert_eq!(tree(s.dir.path()), before_files);
    assert_eq!(repo_state(s.dir.path()), before_git);
    assert_eq!(before_git.head_target, "", "still no commits");
}

#[test]
fn works_outside_git_with_a_private_store() {
    let s = Scratch::new();
    seed(&s);
    let before_files = tree(s.dir.path());
    let ws = s.workspace();
    assert!(!ws.is_git());
    ws.checkpoint("s", "r", &TOUCHED).unwrap();
    run_changes(&ws);
    ws.undo("s").unwrap();
    assert_eq!(tree(s.dir.path()), before_files);
    assert!(
        !s.dir.path().join(".git").exists(),
        "no repository was created in the workspace"
    );
    let stores: Vec<_> = std::fs::read_dir(s.state.path().join("checkpoints"))
        .unwrap()
        .collect();
    assert_eq!(stores.len(), 1);
}

#[test]
fn checkpoints_stack_per_run_and_undo_walks_back() {
    let s = Scratch::new();
    seed(&s);
    let ws = s.workspace();
    let first = ws.checkpoint("s", "run-1", &["src/lib.rs"]).unwrap();
    let edit = |content: &str| {
        let args = WriteFileArgs {
            path: "src/lib.rs".into(),
            content: content.into(),
        };
        ws.apply(&write_file(&ws, &args).unwrap().diff).unwrap();
    };
    edit("v2\n");
    let again = ws.checkpoint("s", "run-1", &["src/lib.rs"]).unwrap();
    assert_eq!(
        again, first,
        "a file already recorded by the run keeps its first content"
    );
    let extended = ws.checkpoint("s", "run-1", &["README.md"]).unwrap();
    assert_eq!(
        extended.parent, None,
        "the run's checkpoint is replaced, not stacked"
    );
    assert_eq!(extended.files.len(), 2);
    s.write("README.md", "changed by run 1\n");

    let second = ws.checkpoint("s", "run-2", &["src/lib.rs"]).unwrap();
    assert_eq!(second.parent.as_deref(), Some(extended.id.as_str()));
    edit("v3\n");
    assert_eq!(
        ws.checkpoints("s")
            .unwrap()
            .iter()
            .map(|c| c.run.as_str())
            .collect::<Vec<_>>(),
        vec!["run-2", "run-1"]
    );

    ws.undo("s").unwrap();
    assert_eq!(s.read("src/lib.rs").unwrap(), "v2\n");
    ws.undo("s").unwrap();
    assert_eq!(s.read("src/lib.rs").unwrap(), "pub fn one() -> u32 { 1 }\n");
    assert_eq!(s.read("README.md").unwrap(), "# project\n");
    assert!(ws.checkpoints("s").unwrap().is_empty());
}

#[test]
fn undo_restores_the_exact_mode() {
    let s = Scratch::new();
    s.write("tool.sh", "#!/bin/sh\necho hi\n");
    let path = s.dir.path().join("tool.sh");
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).unwrap();
    let ws = s.workspace();
    ws.checkpoint("s", "r", &["tool.sh"]).unwrap();
    std::fs::remove_file(&path).unwrap();
    ws.undo("s").unwrap();
    assert_eq!(
        std::fs::metadata(&path).unwrap().permissions().mode() & 0o777,
        0o755
    );
    assert_eq!(s.read("tool.sh").unwrap(), "#!/bin/sh\necho hi\n");
}

#[test]
fn refuses_bad_session_names_and_git_dir_paths() {
    let s = Scratch::new();
    s.git(&["init", "-q"]);
    let ws = s.workspace();
    assert!(matches!(
        ws.checkpoint("../x", "r", &["a"]),
        Err(WorkspaceError::InvalidSession(_))
    ));
    assert!(matches!(
        ws.checkpoint("s", "r", &[".git/config"]),
        Err(WorkspaceError::GitDir { .. })
    ));
}

#[test]
fn undo_refuses_to_overwrite_changes_made_after_the_run_unless_asked() {
    let s = Scratch::new();
    s.git(&["init", "-q"]);
    seed(&s);
    let ws = s.workspace();
    let patch = "*** Begin Patch\n*** Update File: src/lib.rs\n@@\n-pub fn one() -> u32 { 1 }\n+pub fn one() -> u32 { 100 }\n*** Add File: src/new.rs\n+pub fn new() {}\n*** Delete File: notes.txt\n*** End Patch\n";
    let diff = apply_patch(&ws, patch).unwrap().diff;
    ws.apply_for_run("s", "run-1", &diff).unwrap();
    let recorded = ws.checkpoints("s").unwrap().remove(0).files;
    let left: Vec<(&str, bool)> = recorded
        .iter()
        .map(|f| {
            (
                f.path.as_str(),
                matches!(f.left, Some(LeftByRun::File { .. })),
            )
        })
        .collect();
    assert_eq!(
        left,
        [
            ("notes.txt", false),
            ("src/lib.rs", true),
            ("src/new.rs", true)
        ]
    );
    assert_eq!(recorded[0].left, Some(LeftByRun::Absent));

    // The user edits a file the run changed, and recreates the one it deleted.
    s.write("src/lib.rs", "pub fn one() -> u32 { 100 }\n// mine\n");
    s.write("notes.txt", "my new notes\n");
    let refused = ws.undo("s").unwrap_err();
    match &refused {
        WorkspaceError::ChangedSinceRun { session, files } => {
            assert_eq!(
                (session.as_str(), files.as_slice()),
                ("s", &["notes.txt".to_owned(), "src/lib.rs".to_owned()][..])
            );
        }
        other => panic!("expected a refusal, got {other}"),
    }
    assert!(
        refused.to_string().contains("notes.txt, src/lib.rs")
            && refused.to_string().contains("undo anyway"),
        "{refused}"
    );
    assert_eq!(
        s.read("src/lib.rs").unwrap(),
        "pub fn one() -> u32 { 100 }\n// mine\n",
        "a refused undo writes nothing"
    );
    assert_eq!(s.read("src/new.rs").unwrap(), "pub fn new() {}\n");
    assert_eq!(
        ws.checkpoints("s").unwrap().len(),
        1,
        "the checkpoint stays"
    );

    let report = ws.undo_with("s", UndoMode::Anyway).unwrap();
    assert_eq!(report.restored, ["notes.txt", "src/lib.rs"]);
    assert_eq!(report.deleted, ["src/new.rs"]);
    assert_eq!(s.read("src/lib.rs").unwrap(), "pub fn one() -> u32 { 1 }\n");
    assert_eq!(s.read("notes.txt").unwrap(), "remember\n");
}

#[test]
fn files_as_the_run_left_them_or_already_restored_undo_without_asking() {
    let s = Scratch::new();
    seed(&s);
    let ws = s.workspace();
    let write = |content: &str| {
        let args = WriteFileArgs {
            path: "src/lib.rs".into(),
            content: content.into(),
        };
        write_file(&ws, &args).unwrap().diff
    };
    ws.apply_for_run("s", "run-1", &write("v2\n")).unwrap();
    ws.apply_for_run("s", "run-1", &write("v3\n")).unwrap();
    let notes = WriteFileArgs {
        path: "notes.txt".into(),
        content: "run notes\n".into(),
    };
    ws.apply_for_run("s", "run-1", &write_file(&ws, &notes).unwrap().diff)
        .unwrap();
    // The user put notes.txt back by hand; src/lib.rs is as the run's last write left it.
    s.write("notes.txt", "remember\n");
    let report = ws.undo("s").unwrap();
    assert_eq!(report.restored, ["src/lib.rs", "notes.txt"]);
    assert_eq!(s.read("src/lib.rs").unwrap(), "pub fn one() -> u32 { 1 }\n");
}

#[test]
fn a_refused_edit_leaves_no_checkpoint_behind() {
    let s = Scratch::new();
    seed(&s);
    let ws = s.workspace();
    let write = |path: &str, content: &str| {
        let args = WriteFileArgs {
            path: path.into(),
            content: content.into(),
        };
        write_file(&ws, &args).unwrap().diff
    };
    ws.apply_for_run("s", "run-1", &write("src/lib.rs", "v2\n"))
        .unwrap();
    let before = ws.checkpoints("s").unwrap();
    // The user saves notes.txt between the diff and its apply: the apply is refused.
    let stale = write("notes.txt", "from the run\n");
    s.write("notes.txt", "the user's\n");
    let refused = ws.apply_for_run("s", "run-1", &stale).unwrap_err();
    assert!(
        matches!(
            refused,
            WorkspaceError::Edit(lathe_edits::EditError::Stale { .. })
        ),
        "{refused:?}"
    );
    assert_eq!(
        ws.checkpoints("s").unwrap(),
        before,
        "the run's checkpoint as it was"
    );
    s.write("notes.txt", "edited again\n");
    ws.undo("s").unwrap();
    assert_eq!(
        s.read("notes.txt").unwrap(),
        "edited again\n",
        "undo keeps the user's file"
    );
    assert_eq!(s.read("src/lib.rs").unwrap(), "pub fn one() -> u32 { 1 }\n");

    let refused = ws.apply_for_run("s2", "run-1", &stale).unwrap_err();
    assert!(matches!(refused, WorkspaceError::Edit(_)), "{refused:?}");
    assert!(matches!(
        ws.undo("s2"),
        Err(WorkspaceError::NoCheckpoint(_))
    ));
}

#[test]
fn undo_removes_the_directories_a_run_created_for_its_new_files() {
    let s = Scratch::new();
    seed(&s);
    let ws = s.workspace();
    let patch = "*** Begin Patch\n*** Add File: newmod/deep/a.rs\n+pub fn a() {}\n*** Add File: src/b.rs\n+pub fn b() {}\n*** End Patch\n";
    ws.apply_for_run("s", "run-1", &apply_patch(&ws, patch).unwrap().diff)
        .unwrap();
    let files = &ws.checkpoints("s").unwrap()[0].files;
    assert_eq!(files[0].missing_dirs, ["newmod/deep", "newmod"]);
    assert!(files[1].missing_dirs.is_empty(), "src/ was there");
    ws.undo("s").unwrap();
    assert!(
        !s.dir.path().join("newmod").exists(),
        "no empty newmod/ left behind"
    );
    assert!(s.dir.path().join("src").is_dir());
}
