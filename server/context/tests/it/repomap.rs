//! The repo map: ranking, budget, determinism, cache reuse and bad input.

use std::path::{Path, PathBuf};

use expect_test::expect_file;
use lathe_context::{
    IndexOptions, MapRequest, Problem, ProblemKind, RepoIndex, RepoMap, TokenCounter,
};
use pretty_assertions::assert_eq;

use crate::fixtures;

fn write(root: &Path, rel: &str, text: &str) {
    let path = root.join(rel);
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(path, text).unwrap();
}

/// A workspace where `popular.rs` is referenced by everyone, and `app.rs` depends on
/// `config.rs` only.
fn ranking_workspace() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    write(
        root,
        "src/popular.rs",
        "pub fn log_message(msg: &str) {}\npub struct Logger;\n",
    );
    for i in 0..6 {
        write(
            root,
            &format!("src/user{i}.rs"),
            &format!("pub fn user{i}() {{ log_message(\"x\"); let _l: Logger = Logger; }}\n"),
        );
    }
    write(
        root,
        "src/config.rs",
        "pub struct Settings { pub port: u16 }\npub fn load_settings(path: &str) -> Settings { Settings { port: 1 } }\n",
    );
    write(
        root,
        "src/app.rs",
        "fn main() { let s: Settings = load_settings(\"a\"); println!(\"{}\", s.port); }\n",
    );
    dir
}

#[test]
fn focus_files_dependencies_rank_first() {
    let dir = ranking_workspace();
    let map = RepoMap::build(
        dir.path(),
        None,
        &MapRequest {
            budget: 4096,
            focus: vec![PathBuf::from("src/app.rs")],
            mentioned: vec![],
        },
    )
    .unwrap();
    let mut top: Vec<(&str, &str)> = map
        .definitions
        .iter()
        .take(2)
        .map(|d| (d.path.as_str(), d.name.as_str()))
        .collect();
    top.sort();
    assert_eq!(
        top,
        vec![
            ("src/config.rs", "Settings"),
            ("src/config.rs", "load_settings")
        ]
    );

    // Without personalization the popular file wins.
    let map = RepoMap::build(
        dir.path(),
        None,
        &MapRequest {
            budget: 4096,
            ..MapRequest::default()
        },
    )
    .unwrap();
    assert_eq!(map.definitions[0].path, "src/popular.rs");
}

#[test]
fn mentioned_identifiers_pull_their_definitions_up() {
    let dir = ranking_workspace();
    let map = RepoMap::build(
        dir.path(),
        None,
        &MapRequest {
            budget: 4096,
            focus: vec![],
            mentioned: vec!["config".to_owned()],
        },
    )
    .unwrap();
    assert_eq!(map.definitions[0].path, "src/config.rs");
}

#[test]
fn a_mentioned_identifier_pulls_up_the_file_defining_it() {
    let dir = ranking_workspace();
    let map = |mentioned: &[&str]| {
        RepoMap::build(
            dir.path(),
            None,
            &MapRequest {
                budget: 4096,
                focus: vec![],
                mentioned: mentioned.iter().map(|m| (*m).to_owned()).collect(),
            },
        )
        .unwrap()
    };
    // No file is named like it: the file defining it is what the mention points at.
    assert_eq!(map(&[]).definitions[0].path, "src/popular.rs");
    assert_eq!(map(&["load_settings"]).definitions[0].path, "src/config.rs");
}

/// 80 files of 30 documented functions each, calling each other.
fn big_workspace() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    for f in 0..80 {
        let mut text = String::new();
        for g in 0..30 {
            let callee = format!("helper_{}_{}", (f * 7 + g) % 80, (g * 3) % 30);
            text.push_str(&format!(
                "/// Helper {g}.\npub fn helper_{f}_{g}(input: &[u8], limit: usize) -> Option<usize> {{\n    {callee}(input, limit)\n}}\n\n"
            ));
        }
        write(dir.path(), &format!("src/mod_{f:02}.rs"), &text);
    }
    dir
}

