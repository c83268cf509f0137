//! Configuration types shared between the daemon (which loads them) and the crates that
//! use them. Every field has a default so a partial file is valid; unknown keys are errors
//! so that typos are reported instead of silently ignored.

use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// The model endpoint and its limits.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ModelConfig {
    /// API base including `/v1`, e.g. `https://api.openai.com/v1`.
    pub base_url: Option<String>,
    pub model: Option<String>,
    pub api_key: Option<String>,
    /// The model's context window in tokens.
    pub context_window: u32,
    /// Tokens reserved for the answer.
    pub max_output_tokens: u32,
    pub request_timeout_secs: u64,
    pub stream_idle_timeout_secs: u64,
    pub max_retries: u32,
    /// Price per million tokens, by model name.
    pub prices: BTreeMap<String, Price>,
}

impl Default for ModelConfig {
    fn default() -> Self {
        Self {
            base_url: None,
            model: None,
            api_key: None,
            context_window: 128_000,
            max_output_tokens: 8_192,
            request_timeout_secs: 300,
            stream_idle_timeout_secs: 60,
            max_retries: 4,
            prices: BTreeMap::new(),
        }
    }
}

impl ModelConfig {
    /// Whether enough is configured to call a model.
    pub fn is_configured(&self) -> bool {
        self.base_url.is_some() && self.model.is_some()
    }
}

/// USD per million tokens.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Price {
    pub input: f64,
    pub output: f64,
    #[serde(default)]
    pub cached_input: Option<f64>,
}

/// How the policy treats actions that no rule decides.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum ApprovalMode {
    /// Only read-only tools; everything else is denied.
    ReadOnly,
    /// Ask for anything that writes or runs.
    #[default]
    Ask,
    /// Allow what stays in the sandbox and the workspace; ask for anything outside.
    Auto,
}

impl ApprovalMode {
    /// The stricter of two modes (read-only < ask < auto).
    pub fn stricter(self, other: ApprovalMode) -> ApprovalMode {
        let rank = |m| match m {
            ApprovalMode::ReadOnly => 0,
            ApprovalMode::Ask => 1,
            ApprovalMode::Auto => 2,
        };
        if rank(self) <= rank(other) {
            self
        } else {
            other
        }
    }
}

/// Allow/ask/deny rules in Claude Code's shape, e.g. `run_command(cargo test:*)`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct PolicyConfig {
    pub mode: ApprovalMode,
    pub allow: Vec<String>,
    pub ask: Vec<String>,
    pub deny: Vec<String>,
    /// Seconds an approval waits for an answer before it counts as a deny.
    pub approval_timeout_secs: Option<u64>,
}
