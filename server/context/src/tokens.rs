//! Token counting with tiktoken's `o200k_base` encoding (GPT-4o and later models).
//!
//! Invariants: the encoder is built once per process, and is tiktoken-rs's own singleton,
//! so the agent's context window shares it; counts are of ordinary text (special
//! tokens are counted as text). o200k's pre-tokenizer never joins a line's text with the
//! next line's, so counting line by line gives the whole text's count, except that runs of
//! line breaks (blank lines) count one token per break instead of one per run: the line by
//! line count is an upper bound, within a few percent.

use std::hash::BuildHasher;
use std::sync::OnceLock;

use tiktoken_rs::CoreBPE;

use crate::error::ContextError;

/// Counts tokens as `o200k_base` does.
pub struct TokenCounter {
    bpe: &'static CoreBPE,
}

impl std::fmt::Debug for TokenCounter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("TokenCounter(o200k_base)")
    }
}

impl TokenCounter {
    /// The shared `o200k_base` counter.
    pub fn o200k() -> Result<&'static TokenCounter, ContextError> {
        static COUNTER: OnceLock<Result<TokenCounter, String>> = OnceLock::new();
        COUNTER
            .get_or_init(|| {
                tiktoken_rs::bpe_for_tokenizer(tiktoken_rs::tokenizer::Tokenizer::O200kBase)
                    .map(|bpe| TokenCounter { bpe })
                    .map_err(|e| e.to_string())
            })
            .as_ref()
            .map_err(|e| ContextError::Tokenizer(e.clone()))
    }

    /// Number of tokens in `text`.
    pub fn count(&self, text: &str) -> usize {
        self.bpe.count_ordinary(text)
    }
}

/// Most memoized lines before the memo is cleared.
const MEMO_LIMIT: usize = 65_536;

/// Line-by-line counting with a memo of the lines already counted, so that re-rendering
/// mostly unchanged text costs hashing, not tokenizing.
#[derive(Debug, Default)]
pub(crate) struct LineMemo {
    counts: rustc_hash::FxHashMap<u64, u32>,
}

impl LineMemo {
    /// Tokens of `text`, counted line by line (an upper bound of [`TokenCounter::count`]).
    pub(crate) fn count(&mut self, counter: &TokenCounter, text: &str) -> usize {
        if self.counts.len() > MEMO_LIMIT {
            self.counts.clear();
        }
        text.split_inclusive('\n')
            .map(|line| {
                *self
                    .counts
                    .entry(rustc_hash::FxBuildHasher.hash_one(line))
                    .or_insert_with(|| counter.count(line) as u32) as usize
            })
            .sum()
    }
}
