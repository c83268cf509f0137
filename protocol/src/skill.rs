//! Skill specifications shared by the skills registry and every surface that offers skills.
//!
//! A skill is one definition with several faces: an LSP slash command and code action, an MCP
//! prompt and a dashboard action (DESIGN.md §7). `SkillSpec` is the loaded definition,
//! `SkillVars` what a surface knows when it invokes one (input, selection, file…), and
//! `RenderedSkill` what the agent runs: a system prompt, a user prompt and a tool restriction.
//!
//! Invariants: plain data; the template inside a `SkillSpec` is already in Lathe's template
//! syntax (Claude-style `$ARGUMENTS` files are converted on load), so every consumer renders
//! every skill the same way.

use crate::config::ApprovalMode;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// A loaded skill definition.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SkillSpec {
    /// The slash-command name, without the slash (`fix`).
    pub name: String,
    /// One or two sentences shown in completion lists, MCP prompt lists and the dashboard.
    pub description: String,
    /// Other names that resolve to this skill (`bugfix`).
    #[serde(default)]
    pub aliases: Vec<String>,
    /// A free-form group for listings (`quality`, `testing`, `ops`…).
    #[serde(default)]
    pub category: Option<String>,
    #[serde(default)]
    pub kind: SkillKind,
    /// The tools the skill needs and is restricted to: Lathe built-in tool names or MCP tools
    /// `mcp__<server>__<tool>`, where `*` matches any run of characters. `None` means no
    /// restriction (every tool the session offers, subject to the policy).
    #[serde(default)]
    pub tools: Option<Vec<String>>,
    /// Named arguments the template uses besides the built-in variables.
    #[serde(default)]
    pub arguments: Vec<SkillArgument>,
    /// A model to use instead of the configured one.
    #[serde(default)]
    pub model: Option<String>,
    /// The approval mode runs of this skill want; surfaces apply the stricter of this and the
    /// session's mode (`read-only` skills never change files).
    #[serde(default)]
    pub approval: Option<ApprovalMode>,
    /// How to configure the MCP servers whose tools the skill names, by server name; used to
    /// tell the user how to get a missing tool.
    #[serde(default)]
    pub mcp_servers: BTreeMap<String, McpServerHint>,
    /// The skill's instructions to the model (the markdown body). Constant per skill, so a
    /// model server can cache it as a prompt prefix.
    pub system_prompt: String,
    /// The user prompt template: `{{input}}`, `{{selection}}`, `{{file}}`, `{{language}}`,
    /// `{{diagnostics}}`, `{{symbol}}`, `{{arg1}}`…`{{arg9}}` (the input's words) and the
    /// named arguments; `{{#name}}…{{/name}}` is kept when `name` is not empty,
    /// `{{^name}}…{{/name}}` when it is; `\{{` is a literal `{{`.
    pub template: String,
}

/// What a surface does with a skill.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum SkillKind {
    /// An agent run with the skill's prompts and tools.
    #[default]
    Prompt,
    /// A built-in action the surfaces perform themselves (`undo`, `compact`, `help`); the
    /// prompts, where present, serve the action (e.g. the summary prompt of `compact`).
    Action,
}

/// A named argument of a skill (also an MCP prompt argument).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SkillArgument {
    pub name: String,
    #[serde(default)]
    pub description: String,
    #[serde(default)]
    pub required: bool,
}

/// How to start an MCP server, in the `mcpServers` shape (`command`/`args`/`env` or `url`).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct McpServerHint {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub command: Option<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub args: Vec<String>,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub env: BTreeMap<String, String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
    /// A sentence for humans (what the server is, what it needs, e.g. an API key).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
}

/// Where a skill was found; the order is the override order (later overrides earlier).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum SkillSource {
    /// Embedded in the binary from the repository's `skills/`.
    Builtin,
    /// `~/.claude/commands/` and `~/.claude/skills/` (Claude Code, user level).
    ClaudeUser,
    /// `~/.config/lathe/skills/`.
    User,
    /// `<workspace>/.claude/commands/` and `<workspace>/.claude/skills/` (Claude Code).
    Claude,
    /// `<workspace>/.lathe/skills/`.
    Workspace,
}

