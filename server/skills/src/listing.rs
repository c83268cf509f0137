//! The `lathe skills` listing: every skill file with its source, status and problems, as a
//! serializable value (`--json`) and as a text table.

use crate::problem::SkillProblem;
use crate::tools::MissingTool;
use lathe_protocol::skill::{SkillKind, SkillSource};
use serde::{Deserialize, Serialize};
use std::fmt::Write as _;

/// Every skill file the registry found.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SkillListing {
    /// Sorted by name; for one name, the skill in force first.
    pub skills: Vec<ListedSkill>,
    /// Problems that belong to no single file (an unreadable directory).
    pub problems: Vec<SkillProblem>,
}

/// One skill file.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ListedSkill {
    pub name: String,
    /// The aliases that resolve to this skill (declared ones, for a skill not in force).
    pub aliases: Vec<String>,
    /// Empty for a file that did not load.
    pub description: String,
    pub category: Option<String>,
    /// `None` for a file that did not load.
    pub kind: Option<SkillKind>,
    pub source: SkillSource,
    pub path: String,
    pub status: SkillStatus,
    /// The file that overrides this one, when `status` is `shadowed`.
    pub shadowed_by: Option<String>,
    pub missing_tools: Vec<MissingTool>,
    pub problems: Vec<SkillProblem>,
}

/// The state of one skill file, worst first: `error` (did not load), `shadowed` (overridden
/// by name), `missing-tools`, `warning` (loaded with problems), `ok`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum SkillStatus {
    Ok,
    Warning,
    MissingTools,
    Shadowed,
    Error,
}

impl SkillStatus {
    pub fn label(self) -> &'static str {
        match self {
            SkillStatus::Ok => "ok",
            SkillStatus::Warning => "warning",
            SkillStatus::MissingTools => "missing-tools",
            SkillStatus::Shadowed => "shadowed",
            SkillStatus::Error => "error",
        }
    }
}

impl SkillListing {
    /// Whether any file failed to load (`lathe skills` can exit non-zero on it).
    pub fn has_errors(&self) -> bool {
        self.skills.iter().any(|s| s.status == SkillStatus::Error)
    }

    /// Every problem, file by file, then those of no single file.
    pub fn all_problems(&self) -> impl Iterator<Item = &SkillProblem> {
        self.skills
            .iter()
            .flat_map(|s| &s.problems)
            .chain(&self.problems)
    }

    /// A table (command, aliases, source, status, description), then missing tools and
    /// problems as `path:line: severity: message` lines.
    pub fn to_text(&self) -> String {
        let rows: Vec<[String; 5]> = self
            .skills
            .iter()
            .map(|s| {
                let aliases: Vec<String> = s.aliases.iter().map(|a| format!("/{a}")).collect();
                let description = match &s.shadowed_by {
                    Some(by) => format!("overridden by {by}"),
                    None => shorten(&s.description, 72),
                };
                [
                    format!("/{}", s.name),
                    aliases.join(" "),
                    s.source.label().to_owned(),
                    s.status.label().to_owned(),
                    description,
                ]
            })
            .collect();
        let header = ["SKILL", "ALIASES", "SOURCE", "STATUS", "DESCRIPTION"].map(String::from);
        let mut widths = [0usize; 4];
        for row in std::iter::once(&header).chain(&rows) {
            for (w, cell) in widths.iter_mut().zip(row) {
                *w = (*w).max(cell.chars().count());
            }
        }
        let mut out = String::new();
        for row in std::iter::once(&header).chain(&rows) {
            let mut line = String::new();
            for (w, cell) in widths.iter().zip(row) {
                let _ = write!(line, "{cell:<w$}  ");
            }
            line.push_str(&row[4]);
            out.push_str(line.trim_end());
            out.push('\n');
        }
        for skill in self.skills.iter().filter(|s| !s.missing_tools.is_empty()) {
            out.push_str(&format!("\n/{} is missing tools:\n", skill.name));
            for missing in &skill.missing_tools {
                let _ = writeln!(out, "  {}: {}", missing.tool, missing.hint);
            }
        }
        let problems: Vec<&SkillProblem> = self.all_problems().collect();
        if !problems.is_empty() {
            let _ = writeln!(
                out,
                "\n{} problem{}:",
                problems.len(),
                if problems.len() == 1 { "" } else { "s" }
            );
            for problem in problems {
                let _ = writeln!(out, "{problem}");
            }
        }
        out
    }
}

fn shorten(text: &str, max: usize) -> String {
    let line = text.lines().next().unwrap_or_default();
    match line.char_indices().nth(max) {
        Some((cut, _)) => format!("{}…", line[..cut].trim_end()),
        None => line.to_owned(),
    }
}
