//! The tools a skill names: validation of names, which are missing from a session, and how to
//! get them (a built-in that the session does not offer, or an MCP server to configure).
//!
//! Invariant: a tool entry is a Lathe built-in name or `mcp__<server>__<tool>` where `*`
//! matches any run of characters; hints for MCP tools come from the skill's `mcp_servers`.

use lathe_protocol::skill::{McpServerHint, SkillSpec, tool_pattern_matches};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// Lathe's built-in tools (DESIGN.md §4, and `repo_map`).
pub const BUILTIN_TOOLS: [&str; 10] = [
    "read_file",
    "list_files",
    "search",
    "edit_file",
    "apply_patch",
    "write_file",
    "run_command",
    "git",
    "code_context",
    "repo_map",
];

/// A tool a skill needs that the session does not offer, and how to get it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct MissingTool {
    /// The tool name or pattern as the skill names it.
    pub tool: String,
    /// What to do about it, for humans.
    pub hint: String,
}

/// Splits `mcp__<server>__<tool>` into its server and tool parts.
fn split_mcp(pattern: &str) -> Option<(&str, &str)> {
    let rest = pattern.strip_prefix("mcp__")?;
    let (server, tool) = rest.split_once("__")?;
    (!server.is_empty() && !tool.is_empty()).then_some((server, tool))
}

/// Why a tool entry is not a known tool name, if it is not.
pub(crate) fn check_tool_name(pattern: &str) -> Option<String> {
    if BUILTIN_TOOLS.contains(&pattern) || split_mcp(pattern).is_some() {
        return None;
    }
    Some(format!(
        "unknown tool `{pattern}`: tools are Lathe built-ins ({}) or MCP tools `mcp__<server>__<tool>`",
        BUILTIN_TOOLS.join(", ")
    ))
}

/// The tools of `spec` that nothing in `available` matches, each with a hint.
pub(crate) fn missing_tools(spec: &SkillSpec, available: &[String]) -> Vec<MissingTool> {
    let Some(tools) = &spec.tools else {
        return Vec::new();
    };
    tools
        .iter()
        .filter(|pattern| {
            !available
                .iter()
                .any(|name| tool_pattern_matches(pattern, name))
        })
        .map(|pattern| MissingTool {
            tool: pattern.clone(),
            hint: hint(pattern, &spec.mcp_servers),
        })
        .collect()
}

fn hint(pattern: &str, servers: &BTreeMap<String, McpServerHint>) -> String {
    if let Some((server, tool)) = split_mcp(pattern) {
        return mcp_hint(server, tool, servers);
    }
    match pattern {
        "run_command" => "`run_command` needs a sandbox: install Docker or bubblewrap, or set \
            `LATHE_SANDBOX=none` to run commands on the host with approval for each; \
            `lathe doctor` says what is missing"
            .to_owned(),
        "edit_file" | "apply_patch" | "write_file" => format!(
            "`{pattern}` changes files, which the `read-only` approval mode forbids: use `ask` or `auto`"
        ),
        _ if BUILTIN_TOOLS.contains(&pattern) => {
            format!("`{pattern}` is a Lathe built-in tool that this session does not offer")
        }
        _ => format!(
            "`{pattern}` is neither a Lathe built-in tool nor an MCP tool `mcp__<server>__<tool>`; fix the skill's `tools`"
        ),
    }
}

fn mcp_hint(server: &str, tool: &str, servers: &BTreeMap<String, McpServerHint>) -> String {
    let wanted = if server.contains('*') {
        format!("an MCP server with a tool matching `{tool}`")
    } else {
        format!("the MCP server `{server}` (tool `{tool}`)")
    };
    let example = servers.get(server).map(|h| (server, h)).or_else(|| {
        server
            .contains('*')
            .then(|| servers.iter().next())
            .flatten()
            .map(|(n, h)| (n.as_str(), h))
    });
    let Some((name, hint)) = example else {
        let name = if server.contains('*') {
            "<name>"
        } else {
            server
        };
        return format!(
            "needs {wanted}: add it to `mcpServers` in the workspace's `.mcp.json` or to \
             `[mcp_servers.{name}]` in `~/.config/lathe/config.toml`"
        );
    };
    let note = hint
        .note
        .as_deref()
        .map(|n| format!(" ({n})"))
        .unwrap_or_default();
    format!(
        "needs {wanted}{note}: add to the workspace's `.mcp.json`: {} or to `~/.config/lathe/config.toml`: {}",
        mcp_json(name, hint),
        mcp_toml(name, hint)
    )
}

