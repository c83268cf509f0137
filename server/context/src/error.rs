//! The crate's one error type.
//!
//! Problems with user input (bad positions, invalid UTF-8, files that vanish or are binary or
//! too large during a scan) are not errors: they are reported as data next to the result.
//! `ContextError` is for what stops an operation: I/O on the paths the caller asked for, a
//! file asked for that is binary or over the size cap, a grammar that cannot be loaded, an
//! unreadable tokenizer, a cache that cannot be written.

use std::path::PathBuf;

/// What can stop a context operation.
#[derive(Debug, thiserror::Error)]
pub enum ContextError {
    /// Reading or writing a path failed.
    #[error("{op} {path}: {source}")]
    Io {
        /// What was being done ("read", "write", "create directory", ...).
        op: &'static str,
        /// The path involved.
        path: PathBuf,
        /// The underlying error.
        #[source]
        source: std::io::Error,
    },
    /// A grammar could not be loaded into the parser (ABI mismatch).
    #[error("cannot load the {language} grammar: {message}")]
    Grammar {
        /// Language name.
        language: &'static str,
        /// What tree-sitter said.
        message: String,
    },
    /// A tags query shipped with this crate does not compile against its grammar.
    #[error("tags query for {language} is invalid: {message}")]
    Query {
        /// Language name.
        language: &'static str,
        /// What tree-sitter said.
        message: String,
    },
    /// The o200k_base tokenizer could not be built.
    #[error("cannot load the o200k_base tokenizer: {0}")]
    Tokenizer(String),
    /// The repo-map cache could not be encoded.
    #[error("cannot encode the repo-map cache: {0}")]
    Cache(String),
    /// The workspace root is not a directory.
    #[error("workspace root {0} is not a directory")]
    NotADirectory(PathBuf),
    /// The file is binary (contains NUL bytes).
    #[error("{0} is a binary file")]
    BinaryFile(PathBuf),
    /// The file is larger than the cap on documents read from disk
    /// ([`crate::MAX_DOCUMENT_BYTES`]).
    #[error("{path} is too large for code context: {bytes} bytes, over the cap of {limit} bytes")]
    TooLarge {
        /// The file.
        path: PathBuf,
        /// Its size (at least; reading stops past the cap).
        bytes: u64,
        /// The cap.
        limit: u64,
    },
    /// A `FILE:LINE:COL` argument could not be understood.
    #[error("bad location {0:?}: expected FILE:LINE[:COL] with 1-based numbers")]
    BadLocation(String),
}

impl ContextError {
    pub(crate) fn io(op: &'static str, path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        Self::Io {
            op,
            path: path.into(),
            source,
        }
    }
}
