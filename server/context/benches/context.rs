//! Benchmarks of lathe-context on real code (run with `cargo bench -p lathe-context`).
//!
//! Prints figures, asserts nothing:
//! 1. repo map cold build on a ~1,000-file corpus of real sources (crates from the cargo
//!    registry, Python packages installed by pip), and Aider's repo map on the same corpus
//!    and budget in the same run;
//! 2. warm rebuild after editing one file (new process with the disk cache, and in memory);
//! 3. edit + incremental reparse + cursor context on a 10,000-line file, p50/p99.
//!
//! Environment: `LATHE_AIDER_PYTHON` (a Python with `aider-chat`; default
//! `$CARGO_TARGET_DIR/aider-venv/bin/python` if it exists), `LATHE_BENCH_BUDGET` (default
//! 2048), `LATHE_BENCH_CORPUS` (use this directory instead of building one).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::print_stdout)]

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use hdrhistogram::Histogram;
use lathe_context::{
    CursorRequest, Document, Encoding, IndexOptions, Language, MapRequest, Position, RepoIndex,
    TextRange,
};

const RUST_CRATES: &[&str] = &[
    "tokio-1.",
    "serde_json-1.",
    "regex-automata-0.4.",
    "hyper-1.",
];
const PYTHON_PACKAGES: &[&str] = &["rich", "httpx", "click", "pydantic"];
const CORPUS_FILES: usize = 1000;

fn main() {
    let budget: usize = std::env::var("LATHE_BENCH_BUDGET")
        .ok()
        .and_then(|b| b.parse().ok())
        .unwrap_or(2048);
    let aider_python = aider_python();
    let corpus = match std::env::var_os("LATHE_BENCH_CORPUS") {
        Some(dir) => PathBuf::from(dir),
        None => build_corpus(aider_python.as_deref()),
    };
    println!("corpus: {}", corpus.display());
    println!(
        "load average at start: {}",
        std::fs::read_to_string("/proc/loadavg")
            .unwrap_or_default()
            .trim()
    );
    tokenizer_figure();
    repo_map_figures(&corpus, budget, aider_python.as_deref());
    keystroke_figures();
}

fn registry_src() -> Option<PathBuf> {
    let home = std::env::var_os("CARGO_HOME")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cargo")))?;
    let src = home.join("registry/src");
    std::fs::read_dir(&src)
        .ok()?
        .flatten()
        .map(|e| e.path())
        .find(|p| p.is_dir())
}

fn aider_python() -> Option<PathBuf> {
    if let Some(p) = std::env::var_os("LATHE_AIDER_PYTHON") {
        return Some(PathBuf::from(p));
    }
    let target = std::env::var_os("CARGO_TARGET_DIR")?;
    let p = PathBuf::from(target).join("aider-venv/bin/python");
    p.exists().then_some(p)
}

fn files_with_ext(dir: &Path, ext: &str, out: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    let mut entries: Vec<PathBuf> = entries.flatten().map(|e| e.path()).collect();
    entries.sort();
    for path in entries {
        if path.is_dir() {
            files_with_ext(&path, ext, out);
        } else if path.extension().is_some_and(|e| e == ext) {
            out.push(path);
        }
    }
}

