//! Bad skill files: each problem is reported with its file and line, and the rest load.

use crate::support::Dirs;
use expect_test::expect;
use lathe_skills::{Severity, SkillStatus};
use pretty_assertions::assert_eq;

fn write_bad_workspace(dirs: &Dirs) {
    dirs.write(
        "ws/.lathe/skills/good.md",
        "---\nname: good\ndescription: Loads fine.\naliases: [g]\n---\nGood.\n",
    );
    dirs.write(
        "ws/.lathe/skills/broken-yaml.md",
        "---\nname: broken-yaml\ndescription: Broken: yes: no\n---\nBody.\n",
    );
    dirs.write(
        "ws/.lathe/skills/unknown-field.md",
        "---\nname: unknown-field\ndescription: Typo.\ntool: [read_file]\n---\nBody.\n",
    );
    dirs.write(
        "ws/.lathe/skills/nameless.md",
        "---\ndescription: No name.\n---\nBody.\n",
    );
    dirs.write(
        "ws/.lathe/skills/aliases.md",
        "---\nname: aliases\ndescription: Alias trouble.\naliases:\n  - al\n  - al\n  - aliases\n  - g\n  - review\n  - /slash\n---\nBody.\n",
    );
    dirs.write(
        "ws/.lathe/skills/bad-var.md",
        "---\nname: bad-var\ndescription: Typo in the template.\n---\nBody.\n\n## Template\n\nFix {{input}}\nin {{selectoin}}.\n",
    );
    dirs.write(
        "ws/.lathe/skills/unclosed.md",
        "---\nname: unclosed\ndescription: Section never closed.\ntemplate: |\n  {{#selection}}\n  {{selection}}\n---\nBody.\n",
    );
    dirs.write(
        "ws/.lathe/skills/plain.md",
        "# Just markdown\n\nNo front matter.\n",
    );
    dirs.write(
        "ws/.lathe/skills/open.md",
        "---\nname: open\n\nBody without a closing line.\n",
    );
    dirs.write(
        "ws/.lathe/skills/twin.md",
        "---\nname: good\ndescription: Same name, same source.\n---\nTwin.\n",
    );
    dirs.write(
        "ws/.lathe/skills/tools.md",
        "---\nname: tools\ndescription: Odd tools.\ntools: [read_file, Bash]\narguments:\n  - name: input\n  - name: target\n---\nBody.\n",
    );
    dirs.write("ws/.lathe/skills/unused.md", "---\nname: unused\ndescription: An unused argument.\narguments:\n  - name: target\n---\nBody.\n");
    std::fs::write(
        dirs.workspace().join(".lathe/skills/latin1.md"),
        b"---\nname: caf\xe9\n---\n",
    )
    .unwrap();
}

#[test]
fn every_problem_has_a_file_and_a_line() {
    let dirs = Dirs::new();
    write_bad_workspace(&dirs);
    let set = dirs.registry().snapshot();
    let problems = dirs.problems(&set.problems()).join("\n");
    expect![[r#"
        $ROOT/ws/.lathe/skills/aliases.md:5: warning: duplicate alias `al`
        $ROOT/ws/.lathe/skills/aliases.md:7: warning: alias `aliases` is the skill's own name
        $ROOT/ws/.lathe/skills/aliases.md:9: warning: alias `review` is the name of the skill in <built-in>/review.md; the alias is ignored
        $ROOT/ws/.lathe/skills/aliases.md:10: warning: invalid alias `/slash` ignored: use letters, digits, `-`, `_`, `.` or `:`
        $ROOT/ws/.lathe/skills/bad-var.md:10: error: template: unknown variable `selectoin`: use input, selection, file, language, diagnostics, symbol, arg1…arg9 or an argument declared in `arguments`
        $ROOT/ws/.lathe/skills/broken-yaml.md:3: error: front matter: mapping values are not allowed in this context
        $ROOT/ws/.lathe/skills/good.md:4: warning: alias `g` is already used by skill `aliases` in $ROOT/ws/.lathe/skills/aliases.md; ignored here
        $ROOT/ws/.lathe/skills/latin1.md:1: error: not UTF-8 text: invalid utf-8 sequence of 1 bytes from index 13
        $ROOT/ws/.lathe/skills/nameless.md:1: error: missing `name` in the front matter
        $ROOT/ws/.lathe/skills/open.md:1: error: the front matter opened on this line is never closed with a `---` line
        $ROOT/ws/.lathe/skills/plain.md:1: error: no front matter: a skill file starts with a `---` line, YAML with at least `name` and `description`, and another `---` line
        $ROOT/ws/.lathe/skills/tools.md:4: warning: unknown tool `Bash`: tools are Lathe built-ins (read_file, list_files, search, edit_file, apply_patch, write_file, run_command, git, code_context, repo_map) or MCP tools `mcp__<server>__<tool>`
        $ROOT/ws/.lathe/skills/tools.md:5: error: argument `input` has the name of a built-in variable; choose another name
        $ROOT/ws/.lathe/skills/tools.md:5: warning: argument `target` is not used by the template
        $ROOT/ws/.lathe/skills/twin.md:2: error: skill `good` is already defined in $ROOT/ws/.lathe/skills/good.md; this file is ignored
        $ROOT/ws/.lathe/skills/unclosed.md:5: error: template: section `selection` is never closed with `{{/selection}}`
        $ROOT/ws/.lathe/skills/unknown-field.md:4: error: front matter: unknown field `tool`, expected one of `name`, `description`, `aliases`, `category`, `kind`, `tools`, `arguments`, `model`, `approval`, `template`, `mcp_servers`
        $ROOT/ws/.lathe/skills/unused.md:4: warning: argument `target` is not used by the template"#]].assert_eq(&problems);
}

#[test]
fn the_rest_still_load() {
    let dirs = Dirs::new();
    write_bad_workspace(&dirs);
    let set = dirs.registry().snapshot();
    let listing = set.listing(None);
    let status = |name: &str| -> Vec<SkillStatus> {
        listing
            .skills
            .iter()
            .filter(|s| s.name == name)
            .map(|s| s.status)
            .collect()
    };
    assert_eq!(
        status("good"),
        vec![SkillStatus::Warning, SkillStatus::Error]
    );
    assert_eq!(
        set.get("g").map(|s| s.name()),
        Some("aliases"),
        "on a tie the first path wins"
    );
    assert_eq!(set.get("al").map(|s| s.name()), Some("aliases"));
    assert_eq!(status("aliases"), vec![SkillStatus::Warning]);
    assert_eq!(status("unused"), vec![SkillStatus::Warning]);
    for broken in [
        "broken-yaml",
        "unknown-field",
        "nameless",
        "bad-var",
        "unclosed",
        "plain",
        "open",
        "tools",
        "latin1",
    ] {
        assert!(set.get(broken).is_none(), "{broken} must not load");
        assert_eq!(status(broken), vec![SkillStatus::Error], "{broken}");
    }
    assert_eq!(
        set.get("review").map(|s| s.origin().path.as_str()),
        Some("<built-in>/review.md")
    );
    assert!(listing.has_errors());
    assert!(
        set.problems()
            .iter()
            .any(|p| p.severity == Severity::Warning)
    );
    assert!(set.skills().len() > 30, "the built-ins still load");
}
