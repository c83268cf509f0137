//! Benchmark of checkpoints: 100 touched files (with content not yet in the object store)
//! in a committed 10,000-file repository, from the call to the moved ref; and one agent
//! edit applied as a run's (checkpoint, write, record of what the run left).

#![allow(clippy::unwrap_used, clippy::expect_used)]

use criterion::{BatchSize, Criterion, criterion_group, criterion_main};
use lathe_edits::{WriteFileArgs, write_file};
use lathe_workspace::Workspace;
use std::process::Command;
use std::sync::atomic::{AtomicUsize, Ordering};

const FILES: usize = 10_000;
const TOUCHED: usize = 100;

fn git(dir: &std::path::Path, args: &[&str]) {
    let status = Command::new("git")
        .args([
            "-c",
            "user.name=Bench",
            "-c",
            "user.email=bench@example.com",
            "-c",
            "init.defaultBranch=main",
        ])
        .args(args)
        .current_dir(dir)
        .status()
        .unwrap();
    assert!(status.success(), "git {args:?}");
}

fn path(i: usize) -> String {
    format!("src/module_{:02}/file_{i:05}.rs", i % 50)
}

fn bench(c: &mut Criterion) {
    let repo = tempfile::tempdir().unwrap();
    let state = tempfile::tempdir().unwrap();
    for i in 0..FILES {
        let file = repo.path().join(path(i));
        std::fs::create_dir_all(file.parent().unwrap()).unwrap();
        std::fs::write(
            &file,
            format!("pub fn f{i}() -> usize {{\n    {i}\n}}\n").repeat(20),
        )
        .unwrap();
    }
    git(repo.path(), &["init", "-q"]);
    git(repo.path(), &["add", "."]);
    git(repo.path(), &["commit", "-q", "-m", "10k files"]);

    let ws = Workspace::open(repo.path(), state.path()).unwrap();
    let touched: Vec<String> = (0..TOUCHED).map(|i| path(i * (FILES / TOUCHED))).collect();
    let touched_refs: Vec<&str> = touched.iter().map(String::as_str).collect();
    let round = AtomicUsize::new(0);

    c.bench_function("checkpoint_100_files_in_10k_repo", |b| {
        b.iter_batched(
            || {
                let n = round.fetch_add(1, Ordering::Relaxed);
                for p in &touched {
                    std::fs::write(
                        repo.path().join(p),
                        format!("// edit {n}\npub fn g() {{}}\n").repeat(20),
                    )
                    .unwrap();
                }
                format!("run-{n}")
            },
            |run| ws.checkpoint("bench", &run, &touched_refs).unwrap(),
            BatchSize::PerIteration,
        )
    });

    // What one agent edit costs on disk: checkpoint, atomic write, and recording what the
    // run left (so that undo notices later changes), as the first edit of a new run.
    c.bench_function("apply_for_run_one_edit_in_10k_repo", |b| {
        b.iter_batched(
            || {
                let n = round.fetch_add(1, Ordering::Relaxed);
                let args = WriteFileArgs {
                    path: touched[0].clone(),
                    content: format!("// edit {n}\npub fn g() {{}}\n"),
                };
                (format!("edit-{n}"), write_file(&ws, &args).unwrap().diff)
            },
            |(run, diff)| ws.apply_for_run("bench-edit", &run, &diff).unwrap(),
            BatchSize::PerIteration,
        )
    });
}

criterion_group!(benches, bench);
criterion_main!(benches);
