//! Claude Code's files: `.claude/commands/**/*.md` and `.claude/skills/*/SKILL.md`.

use crate::support::Dirs;
use lathe_skills::{McpServerHint, RenderedSkill, SkillKind, SkillSource, SkillVars};
use pretty_assertions::assert_eq;

fn input(text: &str) -> SkillVars {
    SkillVars {
        input: text.into(),
        ..SkillVars::default()
    }
}

#[test]
fn commands_use_arguments_and_map_tools() {
    let dirs = Dirs::new();
    dirs.write(
        "ws/.claude/commands/fix-issue.md",
        "---\nallowed-tools: Bash(git add:*), Bash(git status:*), Read, Edit, Grep, mcp__github__get_issue\ndescription: Fix a GitHub issue\nargument-hint: [issue] [priority]\nmodel: inherit\n---\nFix issue #$1 (priority $2).\n\nFull request: $ARGUMENTS\n",
    );
    let set = dirs.registry().snapshot();
    let skill = set.get("fix-issue").unwrap();
    assert_eq!(skill.origin().source, SkillSource::Claude);
    assert_eq!(
        skill.spec().description,
        "Fix a GitHub issue (arguments: [issue] [priority])"
    );
    assert!(skill.warnings().is_empty(), "{:?}", skill.warnings());
    let rendered = skill
        .render(&SkillVars {
            selection: "let x = 1;".into(),
            ..input("123 high")
        })
        .unwrap();
    assert_eq!(
        rendered,
        RenderedSkill {
            name: "fix-issue".into(),
            kind: SkillKind::Prompt,
            system_prompt: String::new(),
            user_prompt: "Fix issue #123 (priority high).\n\nFull request: 123 high\n\nSelected code:\n````\nlet x = 1;\n````".into(),
            tools: Some(vec![
                "run_command".into(),
                "read_file".into(),
                "edit_file".into(),
                "search".into(),
                "mcp__github__get_issue".into()
            ]),
            model: None,
            approval: None,
        }
    );
}

#[test]
fn commands_without_arguments_get_them_appended_and_keep_braces() {
    let dirs = Dirs::new();
    dirs.write(
        "home/.claude/commands/team/review-pr.md",
        "Review this PR. Templates look like {{name}}; costs are $ 5 in $HOME.\n",
    );
    let set = dirs.registry().snapshot();
    let skill = set.get("review-pr").unwrap();
    let first_line = "Review this PR. Templates look like {{name}}; costs are $ 5 in $HOME.";
    assert_eq!(
        (
            skill.origin().source,
            skill.spec().description.as_str(),
            skill.spec().tools.clone()
        ),
        (SkillSource::ClaudeUser, first_line, None)
    );
    assert_eq!(
        skill.render(&input("focus on errors")).unwrap().user_prompt,
        format!("{first_line}\n\nARGUMENTS: focus on errors")
    );
    assert_eq!(skill.render(&input("")).unwrap().user_prompt, first_line);
}

#[test]
fn lenient_front_matter_and_unmapped_tools() {
    let dirs = Dirs::new();
    let path = dirs.write(
        "ws/.claude/commands/commit.md",
        "---\ndescription: Commit staged work\nargument-hint: [message] [scope]\nallowed-tools: Bash(git commit:*), WebFetch, TodoWrite\n---\nCommit with message: $ARGUMENTS\n",
    );
    let set = dirs.registry().snapshot();
    let skill = set.get("commit").unwrap();
    assert_eq!(
        dirs.problems(skill.warnings()),
        vec![
            "$ROOT/ws/.claude/commands/commit.md:4: warning: Claude Code tool `TodoWrite` has no Lathe equivalent; ignored".to_owned(),
        ]
    );
    assert_eq!(
        skill.spec().description,
        "Commit staged work (arguments: [message] [scope])"
    );
    assert_eq!(
        skill.spec().tools,
        Some(vec!["run_command".to_owned(), "mcp__*__fetch*".to_owned()])
    );
    assert_eq!(
        skill.spec().mcp_servers.get("fetch"),
        Some(&McpServerHint {
            command: Some("uvx".into()),
            args: vec!["mcp-server-fetch".into()],
            note: Some("the reference fetch server from PyPI".into()),
            ..McpServerHint::default()
        })
    );
    assert_eq!(skill.origin().path, path.display().to_string());
}

#[test]
fn agent_skills_are_system_prompts() {
    let dirs = Dirs::new();
    dirs.write(
        "ws/.claude/skills/pdf-forms/SKILL.md",
        "---\nname: pdf-forms\ndescription: Fill PDF forms with the scripts in this skill.\nallowed-tools: Read Bash\nlicense: MIT\n---\n# PDF forms\n\nRun `scripts/fill.py` with the field values.\n",
    );
    dirs.write(
        "ws/.claude/skills/pdf-forms/scripts/fill.py",
        "print('fill')\n",
    );
    dirs.write(
        "home/.config/lathe/skills/unnamed/SKILL.md",
        "Instructions only, no front matter.\n",
    );
    let set = dirs.registry().snapshot();
    let rendered = set
        .render(
            "pdf-forms",
            &SkillVars {
                file: "form.pdf".into(),
                ..input("fill it")
            },
        )
        .unwrap();
    assert_eq!(
        rendered,
        RenderedSkill {
            name: "pdf-forms".into(),
            kind: SkillKind::Prompt,
            system_prompt: "# PDF forms\n\nRun `scripts/fill.py` with the field values.\n\nThis skill's files are in `.claude/skills/pdf-forms`: read them with `read_file` when these instructions refer to them.".into(),
            user_prompt: "fill it\n\nFile: `form.pdf`".into(),
            tools: Some(vec!["read_file".into(), "run_command".into()]),
            model: None,
            approval: None,
        }
    );
    let unnamed = set.get("unnamed").unwrap();
    assert_eq!(
        (
            unnamed.origin().source,
            unnamed.spec().description.as_str(),
            unnamed.spec().system_prompt.as_str()
        ),
        (
            SkillSource::User,
            "Instructions only, no front matter.",
            "Instructions only, no front matter."
        )
    );
}
