//! A consistent set of skills: every file found, which definition wins each name, and which
//! skill each name and alias resolves to.
//!
//! Invariants: for each name the definition from the highest source wins (built-in < Claude
//! user < user < Claude workspace < workspace); two definitions of one name in the same source
//! are an error on the later file (by path), which is ignored. Names always win over aliases;
//! an alias goes to the highest-source skill declaring it (first by path on a tie). A losing
//! alias from a source at least as high as the winner's is reported; one from a lower source
//! is shadowed silently, like an overridden skill. Broken files never take part.

use crate::error::SkillError;
use crate::listing::{ListedSkill, SkillListing, SkillStatus};
use crate::parse::Broken;
use crate::problem::{Severity, SkillProblem};
use crate::skill::Skill;
use lathe_protocol::skill::{RenderedSkill, SkillSource, SkillVars};
use std::collections::BTreeMap;
use std::sync::Arc;

/// One file's outcome, as the registry hands it to the set.
#[derive(Clone, Debug)]
pub(crate) struct Candidate {
    pub(crate) source: SkillSource,
    pub(crate) path: String,
    pub(crate) loaded: Result<Arc<Skill>, Broken>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
enum State {
    Active,
    Shadowed { by: String },
    Broken,
}

/// One file in the set, for listings.
#[derive(Clone, Debug)]
struct Entry {
    name: String,
    source: SkillSource,
    path: String,
    state: State,
    /// Effective aliases for an active skill, declared ones otherwise.
    aliases: Vec<String>,
    problems: Vec<SkillProblem>,
    skill: Option<Arc<Skill>>,
}

/// The skills in force at one moment. Cheap to share (`Arc`), immutable.
#[derive(Debug)]
pub struct SkillSet {
    skills: Vec<Arc<Skill>>,
    /// Every name and effective alias → index into `skills`.
    commands: BTreeMap<String, usize>,
    entries: Vec<Entry>,
    other_problems: Vec<SkillProblem>,
}

impl SkillSet {
    /// Builds the set from candidates in precedence order (source, then path) and problems
    /// that belong to no single file (unreadable directories).
    pub(crate) fn build(candidates: Vec<Candidate>, other_problems: Vec<SkillProblem>) -> Self {
        let mut entries: Vec<Entry> = Vec::with_capacity(candidates.len());
        let mut by_name: BTreeMap<String, usize> = BTreeMap::new();
        for candidate in candidates {
            let entry = match candidate.loaded {
                Err(broken) => Entry {
                    name: broken.name.unwrap_or_else(|| stem(&candidate.path)),
                    source: candidate.source,
                    path: candidate.path,
                    state: State::Broken,
                    aliases: Vec::new(),
                    problems: broken.problems,
                    skill: None,
                },
                Ok(skill) => {
                    let mut entry = Entry {
                        name: skill.name().to_owned(),
                        source: candidate.source,
                        path: candidate.path,
                        state: State::Active,
                        aliases: skill.spec().aliases.clone(),
                        problems: skill.warnings().to_vec(),
                        skill: Some(skill.clone()),
                    };
                    match by_name.get(&entry.name).map(|&i| &mut entries[i]) {
                        Some(first) if first.source == entry.source => {
                            entry.problems.push(SkillProblem {
                                path: entry.path.clone(),
                                line: skill.name_line,
                                severity: Severity::Error,
                                message: format!(
                                    "skill `{}` is already defined in {}; this file is ignored",
                                    entry.name, first.path
                                ),
                            });
                            entry.state = State::Broken;
                            entry.skill = None;
                        }
                        Some(lower) => {
                            lower.state = State::Shadowed {
                                by: entry.path.clone(),
                            };
                            by_name.insert(entry.name.clone(), entries.len());
                        }
                        None => {
                            by_name.insert(entry.name.clone(), entries.len());
                        }
                    }
                    entry
                }
            };
            entries.push(entry);
        }
        for i in 0..entries.len() {
            if let State::Shadowed { .. } = entries[i].state
                && let Some(&winner) = by_name.get(&entries[i].name)
            {
                entries[i].state = State::Shadowed {
                    by: entries[winner].path.clone(),
                };
            }
        }
        let mut set = Self {
            skills: Vec::new(),
            commands: BTreeMap::new(),
            entries,
            other_problems,
        };
        set.resolve();
        set
    }

