//! Configuration: `~/.config/lathe/config.toml`, overlaid by `<workspace>/.lathe/config.toml`,
//! overlaid by the environment.
//!
//! Invariants: loading never fails. A file that does not parse or does not fit the schema is
//! skipped as a whole and reported as a [`ConfigProblem`] with file, line and column; the rest
//! still applies. Precedence, lowest first: user file, workspace file, `LATHE_*` variables.
//! `OPENAI_BASE_URL` and `OPENAI_API_KEY` only fill what nothing else set.

use crate::paths::Paths;
use lathe_protocol::config::{ModelConfig, PolicyConfig};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::fmt;
use std::path::{Path, PathBuf};

/// The whole configuration.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Config {
    pub model: ModelConfig,
    pub policy: PolicyConfig,
    /// `[sandbox]`: every isolation setting of lathe-sandbox.
    pub sandbox: lathe_sandbox::SandboxConfig,
    pub daemon: DaemonSection,
    /// MCP servers by name, in the `mcpServers` shape of Claude Code and Cursor.
    pub mcp_servers: BTreeMap<String, toml::Table>,
}

/// `[daemon]`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct DaemonSection {
    /// The HTTP port on 127.0.0.1; 0 picks a free one.
    pub port: u16,
}

impl Default for DaemonSection {
    fn default() -> Self {
        Self { port: 7878 }
    }
}

/// Something wrong in a config source, located as precisely as possible.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct ConfigProblem {
    /// The file, or `environment` for a variable.
    pub source: String,
    pub line: Option<usize>,
    pub column: Option<usize>,
    pub message: String,
}

impl fmt::Display for ConfigProblem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match (self.line, self.column) {
            (Some(line), Some(column)) => {
                write!(f, "{}:{line}:{column}: {}", self.source, self.message)
            }
            _ => write!(f, "{}: {}", self.source, self.message),
        }
    }
}

/// The configuration in force, where it came from, and what was wrong.
#[derive(Clone, Debug, Default)]
pub struct LoadedConfig {
    pub config: Config,
    /// The files that were read and applied.
    pub files: Vec<PathBuf>,
    pub problems: Vec<ConfigProblem>,
}

/// Loads the configuration for a workspace (if any) from files and the process environment.
pub fn load(paths: &Paths, workspace: Option<&Path>) -> LoadedConfig {
    load_with_env(paths, workspace, |name| {
        std::env::var(name).ok().filter(|v| !v.is_empty())
    })
}

/// [`load`] with an explicit environment (tests).
pub fn load_with_env(
    paths: &Paths,
    workspace: Option<&Path>,
    env: impl Fn(&str) -> Option<String>,
) -> LoadedConfig {
    let mut loaded = LoadedConfig::default();
    let mut merged = toml::Table::new();
    let candidates = std::iter::once(paths.user_config_file())
        .chain(workspace.map(|w| w.join(".lathe").join("config.toml")));
    for file in candidates {
        let text = match std::fs::read_to_string(&file) {
            Ok(text) => text,
            Err(error) if error.kind() == std::io::ErrorKind::NotFound => continue,
            Err(error) => {
                loaded.problems.push(ConfigProblem {
                    source: file.display().to_string(),
                    line: None,
                    column: None,
                    message: format!("cannot read: {error}"),
                });
                continue;
            }
        };
        match parse_file(&text) {
            Ok(mut table) => {
                // A workspace's guarded settings apply only once trusted (`trust.rs`); the
                // hub, `lathe run` and `lathe doctor` say so.
                if let Some(workspace) = workspace
                    && file == workspace.join(".lathe").join("config.toml")
                    && crate::trust::check(paths, workspace).untrusted()
                {
                    crate::trust::take_guarded(&mut table);
                }
                merge(&mut merged, table);
                loaded.files.push(file);
            }
            Err(error) => loaded.problems.push(problem_at(&file, &text, &error)),
        }
    }
    loaded.config = match Config::deserialize(merged) {
        Ok(config) => config,
        Err(error) => {
            loaded.problems.push(ConfigProblem {
                source: "configuration".into(),
                line: None,
                column: None,
                message: error.message().to_owned(),
            });
            Config::default()
        }
    };
    apply_env(&mut loaded, env);
    loaded
}

/// Checks a file against the schema (so errors carry positions) and returns its table.
fn parse_file(text: &str) -> Result<toml::Table, toml::de::Error> {
    toml::from_str::<Config>(text)?;
    toml::from_str::<toml::Table>(text)
}

