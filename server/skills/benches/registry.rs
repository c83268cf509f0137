//! Registry costs, printed as figures (run with `cargo bench -p lathe-skills`): a snapshot
//! when nothing changed (paid on every access, since the registry re-reads the skill
//! directories), a rebuild after an edit, a lookup and a render.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::print_stdout)]

use lathe_skills::{Registry, SkillRoots, SkillVars};
use std::hint::black_box;
use std::time::{Duration, Instant};

/// Runs `f` `n` times and returns the median and 99th-percentile duration.
fn measure(n: usize, mut f: impl FnMut()) -> (Duration, Duration) {
    let mut times: Vec<Duration> = (0..n)
        .map(|_| {
            let start = Instant::now();
            f();
            start.elapsed()
        })
        .collect();
    times.sort_unstable();
    (times[n / 2], times[n * 99 / 100])
}

fn skill(i: usize) -> String {
    format!(
        "---\nname: ws-skill-{i}\ndescription: Workspace skill number {i}.\naliases: [w{i}]\ntools: [read_file, search]\n---\n{}\n\n## Template\n\n{{{{input}}}}\n{{{{#selection}}}}\n````{{{{language}}}}\n{{{{selection}}}}\n````\n{{{{/selection}}}}\n",
        "Instructions for the model. ".repeat(60)
    )
}

fn main() {
    let dir = tempfile::tempdir().unwrap();
    let ws = dir.path().join("ws");
    let skills = ws.join(".lathe/skills");
    let commands = ws.join(".claude/commands");
    std::fs::create_dir_all(&skills).unwrap();
    std::fs::create_dir_all(&commands).unwrap();
    for i in 0..40 {
        std::fs::write(skills.join(format!("s{i}.md")), skill(i)).unwrap();
    }
    for i in 0..20 {
        std::fs::write(
            commands.join(format!("c{i}.md")),
            format!("Do task {i} with $ARGUMENTS.\n"),
        )
        .unwrap();
    }
    let registry = Registry::new(SkillRoots {
        workspace: Some(ws),
        ..SkillRoots::default()
    });
    let set = registry.snapshot();
    println!(
        "skills in force: {} (35 built-in, 40 workspace files, 20 Claude commands)",
        set.skills().len()
    );

    let (median, p99) = measure(2000, || {
        black_box(registry.snapshot());
    });
    println!("snapshot, nothing changed:   median {median:?}, p99 {p99:?}");

    let mut flip = 0;
    let (median, p99) = measure(200, || {
        flip += 1;
        std::fs::write(skills.join("s0.md"), skill(flip % 2)).unwrap();
        black_box(registry.snapshot());
    });
    println!("snapshot after an edit:      median {median:?}, p99 {p99:?}");

    let (median, p99) = measure(10_000, || {
        black_box(set.get(black_box("w17")));
    });
    println!("lookup by alias:             median {median:?}, p99 {p99:?}");

    let vars = SkillVars {
        input: "fix the off-by-one".into(),
        selection: "for i in 0..=n {\n    v[i] += 1;\n}\n".repeat(20),
        file: "src/lib.rs".into(),
        language: "rust".into(),
        diagnostics: "src/lib.rs:2:5: error: index out of bounds".into(),
        symbol: "crate::bump".into(),
        ..SkillVars::default()
    };
    let (median, p99) = measure(10_000, || {
        black_box(set.render("fix", &vars).unwrap());
    });
    println!("render /fix with context:    median {median:?}, p99 {p99:?}");
}
