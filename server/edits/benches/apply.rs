//! Benchmarks of lathe-edits: a 500-hunk patch on a 50,000-line file, as a Codex envelope
//! and as a unified diff with line numbers, from patch text to the new content in memory
//! (parse, locate with fallbacks, build the WorkspaceDiff, verify the base hash, apply).
//!
//! Each case is measured twice: wall-clock time, and the benchmark thread's CPU time (from
//! `/proc/thread-self/schedstat`), which stays meaningful on a machine shared with builds.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use criterion::measurement::{Measurement, ValueFormatter, WallTime};
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

/// CPU time of the current thread, in nanoseconds.
struct ThreadCpuTime;

static WALL: WallTime = WallTime;

fn thread_cpu_ns() -> u64 {
    let stat = std::fs::read_to_string("/proc/thread-self/schedstat").unwrap();
    stat.split_whitespace().next().unwrap().parse().unwrap()
}

impl Measurement for ThreadCpuTime {
    type Intermediate = u64;
    type Value = u64;

    fn start(&self) -> u64 {
        thread_cpu_ns()
    }

    fn end(&self, start: u64) -> u64 {
        thread_cpu_ns() - start
    }

    fn add(&self, a: &u64, b: &u64) -> u64 {
        a + b
    }

    fn zero(&self) -> u64 {
        0
    }

    fn to_f64(&self, value: &u64) -> f64 {
        *value as f64
    }

    fn formatter(&self) -> &dyn ValueFormatter {
        WALL.formatter()
    }
}

fn bench<M: Measurement>(c: &mut Criterion<M>, name: &str) {
    let mut src = MemorySource::new();
    src.insert("big.rs", file());
    let codex = codex_patch();
    let unified = unified_patch();

    let check = apply_codex_patch(&src, &codex).unwrap();
    assert_eq!(check.diff.stats().added, HUNKS as u64);
    let check = apply_unified_diff(&src, &unified).unwrap();
    assert_eq!(check.diff.stats().added, HUNKS as u64);

    let mut group = c.benchmark_group(name);
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

fn wall(c: &mut Criterion) {
    bench(c, "patch_500_hunks_50k_lines/wall");
}

fn cpu(c: &mut Criterion<ThreadCpuTime>) {
    bench(c, "patch_500_hunks_50k_lines/cpu");
}

criterion_group!(wall_time, wall);
criterion_group! {
    name = cpu_time;
    config = Criterion::default().with_measurement(ThreadCpuTime);
    targets = cpu
}
criterion_main!(wall_time, cpu_time);
