//! Which MCP servers the hub starts: `[mcp_servers.<name>]` in `config.toml` and the
//! workspace's `.mcp.json` (`{"mcpServers": {"<name>": {...}}}`, the shape Claude Code,
//! Claude Desktop and Cursor use).
//!
//! A server is either a stdio child (`command`, `args`, `env`, `cwd`) or a streamable HTTP
//! endpoint (`url`, `headers`). `${VAR}` and `${VAR:-default}` are expanded in every string
//! from the environment. Lathe's own keys: `enabled` (default true), `startup_timeout_sec`
//! (default 10), `tool_timeout_sec` (default 60), `enabled_tools` (only these) and
//! `disabled_tools` (never these).
//!
//! Invariants: loading never fails as a whole; each bad entry becomes a [`ConfigProblem`]
//! naming its file and server, and the others load. A `.mcp.json` entry replaces a
//! `config.toml` entry of the same name (the workspace is more specific). Unknown keys are
//! problems in `config.toml` (typos are reported) and ignored in `.mcp.json` (other tools
//! put their own keys there).

use serde::Serialize;
use serde_json::Value;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

/// Default `startup_timeout_sec`.
pub const DEFAULT_STARTUP_TIMEOUT: Duration = Duration::from_secs(10);
/// Default `tool_timeout_sec`.
pub const DEFAULT_TOOL_TIMEOUT: Duration = Duration::from_secs(60);

/// How to reach a server.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum ServerTransport {
    /// A child process speaking newline-delimited JSON-RPC on stdin/stdout.
    Stdio {
        command: String,
        args: Vec<String>,
        env: BTreeMap<String, String>,
        cwd: Option<PathBuf>,
    },
    /// A streamable HTTP endpoint.
    Http {
        url: String,
        headers: BTreeMap<String, String>,
    },
}

/// Where a server's configuration came from.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ConfigOrigin {
    /// `[mcp_servers]` in a `config.toml`.
    Config,
    /// A workspace `.mcp.json`.
    McpJson(PathBuf),
}

/// One configured MCP server.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct ServerConfig {
    pub name: String,
    pub transport: ServerTransport,
    pub enabled: bool,
    pub startup_timeout: Duration,
    pub tool_timeout: Duration,
    /// When set, only these tools (by the server's own names) are offered.
    pub enabled_tools: Option<Vec<String>>,
    /// Tools never offered.
    pub disabled_tools: Vec<String>,
    pub origin: ConfigOrigin,
}

impl ServerConfig {
    /// A stdio server with default settings.
    pub fn stdio(name: &str, command: &str, args: &[&str]) -> Self {
        Self::with_transport(
            name,
            ServerTransport::Stdio {
                command: command.to_owned(),
                args: args.iter().map(|a| (*a).to_owned()).collect(),
                env: BTreeMap::new(),
                cwd: None,
            },
        )
    }

    /// A streamable HTTP server with default settings.
    pub fn http(name: &str, url: &str) -> Self {
        Self::with_transport(
            name,
            ServerTransport::Http {
                url: url.to_owned(),
                headers: BTreeMap::new(),
            },
        )
    }

    fn with_transport(name: &str, transport: ServerTransport) -> Self {
        Self {
            name: name.to_owned(),
            transport,
            enabled: true,
            startup_timeout: DEFAULT_STARTUP_TIMEOUT,
            tool_timeout: DEFAULT_TOOL_TIMEOUT,
            enabled_tools: None,
            disabled_tools: Vec::new(),
            origin: ConfigOrigin::Config,
        }
    }

    /// Whether the server's tool `tool` (its own name) is offered.
    pub fn offers(&self, tool: &str) -> bool {
        self.enabled_tools
            .as_ref()
            .is_none_or(|only| only.iter().any(|t| t == tool))
            && !self.disabled_tools.iter().any(|t| t == tool)
    }
}

/// A configuration entry that could not be used as written.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct ConfigProblem {
    /// The file (or `config.toml`) the entry is in.
    pub source: String,
    pub server: Option<String>,
    pub message: String,
}

impl std::fmt::Display for ConfigProblem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &self.server {
            Some(server) => write!(
                f,
                "{}: MCP server `{server}`: {}",
                self.source, self.message
            ),
            None => write!(f, "{}: {}", self.source, self.message),
        }
    }
}

