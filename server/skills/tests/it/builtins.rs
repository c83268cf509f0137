//! The built-in library: every skill parses cleanly, is documented, has aliases, renders its
//! template, and names only real tools.

use lathe_skills::{
    ApprovalMode, BUILTIN_TOOLS, Registry, SkillKind, SkillRoots, SkillSet, SkillVars,
    builtin_files,
};
use pretty_assertions::assert_eq;
use std::collections::BTreeMap;
use std::sync::Arc;

const REQUIRED: [&str; 35] = [
    "code",
    "refactor",
    "review",
    "api",
    "prompt",
    "tool",
    "auth",
    "component",
    "debug",
    "fix",
    "test",
    "coverage",
    "deploy",
    "docker",
    "git",
    "migrate",
    "ci",
    "env",
    "monitor",
    "docs",
    "api-docs",
    "changelog",
    "analyze",
    "security",
    "scrape",
    "search",
    "data",
    "sql",
    "mcp",
    "plan",
    "architect",
    "explain",
    "undo",
    "compact",
    "help",
];

fn builtins() -> Arc<SkillSet> {
    Registry::new(SkillRoots::default()).snapshot()
}

#[test]
fn every_built_in_loads_without_problems() {
    let set = builtins();
    assert_eq!(set.problems(), vec![]);
    assert_eq!(set.skills().len(), builtin_files().len());
    let mut names: Vec<&str> = set.skills().iter().map(|s| s.name()).collect();
    names.sort_unstable();
    let mut required = REQUIRED.to_vec();
    required.sort_unstable();
    assert_eq!(names, required);
    for (file, _) in builtin_files() {
        let name = file.strip_suffix(".md").unwrap();
        assert_eq!(
            set.get(name).map(|s| s.origin().path.clone()),
            Some(format!("<built-in>/{file}"))
        );
    }
}

#[test]
fn every_built_in_is_documented_and_has_aliases() {
    for skill in builtins().skills() {
        let spec = skill.spec();
        assert!(
            spec.description.len() >= 50,
            "{}: description too short: {}",
            spec.name,
            spec.description
        );
        assert!(
            !spec.description.contains('\n'),
            "{}: description is one line",
            spec.name
        );
        assert!(!spec.aliases.is_empty(), "{}: no aliases", spec.name);
        assert!(spec.category.is_some(), "{}: no category", spec.name);
        let minimum = if spec.kind == SkillKind::Action {
            300
        } else {
            1500
        };
        assert!(
            spec.system_prompt.len() >= minimum,
            "{}: system prompt of {} bytes",
            spec.name,
            spec.system_prompt.len()
        );
    }
}

#[test]
fn usual_aliases_resolve() {
    let set = builtins();
    let aliases = [
        ("generate", "code"),
        ("cr", "review"),
        ("bugfix", "fix"),
        ("unittest", "test"),
        ("commit", "git"),
        ("readme", "docs"),
        ("audit", "security"),
        ("breakdown", "plan"),
        ("design", "architect"),
        ("openapi", "api-docs"),
        ("release-notes", "changelog"),
        ("dockerfile", "docker"),
        ("upgrade", "migrate"),
        ("pipeline", "ci"),
        ("observability", "monitor"),
        ("analyse", "analyze"),
        ("fetch", "scrape"),
        ("web-search", "search"),
        ("query", "sql"),
        ("summarize", "compact"),
        ("revert", "undo"),
        ("commands", "help"),
    ];
    let got: Vec<(&str, &str)> = aliases
        .iter()
        .map(|(a, _)| (*a, set.get(a).map_or("<none>", |s| s.name())))
        .collect();
    assert_eq!(got, aliases.to_vec());
}

