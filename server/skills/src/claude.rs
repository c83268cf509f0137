//! Claude Code's formats, converted to skills: commands (`.claude/commands/**/*.md`, the body
//! is the user prompt with `$ARGUMENTS` and `$1`…`$9`) and Agent Skills (`*/SKILL.md`, the
//! body is instructions, i.e. the system prompt).
//!
//! Invariants: front matter is read leniently, as Claude Code does (unknown keys ignored;
//! front matter that is not valid YAML, such as the documented `argument-hint: [a] [b]`, is
//! read as `key: value` lines); the body
//! is escaped so that only `$ARGUMENTS`/`$N` become template variables; Claude tool names
//! (`Read`, `Bash(git add:*)`…) are mapped to Lathe's.

use crate::markdown::{self, Piece};
use crate::parse::{self, Broken, Draft, Loaded};
use crate::problem::Problems;
use crate::skill::{self, SkillOrigin};
use crate::tools;
use lathe_protocol::skill::{McpServerHint, SkillKind, SkillSpec};
use serde_norway::Value;
use std::collections::BTreeMap;

/// Front-matter keys and their values as text.
type Fields = BTreeMap<String, (String, u32)>;

/// Parses a Claude Code command; `stem` (the file name without `.md`) is its name.
pub(crate) fn parse_command(text: &str, stem: &str, origin: SkillOrigin) -> Loaded {
    let mut problems = Problems::new(&origin.path);
    let (fields, body) = read(text, stem, &origin.path)?;
    let mut description =
        field(&fields, "description").unwrap_or_else(|| parse::first_line(body.text));
    if let Some(hint) = field(&fields, "argument-hint") {
        description = format!("{description} (arguments: {hint})");
    }
    if body.text.contains("!`") {
        problems.warn(body.line, "Claude Code runs `!`command`` lines before sending the prompt; Lathe does not, the model sees them as text");
    }
    let mut mcp_servers = BTreeMap::new();
    let tools = tools_field(&fields, &mut problems, &mut mcp_servers);
    let draft = Draft {
        spec: SkillSpec {
            name: stem.to_owned(),
            description,
            aliases: Vec::new(),
            category: Some("claude".into()),
            kind: SkillKind::Prompt,
            tools,
            arguments: Vec::new(),
            model: model_field(&fields),
            approval: None,
            mcp_servers,
            system_prompt: String::new(),
            template: command_template(body.text),
        },
        name_line: 1,
        alias_lines: Vec::new(),
        tools_line: line_of(&fields, "allowed-tools"),
        arguments_line: 1,
        template_line: body.line,
        warn_unused_arguments: false,
    };
    parse::finish(draft, origin, problems)
}

/// Parses an Agent Skill (`SKILL.md`); `dir_name` names it when the front matter does not.
/// `files_dir` is the skill's directory as the agent's `read_file` can reach it, if it can.
pub(crate) fn parse_skill(
    text: &str,
    dir_name: &str,
    files_dir: Option<&str>,
    origin: SkillOrigin,
) -> Loaded {
    let mut problems = Problems::new(&origin.path);
    let (fields, body) = read(text, dir_name, &origin.path)?;
    let name = field(&fields, "name").unwrap_or_else(|| dir_name.to_owned());
    let description = field(&fields, "description").unwrap_or_else(|| parse::first_line(body.text));
    let mut system_prompt = body.text.trim().to_owned();
    if let Some(dir) = files_dir {
        system_prompt.push_str(&format!(
            "\n\nThis skill's files are in `{dir}`: read them with `read_file` when these instructions refer to them."
        ));
    }
    let mut mcp_servers = BTreeMap::new();
    let tools = tools_field(&fields, &mut problems, &mut mcp_servers);
    let draft = Draft {
        spec: SkillSpec {
            name,
            description,
            aliases: Vec::new(),
            category: Some("claude".into()),
            kind: SkillKind::Prompt,
            tools,
            arguments: Vec::new(),
            model: model_field(&fields),
            approval: None,
            mcp_servers,
            system_prompt,
            template: skill::default_template(),
        },
        name_line: line_of(&fields, "name"),
        alias_lines: Vec::new(),
        tools_line: line_of(&fields, "allowed-tools"),
        arguments_line: 1,
        template_line: body.line,
        warn_unused_arguments: false,
    };
    parse::finish(draft, origin, problems)
}

