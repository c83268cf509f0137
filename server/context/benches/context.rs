//! Benchmarks of lathe-context on real code. Run with `cargo bench -p lathe-context --bench
//! context`; it prints figures and asserts nothing:
//! 1. repo map cold build on a ~1,000-file corpus of real sources, and Aider's repo map on the
//!    same corpus and budget in the same run;
//! 2. warm rebuild after editing one file (new process with the disk cache, and in memory);
//! 3. edit + incremental reparse + cursor context on a 10,000-line file, p50/p99, and how
//!    many reparses paused at the edit budget (finished, as the LSP does while idle, before
//!    the next keystroke).
//!
//! The corpus (copied once to `<target>/tmp/bench-corpus`, where `<target>` is the target
//! directory the bench is built in: `$CARGO_TARGET_DIR`, else `target/`): the newest copies, by numeric version, of tokio 1,
//! serde_json 1, regex-automata 0.4 and hyper 1 in `$CARGO_HOME/registry/src/*/`, then the
//! Python packages rich, httpx, click and pydantic as installed for the Aider Python below
//! (else `python3`), up to 1,000 files.
//!
//! Aider's figures need a Python with `aider-chat`, found in this order:
//! - `LATHE_AIDER_PYTHON`: the path of that Python;
//! - `<target>/aider-venv/bin/python`, made with
//!   `python3 -m venv <target>/aider-venv && <target>/aider-venv/bin/pip install aider-chat`.
//!
//! Without one, or when it fails, the comparison is skipped with a warning on stderr that
//! says how to enable it. Both maps count o200k_base tokens: `benches/aider_repomap.py` loads
//! tiktoken offline from `assets/o200k_base.tiktoken` of the newest `tiktoken-rs-*` in the
//! cargo registry.
//!
//! Other environment: `LATHE_BENCH_BUDGET` (default 2048), `LATHE_BENCH_CORPUS` (use this
//! directory instead of building one).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::print_stdout)]

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use hdrhistogram::Histogram;
use lathe_context::{
    CursorRequest, Document, Encoding, IndexOptions, Language, MapRequest, Position, RepoIndex,
    TextRange,
};

/// Crates of the corpus: name and required version prefix.
const RUST_CRATES: &[(&str, &str)] = &[
    ("tokio", "1"),
    ("serde_json", "1"),
    ("regex-automata", "0.4"),
    ("hyper", "1"),
];
/// The o200k_base tokenizer inside a tiktoken-rs crate.
const O200K_BPE: &str = "assets/o200k_base.tiktoken";
const PYTHON_PACKAGES: &[&str] = &["rich", "httpx", "click", "pydantic"];
const CORPUS_FILES: usize = 1000;