/// Copies real sources into `$CARGO_TARGET_TMPDIR/bench-corpus` (once).
fn build_corpus(python: Option<&Path>) -> PathBuf {
    let corpus = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("bench-corpus");
    if corpus.join(".complete").exists() {
        return corpus;
    }
    let _ = std::fs::remove_dir_all(&corpus);
    let mut sources: Vec<(PathBuf, PathBuf)> = Vec::new();
    if let Some(src) = registry_src() {
        let mut dirs: Vec<PathBuf> = std::fs::read_dir(&src)
            .unwrap()
            .flatten()
            .map(|e| e.path())
            .collect();
        dirs.sort();
        for prefix in RUST_CRATES {
            let Some(dir) = latest(&dirs, prefix) else {
                println!("corpus: crate {prefix}* not in the registry, skipped");
                continue;
            };
            let mut files = Vec::new();
            files_with_ext(dir, "rs", &mut files);
            let name = dir.file_name().unwrap().to_owned();
            for f in files {
                let rel = Path::new("rust")
                    .join(&name)
                    .join(f.strip_prefix(dir).unwrap());
                sources.push((f, rel));
            }
        }
    }
    let python = python.map_or_else(|| PathBuf::from("python3"), Path::to_path_buf);
    for package in PYTHON_PACKAGES {
        let out = Command::new(&python)
            .args([
                "-c",
                &format!("import {package}, os; print(os.path.dirname({package}.__file__))"),
            ])
            .output();
        let Some(dir) = out
            .ok()
            .filter(|o| o.status.success())
            .map(|o| PathBuf::from(String::from_utf8_lossy(&o.stdout).trim()))
        else {
            println!("corpus: python package {package} not installed, skipped");
            continue;
        };
        let mut files = Vec::new();
        files_with_ext(&dir, "py", &mut files);
        for f in files {
            let rel = Path::new("python")
                .join(package)
                .join(f.strip_prefix(&dir).unwrap());
            sources.push((f, rel));
        }
    }
    sources.truncate(CORPUS_FILES);
    for (from, rel) in &sources {
        let to = corpus.join(rel);
        std::fs::create_dir_all(to.parent().unwrap()).unwrap();
        std::fs::copy(from, &to).unwrap();
    }
    std::fs::write(corpus.join(".complete"), "").unwrap();
    corpus
}

/// The newest registry directory of a crate (`prefix` is `name-major.`).
fn latest<'a>(dirs: &'a [PathBuf], prefix: &str) -> Option<&'a PathBuf> {
    dirs.iter().rfind(|d| {
        d.file_name()
            .is_some_and(|n| n.to_string_lossy().starts_with(prefix))
    })
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1e3
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

fn first_rust_file(corpus: &Path) -> PathBuf {
    let mut files = Vec::new();
    files_with_ext(corpus, "rs", &mut files);
    let pick = files.len().min(11).saturating_sub(1);
    files
        .into_iter()
        .nth(pick)
        .expect("the corpus has Rust files")
}

fn repo_map_figures(corpus: &Path, budget: usize, aider_python: Option<&Path>) {
    let request = MapRequest {
        budget,
        ..MapRequest::default()
    };
    // Cold: empty cache each time.
    let mut cold = Vec::new();
    let mut last = None;
    for _ in 0..3 {
        let cache = tempfile::tempdir().unwrap();
        let start = Instant::now();
        let mut index = RepoIndex::open(
            corpus,
            IndexOptions {
                cache_dir: Some(cache.path().to_path_buf()),
                ..IndexOptions::default()
            },
        )
        .unwrap();
        index.refresh().unwrap();
        let map = index.map(&request).unwrap();
        cold.push(ms(start.elapsed()));
        last = Some(map);
    }
    let map = last.unwrap();
    println!(
        "repo map cold build: median {:.0} ms over 3 runs ({} files, {} source files, {} definitions; map {} tokens for a budget of {budget}, {:.1}% of budget; {} problems)",
        median(cold.clone()),
        map.scan.files,
        map.scan.source_files,
        map.total_definitions,
        map.tokens,
        100.0 * map.tokens as f64 / budget as f64,
        map.scan.problems.len(),
    );

    // Warm: one file edited, the cache on disk from a previous build.
    let cache = tempfile::tempdir().unwrap();
    let options = IndexOptions {
        cache_dir: Some(cache.path().to_path_buf()),
        ..IndexOptions::default()
    };
    let mut memory = RepoIndex::open(corpus, options.clone()).unwrap();
    memory.refresh().unwrap();
    let edited = first_rust_file(corpus);
    let original = std::fs::read_to_string(&edited).unwrap();
    let mut from_disk = Vec::new();
    let mut in_memory = Vec::new();
    let mut parsed = Vec::new();
    for i in 0..10 {
        std::fs::write(
            &edited,
            format!("{original}\npub fn bench_added_{i}() -> u32 {{ {i} }}\n"),
        )
        .unwrap();
        let start = Instant::now();
        let mut index = RepoIndex::open(corpus, options.clone()).unwrap();
        parsed.push(index.refresh().unwrap().parsed);
        let map = index.map(&request).unwrap();
        from_disk.push(ms(start.elapsed()));
        assert!(map.tokens <= budget);

        std::fs::write(
            &edited,
            format!("{original}\npub fn bench_again_{i}() -> u32 {{ {i} }}\n"),
        )
        .unwrap();
        let start = Instant::now();
        memory.refresh().unwrap();
        memory.map(&request).unwrap();
        in_memory.push(ms(start.elapsed()));
    }
    std::fs::write(&edited, &original).unwrap();
    println!(
        "repo map warm rebuild after editing one file: new process with disk cache median {:.1} ms (max {:.1}); in-memory index median {:.1} ms (max {:.1}); files re-parsed per rebuild: {:?}",
        median(from_disk.clone()),
        from_disk.iter().copied().fold(0.0, f64::max),
        median(in_memory.clone()),
        in_memory.iter().copied().fold(0.0, f64::max),
        parsed,
    );

    match aider_python {
        None => println!(
            "aider: skipped (no Python with aider-chat: set LATHE_AIDER_PYTHON or create $CARGO_TARGET_DIR/aider-venv)"
        ),
        Some(python) => run_aider(
            python,
            corpus,
            budget,
            &edited,
            median(cold),
            median(from_disk),
        ),
    }
}