/// Splits the file and reads its front matter into fields; `Err` is a broken file.
fn read<'a>(text: &'a str, name: &str, path: &str) -> Result<(Fields, Piece<'a>), Broken> {
    let doc = markdown::split_front_matter(text).map_err(|(line, message)| {
        let mut problems = Problems::new(path);
        problems.error(line, message);
        Broken {
            name: Some(name.to_owned()),
            problems: problems.into_vec(),
        }
    })?;
    Ok((doc.front_matter.map(fields).unwrap_or_default(), doc.body))
}

/// The front matter as text fields: YAML when it parses, else `key: value` lines.
fn fields(fm: Piece<'_>) -> Fields {
    let yaml: Result<BTreeMap<String, Value>, _> = parse::parse_yaml(fm);
    match yaml {
        Ok(map) => map
            .into_iter()
            .filter_map(|(key, value)| {
                let line = markdown::key_line(fm, &key).unwrap_or(fm.line);
                Some((key, (as_text(&value)?, line)))
            })
            .collect(),
        Err(_) => line_fields(fm),
    }
}

fn as_text(value: &Value) -> Option<String> {
    match value {
        Value::String(s) => Some(s.clone()),
        Value::Bool(b) => Some(b.to_string()),
        Value::Number(n) => Some(n.to_string()),
        Value::Sequence(items) => Some(
            items
                .iter()
                .filter_map(as_text)
                .collect::<Vec<_>>()
                .join(", "),
        ),
        Value::Null | Value::Mapping(_) | Value::Tagged(_) => None,
    }
}

/// `key: value` lines at column 0, with `- item` lines below an empty value as a list.
fn line_fields(fm: Piece<'_>) -> Fields {
    let mut fields = Fields::new();
    let mut last: Option<String> = None;
    for (l, n) in fm.text.lines().zip(fm.line..) {
        if let Some(item) = l
            .trim_start()
            .strip_prefix("- ")
            .filter(|_| l.starts_with([' ', '-']))
        {
            if let Some((value, _)) = last.as_ref().and_then(|k| fields.get_mut(k)) {
                if !value.is_empty() {
                    value.push_str(", ");
                }
                value.push_str(unquote(item.trim()));
            }
        } else if let Some((key, value)) = l
            .split_once(':')
            .filter(|_| !l.starts_with([' ', '\t', '#']))
        {
            fields.insert(key.trim().to_owned(), (unquote(value.trim()).to_owned(), n));
            last = Some(key.trim().to_owned());
        }
    }
    fields
}

fn unquote(s: &str) -> &str {
    ['"', '\'']
        .iter()
        .find_map(|q| s.strip_prefix(*q).and_then(|r| r.strip_suffix(*q)))
        .unwrap_or(s)
}

fn field(fields: &Fields, key: &str) -> Option<String> {
    fields
        .get(key)
        .map(|(v, _)| v.trim().to_owned())
        .filter(|v| !v.is_empty())
}

fn line_of(fields: &Fields, key: &str) -> u32 {
    fields.get(key).map_or(1, |(_, line)| *line)
}

fn model_field(fields: &Fields) -> Option<String> {
    field(fields, "model").filter(|m| m != "inherit")
}

/// `allowed-tools` mapped to Lathe tools; unmapped names are warnings.
fn tools_field(
    fields: &Fields,
    problems: &mut Problems,
    servers: &mut BTreeMap<String, McpServerHint>,
) -> Option<Vec<String>> {
    let (value, line) = fields.get("allowed-tools")?;
    let mut tools: Vec<String> = Vec::new();
    for entry in split_tools(value) {
        let mapped = if entry.starts_with("mcp__") {
            Some(entry.clone())
        } else {
            tools::from_claude_tool(&entry).map(|(tool, server)| {
                if let Some((name, hint)) = server {
                    servers.insert(name.to_owned(), hint);
                }
                tool.to_owned()
            })
        };
        match mapped {
            Some(tool) if !tools.contains(&tool) => tools.push(tool),
            Some(_) => {}
            None => problems.warn(
                *line,
                format!("Claude Code tool `{entry}` has no Lathe equivalent; ignored"),
            ),
        }
    }
    Some(tools)
}

