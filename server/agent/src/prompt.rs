//! The prompt builder's view of the code: every run's system prompt ends with a repo map
//! of the workspace (lathe-context), within `AgentConfig::repo_map_tokens` and an eighth
//! of the model's context window. The map is not personalized to the prompt, so the system
//! prompt stays the same from run to run while the code does not change, and the model
//! server's prompt cache keeps working; the `repo_map` tool gives focused maps.
//!
//! Invariants: the agent keeps the workspace's index between runs, so a run re-reads only
//! the files that changed and ranks again only when the index's fingerprint changed; the
//! map is a help, never a condition: an empty workspace, a failed scan, a zero budget or
//! a first index of a big workspace that takes longer than [`WAIT`] give no section (the
//! index goes on building in the background for the next run), and the run goes on.

use crate::agent::AgentConfig;
use lathe_context::{ContextError, IndexOptions, MapRequest, RepoIndex};
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// The longest a run waits for its repo map before it goes on without one.
const WAIT: Duration = Duration::from_secs(2);

/// What one agent keeps between runs for the prompt's repo map.
#[derive(Default)]
pub(crate) struct PromptMap {
    /// Taken by the run building a section, put back after (a concurrent run builds its
    /// own and keeps nothing).
    kept: Arc<Mutex<Option<Kept>>>,
}

struct Kept {
    index: RepoIndex,
    /// The last section, with the index fingerprint and the budget it was made for.
    last: Option<([u8; 32], usize, Option<String>)>,
}

impl PromptMap {
    fn take(&self) -> Option<Kept> {
        self.kept.lock().ok().and_then(|mut kept| kept.take())
    }
}

fn put(slot: &Mutex<Option<Kept>>, kept: Kept) {
    if let Ok(mut slot) = slot.lock() {
        *slot = Some(kept);
    }
}

/// The `## Repository map` section of a run's system prompt, if there is anything to show.
pub(crate) async fn repo_map_section(config: &AgentConfig, map: &PromptMap) -> Option<String> {
    // Small windows (local models) keep most of their room for the conversation.
    let budget = config
        .repo_map_tokens
        .min(config.model.context_window as usize / 8);
    if budget < 64 {
        return None;
    }
    let taken = map.take();
    let workspace = config.workspace.clone();
    let cache_dir = config.repo_map_cache.clone();
    let mut building = tokio::task::spawn_blocking(move || -> Result<_, ContextError> {
        let mut kept = match taken {
            Some(kept) => kept,
            None => Kept {
                index: RepoIndex::open(
                    &workspace,
                    IndexOptions {
                        cache_dir,
                        ..IndexOptions::default()
                    },
                )?,
                last: None,
            },
        };
        kept.index.refresh()?;
        let fingerprint = kept.index.fingerprint();
        let section = match &kept.last {
            Some((f, b, section)) if *f == fingerprint && *b == budget => section.clone(),
            _ => {
                let request = MapRequest {
                    budget,
                    ..MapRequest::default()
                };
                let text = kept.index.map(&request)?.text;
                let section = (!text.trim().is_empty()).then(|| {
                    format!(
                        "## Repository map\n\nThe most referenced definitions of the workspace, \
                         in file order:\n\n{}",
                        text.trim_end()
                    )
                });
                kept.last = Some((fingerprint, budget, section.clone()));
                section
            }
        };
        Ok((kept, section))
    });
    let built = match tokio::time::timeout(WAIT, &mut building).await {
        Ok(built) => built,
        Err(_) => {
            tracing::info!("the repo map is still being built; this run goes without it");
            let slot = map.kept.clone();
            tokio::spawn(async move {
                if let Ok(Ok((kept, _))) = building.await {
                    put(&slot, kept);
                }
            });
            return None;
        }
    };
    match built {
        Ok(Ok((kept, section))) => {
            put(&map.kept, kept);
            section
        }
        Ok(Err(error)) => {
            tracing::warn!(%error, "no repo map in the prompt");
            None
        }
        Err(error) => {
            tracing::warn!(%error, "no repo map in the prompt");
            None
        }
    }
}
