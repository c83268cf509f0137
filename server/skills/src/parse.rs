//! Loading Lathe's skill format: YAML front matter (strict: unknown fields are errors) and a
//! markdown body that is the system prompt, with an optional `## Template` section (or a
//! front-matter `template`) for the user prompt. Also the checks every format shares.
//!
//! Invariant: every problem carries the file line it is about; a file with any error yields
//! `Broken` (listed with its problems, never registered), a file with warnings loads.

use crate::markdown::{self, Piece};
use crate::problem::{Problems, SkillProblem};
use crate::skill::{self, Skill, SkillOrigin};
use crate::template::{self, Template};
use crate::tools;
use lathe_protocol::config::ApprovalMode;
use lathe_protocol::skill::{McpServerHint, SkillArgument, SkillKind, SkillSpec};
use serde::Deserialize;
use std::collections::BTreeMap;

/// A file that did not load: its name when known, and why.
#[derive(Clone, Debug)]
pub(crate) struct Broken {
    pub(crate) name: Option<String>,
    pub(crate) problems: Vec<SkillProblem>,
}

pub(crate) type Loaded = Result<Skill, Broken>;

/// The front matter of Lathe's format.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct FrontMatter {
    name: Option<String>,
    description: Option<String>,
    #[serde(default)]
    aliases: Vec<String>,
    category: Option<String>,
    #[serde(default)]
    kind: SkillKind,
    tools: Option<Vec<String>>,
    #[serde(default)]
    arguments: Vec<ArgumentDef>,
    model: Option<String>,
    approval: Option<ApprovalMode>,
    template: Option<String>,
    #[serde(default)]
    mcp_servers: BTreeMap<String, McpServerHint>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ArgumentDef {
    name: String,
    #[serde(default)]
    description: String,
    #[serde(default)]
    required: bool,
}

/// A skill assembled by a format, before the shared checks.
#[derive(Debug)]
pub(crate) struct Draft {
    pub(crate) spec: SkillSpec,
    pub(crate) name_line: u32,
    pub(crate) alias_lines: Vec<u32>,
    pub(crate) tools_line: u32,
    pub(crate) arguments_line: u32,
    /// The file line where the template text starts.
    pub(crate) template_line: u32,
    /// Whether declared arguments that the template never uses deserve a warning.
    pub(crate) warn_unused_arguments: bool,
}

/// Parses a file in Lathe's format.
pub(crate) fn parse_lathe(text: &str, origin: SkillOrigin) -> Loaded {
    let mut problems = Problems::new(&origin.path);
    let doc = match markdown::split_front_matter(text) {
        Ok(doc) => doc,
        Err((line, message)) => return broken(None, problems, line, message),
    };
    let Some(fm) = doc.front_matter else {
        return broken(
            None,
            problems,
            1,
            "no front matter: a skill file starts with a `---` line, YAML with at least `name` and `description`, and another `---` line",
        );
    };
    let front: FrontMatter = match parse_yaml(fm) {
        Ok(front) => front,
        Err((line, message)) => return broken(None, problems, line, message),
    };
    let Some(name) = front.name.filter(|n| !n.trim().is_empty()) else {
        return broken(
            None,
            problems,
            fm.line.saturating_sub(1),
            "missing `name` in the front matter",
        );
    };
    let body = match markdown::split_template(doc.body) {
        Ok(body) => body,
        Err((line, message)) => return broken(Some(name), problems, line, message),
    };
    let (template, template_line) = match (front.template, body.template) {
        (Some(_), Some(section)) => {
            let message =
                "the template is given twice, in the front matter and in a `## Template` section";
            return broken(Some(name), problems, section.line, message);
        }
        (Some(t), None) => {
            let line = key_or(fm, "template");
            let key_text = fm
                .text
                .lines()
                .nth((line - fm.line) as usize)
                .unwrap_or_default();
            let block = key_text
                .split_once(':')
                .is_some_and(|(_, v)| v.trim_start().starts_with(['|', '>']));
            (t, if block { line + 1 } else { line })
        }
        (None, Some(section)) => (section.text.to_owned(), section.line),
        (None, None) => (skill::default_template(), doc.body.line),
    };
    let description = match front.description.filter(|d| !d.trim().is_empty()) {
        Some(d) => d.trim().to_owned(),
        None => {
            problems.warn(
                key_or(fm, "name"),
                "missing `description`: the first line of the body is shown instead",
            );
            first_line(&body.system_prompt)
        }
    };
    let alias_lines = front
        .aliases
        .iter()
        .map(|a| markdown::value_line(fm, "aliases", a).unwrap_or(key_or(fm, "aliases")))
        .collect();
    let draft = Draft {
        spec: SkillSpec {
            name,
            description,
            aliases: front.aliases,
            category: front.category,
            kind: front.kind,
            tools: front.tools,
            arguments: front
                .arguments
                .into_iter()
                .map(|a| SkillArgument {
                    name: a.name,
                    description: a.description,
                    required: a.required,
                })
                .collect(),
            model: front.model,
            approval: front.approval,
            mcp_servers: front.mcp_servers,
            system_prompt: body.system_prompt,
            template,
        },
        name_line: key_or(fm, "name"),
        alias_lines,
        tools_line: key_or(fm, "tools"),
        arguments_line: key_or(fm, "arguments"),
        template_line,
        warn_unused_arguments: true,
    };
    finish(draft, origin, problems)
}