/// Splits `Read, Bash(git add:*), Grep` or `Read Grep` at commas and spaces outside parentheses.
fn split_tools(value: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut current = String::new();
    let mut depth = 0usize;
    for c in value.chars() {
        match c {
            '(' => depth += 1,
            ')' => depth = depth.saturating_sub(1),
            _ => {}
        }
        if depth == 0 && (c == ',' || c.is_whitespace()) {
            if !current.is_empty() {
                out.push(std::mem::take(&mut current));
            }
        } else {
            current.push(c);
        }
    }
    if !current.is_empty() {
        out.push(current);
    }
    out
}

/// A command body as a template: `{{` escaped, `$ARGUMENTS` → `{{input}}`, `$N` →
/// `{{argN}}`; the input is appended as `ARGUMENTS:` when the body does not use it (as Claude
/// Code does), and the editor context (selection, file, diagnostics) always.
fn command_template(body: &str) -> String {
    let escaped = body.trim_end().replace("{{", "\\{{");
    let mut out = String::with_capacity(escaped.len() + skill::CONTEXT_TEMPLATE.len());
    let mut uses_input = false;
    let mut rest = escaped.as_str();
    while let Some(at) = rest.find('$') {
        out.push_str(&rest[..at]);
        let after = &rest[at + 1..];
        let digit = after.chars().next().filter(|c| ('1'..='9').contains(c));
        let lone =
            !after[digit.map_or(0, char::len_utf8)..].starts_with(|c: char| c.is_ascii_digit());
        if let Some(tail) = after.strip_prefix("ARGUMENTS") {
            out.push_str("{{input}}");
            uses_input = true;
            rest = tail;
        } else if let Some(d) = digit.filter(|_| lone) {
            out.push_str(&format!("{{{{arg{d}}}}}"));
            uses_input = true;
            rest = &after[1..];
        } else {
            out.push('$');
            rest = after;
        }
    }
    out.push_str(rest);
    out.push('\n');
    if !uses_input {
        out.push_str("{{#input}}\n\nARGUMENTS: {{input}}\n{{/input}}\n");
    }
    out.push_str(skill::CONTEXT_TEMPLATE);
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use pretty_assertions::assert_eq;

    #[test]
    fn tool_lists() {
        assert_eq!(
            split_tools("Bash(git add:*), Bash(git status:*),Read  Grep"),
            vec!["Bash(git add:*)", "Bash(git status:*)", "Read", "Grep"]
        );
    }

    #[test]
    fn arguments_become_variables() {
        let t = command_template("Fix #$1 ($2) in $ARGUMENTS, cost $5.00 or $10, {{raw}}");
        assert!(
            t.starts_with(
                "Fix #{{arg1}} ({{arg2}}) in {{input}}, cost {{arg5}}.00 or $10, \\{{raw}}\n"
            ),
            "{t}"
        );
        let t = command_template("Review the code.");
        assert!(
            t.starts_with(
                "Review the code.\n{{#input}}\n\nARGUMENTS: {{input}}\n{{/input}}\n{{#symbol}}"
            ),
            "{t}"
        );
    }

    #[test]
    fn lenient_lines() {
        let fm = Piece {
            text: "description: \"Fix\"\nargument-hint: [a] [b]\nallowed-tools:\n  - Read\n  - Grep\n",
            line: 2,
        };
        let fields = line_fields(fm);
        assert_eq!(field(&fields, "description").as_deref(), Some("Fix"));
        assert_eq!(field(&fields, "argument-hint").as_deref(), Some("[a] [b]"));
        assert_eq!(
            fields.get("allowed-tools"),
            Some(&("Read, Grep".to_owned(), 4))
        );
    }
}