/// The servers and the problems met while reading them.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct LoadedServers {
    /// By name, enabled or not.
    pub servers: Vec<ServerConfig>,
    pub problems: Vec<ConfigProblem>,
}

const KNOWN_KEYS: &[&str] = &[
    "command",
    "args",
    "env",
    "cwd",
    "url",
    "headers",
    "type",
    "enabled",
    "startup_timeout_sec",
    "tool_timeout_sec",
    "enabled_tools",
    "disabled_tools",
];

/// Reads `[mcp_servers]` (as the daemon's config holds it) and `<workspace>/.mcp.json`,
/// expanding `${VAR}` from the process environment.
pub fn load(config: &BTreeMap<String, toml::Table>, workspace: Option<&Path>) -> LoadedServers {
    load_with_env(config, workspace, &|name| std::env::var(name).ok())
}

/// [`load`] with an explicit environment (tests).
pub fn load_with_env(
    config: &BTreeMap<String, toml::Table>,
    workspace: Option<&Path>,
    env: &dyn Fn(&str) -> Option<String>,
) -> LoadedServers {
    let mut loaded = LoadedServers::default();
    let mut by_name: BTreeMap<String, ServerConfig> = BTreeMap::new();
    for (name, table) in config {
        let value = match serde_json::to_value(table) {
            Ok(value) => value,
            Err(error) => {
                loaded.problems.push(problem("config.toml", name, error));
                continue;
            }
        };
        match parse_server(name, &value, ConfigOrigin::Config, env) {
            Ok(server) => {
                by_name.insert(name.clone(), server);
            }
            Err(message) => loaded.problems.push(problem("config.toml", name, message)),
        }
        if let Some(object) = value.as_object() {
            for key in object.keys().filter(|k| !KNOWN_KEYS.contains(&k.as_str())) {
                loaded.problems.push(problem(
                    "config.toml",
                    name,
                    format!("unknown key `{key}` (ignored)"),
                ));
            }
        }
    }
    if let Some(root) = workspace {
        let path = root.join(".mcp.json");
        if path.is_file() {
            read_mcp_json(&path, env, &mut by_name, &mut loaded.problems);
        }
    }
    loaded.servers = by_name.into_values().collect();
    loaded
}

fn read_mcp_json(
    path: &Path,
    env: &dyn Fn(&str) -> Option<String>,
    by_name: &mut BTreeMap<String, ServerConfig>,
    problems: &mut Vec<ConfigProblem>,
) {
    let source = path.display().to_string();
    let document: Value = match std::fs::read_to_string(path)
        .map_err(|e| e.to_string())
        .and_then(|text| serde_json::from_str(&text).map_err(|e| e.to_string()))
    {
        Ok(document) => document,
        Err(message) => {
            problems.push(ConfigProblem {
                source,
                server: None,
                message: format!("cannot read: {message}"),
            });
            return;
        }
    };
    let Some(servers) = document.get("mcpServers").and_then(Value::as_object) else {
        problems.push(ConfigProblem {
            source,
            server: None,
            message: "no `mcpServers` object".into(),
        });
        return;
    };
    for (name, value) in servers {
        match parse_server(name, value, ConfigOrigin::McpJson(path.to_path_buf()), env) {
            Ok(server) => {
                by_name.insert(name.clone(), server);
            }
            Err(message) => problems.push(problem(&source, name, message)),
        }
    }
}

fn problem(source: &str, server: &str, message: impl ToString) -> ConfigProblem {
    ConfigProblem {
        source: source.to_owned(),
        server: Some(server.to_owned()),
        message: message.to_string(),
    }
}