/// Deserializes front matter, mapping YAML errors to file lines.
pub(crate) fn parse_yaml<T: serde::de::DeserializeOwned + Default>(
    fm: Piece<'_>,
) -> Result<T, (u32, String)> {
    if fm.text.trim().is_empty() {
        return Ok(T::default());
    }
    serde_norway::from_str(fm.text).map_err(|err| {
        let line = err
            .location()
            .and_then(|l| u32::try_from(l.line()).ok())
            .map_or(fm.line, |l| fm.line + l.saturating_sub(1));
        (
            line,
            format!("front matter: {}", strip_location(&err.to_string())),
        )
    })
}

/// Drops serde_norway's " at line N column M" (the problem carries the line).
fn strip_location(message: &str) -> String {
    const AT: &str = " at line ";
    let Some(at) = message.find(AT) else {
        return message.to_owned();
    };
    let rest = &message[at + AT.len()..];
    let digits = |s: &str| s.len() - s.trim_start_matches(|c: char| c.is_ascii_digit()).len();
    let line_len = digits(rest);
    let Some(after) = rest[line_len..]
        .strip_prefix(" column ")
        .filter(|_| line_len > 0)
    else {
        return message.to_owned();
    };
    let column_len = digits(after);
    if column_len == 0 {
        return message.to_owned();
    }
    format!("{}{}", &message[..at], &after[column_len..])
}

fn key_or(fm: Piece<'_>, key: &str) -> u32 {
    markdown::key_line(fm, key).unwrap_or(fm.line)
}

fn broken(
    name: Option<String>,
    mut problems: Problems,
    line: u32,
    message: impl Into<String>,
) -> Loaded {
    problems.error(line, message);
    Err(Broken {
        name,
        problems: problems.into_vec(),
    })
}

/// The first non-blank line of markdown, without heading marks, shortened for listings.
pub(crate) fn first_line(text: &str) -> String {
    let line = text
        .lines()
        .map(|l| l.trim().trim_start_matches('#').trim())
        .find(|l| !l.is_empty());
    let line = line.unwrap_or_default();
    match line.char_indices().nth(120) {
        Some((cut, _)) => format!("{}…", &line[..cut]),
        None => line.to_owned(),
    }
}

/// Whether `name` can be a skill name or alias: a letter or digit, then letters, digits,
/// `-`, `_`, `.` or `:`, at most 64 characters.
pub(crate) fn is_valid_name(name: &str) -> bool {
    let mut chars = name.chars();
    name.len() <= 64
        && chars.next().is_some_and(|c| c.is_ascii_alphanumeric())
        && chars.all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.' | ':'))
}