/// `{"mcpServers": {"name": {…}}}` on one line.
fn mcp_json(name: &str, hint: &McpServerHint) -> String {
    let mut server = serde_json::Map::new();
    if let Some(command) = &hint.command {
        server.insert("command".into(), command.as_str().into());
    }
    if !hint.args.is_empty() {
        server.insert("args".into(), hint.args.clone().into());
    }
    if !hint.env.is_empty() {
        let env = hint
            .env
            .iter()
            .map(|(k, v)| (k.clone(), v.as_str().into()))
            .collect();
        server.insert("env".into(), serde_json::Value::Object(env));
    }
    if let Some(url) = &hint.url {
        server.insert("url".into(), url.as_str().into());
    }
    let mut servers = serde_json::Map::new();
    servers.insert(name.to_owned(), serde_json::Value::Object(server));
    serde_json::json!({ "mcpServers": servers }).to_string()
}

/// `mcp_servers.name = { command = "…", args = […] }`: one line of valid TOML.
fn mcp_toml(name: &str, hint: &McpServerHint) -> String {
    let quote = |s: &str| serde_json::Value::from(s).to_string();
    let mut fields = Vec::new();
    if let Some(command) = &hint.command {
        fields.push(format!("command = {}", quote(command)));
    }
    if !hint.args.is_empty() {
        let args: Vec<String> = hint.args.iter().map(|a| quote(a)).collect();
        fields.push(format!("args = [{}]", args.join(", ")));
    }
    if !hint.env.is_empty() {
        let env: Vec<String> = hint
            .env
            .iter()
            .map(|(k, v)| format!("{} = {}", quote(k), quote(v)))
            .collect();
        fields.push(format!("env = {{ {} }}", env.join(", ")));
    }
    if let Some(url) = &hint.url {
        fields.push(format!("url = {}", quote(url)));
    }
    let key = if crate::template::is_identifier(name) {
        name.to_owned()
    } else {
        quote(name)
    };
    format!("mcp_servers.{key} = {{ {} }}", fields.join(", "))
}

/// Maps one Claude Code tool name (`Read`, `Bash(git add:*)`, `mcp__x__y`) to Lathe tool
/// patterns and, for web tools, the MCP server hint that provides them; `None` when Lathe
/// has no equivalent.
pub(crate) fn from_claude_tool(
    entry: &str,
) -> Option<(&'static str, Option<(&'static str, McpServerHint)>)> {
    let base = entry.split_once('(').map_or(entry, |(b, _)| b).trim();
    let mapped = match base {
        "Read" | "NotebookRead" => "read_file",
        "Write" => "write_file",
        "Edit" | "MultiEdit" | "NotebookEdit" => "edit_file",
        "Grep" => "search",
        "Glob" | "LS" => "list_files",
        "Bash" | "BashOutput" | "KillShell" => "run_command",
        "WebFetch" => return Some((FETCH_TOOL, Some(("fetch", fetch_server())))),
        "WebSearch" => return Some((SEARCH_TOOL, Some(("duckduckgo", search_server())))),
        _ => return None,
    };
    Some((mapped, None))
}

/// The pattern for "a web page fetch tool of any MCP server".
pub(crate) const FETCH_TOOL: &str = "mcp__*__fetch*";
/// The pattern for "a web search tool of any MCP server".
pub(crate) const SEARCH_TOOL: &str = "mcp__*__*search*";

fn fetch_server() -> McpServerHint {
    McpServerHint {
        command: Some("uvx".into()),
        args: vec!["mcp-server-fetch".into()],
        note: Some("the reference fetch server from PyPI".into()),
        ..McpServerHint::default()
    }
}

fn search_server() -> McpServerHint {
    McpServerHint {
        command: Some("uvx".into()),
        args: vec!["duckduckgo-mcp-server".into()],
        note: Some("DuckDuckGo search from PyPI, no API key".into()),
        ..McpServerHint::default()
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use super::*;
    use pretty_assertions::assert_eq;

    #[test]
    fn names() {
        assert_eq!(check_tool_name("read_file"), None);
        assert_eq!(check_tool_name("mcp__fetch__fetch"), None);
        assert_eq!(check_tool_name("mcp__*__fetch*"), None);
        assert!(check_tool_name("Bash").is_some());
        assert!(check_tool_name("mcp__fetch").is_some());
        assert!(check_tool_name("mcp____x").is_some());
    }

    #[test]
    fn toml_and_json_hints() {
        let hint = McpServerHint {
            command: Some("uvx".into()),
            args: vec!["mcp-server-fetch".into()],
            env: BTreeMap::from([("KEY".into(), "a\"b".into())]),
            ..McpServerHint::default()
        };
        assert_eq!(
            mcp_json("fetch", &hint),
            r#"{"mcpServers":{"fetch":{"args":["mcp-server-fetch"],"command":"uvx","env":{"KEY":"a\"b"}}}}"#
        );
        assert_eq!(
            mcp_toml("fetch", &hint),
            r#"mcp_servers.fetch = { command = "uvx", args = ["mcp-server-fetch"], env = { "KEY" = "a\"b" } }"#
        );
    }
}
