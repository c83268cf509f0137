//! A loaded skill: its spec, where it came from, its parsed template, and rendering.
//!
//! Invariant: a `Skill` only exists for a file that loaded without errors, so its template
//! parses and names only known variables; rendering fails only on the caller's arguments.

use crate::error::SkillError;
use crate::problem::SkillProblem;
use crate::template::Template;
use crate::tools::{self, MissingTool};
use lathe_protocol::skill::{RenderedSkill, SkillSource, SkillSpec, SkillVars};

/// The built-in variables every template may use, besides `arg1`…`arg9`.
pub const BUILTIN_VARIABLES: [&str; 6] = [
    "input",
    "selection",
    "file",
    "language",
    "diagnostics",
    "symbol",
];

/// Whether `name` is a built-in variable (including the positional `arg1`…`arg9`).
pub(crate) fn is_builtin_variable(name: &str) -> bool {
    BUILTIN_VARIABLES.contains(&name) || positional_index(name).is_some()
}

/// `arg1`…`arg9` → 0…8.
fn positional_index(name: &str) -> Option<usize> {
    let digit = name.strip_prefix("arg")?;
    let n: usize = digit
        .parse()
        .ok()
        .filter(|n| (1..=9).contains(n) && digit.len() == 1)?;
    Some(n - 1)
}

/// The context part of the default template (also appended to Claude-style commands).
pub(crate) const CONTEXT_TEMPLATE: &str = "\
{{#symbol}}

Symbol: `{{symbol}}`
{{/symbol}}
{{#file}}

File: `{{file}}`{{#language}} ({{language}}){{/language}}
{{/file}}
{{#selection}}

Selected code:
````{{language}}
{{selection}}
````
{{/selection}}
{{#diagnostics}}

Diagnostics:
{{diagnostics}}
{{/diagnostics}}
";

/// The template used when a skill has none: the input, then whatever context the surface has.
pub(crate) fn default_template() -> String {
    format!("{{{{input}}}}\n{CONTEXT_TEMPLATE}")
}

/// Where a skill was defined.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SkillOrigin {
    pub source: SkillSource,
    /// The file, as shown in problems (`<built-in>/fix.md` for built-ins).
    pub path: String,
}

/// A skill that loaded: what surfaces list, complete and run.
#[derive(Clone, Debug)]
pub struct Skill {
    pub(crate) spec: SkillSpec,
    pub(crate) origin: SkillOrigin,
    pub(crate) template: Template,
    /// The line of each alias in `spec.aliases`, for problems found across skills.
    pub(crate) alias_lines: Vec<u32>,
    /// The line where the skill's name is defined.
    pub(crate) name_line: u32,
    pub(crate) warnings: Vec<SkillProblem>,
}

impl Skill {
    pub fn spec(&self) -> &SkillSpec {
        &self.spec
    }

    pub fn name(&self) -> &str {
        &self.spec.name
    }

    pub fn origin(&self) -> &SkillOrigin {
        &self.origin
    }

    /// Problems that did not stop the file from loading.
    pub fn warnings(&self) -> &[SkillProblem] {
        &self.warnings
    }

    /// The tools this skill names that nothing in `available` provides, with how to get them.
    pub fn check_tools(&self, available: &[String]) -> Vec<MissingTool> {
        tools::missing_tools(&self.spec, available)
    }

    /// Renders the user prompt from `vars` and returns what the agent runs.
    ///
    /// Fails when a required argument is missing or blank, or `vars` names an argument the
    /// skill does not declare. Unset built-in variables render as empty text.
    pub fn render(&self, vars: &SkillVars) -> Result<RenderedSkill, SkillError> {
        let spec = &self.spec;
        if let Some(unknown) = vars
            .arguments
            .keys()
            .find(|k| !spec.arguments.iter().any(|a| &a.name == *k))
        {
            let known: Vec<&str> = spec.arguments.iter().map(|a| a.name.as_str()).collect();
            return Err(SkillError::UnknownArgument {
                skill: spec.name.clone(),
                argument: unknown.clone(),
                known: if known.is_empty() {
                    "none".into()
                } else {
                    known.join(", ")
                },
            });
        }
        if let Some(missing) = spec.arguments.iter().find(|a| {
            a.required
                && vars
                    .arguments
                    .get(&a.name)
                    .is_none_or(|v| v.trim().is_empty())
        }) {
            return Err(SkillError::MissingArgument {
                skill: spec.name.clone(),
                argument: missing.name.clone(),
                description: missing.description.clone(),
            });
        }
        let words: Vec<&str> = vars.input.split_whitespace().collect();
        let lookup = |name: &str| -> &str {
            match name {
                "input" => &vars.input,
                "selection" => &vars.selection,
                "file" => &vars.file,
                "language" => &vars.language,
                "diagnostics" => &vars.diagnostics,
                "symbol" => &vars.symbol,
                _ => match positional_index(name) {
                    Some(i) => words.get(i).copied().unwrap_or_default(),
                    None => vars.arguments.get(name).map_or("", String::as_str),
                },
            }
        };
        let user_prompt = self.template.render(&lookup).trim().to_owned();
        Ok(RenderedSkill {
            name: spec.name.clone(),
            kind: spec.kind,
            system_prompt: spec.system_prompt.clone(),
            user_prompt,
            tools: spec.tools.clone(),
            model: spec.model.clone(),
            approval: spec.approval,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn positional() {
        assert_eq!(positional_index("arg1"), Some(0));
        assert_eq!(positional_index("arg9"), Some(8));
        assert_eq!(positional_index("arg0"), None);
        assert_eq!(positional_index("arg10"), None);
        assert_eq!(positional_index("arg01"), None);
        assert!(is_builtin_variable("diagnostics"));
        assert!(!is_builtin_variable("since"));
    }
}