fn main() {
    let budget: usize = std::env::var("LATHE_BENCH_BUDGET")
        .ok()
        .and_then(|b| b.parse().ok())
        .unwrap_or(2048);
    let aider_python = aider_python();
    fetch_registry();
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

/// Downloads the workspace's locked crates into the registry, where the corpus and the
/// 10,000-line file come from (a machine that built only this crate lacks tokio); quick when
/// they are there already.
fn fetch_registry() {
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let manifest = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../Cargo.toml");
    let status = Command::new(cargo)
        .args(["fetch", "--quiet", "--manifest-path"])
        .arg(&manifest)
        .status();
    if !status.as_ref().is_ok_and(|s| s.success()) {
        println!(
            "corpus: `cargo fetch` failed ({status:?}); crates missing from the registry are skipped"
        );
    }
}

/// Every crate directory of every registry in `$CARGO_HOME/registry/src/*/`, sorted.
fn registry_crates() -> Vec<PathBuf> {
    let Some(home) = std::env::var_os("CARGO_HOME")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cargo")))
    else {
        return Vec::new();
    };
    let subdirs = |dir: &Path| -> Vec<PathBuf> {
        std::fs::read_dir(dir)
            .map(|entries| {
                entries
                    .flatten()
                    .map(|e| e.path())
                    .filter(|p| p.is_dir())
                    .collect()
            })
            .unwrap_or_default()
    };
    let mut crates: Vec<PathBuf> = subdirs(&home.join("registry/src"))
        .iter()
        .flat_map(|registry| subdirs(registry))
        .collect();
    crates.sort();
    crates
}

/// The target directory the bench was built in.
fn target_dir() -> PathBuf {
    let tmp = Path::new(env!("CARGO_TARGET_TMPDIR"));
    tmp.parent().unwrap_or(tmp).to_path_buf()
}

fn aider_venv() -> PathBuf {
    target_dir().join("aider-venv")
}

fn aider_python() -> Option<PathBuf> {
    if let Some(p) = std::env::var_os("LATHE_AIDER_PYTHON") {
        return Some(PathBuf::from(p));
    }
    let p = aider_venv().join("bin/python");
    p.exists().then_some(p)
}

/// Says loudly, on stderr, that the comparison with Aider is not in this run, and how to
/// get it.
fn aider_skipped(why: &str) {
    let venv = aider_venv();
    eprintln!(
        "\nWARNING: Aider's repo map was NOT run, so this run has no comparison with Aider: {why}.\n\
         To enable it, give the bench a Python with aider-chat, either\n    \
         python3 -m venv {venv} && {venv}/bin/pip install aider-chat\n\
         or LATHE_AIDER_PYTHON=/path/to/python (one that can `import aider`).\n",
        venv = venv.display()
    );
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
    let dirs = registry_crates();
    let mut complete = true;
    for (name, version) in RUST_CRATES {
        let Some(dir) = newest(&dirs, name, version) else {
            println!("corpus: crate {name} {version}.* not in the registry, skipped");
            complete = false;
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
    // A corpus that lacks a crate is built again next time, when the crate may be there.
    if complete {
        std::fs::write(corpus.join(".complete"), "").unwrap();
    }
    corpus
}

/// The registry directory (`<name>-<version>`) of crate `name` with the highest version that
/// starts with `prefix` (`"1"`, `"0.4"`; `""` for any), comparing versions numerically
/// (1.54 after 1.9) and a release after its pre-releases.
fn newest<'a>(dirs: &'a [PathBuf], name: &str, prefix: &str) -> Option<&'a PathBuf> {
    let wanted = version_key(prefix).map_or_else(Vec::new, |(parts, _)| parts);
    dirs.iter()
        .filter_map(|dir| {
            let file_name = dir.file_name()?.to_str()?;
            let version = version_key(file_name.strip_prefix(name)?.strip_prefix('-')?)?;
            version.0.starts_with(&wanted).then_some((version, dir))
        })
        .max_by(|a, b| a.0.cmp(&b.0))
        .map(|(_, dir)| dir)
}

/// `1.54.0` as `([1, 54, 0], true)`; `1.0.0-rc.1` as `([1, 0, 0], false)`; `None` for what
/// is not a version.
fn version_key(version: &str) -> Option<(Vec<u64>, bool)> {
    let version = version.split('+').next()?;
    let (core, pre) = match version.split_once('-') {
        Some((core, pre)) => (core, Some(pre)),
        None => (version, None),
    };
    let parts = core
        .split('.')
        .map(|part| part.parse().ok())
        .collect::<Option<Vec<u64>>>()?;
    Some((parts, pre.is_none()))
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
        None => aider_skipped(&format!(
            "LATHE_AIDER_PYTHON is not set and {} does not exist",
            aider_venv().join("bin/python").display()
        )),
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
    let with_bpe: Vec<PathBuf> = registry_crates()
        .into_iter()
        .filter(|dir| dir.join(O200K_BPE).exists())
        .collect();
    let Some(bpe) = newest(&with_bpe, "tiktoken-rs", "").map(|dir| dir.join(O200K_BPE)) else {
        aider_skipped(&format!(
            "no tiktoken-rs-*/{O200K_BPE} in the cargo registry to count Aider's tokens with"
        ));
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
            let stderr = String::from_utf8_lossy(&out.stderr);
            aider_skipped(&format!(
                "{} {} failed: {}",
                python.display(),
                script.display(),
                stderr.lines().last().unwrap_or("")
            ));
            return;
        }
        Err(err) => {
            aider_skipped(&format!("cannot run {}: {err}", python.display()));
            return;
        }
    };
    let stdout = String::from_utf8_lossy(&out.stdout);
    let Some(line) = stdout.lines().rev().find(|l| l.starts_with('{')) else {
        aider_skipped(&format!("no result in the output of {}", script.display()));
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
    let crates = registry_crates();
    let tokio = newest(&crates, "tokio", "1")
        .expect("tokio 1 in the cargo registry (`cargo fetch` in the workspace puts it there)");
    files_with_ext(&tokio.join("src"), "rs", &mut files);
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
    let mut settling = Histogram::<u64>::new(3).unwrap();
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
        // What the LSP sync task does before the next keystroke: finish a paused reparse.
        let paused = !doc.is_settled();
        let settle_start = Instant::now();
        doc.settle(None);
        let settled = settle_start.elapsed();
        if i >= 200 {
            total.record(all.as_nanos() as u64).unwrap();
            edit_only.record(edited.as_nanos() as u64).unwrap();
            if paused {
                settling.record(settled.as_nanos() as u64).unwrap();
            }
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
    println!(
        "  reparses paused at the edit budget: {} of {}; finished between keystrokes in p50 {:.0} us, p99 {:.0} us",
        settling.len(),
        total.len(),
        us(&settling, 0.5),
        us(&settling, 0.99),
    );
}