fn run_aider(
    python: &Path,
    corpus: &Path,
    budget: usize,
    edited: &Path,
    ours_cold: f64,
    ours_warm: f64,
) {
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("benches/aider_repomap.py");
    let Some(bpe) = registry_src()
        .map(|src| src.join("tiktoken-rs-0.12.1/assets/o200k_base.tiktoken"))
        .filter(|p| p.exists())
    else {
        println!(
            "aider: skipped (o200k_base.tiktoken of tiktoken-rs 0.12.1 not found in the cargo registry)"
        );
        return;
    };
    let rel = edited.strip_prefix(corpus).unwrap();
    let out = Command::new(python)
        .arg(&script)
        .arg("--root")
        .arg(corpus)
        .arg("--budget")
        .arg(budget.to_string())
        .arg("--bpe")
        .arg(&bpe)
        .arg("--edit")
        .arg(rel)
        .output();
    let out = match out {
        Ok(out) if out.status.success() => out,
        Ok(out) => {
            println!(
                "aider: failed: {}",
                String::from_utf8_lossy(&out.stderr)
                    .lines()
                    .last()
                    .unwrap_or("")
            );
            return;
        }
        Err(err) => {
            println!("aider: cannot run {}: {err}", python.display());
            return;
        }
    };
    let stdout = String::from_utf8_lossy(&out.stdout);
    let Some(line) = stdout.lines().rev().find(|l| l.starts_with('{')) else {
        println!("aider: no result in its output");
        return;
    };
    let v: serde_json::Value = serde_json::from_str(line).unwrap();
    let cold = v["cold_s"].as_f64().unwrap_or(f64::NAN) * 1e3;
    let warm = v["warm_s"].as_f64().unwrap_or(f64::NAN) * 1e3;
    println!(
        "aider repo map (aider-chat, same corpus, budget {budget}): cold {cold:.0} ms, warm after one edit {warm:.0} ms, map {} tokens",
        v["tokens"]
    );
    println!(
        "speedup over aider: cold {:.1}x, warm {:.1}x",
        cold / ours_cold,
        warm / ours_warm
    );
}

fn tokenizer_figure() {
    let text = ten_thousand_lines();
    let counter = lathe_context::TokenCounter::o200k().unwrap();
    let start = Instant::now();
    let tokens = counter.count(&text);
    let elapsed = start.elapsed();
    let per_line: usize = text.split_inclusive('\n').map(|l| counter.count(l)).sum();
    println!(
        "o200k counting: {} bytes, {tokens} tokens ({per_line} counted line by line) in {:.1} ms ({:.1} MB/s)",
        text.len(),
        ms(elapsed),
        text.len() as f64 / elapsed.as_secs_f64() / 1e6
    );
}

