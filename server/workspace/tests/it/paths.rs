//! Path confinement: `..`, absolute paths outside the root, symlink escapes and `.git`.

use crate::support::Scratch;
use lathe_workspace::WorkspaceError;
use pretty_assertions::assert_eq;

#[test]
fn resolves_relative_and_absolute_paths_inside_the_root() {
    let s = Scratch::new();
    s.write("src/lib.rs", "x");
    let ws = s.workspace();
    let rel = ws.resolve("./src//lib.rs").unwrap();
    assert_eq!(rel.rel, "src/lib.rs");
    assert_eq!(rel.abs, s.root().join("src/lib.rs"));
    let abs = ws
        .resolve(s.root().join("src/new.rs").to_str().unwrap())
        .unwrap();
    assert_eq!(abs.rel, "src/new.rs");
}

#[test]
fn refuses_parent_components_and_outside_paths() {
    let s = Scratch::new();
    let ws = s.workspace();
    let messages: Vec<String> = ["../x", "a/../../x", "/etc/passwd", ""]
        .iter()
        .map(|p| ws.resolve(p).unwrap_err().to_string())
        .collect();
    assert_eq!(
        messages,
        vec![
            "invalid path `../x`: `..` is not allowed; stay inside the workspace".to_owned(),
            "invalid path `a/../../x`: `..` is not allowed; stay inside the workspace".to_owned(),
            format!(
                "`/etc/passwd` is outside the workspace; use a path inside {}",
                s.root().display()
            ),
            "invalid path ``: the path is empty".to_owned(),
        ]
    );
}

#[test]
fn refuses_symlink_escapes_but_follows_links_inside() {
    let s = Scratch::new();
    let outside = tempfile::tempdir().unwrap();
    std::fs::write(outside.path().join("secret.txt"), "secret").unwrap();
    std::os::unix::fs::symlink(outside.path(), s.dir.path().join("escape")).unwrap();
    s.write("real/file.txt", "inside");
    std::os::unix::fs::symlink(s.dir.path().join("real"), s.dir.path().join("link")).unwrap();
    let ws = s.workspace();
    assert!(matches!(
        ws.resolve("escape/secret.txt"),
        Err(WorkspaceError::SymlinkEscape { .. })
    ));
    assert!(matches!(
        ws.resolve("escape/new.txt"),
        Err(WorkspaceError::SymlinkEscape { .. })
    ));
    assert_eq!(ws.read_text("link/file.txt").unwrap(), "inside");
    assert_eq!(
        ws.resolve("link/file.txt").unwrap().abs,
        s.root().join("real/file.txt")
    );
}

#[test]
fn refuses_writes_under_dot_git() {
    let s = Scratch::new();
    s.git(&["init", "-q"]);
    let ws = s.workspace();
    assert!(ws.resolve(".git/config").is_ok(), "reading is allowed");
    s.write("vendor/lib/.git/HEAD", "ref: refs/heads/main\n");
    std::os::unix::fs::symlink("vendor/lib/.git", s.root().join("hooks-link")).unwrap();
    for path in [
        ".git/config",
        ".git/hooks/pre-commit",
        "sub/.GIT/x",
        "vendor/lib/.git/hooks/pre-commit",
        "hooks-link/hooks/pre-commit",
    ] {
        assert!(
            matches!(
                ws.resolve_for_write(path),
                Err(WorkspaceError::GitDir { .. })
            ),
            "{path} must be refused"
        );
    }
}