    /// Fills `skills` and `commands` from the active entries, settling alias conflicts.
    fn resolve(&mut self) {
        let mut active: Vec<usize> = (0..self.entries.len())
            .filter(|&i| self.entries[i].state == State::Active)
            .collect();
        active.sort_by(|&a, &b| self.entries[a].name.cmp(&self.entries[b].name));
        let mut owner: BTreeMap<String, usize> = BTreeMap::new();
        for (index, &e) in active.iter().enumerate() {
            let entry = &self.entries[e];
            if let Some(skill) = &entry.skill {
                self.skills.push(skill.clone());
            }
            self.commands.insert(entry.name.clone(), index);
            owner.insert(entry.name.clone(), e);
        }
        let mut order: Vec<(usize, usize)> = active.iter().copied().enumerate().collect();
        order.sort_by(|&(_, a), &(_, b)| {
            let (a, b) = (&self.entries[a], &self.entries[b]);
            b.source.cmp(&a.source).then_with(|| a.path.cmp(&b.path))
        });
        for (index, e) in order {
            let Some(skill) = self.entries[e].skill.clone() else {
                continue;
            };
            let mut kept = Vec::new();
            for (alias, &line) in skill.spec().aliases.iter().zip(&skill.alias_lines) {
                let Some(&holder) = owner.get(alias) else {
                    owner.insert(alias.clone(), e);
                    self.commands.insert(alias.clone(), index);
                    kept.push(alias.clone());
                    continue;
                };
                let holder = &self.entries[holder];
                if self.entries[e].source < holder.source {
                    continue;
                }
                let message = if holder.name == *alias {
                    format!(
                        "alias `{alias}` is the name of the skill in {}; the alias is ignored",
                        holder.path
                    )
                } else {
                    format!(
                        "alias `{alias}` is already used by skill `{}` in {}; ignored here",
                        holder.name, holder.path
                    )
                };
                let path = self.entries[e].path.clone();
                self.entries[e].problems.push(SkillProblem {
                    path,
                    line,
                    severity: Severity::Warning,
                    message,
                });
            }
            self.entries[e].aliases = kept;
        }
        self.entries.sort_by(|a, b| {
            (
                a.name.as_str(),
                a.state != State::Active,
                std::cmp::Reverse(a.source),
                a.path.as_str(),
            )
                .cmp(&(
                    b.name.as_str(),
                    b.state != State::Active,
                    std::cmp::Reverse(b.source),
                    b.path.as_str(),
                ))
        });
    }

    /// The skill a name or alias resolves to (a leading `/` is ignored).
    pub fn get(&self, name_or_alias: &str) -> Option<&Arc<Skill>> {
        let key = name_or_alias.strip_prefix('/').unwrap_or(name_or_alias);
        self.commands.get(key).and_then(|&i| self.skills.get(i))
    }

    /// The skills in force, sorted by name.
    pub fn skills(&self) -> &[Arc<Skill>] {
        &self.skills
    }

    /// Every slash command (names and effective aliases, sorted) with its skill, for
    /// completion lists.
    pub fn commands(&self) -> impl Iterator<Item = (&str, &Arc<Skill>)> {
        self.commands
            .iter()
            .filter_map(|(name, &i)| Some((name.as_str(), self.skills.get(i)?)))
    }

    /// The effective aliases of the skill in force under `name`.
    pub fn aliases(&self, name: &str) -> &[String] {
        self.entries
            .iter()
            .find(|e| e.name == name && e.state == State::Active)
            .map_or(&[], |e| e.aliases.as_slice())
    }

    /// Looks up and renders a skill in one step.
    pub fn render(
        &self,
        name_or_alias: &str,
        vars: &SkillVars,
    ) -> Result<RenderedSkill, SkillError> {
        self.get(name_or_alias)
            .ok_or_else(|| SkillError::UnknownSkill(name_or_alias.to_owned()))?
            .render(vars)
    }

    /// Every problem, sorted by path and line (for `lathe doctor`).
    pub fn problems(&self) -> Vec<SkillProblem> {
        let mut all: Vec<SkillProblem> = self
            .entries
            .iter()
            .flat_map(|e| e.problems.iter().cloned())
            .chain(self.other_problems.iter().cloned())
            .collect();
        all.sort_by(|a, b| (&a.path, a.line).cmp(&(&b.path, b.line)));
        all
    }

    /// Every file with its source and status. With `available_tools`, skills in force whose
    /// tools are missing say which and how to get them.
    pub fn listing(&self, available_tools: Option<&[String]>) -> SkillListing {
        let skills = self
            .entries
            .iter()
            .map(|e| {
                let missing_tools = match (&e.skill, available_tools, &e.state) {
                    (Some(skill), Some(available), State::Active) => skill.check_tools(available),
                    _ => Vec::new(),
                };
                let has = |s: Severity| e.problems.iter().any(|p| p.severity == s);
                let (status, shadowed_by) = match &e.state {
                    State::Broken => (SkillStatus::Error, None),
                    State::Shadowed { by } => (SkillStatus::Shadowed, Some(by.clone())),
                    State::Active if has(Severity::Error) => (SkillStatus::Error, None),
                    State::Active if !missing_tools.is_empty() => (SkillStatus::MissingTools, None),
                    State::Active if has(Severity::Warning) => (SkillStatus::Warning, None),
                    State::Active => (SkillStatus::Ok, None),
                };
                let spec = e.skill.as_ref().map(|s| s.spec());
                ListedSkill {
                    name: e.name.clone(),
                    aliases: e.aliases.clone(),
                    description: spec.map(|s| s.description.clone()).unwrap_or_default(),
                    category: spec.and_then(|s| s.category.clone()),
                    kind: spec.map(|s| s.kind),
                    source: e.source,
                    path: e.path.clone(),
                    status,
                    shadowed_by,
                    missing_tools,
                    problems: e.problems.clone(),
                }
            })
            .collect();
        SkillListing {
            skills,
            problems: self.other_problems.clone(),
        }
    }
}

/// The file name without its extension (`SKILL.md` → its directory's name).
fn stem(path: &str) -> String {
    let parts: Vec<&str> = path.rsplit(['/', '\\']).take(2).collect();
    match parts.as_slice() {
        ["SKILL.md", dir, ..] => (*dir).to_owned(),
        [file, ..] => file.strip_suffix(".md").unwrap_or(file).to_owned(),
        [] => path.to_owned(),
    }
}
