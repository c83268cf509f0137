//! Token counting with tiktoken's `o200k_base` encoding (GPT-4o and later models).
//!
//! Invariant: the encoder is built once per process; counts are of ordinary text (special
//! tokens are counted as text).

use std::sync::OnceLock;

use tiktoken_rs::CoreBPE;

use crate::error::ContextError;

/// Counts tokens as `o200k_base` does.
pub struct TokenCounter {
    bpe: CoreBPE,
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
                tiktoken_rs::o200k_base()
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