#[test]
fn every_built_in_renders_with_and_without_context() {
    let full = SkillVars {
        input: "INPUT-TEXT".into(),
        selection: "fn selected() {}".into(),
        file: "src/lib.rs".into(),
        language: "rust".into(),
        diagnostics: "src/lib.rs:1:4: error: E0001".into(),
        symbol: "crate::selected".into(),
        arguments: BTreeMap::new(),
    };
    for skill in builtins().skills() {
        let name = skill.name();
        let mut vars = full.clone();
        for arg in &skill.spec().arguments {
            vars.arguments
                .insert(arg.name.clone(), format!("ARG-{}", arg.name));
        }
        let rendered = skill.render(&vars).unwrap();
        assert!(
            rendered.user_prompt.contains("INPUT-TEXT"),
            "{name}: {}",
            rendered.user_prompt
        );
        for arg in &skill.spec().arguments {
            assert!(
                rendered.user_prompt.contains(&format!("ARG-{}", arg.name)),
                "{name}: argument {}",
                arg.name
            );
        }
        assert!(
            !rendered.user_prompt.contains("{{"),
            "{name}: {}",
            rendered.user_prompt
        );
        assert!(
            !rendered.user_prompt.contains("\n\n\n"),
            "{name}: blank lines\n{}",
            rendered.user_prompt
        );
        assert_eq!(rendered.system_prompt, skill.spec().system_prompt);

        let bare = skill.render(&SkillVars::default()).unwrap();
        assert!(
            !bare.user_prompt.contains("{{"),
            "{name}: {}",
            bare.user_prompt
        );
        assert!(
            !bare.user_prompt.contains("```"),
            "{name}: an empty code block\n{}",
            bare.user_prompt
        );
    }
}

#[test]
fn tools_are_real_and_read_only_skills_do_not_write() {
    let writes = ["edit_file", "apply_patch", "write_file", "run_command"];
    for skill in builtins().skills() {
        let spec = skill.spec();
        let tools = spec
            .tools
            .as_ref()
            .unwrap_or_else(|| panic!("{}: built-ins name their tools", spec.name));
        for tool in tools {
            assert!(
                BUILTIN_TOOLS.contains(&tool.as_str()) || tool.starts_with("mcp__"),
                "{}: {tool}",
                spec.name
            );
        }
        if spec.approval == Some(ApprovalMode::ReadOnly) {
            assert!(
                !tools.iter().any(|t| writes.contains(&t.as_str())),
                "{}: read-only with {tools:?}",
                spec.name
            );
        }
    }
    let set = builtins();
    let kinds: Vec<(&str, SkillKind)> = set
        .skills()
        .iter()
        .filter(|s| s.spec().kind == SkillKind::Action)
        .map(|s| (s.name(), s.spec().kind))
        .collect();
    assert_eq!(
        kinds,
        vec![
            ("compact", SkillKind::Action),
            ("help", SkillKind::Action),
            ("undo", SkillKind::Action)
        ]
    );
}

#[test]
fn network_skills_need_mcp_tools_and_say_how_to_get_them() {
    let set = builtins();
    let local: Vec<String> = BUILTIN_TOOLS.iter().map(|t| (*t).to_owned()).collect();
    let scrape = set.get("scrape").unwrap();
    let missing = scrape.check_tools(&local);
    assert_eq!(missing.len(), 1, "{missing:?}");
    assert_eq!(missing[0].tool, "mcp__*__fetch*");
    assert_eq!(
        missing[0].hint,
        r#"needs an MCP server with a tool matching `fetch*` (the reference MCP fetch server from PyPI; it converts pages to markdown): add to the workspace's `.mcp.json`: {"mcpServers":{"fetch":{"args":["mcp-server-fetch"],"command":"uvx"}}} or to `~/.config/lathe/config.toml`: mcp_servers.fetch = { command = "uvx", args = ["mcp-server-fetch"] }"#
    );
    let with_fetch: Vec<String> = local
        .iter()
        .cloned()
        .chain(["mcp__web__fetch".to_owned()])
        .collect();
    assert_eq!(scrape.check_tools(&with_fetch), vec![]);

    let search = set.get("search").unwrap();
    let missing: Vec<String> = search
        .check_tools(&local)
        .into_iter()
        .map(|m| m.tool)
        .collect();
    assert_eq!(missing, vec!["mcp__*__*search*", "mcp__*__fetch*"]);
    assert!(
        search.check_tools(&local)[0]
            .hint
            .contains(r#""args":["duckduckgo-mcp-server"]"#)
    );
    let with_ddg: Vec<String> = local
        .iter()
        .cloned()
        .chain([
            "mcp__ddg__search".to_owned(),
            "mcp__ddg__fetch_content".to_owned(),
        ])
        .collect();
    assert_eq!(search.check_tools(&with_ddg), vec![]);
    for name in ["scrape", "search"] {
        let prompt = &set.get(name).unwrap().spec().system_prompt;
        assert!(
            prompt.contains(".mcp.json") && prompt.contains("[mcp_servers."),
            "{name} says how to configure MCP"
        );
    }
}