#[test]
fn maps_fill_the_budget_without_exceeding_it_and_are_deterministic() {
    let dir = big_workspace();
    let mut index = RepoIndex::open(dir.path(), IndexOptions::default()).unwrap();
    index.refresh().unwrap();
    let counter = TokenCounter::o200k().unwrap();
    for budget in [512, 1024, 2048, 4096, 8192] {
        let request = MapRequest {
            budget,
            focus: vec![PathBuf::from("src/mod_03.rs")],
            mentioned: vec![],
        };
        let map = index.map(&request).unwrap();
        assert_eq!(map.tokens, counter.count(&map.text));
        assert!(map.tokens <= budget, "{} > {budget}", map.tokens);
        assert!(
            map.tokens as f64 >= budget as f64 * 0.95,
            "{} tokens for a budget of {budget}",
            map.tokens
        );
        assert_eq!(index.map(&request).unwrap(), map);
    }
}

#[test]
fn fixture_workspaces_map() {
    let map = RepoMap::build(
        &fixtures(),
        None,
        &MapRequest {
            budget: 512,
            focus: vec![PathBuf::from("shapes-rust/src/lib.rs")],
            mentioned: vec![],
        },
    )
    .unwrap();
    let rendered = format!("tokens: {}\n{}", map.tokens, map.text);
    expect_file!["snapshots/repo_map.txt"].assert_eq(&rendered);
}

#[test]
fn warm_rebuild_reparses_only_the_changed_file() {
    let dir = big_workspace();
    let cache = tempfile::tempdir().unwrap();
    let options = IndexOptions {
        cache_dir: Some(cache.path().to_path_buf()),
        ..IndexOptions::default()
    };
    let mut index = RepoIndex::open(dir.path(), options.clone()).unwrap();
    let cold = index.refresh().unwrap().clone();
    assert_eq!((cold.parsed, cold.reused), (80, 0));
    let before = index.map(&MapRequest::default()).unwrap();

    write(
        dir.path(),
        "src/mod_05.rs",
        "pub fn brand_new_function() -> u32 { helper_1_1(&[], 0).unwrap_or(0) as u32 }\n",
    );
    let mut warm = RepoIndex::open(dir.path(), options.clone()).unwrap();
    let report = warm.refresh().unwrap().clone();
    assert_eq!((report.parsed, report.source_files), (1, 80));
    let after = warm.map(&MapRequest::default()).unwrap();
    assert_ne!(before.text, after.text);

    // Nothing changed: nothing is parsed again.
    let mut again = RepoIndex::open(dir.path(), options).unwrap();
    assert_eq!(again.refresh().unwrap().parsed, 0);
    assert_eq!(again.map(&MapRequest::default()).unwrap().text, after.text);
}

#[test]
fn bad_input_is_reported_not_fatal() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    write(root, "src/good.rs", "pub fn good() {}\n");
    std::fs::write(root.join("src/binary.rs"), b"fn x() {}\0\x01\x02").unwrap();
    std::fs::write(root.join("src/latin1.py"), b"def caf\xe9():\n    pass\n").unwrap();
    write(root, "src/huge.rs", &"// padding\n".repeat(200));
    write(
        root,
        "src/broken.rs",
        "fn broken( {\npub struct StillHere;\n",
    );
    write(root, ".gitignore", "ignored/\n");
    write(root, "ignored/skip.rs", "pub fn skipped() {}\n");
    std::os::unix::fs::symlink(root, root.join("src/loop")).unwrap();
    let outside = tempfile::tempdir().unwrap();
    write(outside.path(), "secret.rs", "pub fn secret() {}\n");
    std::os::unix::fs::symlink(outside.path(), root.join("escape")).unwrap();

    let mut index = RepoIndex::open(
        root,
        IndexOptions {
            max_file_bytes: 1024,
            ..IndexOptions::default()
        },
    )
    .unwrap();
    let report = index.refresh().unwrap().clone();
    assert_eq!(
        report.problems,
        vec![
            Problem {
                path: "escape".into(),
                kind: ProblemKind::OutsideWorkspace
            },
            Problem {
                path: "src/binary.rs".into(),
                kind: ProblemKind::Binary
            },
            Problem {
                path: "src/broken.rs".into(),
                kind: ProblemKind::SyntaxErrors
            },
            Problem {
                path: "src/huge.rs".into(),
                kind: ProblemKind::TooLarge {
                    bytes: 2200,
                    limit: 1024
                }
            },
            Problem {
                path: "src/latin1.py".into(),
                kind: ProblemKind::InvalidUtf8
            },
            // U+FFFD cannot be part of an identifier.
            Problem {
                path: "src/latin1.py".into(),
                kind: ProblemKind::SyntaxErrors
            },
            Problem {
                path: "src/loop".into(),
                kind: ProblemKind::SymlinkLoop
            },
        ]
    );
    let map = index.map(&MapRequest::default()).unwrap();
    let names: Vec<&str> = map.definitions.iter().map(|d| d.name.as_str()).collect();
    assert!(names.contains(&"good"), "{names:?}");
    assert!(names.contains(&"StillHere"), "{names:?}");
    assert!(names.contains(&"caf"), "{names:?}");
    assert!(
        !names.contains(&"skipped") && !names.contains(&"secret"),
        "{names:?}"
    );
}

