//! `lathe doctor` and `lathe skills` on a workspace with a broken skill file: the file and
//! line are named, the rest still loads, and skills whose tools the workspace lacks (no MCP
//! server offers a fetch tool) say which and how to get them.

use lathe_tests::daemon::LatheHome;
use serde_json::Value;

fn workspace_with_a_broken_skill() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let skills = dir.path().join(".lathe/skills");
    std::fs::create_dir_all(&skills).unwrap();
    std::fs::write(
        skills.join("broken.md"),
        "---\nname: broken\ndescription: x: y: z\n---\nbody\n",
    )
    .unwrap();
    dir
}

#[test]
fn doctor_names_the_broken_skill_file_and_line_and_the_missing_tools() {
    let home = LatheHome::new().unwrap();
    let dir = workspace_with_a_broken_skill();
    let output = home
        .command()
        .env("LATHE_SANDBOX", "none")
        .current_dir(dir.path())
        .arg("doctor")
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert_eq!(output.status.code(), Some(1), "{stdout}");
    let line = |start: &str| {
        stdout
            .lines()
            .find(|l| l.starts_with(start))
            .unwrap_or_else(|| panic!("no line starting {start:?} in:\n{stdout}"))
            .to_owned()
    };
    assert!(
        line("FAIL  skills").contains("/.lathe/skills/broken.md:3: error: front matter"),
        "{stdout}"
    );
    assert!(line("WARN  skills     /scrape needs `mcp__*__fetch*`").contains(".mcp.json"));
    assert!(line("FAIL  model").contains("LATHE_BASE_URL"));
    assert!(line("OK    store").contains("lathe.redb"));
}

#[test]
fn skills_lists_sources_errors_and_missing_tools_as_json() {
    let home = LatheHome::new().unwrap();
    let dir = workspace_with_a_broken_skill();
    let output = home
        .command()
        .current_dir(dir.path())
        .args(["skills", "--json"])
        .output()
        .unwrap();
    assert_eq!(
        output.status.code(),
        Some(1),
        "a broken skill file fails the listing"
    );
    let listing: Value = serde_json::from_slice(&output.stdout).unwrap();
    let skill = |name: &str| {
        listing["skills"]
            .as_array()
            .unwrap()
            .iter()
            .find(|s| s["name"] == name)
            .unwrap_or_else(|| panic!("no skill {name}"))
            .clone()
    };
    assert_eq!(skill("broken")["status"], "error");
    assert_eq!(skill("fix")["status"], "ok");
    assert_eq!(skill("fix")["source"], "builtin");
    let scrape = skill("scrape");
    assert_eq!(scrape["status"], "missing-tools");
    assert_eq!(scrape["missing_tools"][0]["tool"], "mcp__*__fetch*");
}

fn shapes() -> std::path::PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../fixtures/workspaces/shapes-rust")
}

#[test]
fn context_shows_the_enclosing_chain_at_a_compiler_position() {
    let home = LatheHome::new().unwrap();
    let run = |location: &str| {
        home.command()
            .current_dir(shapes())
            .args(["context", location, "--json"])
            .output()
            .unwrap()
    };
    let output = run("src/shapes.rs:20:10");
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let context: Value = serde_json::from_slice(&output.stdout).unwrap();
    let chain: Vec<(&str, &str)> = context["enclosing"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| (s["kind"].as_str().unwrap(), s["name"].as_str().unwrap()))
        .collect();
    assert_eq!(chain, [("impl", "Circle"), ("method", "new")]);

    let past_the_end = run("src/shapes.rs:20:400");
    assert!(past_the_end.status.success());
    let clamped: Value = serde_json::from_slice(&past_the_end.stdout).unwrap();
    assert!(
        !clamped["clamps"].as_array().unwrap().is_empty(),
        "{clamped:#}"
    );

    let missing = run("src/nowhere.rs:1:1");
    assert!(!missing.status.success());
    assert!(String::from_utf8_lossy(&missing.stderr).contains("nowhere.rs"));
}

#[test]
fn repo_map_fits_its_budget_and_follows_mentions() {
    let home = LatheHome::new().unwrap();
    let map = |args: &[&str]| -> Value {
        let output = home
            .command()
            .current_dir(shapes())
            .args(["repo-map", "--json"])
            .args(args)
            .output()
            .unwrap();
        assert!(
            output.status.success(),
            "{}",
            String::from_utf8_lossy(&output.stderr)
        );
        serde_json::from_slice(&output.stdout).unwrap()
    };
    let small = map(&["--budget", "120"]);
    let tokens = small["tokens"].as_u64().unwrap();
    assert!(tokens > 0 && tokens <= 120, "{small:#}");
    let top_two = |m: &Value| -> Vec<String> {
        m["definitions"].as_array().unwrap()[..2]
            .iter()
            .map(|d| d["name"].as_str().unwrap().to_owned())
            .collect()
    };
    assert!(!top_two(&map(&[])).contains(&"Circle".to_owned()));
    assert_eq!(top_two(&map(&["--mention", "Circle"])), ["Shape", "Circle"]);
    assert_eq!(
        map(&["--budget", "120"])["text"],
        small["text"],
        "deterministic"
    );
}
