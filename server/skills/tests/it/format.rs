//! Lathe's skill format: front matter, body, templates, arguments, rendering.

use crate::support::Dirs;
use lathe_skills::{
    ApprovalMode, McpServerHint, RenderedSkill, SkillArgument, SkillKind, SkillSpec, SkillVars,
};
use pretty_assertions::assert_eq;
use std::collections::BTreeMap;

const RELEASE: &str = r#"---
name: release-notes
description: Write release notes for a version.
aliases: [rn, notes]
category: docs
tools: [git, read_file, mcp__tracker__get_issue]
arguments:
  - name: version
    description: The version being released
    required: true
  - name: audience
    description: Who reads the notes
model: small-model
approval: read-only
mcp_servers:
  tracker:
    command: tracker-mcp
    args: [--stdio]
---
You write release notes.

## Template

Release {{version}}{{#audience}} for {{audience}}{{/audience}}.
{{#input}}
Notes: {{input}}
{{/input}}
"#;

fn vars(input: &str, args: &[(&str, &str)]) -> SkillVars {
    SkillVars {
        input: input.into(),
        arguments: args
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect(),
        ..SkillVars::default()
    }
}

#[test]
fn front_matter_becomes_the_spec() {
    let dirs = Dirs::new();
    dirs.write("ws/.lathe/skills/release.md", RELEASE);
    let set = dirs.registry().snapshot();
    let skill = set.get("release-notes").unwrap();
    assert_eq!(
        skill.spec(),
        &SkillSpec {
            name: "release-notes".into(),
            description: "Write release notes for a version.".into(),
            aliases: vec!["rn".into(), "notes".into()],
            category: Some("docs".into()),
            kind: SkillKind::Prompt,
            tools: Some(vec!["git".into(), "read_file".into(), "mcp__tracker__get_issue".into()]),
            arguments: vec![
                SkillArgument {
                    name: "version".into(),
                    description: "The version being released".into(),
                    required: true
                },
                SkillArgument { name: "audience".into(), description: "Who reads the notes".into(), required: false },
            ],
            model: Some("small-model".into()),
            approval: Some(ApprovalMode::ReadOnly),
            mcp_servers: BTreeMap::from([(
                "tracker".into(),
                McpServerHint {
                    command: Some("tracker-mcp".into()),
                    args: vec!["--stdio".into()],
                    ..McpServerHint::default()
                }
            )]),
            system_prompt: "You write release notes.".into(),
            template: "Release {{version}}{{#audience}} for {{audience}}{{/audience}}.\n{{#input}}\nNotes: {{input}}\n{{/input}}".into(),
        }
    );
    assert!(skill.warnings().is_empty(), "{:?}", skill.warnings());
    assert_eq!(set.get("/rn").map(|s| s.name()), Some("release-notes"));
    assert_eq!(set.get("notes").map(|s| s.name()), Some("release-notes"));
}

#[test]
fn rendering_fills_the_template() {
    let dirs = Dirs::new();
    dirs.write("ws/.lathe/skills/release.md", RELEASE);
    let set = dirs.registry().snapshot();
    assert_eq!(
        set.render(
            "rn",
            &vars(
                "mention the new parser",
                &[("version", "1.2.0"), ("audience", "users")]
            )
        )
        .unwrap(),
        RenderedSkill {
            name: "release-notes".into(),
            kind: SkillKind::Prompt,
            system_prompt: "You write release notes.".into(),
            user_prompt: "Release 1.2.0 for users.\nNotes: mention the new parser".into(),
            tools: Some(vec![
                "git".into(),
                "read_file".into(),
                "mcp__tracker__get_issue".into()
            ]),
            model: Some("small-model".into()),
            approval: Some(ApprovalMode::ReadOnly),
        }
    );
    let minimal = set
        .render("release-notes", &vars("", &[("version", "2.0")]))
        .unwrap();
    assert_eq!(minimal.user_prompt, "Release 2.0.");
}

#[test]
fn arguments_are_checked() {
    let dirs = Dirs::new();
    dirs.write("ws/.lathe/skills/release.md", RELEASE);
    let set = dirs.registry().snapshot();
    let errors = [
        set.render("rn", &vars("", &[])).unwrap_err().to_string(),
        set.render("rn", &vars("", &[("version", "  ")]))
            .unwrap_err()
            .to_string(),
        set.render("rn", &vars("", &[("version", "1"), ("colour", "red")]))
            .unwrap_err()
            .to_string(),
        set.render("nope", &vars("", &[])).unwrap_err().to_string(),
    ];
    assert_eq!(
        errors,
        [
            "skill `release-notes` needs the argument `version` (The version being released)",
            "skill `release-notes` needs the argument `version` (The version being released)",
            "skill `release-notes` has no argument `colour` (its arguments: version, audience)",
            "unknown skill `nope`; `lathe skills` lists the skills",
        ]
    );
}

#[test]
fn front_matter_template_and_positional_words() {
    let dirs = Dirs::new();
    dirs.write(
        "ws/.lathe/skills/issue.md",
        "---\nname: issue\ndescription: Work on an issue.\ntemplate: |\n  Issue #{{arg1}} with priority {{arg2}}.\n  {{^arg3}}No third word.{{/arg3}}\n---\nBe brief.\n",
    );
    let set = dirs.registry().snapshot();
    let rendered = set.render("issue", &vars("  42   high ", &[])).unwrap();
    assert_eq!(
        (
            rendered.system_prompt.as_str(),
            rendered.user_prompt.as_str(),
            rendered.tools
        ),
        (
            "Be brief.",
            "Issue #42 with priority high.\nNo third word.",
            None
        )
    );
}

#[test]
fn without_a_template_the_input_and_context_are_sent() {
    let dirs = Dirs::new();
    dirs.write(
        "ws/.lathe/skills/plain.md",
        "---\nname: plain\ndescription: Plain.\n---\nSystem text.\n",
    );
    let set = dirs.registry().snapshot();
    let all = SkillVars {
        input: "make it faster".into(),
        selection: "fn slow() {}".into(),
        file: "src/lib.rs".into(),
        language: "rust".into(),
        diagnostics: "src/lib.rs:1:4: warning: unused function".into(),
        symbol: "crate::slow".into(),
        arguments: BTreeMap::new(),
    };
    assert_eq!(
        set.render("plain", &all).unwrap().user_prompt,
        "make it faster\n\nSymbol: `crate::slow`\n\nFile: `src/lib.rs` (rust)\n\nSelected code:\n````rust\nfn slow() {}\n````\n\nDiagnostics:\nsrc/lib.rs:1:4: warning: unused function"
    );
    assert_eq!(
        set.render("plain", &vars("just this", &[]))
            .unwrap()
            .user_prompt,
        "just this"
    );
}

#[test]
fn fenced_template_section_and_literal_braces() {
    let dirs = Dirs::new();
    dirs.write(
        "ws/.lathe/skills/jinja.md",
        "---\nname: jinja\ndescription: Jinja.\nkind: action\ntools: []\n---\nSys.\n\n## Template\n\n```text\n## Task\n{{input}} uses \\{{ name }} and {{ not a var }}\n```\n",
    );
    let set = dirs.registry().snapshot();
    let rendered = set.render("jinja", &vars("page.html", &[])).unwrap();
    assert_eq!(
        (
            rendered.kind,
            rendered.user_prompt.as_str(),
            rendered.tools.clone()
        ),
        (
            SkillKind::Action,
            "## Task\npage.html uses {{ name }} and {{ not a var }}",
            Some(vec![])
        )
    );
    assert!(!rendered.allows_tool("read_file"));
}