#[test]
fn syntax_errors_are_reported_and_the_file_still_mapped() {
    let dir = tempfile::tempdir().unwrap();
    let cache = tempfile::tempdir().unwrap();
    write(dir.path(), "src/good.rs", "pub fn good() {}\n");
    write(
        dir.path(),
        "src/broken.rs",
        "fn broken( {\npub struct StillHere;\n",
    );
    let options = IndexOptions {
        cache_dir: Some(cache.path().to_path_buf()),
        ..IndexOptions::default()
    };
    let expected = vec![Problem {
        path: "src/broken.rs".into(),
        kind: ProblemKind::SyntaxErrors,
    }];
    let mut index = RepoIndex::open(dir.path(), options.clone()).unwrap();
    assert_eq!(index.refresh().unwrap().problems, expected);
    let map = index.map(&MapRequest::default()).unwrap();
    assert!(map.definitions.iter().any(|d| d.name == "StillHere"));
    assert!(
        map.render().ends_with("; 1 files with syntax errors)\n"),
        "{}",
        map.render()
    );
    // From the cache, without parsing again: still reported.
    let mut warm = RepoIndex::open(dir.path(), options).unwrap();
    let report = warm.refresh().unwrap();
    assert_eq!((report.parsed, &report.problems), (0, &expected));
}

#[test]
fn files_with_problems_do_not_spoil_the_disk_cache() {
    let dir = big_workspace();
    std::fs::write(dir.path().join("src/binary.rs"), b"fn x() {}\0").unwrap();
    write(dir.path(), "src/huge.rs", &"// padding\n".repeat(2000));
    let cache = tempfile::tempdir().unwrap();
    let options = IndexOptions {
        cache_dir: Some(cache.path().to_path_buf()),
        max_file_bytes: 16 * 1024,
        ..IndexOptions::default()
    };
    let mut cold = RepoIndex::open(dir.path(), options.clone()).unwrap();
    let cold = cold.refresh().unwrap().clone();
    assert_eq!((cold.parsed, cold.problems.len()), (80, 2));
    let mut warm = RepoIndex::open(dir.path(), options).unwrap();
    let warm = warm.refresh().unwrap();
    assert_eq!((warm.parsed, &warm.problems), (0, &cold.problems));
}

#[test]
fn the_fingerprint_changes_with_the_content_and_only_with_it() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("a.rs"), "pub fn a() {}\n").unwrap();
    let mut index = lathe_context::RepoIndex::open(dir.path(), Default::default()).unwrap();
    index.refresh().unwrap();
    let first = index.fingerprint();
    index.refresh().unwrap();
    assert_eq!(index.fingerprint(), first, "nothing changed");
    std::fs::write(dir.path().join("a.rs"), "pub fn b() {}\n").unwrap();
    index.refresh().unwrap();
    assert_ne!(index.fingerprint(), first, "an edit of the same size");
    std::fs::rename(dir.path().join("a.rs"), dir.path().join("c.rs")).unwrap();
    let edited = index.fingerprint();
    index.refresh().unwrap();
    assert_ne!(index.fingerprint(), edited, "a rename");
}
