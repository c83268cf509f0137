//! The repo map: the workspace's most relevant definitions, as signatures, within a token
//! budget.
//!
//! Invariants:
//! - Same workspace content and options, same map (text, order, token count).
//! - `tokens` is the exact o200k_base count of `text` and never exceeds `budget`.
//! - Building after a change re-parses only the changed files (see [`RepoIndex`]).

mod cache;
mod index;
mod pack;
mod rank;
mod scan;
mod summary;

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

pub use index::{DEFAULT_MAX_FILE_BYTES, IndexOptions, RepoIndex, ScanReport};
pub use scan::{Problem, ProblemKind};

use crate::error::ContextError;
use crate::language::SymbolKind;
use crate::tokens::TokenCounter;

/// Default token budget of a repo map.
pub const DEFAULT_MAP_BUDGET: usize = 1024;

/// What to map.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MapRequest {
    /// Token budget (o200k_base).
    pub budget: usize,
    /// Files the map is personalized toward (open files, files in the conversation):
    /// absolute or relative to the workspace root.
    pub focus: Vec<PathBuf>,
    /// Identifiers mentioned in the conversation.
    pub mentioned: Vec<String>,
}

impl Default for MapRequest {
    fn default() -> Self {
        Self {
            budget: DEFAULT_MAP_BUDGET,
            focus: Vec::new(),
            mentioned: Vec::new(),
        }
    }
}

/// A definition shown in the map.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MapDefinition {
    /// Workspace-relative path.
    pub path: String,
    /// Name.
    pub name: String,
    /// Kind.
    pub kind: SymbolKind,
    /// One-based line.
    pub line: u32,
    /// Its share of the PageRank mass.
    pub rank: f64,
}

/// A rendered repo map.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RepoMap {
    /// The map as prompt text.
    pub text: String,
    /// o200k_base tokens of `text`.
    pub tokens: usize,
    /// The budget it was packed to.
    pub budget: usize,
    /// Definitions shown, best ranked first.
    pub definitions: Vec<MapDefinition>,
    /// Files listed without definitions.
    pub files_without_definitions: Vec<String>,
    /// Files in the workspace.
    pub total_files: usize,
    /// Definitions in the workspace.
    pub total_definitions: usize,
    /// What the scan did and the problems it met.
    pub scan: ScanReport,
}

impl RepoMap {
    /// Indexes `root` (using and updating the cache in `cache_dir`) and maps it.
    pub fn build(
        root: &Path,
        cache_dir: Option<&Path>,
        request: &MapRequest,
    ) -> Result<RepoMap, ContextError> {
        let mut index = RepoIndex::open(
            root,
            IndexOptions {
                cache_dir: cache_dir.map(Path::to_path_buf),
                ..IndexOptions::default()
            },
        )?;
        index.refresh()?;
        index.map(request)
    }

    /// The map for people: the text, then a line with the token count and the problems met.
    pub fn render(&self) -> String {
        let mut out = self.text.clone();
        out.push_str(&format!(
            "({} tokens of {}; {} of {} definitions from {} files",
            self.tokens,
            self.budget,
            self.definitions.len(),
            self.total_definitions,
            self.total_files
        ));
        if !self.scan.problems.is_empty() {
            out.push_str(&format!(
                "; {} files skipped or decoded lossily",
                self.scan.problems.len()
            ));
        }
        out.push_str(")\n");
        out
    }

    /// The map as JSON (includes `tokens`).
    pub fn to_json(&self) -> String {
        serde_json::to_string_pretty(self).unwrap_or_default()
    }
}

impl RepoIndex {
    /// Ranks and packs the indexed workspace for `request`.
    pub fn map(&self, request: &MapRequest) -> Result<RepoMap, ContextError> {
        let counter = TokenCounter::o200k()?;
        let files: Vec<(&str, &cache::FileEntry)> =
            self.files.iter().map(|(k, v)| (k.as_str(), v)).collect();
        let focus_keys: BTreeSet<String> = request.focus.iter().map(|p| self.key_for(p)).collect();
        let focus: BTreeSet<usize> = files
            .iter()
            .enumerate()
            .filter(|(_, (path, _))| focus_keys.contains(*path))
            .map(|(i, _)| i)
            .collect();
        let mentioned: BTreeSet<String> = request.mentioned.iter().cloned().collect();
        let (_, items) = rank::rank(
            &files,
            &rank::Personalization {
                focus: &focus,
                mentioned: &mentioned,
            },
        );
        let mut packed = pack::pack(counter, &files, &items, request.budget);
        let mut text = pack::render(&files, &packed);
        let mut tokens = counter.count(&text);
        while tokens > request.budget && !packed.accepted.is_empty() {
            packed.accepted.pop();
            packed = pack::pack(counter, &files, &packed.accepted, request.budget);
            text = pack::render(&files, &packed);
            tokens = counter.count(&text);
        }
        let mut definitions = Vec::new();
        let mut files_without_definitions = Vec::new();
        for item in &packed.accepted {
            let (path, entry) = files[item.file];
            let def = item
                .def
                .and_then(|d| entry.summary.as_ref().and_then(|s| s.defs.get(d)));
            match def {
                Some(def) => definitions.push(MapDefinition {
                    path: path.to_owned(),
                    name: def.name.clone(),
                    kind: def.kind,
                    line: def.line + 1,
                    rank: item.rank,
                }),
                None => files_without_definitions.push(path.to_owned()),
            }
        }
        files_without_definitions.sort();
        Ok(RepoMap {
            text,
            tokens,
            budget: request.budget,
            definitions,
            files_without_definitions,
            total_files: files.len(),
            total_definitions: files
                .iter()
                .filter_map(|(_, e)| e.summary.as_ref())
                .map(|s| s.defs.len())
                .sum(),
            scan: self.report.clone(),
        })
    }
}