fn parse_server(
    name: &str,
    value: &Value,
    origin: ConfigOrigin,
    env: &dyn Fn(&str) -> Option<String>,
) -> Result<ServerConfig, String> {
    let object = value
        .as_object()
        .ok_or("expected a table of `command`/`args` or `url`")?;
    let text = |key: &str| -> Result<Option<String>, String> {
        match object.get(key) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::String(s)) => expand(s, env).map(Some),
            Some(_) => Err(format!("`{key}` must be a string")),
        }
    };
    let strings = |key: &str| -> Result<Option<Vec<String>>, String> {
        match object.get(key) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::Array(items)) => items
                .iter()
                .map(|item| {
                    item.as_str()
                        .ok_or_else(|| format!("`{key}` must be a list of strings"))
                        .and_then(|s| expand(s, env))
                })
                .collect::<Result<Vec<_>, _>>()
                .map(Some),
            Some(_) => Err(format!("`{key}` must be a list of strings")),
        }
    };
    let map = |key: &str| -> Result<BTreeMap<String, String>, String> {
        match object.get(key) {
            None | Some(Value::Null) => Ok(BTreeMap::new()),
            Some(Value::Object(entries)) => entries
                .iter()
                .map(|(k, v)| match v {
                    Value::String(s) => expand(s, env).map(|s| (k.clone(), s)),
                    _ => Err(format!("`{key}.{k}` must be a string")),
                })
                .collect(),
            Some(_) => Err(format!("`{key}` must be a table of strings")),
        }
    };
    let seconds = |key: &str, default: Duration| -> Result<Duration, String> {
        match object.get(key) {
            None | Some(Value::Null) => Ok(default),
            Some(value) => value
                .as_f64()
                .filter(|s| *s > 0.0)
                .and_then(|s| Duration::try_from_secs_f64(s).ok())
                .ok_or_else(|| format!("`{key}` must be a positive number of seconds")),
        }
    };
    let kind = text("type")?;
    let transport = match (text("command")?, text("url")?) {
        (Some(_), Some(_)) => return Err("give either `command` or `url`, not both".into()),
        (None, None) => return Err("needs `command` (stdio) or `url` (HTTP)".into()),
        (Some(command), None) => ServerTransport::Stdio {
            command,
            args: strings("args")?.unwrap_or_default(),
            env: map("env")?,
            cwd: text("cwd")?.map(PathBuf::from),
        },
        (None, Some(url)) => {
            if kind.as_deref() == Some("sse") {
                return Err(
                    "the legacy HTTP+SSE transport is not supported; use the server's streamable HTTP endpoint"
                        .into(),
                );
            }
            if !(url.starts_with("http://") || url.starts_with("https://")) {
                return Err(format!("`url` must be http:// or https://, got {url:?}"));
            }
            ServerTransport::Http {
                url,
                headers: map("headers")?,
            }
        }
    };
    let enabled = match object.get("enabled") {
        None | Some(Value::Null) => true,
        Some(Value::Bool(b)) => *b,
        Some(_) => return Err("`enabled` must be true or false".into()),
    };
    Ok(ServerConfig {
        name: name.to_owned(),
        transport,
        enabled,
        startup_timeout: seconds("startup_timeout_sec", DEFAULT_STARTUP_TIMEOUT)?,
        tool_timeout: seconds("tool_timeout_sec", DEFAULT_TOOL_TIMEOUT)?,
        enabled_tools: strings("enabled_tools")?,
        disabled_tools: strings("disabled_tools")?.unwrap_or_default(),
        origin,
    })
}

