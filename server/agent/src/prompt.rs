//! The prompt builder's view of the code: every run's system prompt ends with a repo map
//! of the workspace (lathe-context), personalized toward the identifiers and paths the
//! user's prompt mentions, within `AgentConfig::repo_map_tokens` and an eighth of the
//! model's context window.
//!
//! Invariants: the map is a help, never a condition: an empty workspace, a failed scan or
//! a zero budget give no section, and the run goes on.

use crate::agent::AgentConfig;
use crate::tools::build_map;
use lathe_context::MapRequest;
use std::path::PathBuf;

/// The `## Repository map` section for a run of `prompt`, if there is anything to show.
pub(crate) async fn repo_map_section(config: &AgentConfig, prompt: &str) -> Option<String> {
    if config.repo_map_tokens == 0 {
        return None;
    }
    let (focus, mentioned) = mentions(prompt);
    // Small windows (local models) keep most of their room for the conversation.
    let budget = config
        .repo_map_tokens
        .min(config.model.context_window as usize / 8);
    if budget < 64 {
        return None;
    }
    let request = MapRequest {
        budget,
        focus,
        mentioned,
    };
    match build_map(&config.workspace, config.repo_map_cache.as_deref(), request).await {
        Ok(map) if !map.text.trim().is_empty() => Some(format!(
            "## Repository map\n\nThe most relevant definitions of the workspace, ranked \
             (more with the `repo_map` tool):\n\n{}",
            map.text.trim_end()
        )),
        Ok(_) => None,
        Err(error) => {
            tracing::warn!(%error, "no repo map in the prompt");
            None
        }
    }
}

/// The paths (words with a `/` or a file extension) and identifiers a prompt mentions.
fn mentions(prompt: &str) -> (Vec<PathBuf>, Vec<String>) {
    let mut paths = Vec::new();
    let mut identifiers = Vec::new();
    let words = prompt.split(|c: char| {
        c.is_whitespace() || matches!(c, '`' | '"' | '\'' | ',' | '(' | ')' | ';')
    });
    for word in words {
        let word = word.trim_end_matches(['.', '?', '!', ':']);
        // `src/a.rs:12:5` names the file.
        let word = match word.split_once(':') {
            Some((path, at)) if at.starts_with(|c: char| c.is_ascii_digit()) => path,
            _ => word,
        };
        if word.contains('/')
            || word
                .rsplit_once('.')
                .is_some_and(|(_, ext)| is_extension(ext))
        {
            paths.push(PathBuf::from(word));
        } else if is_identifier(word) {
            for segment in word.split("::").filter(|s| s.len() >= 3) {
                if !identifiers.iter().any(|i| i == segment) {
                    identifiers.push(segment.to_owned());
                }
            }
        }
    }
    (paths, identifiers)
}

fn is_extension(ext: &str) -> bool {
    (1..=5).contains(&ext.len()) && ext.chars().all(|c| c.is_ascii_alphanumeric())
}

/// Code-like words: `snake_case`, `camelCase`, `PascalCase` or `Type::item`, at least 3
/// characters, not plain English.
fn is_identifier(word: &str) -> bool {
    let starts = word
        .chars()
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_');
    let body = word.split("::").all(|segment| {
        !segment.is_empty()
            && segment
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '_')
    });
    let code_like = word.contains('_')
        || word.contains("::")
        || word.chars().skip(1).any(|c| c.is_ascii_uppercase());
    starts && body && word.len() >= 3 && code_like
}

#[cfg(test)]
mod tests {
    use super::mentions;
    use pretty_assertions::assert_eq;
    use std::path::PathBuf;

    #[test]
    fn prompts_mention_paths_and_code_identifiers() {
        let (paths, identifiers) = mentions(
            "Why does `parse_config` in src/config.rs:12 call ConfigLoader::load twice? See main.py.",
        );
        assert_eq!(
            paths,
            [PathBuf::from("src/config.rs"), PathBuf::from("main.py")]
        );
        assert_eq!(identifiers, ["parse_config", "ConfigLoader", "load"]);
    }
}
