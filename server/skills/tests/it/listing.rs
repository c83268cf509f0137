//! The `lathe skills` listing: source, status, missing tools and problems, as text and JSON.

use crate::support::Dirs;
use expect_test::expect;
use lathe_skills::{SkillListing, SkillSource, SkillStatus};
use pretty_assertions::assert_eq;

fn workspace() -> Dirs {
    let dirs = Dirs::new();
    dirs.write(
        "ws/.lathe/skills/tickets.md",
        "---\nname: tickets\ndescription: Triage tickets from the tracker.\naliases: [triage]\ntools: [read_file, mcp__jira__search_issues]\n---\nTriage.\n",
    );
    dirs.write(
        "home/.config/lathe/skills/explain.md",
        "---\nname: explain\ndescription: Explain like a pirate.\n---\nArr.\n",
    );
    dirs.write(
        "ws/.lathe/skills/broken.md",
        "---\nname: broken\ndescription: [\n---\n",
    );
    dirs.write(
        "ws/.claude/commands/standup.md",
        "Summarise yesterday's commits for a standup.\n",
    );
    dirs
}

/// The listing without the built-ins that nothing here touches.
fn listing(dirs: &Dirs) -> SkillListing {
    let available = vec!["read_file".to_owned(), "search".to_owned()];
    let mut listing = dirs.registry().snapshot().listing(Some(&available));
    listing
        .skills
        .retain(|s| s.source != SkillSource::Builtin || s.name == "explain" || s.name == "fix");
    listing
}

#[test]
fn text_listing() {
    let dirs = workspace();
    expect![[r#"
        SKILL     ALIASES                                    SOURCE     STATUS         DESCRIPTION
        /broken                                              workspace  error
        /explain                                             user       ok             Explain like a pirate.
        /explain  /what /wtf /eli5 /understand /walkthrough  built-in   shadowed       overridden by $ROOT/home/.config/lathe/skills/explain.md
        /fix      /bugfix /bug /repair /quickfix             built-in   missing-tools  Fix a bug or the diagnostics in range with the smallest correct change,…
        /standup                                             claude     ok             Summarise yesterday's commits for a standup.
        /tickets  /triage                                    workspace  missing-tools  Triage tickets from the tracker.

        /fix is missing tools:
          list_files: `list_files` is a Lathe built-in tool that this session does not offer
          code_context: `code_context` is a Lathe built-in tool that this session does not offer
          edit_file: `edit_file` changes files, which the `read-only` approval mode forbids: use `ask` or `auto`
          apply_patch: `apply_patch` changes files, which the `read-only` approval mode forbids: use `ask` or `auto`
          run_command: `run_command` needs a sandbox: install Docker or bubblewrap, or set `LATHE_SANDBOX=none` to run commands on the host with approval for each; `lathe doctor` says what is missing
          git: `git` is a Lathe built-in tool that this session does not offer

        /tickets is missing tools:
          mcp__jira__search_issues: needs the MCP server `jira` (tool `search_issues`): add it to `mcpServers` in the workspace's `.mcp.json` or to `[mcp_servers.jira]` in `~/.config/lathe/config.toml`

        1 problem:
        $ROOT/ws/.lathe/skills/broken.md:3: error: front matter: description: invalid type: sequence, expected a string
    "#]].assert_eq(&dirs.scrub(&listing(&dirs).to_text()));
}

#[test]
fn json_listing() {
    let dirs = workspace();
    let listing = listing(&dirs);
    let json = serde_json::to_value(&listing).unwrap();
    let tickets = json["skills"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["name"] == "tickets")
        .unwrap();
    assert_eq!(
        serde_json::json!({
            "name": tickets["name"],
            "aliases": tickets["aliases"],
            "source": tickets["source"],
            "status": tickets["status"],
            "kind": tickets["kind"],
            "missing": tickets["missing_tools"][0]["tool"],
        }),
        serde_json::json!({
            "name": "tickets",
            "aliases": ["triage"],
            "source": "workspace",
            "status": "missing-tools",
            "kind": "prompt",
            "missing": "mcp__jira__search_issues",
        })
    );
    let back: SkillListing = serde_json::from_value(json).unwrap();
    assert_eq!(back, listing);
    let statuses: Vec<(String, SkillStatus)> = listing
        .skills
        .iter()
        .map(|s| (s.name.clone(), s.status))
        .collect();
    assert_eq!(
        statuses,
        vec![
            ("broken".to_owned(), SkillStatus::Error),
            ("explain".to_owned(), SkillStatus::Ok),
            ("explain".to_owned(), SkillStatus::Shadowed),
            ("fix".to_owned(), SkillStatus::MissingTools),
            ("standup".to_owned(), SkillStatus::Ok),
            ("tickets".to_owned(), SkillStatus::MissingTools),
        ]
    );
    assert!(listing.has_errors());
}
