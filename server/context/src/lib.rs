//! Code context from tree-sitter and ropey: documents, cursor context, outlines and the
//! ranked repo map.
//!
//! The crate is pure: it reads files only where the caller asks it to (a file for cursor
//! context, a workspace for the repo map, a cache directory), never writes outside the cache
//! directory it is given, and reports bad input (binary or huge files, invalid UTF-8, clamped
//! positions, files that vanish mid-scan) as data next to its results.
//!
//! - [`Document`]: a rope and its tree, updated by edits in UTF-8, UTF-16 or UTF-32 positions
//!   with incremental reparsing.
//! - [`Document::outline`] and [`Document::cursor_context`]: symbols of a file and the
//!   context of a position or selection, rendered for prompts by [`CursorContext::render`].
//! - [`RepoIndex`] and [`RepoMap`]: tags of a whole workspace, ranked by personalized
//!   PageRank over the reference graph and packed to a token budget.

mod cursor;
mod document;
mod error;
mod file;
mod language;
mod outline;
mod render;
mod repomap;
mod tags;
mod text;
mod tokens;

pub use cursor::{
    CursorContext, CursorRequest, DEFAULT_CURSOR_BUDGET, DefinitionLookup, Diagnostic, Excerpt,
    FocusSource, Omitted, Scope, Severity, SignatureInfo,
};
pub use document::{Document, EditOutcome};
pub use error::ContextError;
pub use file::{
    MAX_DOCUMENT_BYTES, cursor_context_for_file, decode_source, parse_location, read_document,
};
pub use language::{Language, SymbolKind};
pub use outline::{Symbol, Tag, TagRole};
pub use render::render_outline;
pub use repomap::{
    DEFAULT_MAP_BUDGET, DEFAULT_MAX_FILE_BYTES, IndexOptions, MapDefinition, MapRequest, Problem,
    ProblemKind, RepoIndex, RepoMap, ScanReport,
};
pub use text::{Clamp, ClampReason, Encoding, Position, TextRange};
pub use tokens::TokenCounter;
