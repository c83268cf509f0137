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