fn problem_at(file: &Path, text: &str, error: &toml::de::Error) -> ConfigProblem {
    let (line, column) = match error.span() {
        Some(span) => {
            let before = &text[..span.start.min(text.len())];
            let line = before.matches('\n').count() + 1;
            let column = before.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
            (Some(line), Some(column))
        }
        None => (None, None),
    };
    ConfigProblem {
        source: file.display().to_string(),
        line,
        column,
        message: error.message().trim().to_owned(),
    }
}

/// Deep merge: tables merge key by key, anything else in `over` replaces what is in `base`.
fn merge(base: &mut toml::Table, over: toml::Table) {
    for (key, value) in over {
        match (base.get_mut(&key), value) {
            (Some(toml::Value::Table(base_table)), toml::Value::Table(over_table)) => {
                merge(base_table, over_table)
            }
            (_, value) => {
                base.insert(key, value);
            }
        }
    }
}

fn apply_env(loaded: &mut LoadedConfig, env: impl Fn(&str) -> Option<String>) {
    let model = &mut loaded.config.model;
    if let Some(url) = env("LATHE_BASE_URL") {
        model.base_url = Some(url);
    }
    if let Some(name) = env("LATHE_MODEL") {
        model.model = Some(name);
    }
    if let Some(key) = env("LATHE_API_KEY") {
        model.api_key = Some(key);
    }
    if model.base_url.is_none() {
        model.base_url = env("OPENAI_BASE_URL");
    }
    if model.api_key.is_none() {
        model.api_key = env("OPENAI_API_KEY");
    }
    if let Some(value) = env("LATHE_SANDBOX") {
        match toml::Value::String(value.clone()).try_into::<lathe_sandbox::BackendChoice>() {
            Ok(backend) => loaded.config.sandbox.backend = backend,
            Err(_) => loaded.problems.push(ConfigProblem {
                source: "environment".into(),
                line: None,
                column: None,
                message: format!(
                    "LATHE_SANDBOX={value} is not a sandbox backend; use auto, docker, bwrap or none"
                ),
            }),
        }
    }
}

