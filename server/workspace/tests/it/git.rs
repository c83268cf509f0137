//! The `git` tool: status, diffs against the index and HEAD, and log, compared with what the
//! git CLI set up.

use crate::support::Scratch;
use lathe_workspace::{GitDiffTarget, WorkspaceError};
use pretty_assertions::assert_eq;

fn repo() -> Scratch {
    let s = Scratch::new();
    s.git(&["init", "-q"]);
    s.write("a.txt", "one\ntwo\nthree\n");
    s.write("b.txt", "bee\n");
    s.git(&["add", "."]);
    s.git(&["commit", "-q", "-m", "first commit"]);
    s.write("b.txt", "bee\nsecond\n");
    s.git(&["commit", "-q", "-am", "second commit\n\nwith a body"]);
    s
}

#[test]
fn status_lists_staged_unstaged_and_untracked_files() {
    let s = repo();
    s.write("a.txt", "one\nTWO\nthree\n");
    s.write("staged.txt", "new\n");
    s.git(&["add", "staged.txt"]);
    s.write("untracked.txt", "?\n");
    std::fs::remove_file(s.dir.path().join("b.txt")).unwrap();
    let status = s.workspace().git_status().unwrap();
    assert_eq!(
        status,
        "## main\n M a.txt\n D b.txt\nA  staged.txt\n?? untracked.txt\n"
    );
}

#[test]
fn status_of_a_clean_and_of_an_empty_repository() {
    let s = repo();
    assert_eq!(
        s.workspace().git_status().unwrap(),
        "## main\nnothing to commit, working tree clean\n"
    );
    let empty = Scratch::new();
    empty.git(&["init", "-q"]);
    empty.write("x", "x\n");
    assert_eq!(
        empty.workspace().git_status().unwrap(),
        "## No commits yet on main\n?? x\n"
    );
}

#[test]
fn diffs_work_tree_index_and_head() {
    let s = repo();
    s.write("a.txt", "one\nTWO\nthree\n");
    s.git(&["add", "a.txt"]);
    s.write("a.txt", "one\nTWO\nthree\nfour\n");
    let ws = s.workspace();
    assert_eq!(
        ws.git_diff(GitDiffTarget::Staged).unwrap(),
        "diff --git a/a.txt b/a.txt\n--- a/a.txt\n+++ b/a.txt\n@@ -1,3 +1,3 @@\n one\n-two\n+TWO\n three\n"
    );
    assert_eq!(
        ws.git_diff(GitDiffTarget::Unstaged).unwrap(),
        "diff --git a/a.txt b/a.txt\n--- a/a.txt\n+++ b/a.txt\n@@ -1,3 +1,4 @@\n one\n TWO\n three\n+four\n"
    );
    assert_eq!(
        ws.git_diff(GitDiffTarget::Head).unwrap(),
        "diff --git a/a.txt b/a.txt\n--- a/a.txt\n+++ b/a.txt\n@@ -1,3 +1,4 @@\n one\n-two\n+TWO\n three\n+four\n"
    );
}

#[test]
fn log_lists_commits_newest_first() {
    let s = repo();
    let ids: Vec<String> = s
        .git(&["log", "--format=%h"])
        .lines()
        .map(str::to_owned)
        .collect();
    assert_eq!(
        s.workspace().git_log(10).unwrap(),
        format!(
            "{} 2024-05-01 Test User: second commit\n{} 2024-05-01 Test User: first commit\n",
            ids[0], ids[1]
        )
    );
    assert_eq!(s.workspace().git_log(1).unwrap().lines().count(), 1);
}

#[test]
fn git_operations_outside_a_repository_say_so() {
    let s = Scratch::new();
    assert!(matches!(
        s.workspace().git_status(),
        Err(WorkspaceError::NotARepository)
    ));
}
