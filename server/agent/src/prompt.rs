//! The prompt builder's view of the code: every run's system prompt ends with a repo map
//! of the workspace (lathe-context), within `AgentConfig::repo_map_tokens` and an eighth
//! of the model's context window. The map is not personalized to the prompt, so the system
//! prompt stays the same from run to run while the code does not change, and the model
//! server's prompt cache keeps working; the `repo_map` tool gives focused maps.
//!
//! Invariants: the agent keeps the workspace's index between runs, so a run re-reads only
//! the files that changed and ranks again only when the index's fingerprint changed; the
//! map is a help, never a condition: an empty workspace, a failed scan, a zero budget or
//! a first index of a big workspace that takes longer than `AgentConfig::repo_map_wait`
//! ([`DEFAULT_WAIT`]) give no section (the
//! index goes on building in the background for the agent's next run; a short-lived
//! `lathe run` does not wait for it), and the run goes on; one index is built at a time.

use crate::agent::AgentConfig;
use lathe_context::{ContextError, IndexOptions, MapRequest, RepoIndex};
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// How long a run waits for its repo map by default before it goes on without one.
pub(crate) const DEFAULT_WAIT: Duration = Duration::from_secs(2);

/// What one agent keeps between runs for the prompt's repo map.
#[derive(Default)]
pub(crate) struct PromptMap {
    slot: Arc<Mutex<Slot>>,
}

/// The kept index. A run (or a background build) takes it while it works; runs that find
/// it taken go without a map rather than build a second index.
#[derive(Default)]
enum Slot {
    #[default]
    Empty,
    Ready(Box<Kept>),
    Building,
}

struct Kept {
    index: RepoIndex,
    /// The last section, with the index fingerprint and the budget it was made for.
    last: Option<([u8; 32], usize, Option<String>)>,
}

impl PromptMap {
    /// The kept index (`Some(None)` before the first build), or `None` while another run
    /// or a background build works on it.
    fn take(&self) -> Option<Option<Kept>> {
        let mut slot = self.slot.lock().ok()?;
        match std::mem::replace(&mut *slot, Slot::Building) {
            Slot::Building => None,
            Slot::Empty => Some(None),
            Slot::Ready(kept) => Some(Some(*kept)),
        }
    }
}

/// The right to build: ends the build when finished, or when dropped (a run that stops
/// waiting), so the slot is never left taken.
struct Claim {
    slot: Option<Arc<Mutex<Slot>>>,
}

impl Claim {
    /// Ends the build, keeping its index when it has one.
    fn finish(mut self, kept: Option<Kept>) {
        self.end(kept);
    }

    fn end(&mut self, kept: Option<Kept>) {
        let Some(slot) = self.slot.take() else { return };
        if let Ok(mut slot) = slot.lock() {
            *slot = kept.map_or(Slot::Empty, |kept| Slot::Ready(Box::new(kept)));
        }
    }
}

impl Drop for Claim {
    fn drop(&mut self) {
        self.end(None);
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
    let taken = map.take()?;
    let claim = Claim {
        slot: Some(map.slot.clone()),
    };
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
    let built = match tokio::time::timeout(config.repo_map_wait, &mut building).await {
        Ok(built) => built,
        Err(_) => {
            tracing::info!("the repo map is still being built; this run goes without it");
            tokio::spawn(async move {
                let kept = match building.await {
                    Ok(Ok((kept, _))) => Some(kept),
                    _ => None,
                };
                claim.finish(kept);
            });
            return None;
        }
    };
    match built
        .map_err(|e| e.to_string())
        .and_then(|b| b.map_err(|e| e.to_string()))
    {
        Ok((kept, section)) => {
            claim.finish(Some(kept));
            section
        }
        Err(error) => {
            tracing::warn!(%error, "no repo map in the prompt");
            None
        }
    }
}
