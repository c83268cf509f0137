//! gitignore-aware listing, inside and outside a git repository.

use crate::support::Scratch;
use lathe_workspace::WalkOptions;
use pretty_assertions::assert_eq;

fn populate(s: &Scratch) {
    s.write(".gitignore", "target/\n*.log\n");
    s.write("src/main.rs", "fn main() {}\n");
    s.write("src/debug.log", "noise\n");
    s.write("target/out.bin", "bin\n");
    s.write(".env.example", "X=1\n");
    s.write("docs/guide.md", "# guide\n");
}

#[test]
fn lists_files_respecting_gitignore_in_a_repository() {
    let s = Scratch::new();
    s.git(&["init", "-q"]);
    populate(&s);
    let files = s.workspace().list_files(&WalkOptions::default()).unwrap();
    assert_eq!(
        files,
        vec![".env.example", ".gitignore", "docs/guide.md", "src/main.rs"]
    );
}

#[test]
fn lists_files_respecting_gitignore_outside_git_and_by_directory() {
    let s = Scratch::new();
    populate(&s);
    let ws = s.workspace();
    assert!(!ws.is_git());
    let all = ws.list_files(&WalkOptions::default()).unwrap();
    assert_eq!(
        all,
        vec![".env.example", ".gitignore", "docs/guide.md", "src/main.rs"]
    );
    let src = ws
        .list_files(&WalkOptions {
            dir: Some("src".into()),
            hidden: false,
            limit: 10,
        })
        .unwrap();
    assert_eq!(src, vec!["src/main.rs"]);
}