/// Expands `${VAR}` and `${VAR:-default}`; `$$` is not special. An unset variable without
/// a default is an error naming it.
pub fn expand(text: &str, env: &dyn Fn(&str) -> Option<String>) -> Result<String, String> {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(start) = rest.find("${") {
        out.push_str(&rest[..start]);
        let after = &rest[start + 2..];
        let end = after
            .find('}')
            .ok_or_else(|| format!("unclosed `${{` in {text:?}"))?;
        let inner = &after[..end];
        let (name, default) = match inner.split_once(":-") {
            Some((name, default)) => (name, Some(default)),
            None => (inner, None),
        };
        if name.is_empty() || !name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
            return Err(format!("bad variable name `{name}` in {text:?}"));
        }
        match (env(name).filter(|v| !v.is_empty()), default) {
            (Some(value), _) => out.push_str(&value),
            (None, Some(default)) => out.push_str(default),
            (None, None) => {
                return Err(format!(
                    "environment variable `{name}` is not set (use `${{{name}:-default}}` for a default)"
                ));
            }
        }
        rest = &after[end + 1..];
    }
    out.push_str(rest);
    Ok(out)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use pretty_assertions::assert_eq;

    fn env(name: &str) -> Option<String> {
        match name {
            "TOKEN" => Some("s3cret".into()),
            "HOME" => Some("/home/u".into()),
            _ => None,
        }
    }

    #[test]
    fn config_and_mcp_json_merge_with_expansion_and_problems() {
        let config: BTreeMap<String, toml::Table> = toml::from_str(
            r#"
            [git]
            command = "mcp-server-git"
            args = ["--repository", "${HOME}/src"]
            tool_timeout_sec = 5
            disabled_tools = ["git_commit"]
            [time]
            command = "old-time"
            [typo]
            comand = "x"
            [forever]
            command = "x"
            tool_timeout_sec = 1e30
            "#,
        )
        .unwrap();
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(
            dir.path().join(".mcp.json"),
            r#"{"mcpServers": {
                "time": {"command": "mcp-server-time", "env": {"TZ": "${TZ:-UTC}"}, "cwd": "tools"},
                "remote": {"type": "http", "url": "https://mcp.example.invalid/mcp",
                           "headers": {"Authorization": "Bearer ${TOKEN}"}, "enabled": false,
                           "enabled_tools": ["search"], "startup_timeout_sec": 2.5},
                "legacy": {"type": "sse", "url": "https://old.example.invalid/sse"},
                "nokey": {"command": "x", "env": {"K": "${MISSING}"}}
            }}"#,
        )
        .unwrap();
        let loaded = load_with_env(&config, Some(dir.path()), &env);
        let mcp_json = ConfigOrigin::McpJson(dir.path().join(".mcp.json"));
        let mut git =
            ServerConfig::stdio("git", "mcp-server-git", &["--repository", "/home/u/src"]);
        git.tool_timeout = Duration::from_secs(5);
        git.disabled_tools = vec!["git_commit".into()];
        let mut remote = ServerConfig::http("remote", "https://mcp.example.invalid/mcp");
        remote.transport = ServerTransport::Http {
            url: "https://mcp.example.invalid/mcp".into(),
            headers: BTreeMap::from([("Authorization".into(), "Bearer s3cret".into())]),
        };
        remote.enabled = false;
        remote.enabled_tools = Some(vec!["search".into()]);
        remote.startup_timeout = Duration::from_secs_f64(2.5);
        remote.origin = mcp_json.clone();
        let mut time = ServerConfig::stdio("time", "mcp-server-time", &[]);
        time.transport = ServerTransport::Stdio {
            command: "mcp-server-time".into(),
            args: vec![],
            env: BTreeMap::from([("TZ".into(), "UTC".into())]),
            cwd: Some(PathBuf::from("tools")),
        };
        time.origin = mcp_json;
        assert_eq!(loaded.servers, vec![git, remote, time]);
        let source = dir.path().join(".mcp.json").display().to_string();
        assert_eq!(
            loaded
                .problems
                .iter()
                .map(ToString::to_string)
                .collect::<Vec<_>>(),
            vec![
                "config.toml: MCP server `forever`: `tool_timeout_sec` must be a positive number of seconds"
                    .to_owned(),
                "config.toml: MCP server `typo`: needs `command` (stdio) or `url` (HTTP)"
                    .to_owned(),
                "config.toml: MCP server `typo`: unknown key `comand` (ignored)".to_owned(),
                format!(
                    "{source}: MCP server `legacy`: the legacy HTTP+SSE transport is not supported; use the server's streamable HTTP endpoint"
                ),
                format!(
                    "{source}: MCP server `nokey`: environment variable `MISSING` is not set (use `${{MISSING:-default}}` for a default)"
                ),
            ]
        );
        assert!(loaded.servers[0].offers("git_status"));
        assert!(!loaded.servers[0].offers("git_commit"));
        assert!(!loaded.servers[1].offers("fetch"));
    }

    #[test]
    fn expansion() {
        assert_eq!(expand("a${TOKEN}b${X:-d}", &env).unwrap(), "as3cretbd");
        assert_eq!(expand("plain $HOME", &env).unwrap(), "plain $HOME");
        assert!(expand("${", &env).unwrap_err().contains("unclosed"));
        assert!(
            expand("${A B}", &env)
                .unwrap_err()
                .contains("bad variable name")
        );
    }
}