/// The checks every format shares: name, aliases, arguments, tools, template.
pub(crate) fn finish(mut draft: Draft, origin: SkillOrigin, mut problems: Problems) -> Loaded {
    let spec = &mut draft.spec;
    if !is_valid_name(&spec.name) {
        problems.error(
            draft.name_line,
            format!(
                "invalid name `{}`: use letters, digits, `-`, `_`, `.` or `:` (no leading `/`), at most 64 characters",
                spec.name
            ),
        );
    }
    let mut aliases = Vec::new();
    let mut alias_lines = Vec::new();
    for (alias, line) in spec.aliases.drain(..).zip(draft.alias_lines.drain(..)) {
        if !is_valid_name(&alias) {
            problems.warn(
                line,
                format!(
                    "invalid alias `{alias}` ignored: use letters, digits, `-`, `_`, `.` or `:`"
                ),
            );
        } else if alias == spec.name {
            problems.warn(line, format!("alias `{alias}` is the skill's own name"));
        } else if aliases.contains(&alias) {
            problems.warn(line, format!("duplicate alias `{alias}`"));
        } else {
            aliases.push(alias);
            alias_lines.push(line);
        }
    }
    spec.aliases = aliases;
    draft.alias_lines = alias_lines;
    let mut seen = Vec::new();
    for arg in &spec.arguments {
        if !template::is_identifier(&arg.name) {
            problems.error(
                draft.arguments_line,
                format!(
                    "invalid argument name `{}`: use letters, digits, `_` and `-`",
                    arg.name
                ),
            );
        } else if skill::is_builtin_variable(&arg.name) {
            problems.error(
                draft.arguments_line,
                format!(
                    "argument `{}` has the name of a built-in variable; choose another name",
                    arg.name
                ),
            );
        } else if seen.contains(&arg.name) {
            problems.error(
                draft.arguments_line,
                format!("duplicate argument `{}`", arg.name),
            );
        }
        seen.push(arg.name.clone());
    }
    for tool in spec.tools.iter().flatten() {
        if let Some(message) = tools::check_tool_name(tool) {
            problems.warn(draft.tools_line, message);
        }
    }
    for (server, hint) in &spec.mcp_servers {
        if hint.command.is_none() == hint.url.is_none() {
            problems.warn(
                draft.tools_line,
                format!("`mcp_servers.{server}` needs exactly one of `command` or `url`"),
            );
        }
    }
    let template = match Template::parse(&spec.template) {
        Ok(template) => template,
        Err(err) => {
            problems.error(
                draft.template_line + err.line - 1,
                format!("template: {}", err.message),
            );
            return Err(Broken {
                name: Some(spec.name.clone()),
                problems: problems.into_vec(),
            });
        }
    };
    let declared = |name: &str| spec.arguments.iter().any(|a| a.name == name);
    for (name, line) in template.variables() {
        if !skill::is_builtin_variable(name) && !declared(name) {
            problems.error(
                draft.template_line + line - 1,
                format!(
                    "template: unknown variable `{name}`: use {}, arg1…arg9 or an argument declared in `arguments`",
                    skill::BUILTIN_VARIABLES.join(", ")
                ),
            );
        }
    }
    if draft.warn_unused_arguments {
        let used = template.variables();
        for arg in &spec.arguments {
            if !used.iter().any(|(n, _)| *n == arg.name) {
                problems.warn(
                    draft.arguments_line,
                    format!("argument `{}` is not used by the template", arg.name),
                );
            }
        }
    }
    if problems.has_errors() {
        return Err(Broken {
            name: Some(draft.spec.name),
            problems: problems.into_vec(),
        });
    }
    Ok(Skill {
        spec: draft.spec,
        origin,
        template,
        alias_lines: draft.alias_lines,
        name_line: draft.name_line,
        warnings: problems.into_vec(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn locations_are_stripped() {
        assert_eq!(
            strip_location("unknown field `x` at line 3 column 1"),
            "unknown field `x`"
        );
        assert_eq!(
            strip_location("did not find expected key"),
            "did not find expected key"
        );
        assert_eq!(
            strip_location(
                "did not find expected key at line 3 column 24, while parsing a block mapping"
            ),
            "did not find expected key, while parsing a block mapping"
        );
        assert_eq!(strip_location("a at line two"), "a at line two");
    }

    #[test]
    fn names() {
        assert!(is_valid_name("api-docs"));
        assert!(is_valid_name("frontend:component"));
        assert!(!is_valid_name("/fix"));
        assert!(!is_valid_name(""));
        assert!(!is_valid_name("-x"));
    }
}
