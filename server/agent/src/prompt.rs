//! The prompt builder's view of the code: every run's system prompt ends with a repo map
//! of the workspace (lathe-context), within `AgentConfig::repo_map_tokens` and an eighth
//! of the model's context window. The map is not personalized to the prompt, so the system
//! prompt stays the same from run to run while the code does not change, and the model
//! server's prompt cache keeps working; the `repo_map` tool gives focused maps.
//!
//! Invariants: the map is a help, never a condition: an empty workspace, a failed scan or
//! a zero budget give no section, and the run goes on.

use crate::agent::AgentConfig;
use crate::tools::build_map;
use lathe_context::MapRequest;

/// The `## Repository map` section of a run's system prompt, if there is anything to show.
pub(crate) async fn repo_map_section(config: &AgentConfig) -> Option<String> {
    if config.repo_map_tokens == 0 {
        return None;
    }
    // Small windows (local models) keep most of their room for the conversation.
    let budget = config
        .repo_map_tokens
        .min(config.model.context_window as usize / 8);
    if budget < 64 {
        return None;
    }
    let request = MapRequest {
        budget,
        ..MapRequest::default()
    };
    match build_map(&config.workspace, config.repo_map_cache.as_deref(), request).await {
        Ok(map) if !map.text.trim().is_empty() => Some(format!(
            "## Repository map\n\nThe most referenced definitions of the workspace, in file \
             order:\n\n{}",
            map.text.trim_end()
        )),
        Ok(_) => None,
        Err(error) => {
            tracing::warn!(%error, "no repo map in the prompt");
            None
        }
    }
}