/// What to tell a user who has no model configured.
pub const NO_MODEL_HELP: &str = "no model configured: set LATHE_BASE_URL (the API base \
including /v1, e.g. http://127.0.0.1:11434/v1 for Ollama) and LATHE_MODEL, and LATHE_API_KEY \
if the server needs one; or put base_url, model and api_key under [model] in \
~/.config/lathe/config.toml";

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use pretty_assertions::assert_eq;
    use std::collections::HashMap;

    struct Fixture {
        _dir: tempfile::TempDir,
        paths: Paths,
        workspace: PathBuf,
    }

    fn fixture(user: Option<&str>, workspace: Option<&str>) -> Fixture {
        let dir = tempfile::tempdir().unwrap();
        let paths = Paths::under(dir.path());
        let ws = dir.path().join("ws");
        std::fs::create_dir_all(ws.join(".lathe")).unwrap();
        std::fs::create_dir_all(&paths.config_dir).unwrap();
        if let Some(text) = user {
            std::fs::write(paths.user_config_file(), text).unwrap();
        }
        if let Some(text) = workspace {
            std::fs::write(ws.join(".lathe/config.toml"), text).unwrap();
        }
        Fixture {
            _dir: dir,
            paths,
            workspace: ws,
        }
    }

    fn load_in(f: &Fixture, env: &[(&str, &str)]) -> LoadedConfig {
        let env: HashMap<String, String> = env
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        load_with_env(&f.paths, Some(&f.workspace), |name| env.get(name).cloned())
    }

    #[test]
    fn an_untrusted_workspace_config_sets_no_guarded_setting() {
        let f = fixture(
            Some("[model]\nbase_url = \"http://user/v1\"\n"),
            Some(
                "[model]\nbase_url = \"http://elsewhere/v1\"\nmodel = \"ws-model\"\n[policy]\nmode = \"auto\"\n[sandbox]\nbackend = \"none\"\n",
            ),
        );
        let c = load_in(&f, &[]).config;
        assert_eq!(c.model.base_url.as_deref(), Some("http://user/v1"));
        assert_eq!(
            c.model.model.as_deref(),
            Some("ws-model"),
            "the rest applies"
        );
        assert_eq!(c.policy.mode, lathe_protocol::config::ApprovalMode::Ask);
        assert_eq!(c.sandbox.backend, lathe_sandbox::BackendChoice::Auto);
        crate::trust::trust(&f.paths, &f.workspace).unwrap();
        let c = load_in(&f, &[]).config;
        assert_eq!(c.model.base_url.as_deref(), Some("http://elsewhere/v1"));
        assert_eq!(c.policy.mode, lathe_protocol::config::ApprovalMode::Auto);
    }

    #[test]
    fn workspace_overlays_user_and_environment_overlays_both() {
        let f = fixture(
            Some(
                "[model]\nbase_url = \"http://user/v1\"\nmodel = \"user-model\"\ncontext_window = 1000\n[daemon]\nport = 9000\n",
            ),
            Some(
                "[model]\nmodel = \"ws-model\"\n[policy]\nmode = \"auto\"\nallow = [\"run_command(cargo test:*)\"]\n",
            ),
        );
        crate::trust::trust(&f.paths, &f.workspace).unwrap();
        let loaded = load_in(
            &f,
            &[
                ("LATHE_API_KEY", "env-key"),
                ("OPENAI_API_KEY", "ignored"),
                ("LATHE_SANDBOX", "bwrap"),
            ],
        );
        assert_eq!(loaded.problems, vec![]);
        assert_eq!(loaded.files.len(), 2);
        let c = loaded.config;
        assert_eq!(c.model.base_url.as_deref(), Some("http://user/v1"));
        assert_eq!(c.model.model.as_deref(), Some("ws-model"));
        assert_eq!(c.model.context_window, 1000, "tables merge key by key");
        assert_eq!(c.model.api_key.as_deref(), Some("env-key"));
        assert_eq!(c.daemon.port, 9000);
        assert_eq!(c.policy.mode, lathe_protocol::config::ApprovalMode::Auto);
        assert_eq!(c.policy.allow, vec!["run_command(cargo test:*)".to_owned()]);
        assert_eq!(c.sandbox.backend, lathe_sandbox::BackendChoice::Bwrap);
    }

    #[test]
    fn lathe_variables_beat_files_and_openai_variables_only_fill_gaps() {
        let f = fixture(Some("[model]\nbase_url = \"http://file/v1\"\n"), None);
        let loaded = load_in(
            &f,
            &[
                ("OPENAI_BASE_URL", "http://openai/v1"),
                ("OPENAI_API_KEY", "sk-openai"),
                ("LATHE_MODEL", "m"),
            ],
        );
        assert_eq!(
            loaded.config.model.base_url.as_deref(),
            Some("http://file/v1")
        );
        assert_eq!(loaded.config.model.api_key.as_deref(), Some("sk-openai"));
        assert_eq!(loaded.config.model.model.as_deref(), Some("m"));
        let loaded = load_in(&f, &[("LATHE_BASE_URL", "http://lathe/v1")]);
        assert_eq!(
            loaded.config.model.base_url.as_deref(),
            Some("http://lathe/v1")
        );
    }

    #[test]
    fn a_broken_file_is_reported_with_position_and_the_other_still_applies() {
        let f = fixture(
            Some("[model]\nmodel = \"user-model\"\n"),
            Some("[model]\nmodel = \"ws\"\ncontext_window = \"big\"\n"),
        );
        let loaded = load_in(&f, &[]);
        let file = f.workspace.join(".lathe/config.toml").display().to_string();
        assert_eq!(loaded.problems.len(), 1);
        let problem = &loaded.problems[0];
        assert_eq!(
            (problem.source.as_str(), problem.line, problem.column),
            (file.as_str(), Some(3), Some(18))
        );
        assert!(
            problem.message.contains("invalid type"),
            "{}",
            problem.message
        );
        assert_eq!(loaded.config.model.model.as_deref(), Some("user-model"));
    }

    #[test]
    fn syntax_errors_and_bad_variables_are_problems_not_crashes() {
        let f = fixture(Some("[model\nmodel = 1\n"), None);
        let loaded = load_in(&f, &[("LATHE_SANDBOX", "podman")]);
        let rendered: Vec<String> = loaded.problems.iter().map(ToString::to_string).collect();
        assert_eq!(rendered.len(), 2, "{rendered:?}");
        assert!(
            rendered[0].starts_with(&format!("{}:1:", f.paths.user_config_file().display())),
            "{}",
            rendered[0]
        );
        assert_eq!(
            rendered[1],
            "environment: LATHE_SANDBOX=podman is not a sandbox backend; use auto, docker, bwrap or none"
        );
        assert_eq!(loaded.config, Config::default());
    }
}
