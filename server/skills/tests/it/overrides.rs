//! Discovery and override by name: built-in < Claude user < user < Claude workspace <
//! workspace; aliases; changes on disk seen by the next snapshot.

use crate::support::Dirs;
use lathe_skills::{SkillSource, SkillStatus, SkillVars};
use pretty_assertions::assert_eq;
use std::sync::Arc;

fn skill(name: &str, aliases: &str, prompt: &str) -> String {
    format!("---\nname: {name}\ndescription: {prompt}\naliases: [{aliases}]\n---\n{prompt}\n")
}

/// (name, source, status, shadowed by) of every listed file named `name`, root scrubbed.
fn listed(dirs: &Dirs, name: &str) -> Vec<(String, SkillSource, SkillStatus, Option<String>)> {
    let listing = dirs.registry().snapshot().listing(None);
    listing
        .skills
        .into_iter()
        .filter(|s| s.name == name)
        .map(|s| {
            (
                dirs.scrub(&s.path),
                s.source,
                s.status,
                s.shadowed_by.map(|p| dirs.scrub(&p)),
            )
        })
        .collect()
}

#[test]
fn higher_sources_override_by_name() {
    let dirs = Dirs::new();
    dirs.write(
        "home/.claude/commands/review.md",
        "Claude user review: $ARGUMENTS\n",
    );
    dirs.write(
        "home/.config/lathe/skills/review.md",
        &skill("review", "", "User review."),
    );
    dirs.write(
        "ws/.claude/commands/review.md",
        "Claude workspace review.\n",
    );
    dirs.write(
        "ws/.lathe/skills/review.md",
        &skill("review", "", "Workspace review."),
    );
    let set = dirs.registry().snapshot();
    let review = set.get("review").unwrap();
    assert_eq!(
        (review.origin().source, review.spec().system_prompt.as_str()),
        (SkillSource::Workspace, "Workspace review.")
    );
    let by = Some("$ROOT/ws/.lathe/skills/review.md".to_owned());
    assert_eq!(
        listed(&dirs, "review"),
        vec![
            (
                "$ROOT/ws/.lathe/skills/review.md".into(),
                SkillSource::Workspace,
                SkillStatus::Ok,
                None
            ),
            (
                "$ROOT/ws/.claude/commands/review.md".into(),
                SkillSource::Claude,
                SkillStatus::Shadowed,
                by.clone()
            ),
            (
                "$ROOT/home/.config/lathe/skills/review.md".into(),
                SkillSource::User,
                SkillStatus::Shadowed,
                by.clone()
            ),
            (
                "$ROOT/home/.claude/commands/review.md".into(),
                SkillSource::ClaudeUser,
                SkillStatus::Shadowed,
                by.clone()
            ),
            (
                "<built-in>/review.md".into(),
                SkillSource::Builtin,
                SkillStatus::Shadowed,
                by
            ),
        ]
    );
    // The built-in's aliases still resolve, to the overriding skill only when it declares them.
    assert_eq!(set.get("cr").map(|s| s.origin().source), None);
}

#[test]
fn user_skills_override_built_ins_and_keep_theirs_aliases() {
    let dirs = Dirs::new();
    dirs.write(
        "home/.config/lathe/skills/fix.md",
        &skill("fix", "bugfix, repair-it", "My fix."),
    );
    let set = dirs.registry().snapshot();
    for name in ["fix", "/bugfix", "repair-it"] {
        assert_eq!(
            set.get(name).map(|s| s.spec().system_prompt.as_str()),
            Some("My fix."),
            "{name}"
        );
    }
    assert_eq!(
        set.get("quickfix").map(|s| s.name()),
        None,
        "the built-in's aliases left with it"
    );
    assert_eq!(set.aliases("fix"), ["bugfix", "repair-it"]);
}

#[test]
fn aliases_of_lower_sources_yield_silently() {
    let dirs = Dirs::new();
    dirs.write(
        "ws/.lathe/skills/commit.md",
        &skill("commit", "ci-commit", "Commit our way."),
    );
    let set = dirs.registry().snapshot();
    assert_eq!(
        set.get("commit").map(|s| s.origin().source),
        Some(SkillSource::Workspace)
    );
    assert_eq!(
        set.get("git").map(|s| s.origin().source),
        Some(SkillSource::Builtin)
    );
    assert!(!set.aliases("git").contains(&"commit".to_owned()));
    assert_eq!(set.problems(), vec![]);
}

#[test]
fn commands_list_names_and_aliases() {
    let dirs = Dirs::new();
    let set = dirs.registry().snapshot();
    let commands: Vec<(&str, &str)> = set
        .commands()
        .map(|(command, skill)| (command, skill.name()))
        .collect();
    for pair in [
        ("fix", "fix"),
        ("bugfix", "fix"),
        ("cr", "review"),
        ("unittest", "test"),
        ("commit", "git"),
    ] {
        assert!(commands.contains(&pair), "{pair:?} in {commands:?}");
    }
    assert_eq!(
        set.skills().len(),
        set.skills()
            .iter()
            .map(|s| s.name())
            .collect::<std::collections::BTreeSet<_>>()
            .len()
    );
}

#[test]
fn changes_on_disk_are_seen_without_restart() {
    let dirs = Dirs::new();
    let registry = dirs.registry();
    let before = registry.snapshot();
    assert!(
        Arc::ptr_eq(&before, &registry.snapshot()),
        "nothing changed, same set"
    );
    assert!(before.get("deploy-docs").is_none());

    dirs.write(
        "ws/.lathe/skills/deploy-docs.md",
        &skill("deploy-docs", "dd", "First."),
    );
    let added = registry.snapshot();
    assert_eq!(
        added.get("dd").map(|s| s.spec().system_prompt.clone()),
        Some("First.".into())
    );

    dirs.write(
        "ws/.lathe/skills/deploy-docs.md",
        &skill("deploy-docs", "dd", "Second"),
    );
    let edited = registry.snapshot();
    assert_eq!(
        edited.get("dd").map(|s| s.spec().system_prompt.clone()),
        Some("Second".into())
    );
    assert_eq!(
        added.get("dd").map(|s| s.spec().system_prompt.clone()),
        Some("First.".into()),
        "old sets stay as they were"
    );

    dirs.write("ws/.claude/commands/dd2.md", "Deploy $ARGUMENTS\n");
    assert_eq!(
        registry
            .snapshot()
            .render(
                "dd2",
                &SkillVars {
                    input: "now".into(),
                    ..SkillVars::default()
                }
            )
            .unwrap()
            .user_prompt,
        "Deploy now"
    );

    dirs.remove("ws/.lathe/skills/deploy-docs.md");
    let removed = registry.snapshot();
    assert!(removed.get("deploy-docs").is_none());
    assert!(Arc::ptr_eq(&removed, &registry.snapshot()));
}

#[test]
fn the_registry_is_shared_between_threads() {
    fn shareable<T: Send + Sync>() {}
    shareable::<lathe_skills::Registry>();
    shareable::<lathe_skills::SkillSet>();
    let dirs = Dirs::new();
    let registry = Arc::new(dirs.registry());
    let handles: Vec<_> = (0..4)
        .map(|_| {
            let registry = Arc::clone(&registry);
            std::thread::spawn(move || registry.snapshot().get("fix").map(|s| s.name().to_owned()))
        })
        .collect();
    let names: Vec<Option<String>> = handles.into_iter().map(|h| h.join().unwrap()).collect();
    assert_eq!(names, vec![Some("fix".to_owned()); 4]);
}
