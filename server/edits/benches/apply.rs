//! Benchmarks of lathe-edits: a 500-hunk patch on a 50,000-line file, as a Codex envelope
//! and as a unified diff with line numbers, from patch text to the new content in memory
//! (parse, locate with fallbacks, build the WorkspaceDiff, verify the base hash, apply).

#![allow(clippy::unwrap_used, clippy::expect_used)]

use criterion::{Criterion, criterion_group, criterion_main};
use lathe_edits::{MemorySource, apply_codex_patch, apply_unified_diff, materialize};
use std::hint::black_box;

const LINES: usize = 50_000;
const HUNKS: usize = 500;

fn file() -> String {
    (0..LINES)
        .map(|i| format!("    let value_{i} = compute({i}, \"item {i}\");\n"))
        .collect()
}

fn changed_lines() -> impl Iterator<Item = usize> {
    (0..HUNKS).map(|h| h * (LINES / HUNKS) + 50)
}

fn codex_patch() -> String {
    let mut patch = String::from("*** Begin Patch\n*** Update File: big.rs\n");
    for i in changed_lines() {
        patch.push_str("@@\n");
        for c in i - 3..i {
            patch.push_str(&format!(
                "     let value_{c} = compute({c}, \"item {c}\");\n"
            ));
        }
        patch.push_str(&format!(
            "-    let value_{i} = compute({i}, \"item {i}\");\n"
        ));
        patch.push_str(&format!(
            "+    let value_{i} = compute_fast({i}, \"item {i}\");\n"
        ));
        for c in i + 1..i + 4 {
            patch.push_str(&format!(
                "     let value_{c} = compute({c}, \"item {c}\");\n"
            ));
        }
    }
    patch.push_str("*** End Patch\n");
    patch
}

fn unified_patch() -> String {
    let mut patch = String::from("--- a/big.rs\n+++ b/big.rs\n");
    for i in changed_lines() {
        patch.push_str(&format!("@@ -{0},7 +{0},7 @@\n", i - 2));
        for c in i - 3..i {
            patch.push_str(&format!(
                "     let value_{c} = compute({c}, \"item {c}\");\n"
            ));
        }
        patch.push_str(&format!(
            "-    let value_{i} = compute({i}, \"item {i}\");\n"
        ));
        patch.push_str(&format!(
            "+    let value_{i} = compute_fast({i}, \"item {i}\");\n"
        ));
        for c in i + 1..i + 4 {
            patch.push_str(&format!(
                "     let value_{c} = compute({c}, \"item {c}\");\n"
            ));
        }
    }
    patch
}

fn bench(c: &mut Criterion) {
    let mut src = MemorySource::new();
    src.insert("big.rs", file());
    let codex = codex_patch();
    let unified = unified_patch();

    let check = apply_codex_patch(&src, &codex).unwrap();
    assert_eq!(check.diff.stats().added, HUNKS as u64);
    let check = apply_unified_diff(&src, &unified).unwrap();
    assert_eq!(check.diff.stats().added, HUNKS as u64);

    let mut group = c.benchmark_group("patch_500_hunks_50k_lines");
    group.sample_size(30);
    group.bench_function("apply_patch_envelope", |b| {
        b.iter(|| {
            let outcome = apply_codex_patch(&src, black_box(&codex)).unwrap();
            materialize(&src, &outcome.diff).unwrap()
        })
    });
    group.bench_function("unified_diff", |b| {
        b.iter(|| {
            let outcome = apply_unified_diff(&src, black_box(&unified)).unwrap();
            materialize(&src, &outcome.diff).unwrap()
        })
    });
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
