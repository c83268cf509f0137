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
        let problems = &self.scan.problems;
        let syntax_errors = problems
            .iter()
            .filter(|p| p.kind == ProblemKind::SyntaxErrors)
            .count();
        let skipped_or_lossy = problems.len() - syntax_errors;
        if skipped_or_lossy > 0 {
            out.push_str(&format!(
                "; {skipped_or_lossy} files skipped or decoded lossily"
            ));
        }
        if syntax_errors > 0 {
            out.push_str(&format!("; {syntax_errors} files with syntax errors"));
        }
        out.push_str(")\n");
        out
    }

    /// The map as JSON (includes `tokens`). Encoding it cannot fail: it is made of strings,
    /// numbers, lists and structs, and its one flattened field ([`Problem::kind`]) is an
    /// internally tagged enum of struct and unit variants (the tests encode every variant).
    /// Were it to fail all the same, the JSON says so, `{"error": "..."}`, rather than being
    /// empty.
    pub fn to_json(&self) -> String {
        json_or_error(self)
    }
}

fn json_or_error(value: &impl Serialize) -> String {
    serde_json::to_string_pretty(value).unwrap_or_else(|err| {
        let message = serde_json::Value::String(format!("cannot encode the repo map: {err}"));
        format!("{{\"error\": {message}}}")
    })
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

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use std::collections::BTreeMap;

    use super::*;

    /// One of each problem kind (the match fails to compile when a kind is added).
    fn every_problem_kind() -> Vec<ProblemKind> {
        use ProblemKind::*;
        let all = vec![
            Binary,
            TooLarge { bytes: 2, limit: 1 },
            InvalidUtf8,
            SyntaxErrors,
            Vanished,
            SymlinkLoop,
            OutsideWorkspace,
            Unreadable {
                message: "denied".into(),
            },
            CacheNotSaved {
                reason: "disk full".into(),
            },
        ];
        for kind in &all {
            match kind {
                Binary
                | TooLarge { .. }
                | InvalidUtf8
                | SyntaxErrors
                | Vanished
                | SymlinkLoop
                | OutsideWorkspace
                | Unreadable { .. }
                | CacheNotSaved { .. } => {}
            }
        }
        all
    }

    #[test]
    fn maps_with_every_problem_kind_encode_to_json() {
        let map = RepoMap {
            text: "src/a.rs:\n│fn a() {}\n".into(),
            tokens: 9,
            budget: 10,
            definitions: vec![MapDefinition {
                path: "src/a.rs".into(),
                name: "a".into(),
                kind: SymbolKind::Function,
                line: 1,
                rank: 0.5,
            }],
            files_without_definitions: vec!["src/b.rs".into()],
            total_files: 2,
            total_definitions: 1,
            scan: ScanReport {
                problems: every_problem_kind()
                    .into_iter()
                    .map(|kind| Problem {
                        path: "src/c.rs".into(),
                        kind,
                    })
                    .collect(),
                ..ScanReport::default()
            },
        };
        let json = map.to_json();
        assert_eq!(
            serde_json::from_str::<RepoMap>(&json).unwrap(),
            map,
            "{json}"
        );
        // Non-finite ranks become null rather than an error.
        let mut odd = map;
        odd.definitions[0].rank = f64::NAN;
        let value: serde_json::Value = serde_json::from_str(&odd.to_json()).unwrap();
        assert_eq!(value["definitions"][0]["rank"], serde_json::Value::Null);
    }

    #[test]
    fn json_encoding_failures_are_explicit() {
        // serde_json refuses maps with non-string keys.
        let unencodable = BTreeMap::from([((1u8, 2u8), 3u8)]);
        let value: serde_json::Value = serde_json::from_str(&json_or_error(&unencodable)).unwrap();
        let error = value["error"].as_str().unwrap();
        assert!(error.starts_with("cannot encode the repo map: "), "{error}");
    }
}