/// A real, valid Rust file of about 10,000 lines: tokio source files, each wrapped in a
/// module (so that their inner attributes stay valid), until 10,000 lines are reached.
fn ten_thousand_lines() -> String {
    let mut files = Vec::new();
    if let Some(src) = registry_src() {
        let mut dirs: Vec<PathBuf> = std::fs::read_dir(&src)
            .unwrap()
            .flatten()
            .map(|e| e.path())
            .collect();
        dirs.sort();
        if let Some(tokio) = latest(&dirs, "tokio-1.") {
            files_with_ext(&tokio.join("src"), "rs", &mut files);
        }
    }
    let mut text = String::new();
    for (i, f) in files.iter().enumerate() {
        if text.lines().count() >= 10_000 {
            break;
        }
        let source = std::fs::read_to_string(f).unwrap_or_default();
        text.push_str(&format!("mod file_{i} {{\n{source}\n}}\n"));
    }
    text
}

fn keystroke_figures() {
    let text = ten_thousand_lines();
    let lines = text.lines().count();
    let start = Instant::now();
    let mut doc = Document::new(&text, Some(Language::Rust)).unwrap();
    println!(
        "full parse of the {lines}-line file: {:.1} ms (syntax errors: {})",
        ms(start.elapsed()),
        doc.has_syntax_errors()
    );
    // A function near the middle of the file.
    let outline = doc.outline(Encoding::Utf16);
    let mut flat = Vec::new();
    fn walk(symbols: &[lathe_context::Symbol], out: &mut Vec<lathe_context::Symbol>) {
        for s in symbols {
            out.push(s.clone());
            walk(&s.children, out);
        }
    }
    walk(&outline, &mut flat);
    let target = flat
        .iter()
        .filter(|s| s.range.end.line > s.range.start.line + 3)
        .min_by_key(|s| s.range.start.line.abs_diff(lines as u32 / 2))
        .expect("a function in the middle");
    println!(
        "keystrokes in {} '{}' at line {} of the {lines}-line file",
        target.kind.as_str(),
        target.name,
        target.range.start.line + 1
    );
    // Typing at the end of the function's name keeps the file valid; typing at the start
    // of its second line makes a syntax error that tree-sitter must recover from.
    keystrokes(&mut doc, "inside an identifier", target.selection_range.end);
    keystrokes(
        &mut doc,
        "making a syntax error",
        Position::new(target.range.start.line + 1, 0),
    );
}

fn keystrokes(doc: &mut Document, what: &str, at: Position) {
    let mut request = CursorRequest::at(at, Encoding::Utf16);
    request.budget = 2048;
    doc.cursor_context(&request, None).unwrap();
    let mut total = Histogram::<u64>::new(3).unwrap();
    let mut edit_only = Histogram::<u64>::new(3).unwrap();
    for i in 0..3000 {
        let start = Instant::now();
        if i % 2 == 0 {
            doc.apply_edit(TextRange::point(at), "x", Encoding::Utf16);
        } else {
            let end = Position::new(at.line, at.character + 1);
            doc.apply_edit(TextRange::new(at, end), "", Encoding::Utf16);
        }
        let edited = start.elapsed();
        let ctx = doc.cursor_context(&request, None).unwrap();
        let all = start.elapsed();
        assert!(!ctx.enclosing.is_empty());
        if i >= 200 {
            total.record(all.as_nanos() as u64).unwrap();
            edit_only.record(edited.as_nanos() as u64).unwrap();
        }
    }
    let us = |h: &Histogram<u64>, q: f64| h.value_at_quantile(q) as f64 / 1e3;
    println!(
        "keystroke {what}: edit+reparse p50 {:.0} us, p99 {:.0} us; edit+reparse+cursor context p50 {:.0} us, p99 {:.0} us, max {:.0} us",
        us(&edit_only, 0.5),
        us(&edit_only, 0.99),
        us(&total, 0.5),
        us(&total, 0.99),
        total.max() as f64 / 1e3,
    );
}