impl SkillSource {
    /// Every source, lowest precedence first.
    pub const ALL: [SkillSource; 5] = [
        SkillSource::Builtin,
        SkillSource::ClaudeUser,
        SkillSource::User,
        SkillSource::Claude,
        SkillSource::Workspace,
    ];

    /// The name listings show.
    pub fn label(self) -> &'static str {
        match self {
            SkillSource::Builtin => "built-in",
            SkillSource::ClaudeUser => "claude-user",
            SkillSource::User => "user",
            SkillSource::Claude => "claude",
            SkillSource::Workspace => "workspace",
        }
    }
}

/// What a surface knows when it invokes a skill. Empty strings mean "not known".
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct SkillVars {
    /// What the user typed after the command.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub input: String,
    /// The selected text, or the enclosing symbol's text for a code action on a cursor.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub selection: String,
    /// Workspace-relative path of the file the invocation is about.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub file: String,
    /// Language id of that file (`rust`, `python`…), as LSP names it.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub language: String,
    /// Diagnostics in range, one per line as `path:line:col: severity: message`.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub diagnostics: String,
    /// The enclosing symbol's qualified name.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub symbol: String,
    /// Values of the skill's named arguments.
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub arguments: BTreeMap<String, String>,
}

/// A skill ready to run: what the agent core applies.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct RenderedSkill {
    pub name: String,
    pub kind: SkillKind,
    pub system_prompt: String,
    pub user_prompt: String,
    /// Tool-name patterns the run is restricted to (`*` wildcards), `None` for no restriction.
    pub tools: Option<Vec<String>>,
    pub model: Option<String>,
    pub approval: Option<ApprovalMode>,
}

impl RenderedSkill {
    /// Whether the run may use the tool `name` (always, when the skill names no tools).
    pub fn allows_tool(&self, name: &str) -> bool {
        self.tools
            .as_ref()
            .is_none_or(|patterns| patterns.iter().any(|p| tool_pattern_matches(p, name)))
    }

    /// The tool patterns of the skill that none of `available` matches.
    pub fn missing_tools<'a>(&'a self, available: &[String]) -> Vec<&'a str> {
        self.tools
            .iter()
            .flatten()
            .filter(|p| !available.iter().any(|name| tool_pattern_matches(p, name)))
            .map(String::as_str)
            .collect()
    }
}

/// Whether a tool-name pattern matches a tool name: `*` matches any run of characters
/// (`mcp__*__fetch*` matches `mcp__web__fetch_url`), everything else matches itself.
pub fn tool_pattern_matches(pattern: &str, name: &str) -> bool {
    let mut parts = pattern.split('*');
    let first = parts.next().unwrap_or_default();
    let Some(mut rest) = name.strip_prefix(first) else {
        return false;
    };
    let tail: Vec<&str> = parts.collect();
    let Some((last, middle)) = tail.split_last() else {
        return rest.is_empty();
    };
    for part in middle {
        match rest.find(part) {
            Some(at) => rest = &rest[at + part.len()..],
            None => return false,
        }
    }
    rest.len() >= last.len() && rest.ends_with(last)
}

#[cfg(test)]
mod tests {
    use super::tool_pattern_matches;

    #[test]
    fn patterns() {
        let cases = [
            ("read_file", "read_file", true),
            ("read_file", "read_files", false),
            ("mcp__*__fetch*", "mcp__web__fetch_url", true),
            ("mcp__*__fetch*", "mcp__web__fetch", true),
            ("mcp__*__fetch*", "mcp__web__search", false),
            ("mcp__*__*search*", "mcp__brave__brave_web_search", true),
            ("mcp__*__*search*", "mcp__ddg__search", true),
            ("mcp__*__*search*", "search", false),
            ("a*a", "a", false),
            ("a*a", "aa", true),
            ("*", "", true),
        ];
        let got: Vec<_> = cases
            .iter()
            .map(|(p, n, _)| (*p, *n, tool_pattern_matches(p, n)))
            .collect();
        let want: Vec<_> = cases.to_vec();
        assert_eq!(got, want);
    }
}
