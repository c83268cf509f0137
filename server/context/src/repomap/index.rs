//! The workspace index: a summary per source file, refreshed incrementally.
//!
//! Invariants:
//! - After [`RepoIndex::refresh`], `files` holds exactly the files of the last walk, each
//!   with a summary computed from its current content (or the problem that prevented one),
//!   and the report lists every problem of the current files, cached or not: no summary,
//!   lossy decoding, syntax errors.
//! - A file is parsed again only when its content hash changed; size and modification time
//!   only spare reading files that are certainly unchanged (see [`super::cache`]).
//! - Parsing runs on up to `threads` worker threads; results do not depend on scheduling.

use rustc_hash::FxHashMap;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use super::cache::{self, FileEntry, RACY_NS};
use super::scan::{self, Listed, Problem, ProblemKind, Read};
use super::summary::Parsers;
use crate::cursor::{DefinitionLookup, SignatureInfo};
use crate::error::ContextError;
use crate::language::{Language, SymbolKind};

/// Default cap on the size of an indexed file.
pub const DEFAULT_MAX_FILE_BYTES: u64 = 1 << 20;

/// How to index a workspace.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IndexOptions {
    /// Directory for the on-disk cache (`None`: memory only).
    pub cache_dir: Option<PathBuf>,
    /// Files larger than this are listed by name only.
    pub max_file_bytes: u64,
    /// Worker threads for parsing (0: one per available core).
    pub threads: usize,
}

impl Default for IndexOptions {
    fn default() -> Self {
        Self {
            cache_dir: None,
            max_file_bytes: DEFAULT_MAX_FILE_BYTES,
            threads: 0,
        }
    }
}

/// What a refresh did.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
pub struct ScanReport {
    /// Files in the workspace (after ignores).
    pub files: usize,
    /// Source files in a supported language.
    pub source_files: usize,
    /// Source files parsed by this refresh.
    pub parsed: usize,
    /// Source files whose summary came from memory or the disk cache.
    pub reused: usize,
    /// Problems met, sorted by path.
    pub problems: Vec<Problem>,
}

/// The index of one workspace.
pub struct RepoIndex {
    pub(crate) root: PathBuf,
    options: IndexOptions,
    pub(crate) files: BTreeMap<String, FileEntry>,
    /// When the entries were last checked against the disk (saved, loaded or refreshed),
    /// in ns since the epoch: stats older than this by `RACY_NS` are trusted.
    saved_ns: u128,
    pub(crate) report: ScanReport,
    by_name: OnceLock<FxHashMap<String, Vec<(String, usize)>>>,
}

impl std::fmt::Debug for RepoIndex {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RepoIndex")
            .field("root", &self.root)
            .field("files", &self.files.len())
            .finish_non_exhaustive()
    }
}

enum Work {
    Parse {
        lossy: bool,
        size: u64,
        mtime_ns: u128,
    },
    Problem(ProblemKind),
}

impl RepoIndex {
    /// Opens the index of `root`, loading the disk cache if there is one. Call
    /// [`RepoIndex::refresh`] to bring it up to date.
    pub fn open(root: &Path, options: IndexOptions) -> Result<Self, ContextError> {
        if !root.is_dir() {
            return Err(ContextError::NotADirectory(root.to_path_buf()));
        }
        let root = root
            .canonicalize()
            .map_err(|e| ContextError::io("resolve", root, e))?;
        let (files, saved_ns) = options
            .cache_dir
            .as_deref()
            .and_then(|dir| cache::load(dir, &root))
            .unwrap_or_default();
        Ok(Self {
            root,
            options,
            files,
            saved_ns,
            report: ScanReport::default(),
            by_name: OnceLock::new(),
        })
    }

    /// The workspace root (canonical).
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// The report of the last refresh.
    pub fn report(&self) -> &ScanReport {
        &self.report
    }

    /// A digest of what the index holds (every path with its content hash, or its size
    /// and mtime for files that are not parsed): equal fingerprints give equal maps for
    /// the same request, so a caller may keep a map while the fingerprint stays.
    pub fn fingerprint(&self) -> [u8; 32] {
        let mut digest = Sha256::new();
        for (path, entry) in &self.files {
            digest.update(path.as_bytes());
            digest.update([0]);
            digest.update(entry.hash);
            digest.update(entry.size.to_le_bytes());
            if entry.language.is_none() {
                digest.update(entry.mtime_ns.to_le_bytes());
            }
        }
        digest.finalize().into()
    }

    /// Walks the workspace, re-parses files whose content changed and saves the cache.
    pub fn refresh(&mut self) -> Result<&ScanReport, ContextError> {
        let started = now_ns();
        let (listed, mut problems) = scan::walk(&self.root);
        let mut next: BTreeMap<String, FileEntry> = BTreeMap::new();
        let mut todo: Vec<(Listed, Language)> = Vec::new();
        let mut dirty = false;
        let mut report = ScanReport {
            files: listed.len(),
            ..ScanReport::default()
        };
        for file in listed {
            let language = Language::from_path(Path::new(&file.rel));
            let previous = self.files.remove(&file.rel);
            let Some(language) = language else {
                let entry = plain_entry(&file);
                dirty |= previous.as_ref() != Some(&entry);
                next.insert(file.rel.clone(), entry);
                continue;
            };
            report.source_files += 1;
            match previous {
                Some(prev)
                    if prev.size == file.size
                        && prev.mtime_ns == file.mtime_ns
                        && prev.mtime_ns + RACY_NS < self.saved_ns =>
                {
                    report.reused += 1;
                    next.insert(file.rel.clone(), prev);
                }
                Some(prev) => {
                    self.files.insert(file.rel.clone(), prev);
                    todo.push((file, language));
                }
                None => todo.push((file, language)),
            }
        }
        // Files to re-read, and files that disappeared (left in `self.files`), change the
        // cache.
        dirty |= !todo.is_empty() || !self.files.is_empty();
        let limit = self.options.max_file_bytes;
        let results =
            run_parallel(
                self.threads(),
                &todo,
                |parsers, (file, language)| match scan::read_source(&file.abs, limit) {
                    Read::Skipped(kind) => (Work::Problem(kind), None),
                    Read::Text {
                        text,
                        lossy,
                        size,
                        mtime_ns,
                    } => {
                        let hash: [u8; 32] = Sha256::digest(text.as_bytes()).into();
                        let unchanged = self
                            .files
                            .get(&file.rel)
                            .is_some_and(|prev| prev.hash == hash && prev.summary.is_some());
                        let summary = if unchanged {
                            None
                        } else {
                            let language = Language::for_source(Path::new(&file.rel), &text)
                                .unwrap_or(*language);
                            Some(parsers.summarize(language, &text))
                        };
                        (
                            Work::Parse {
                                lossy,
                                size,
                                mtime_ns,
                            },
                            Some((hash, summary)),
                        )
                    }
                },
            );
        for ((file, language), result) in todo.into_iter().zip(results) {
            let (work, parsed) = result.unwrap_or_else(|| {
                let message = "the indexing worker stopped".to_owned();
                (Work::Problem(ProblemKind::Unreadable { message }), None)
            });
            let entry = match (work, parsed) {
                (Work::Problem(ProblemKind::Vanished), _) => {
                    problems.push(Problem {
                        path: file.rel,
                        kind: ProblemKind::Vanished,
                    });
                    continue;
                }
                (Work::Problem(kind), _) => FileEntry {
                    size: file.size,
                    mtime_ns: file.mtime_ns,
                    hash: [0; 32],
                    language: Some(language),
                    lossy: false,
                    summary: None,
                    problem: Some(kind),
                },
                (
                    Work::Parse {
                        lossy,
                        size,
                        mtime_ns,
                        ..
                    },
                    Some((hash, summary)),
                ) => {
                    let summary = match summary {
                        Some(Ok(summary)) => {
                            report.parsed += 1;
                            Some(summary)
                        }
                        Some(Err(err)) => return Err(err),
                        None => {
                            report.reused += 1;
                            self.files.get(&file.rel).and_then(|p| p.summary.clone())
                        }
                    };
                    FileEntry {
                        size,
                        mtime_ns,
                        hash,
                        language: Some(language),
                        lossy,
                        summary,
                        problem: None,
                    }
                }
                (Work::Parse { .. }, None) => continue,
            };
            next.insert(file.rel, entry);
        }
        for (path, entry) in &next {
            let syntax_errors = entry.summary.as_ref().is_some_and(|s| s.syntax_errors);
            let kinds = entry
                .problem
                .iter()
                .cloned()
                .chain(entry.lossy.then_some(ProblemKind::InvalidUtf8))
                .chain(syntax_errors.then_some(ProblemKind::SyntaxErrors));
            problems.extend(kinds.map(|kind| Problem {
                path: path.clone(),
                kind,
            }));
        }
        problems.sort_by(|a, b| a.path.cmp(&b.path));
        report.problems = problems;
        self.files = next;
        self.by_name = OnceLock::new();
        if dirty && let Some(dir) = self.options.cache_dir.clone() {
            let now = now_ns();
            // The cache only saves work: a failed save leaves the next scan cold, never
            // this one without its result.
            match cache::save(&dir, &self.root, &self.files, now) {
                Ok(()) => self.saved_ns = now,
                Err(error) => report.problems.push(Problem {
                    path: dir.display().to_string(),
                    kind: ProblemKind::CacheNotSaved {
                        reason: error.to_string(),
                    },
                }),
            }
        }
        // Every entry now in memory was checked (by stat, or read) after `started`: an
        // in-memory index needs no cache for the next refresh to trust unchanged stats.
        self.saved_ns = self.saved_ns.max(started);
        self.report = report;
        Ok(&self.report)
    }

    fn threads(&self) -> usize {
        if self.options.threads > 0 {
            self.options.threads
        } else {
            std::thread::available_parallelism().map_or(1, |n| n.get())
        }
    }

    /// Resolves a user-given path (absolute, relative to the root, or relative to the
    /// current directory) to the index's key.
    pub(crate) fn key_for(&self, path: &Path) -> String {
        let candidates = if path.is_absolute() {
            vec![path.to_path_buf()]
        } else {
            let mut c = vec![self.root.join(path)];
            if let Ok(cwd) = std::env::current_dir() {
                c.push(cwd.join(path));
            }
            c
        };
        let abs = candidates
            .iter()
            .find_map(|p| p.canonicalize().ok())
            .unwrap_or_else(|| self.root.join(path));
        scan::relative(&self.root, &abs)
    }

    fn name_index(&self) -> &FxHashMap<String, Vec<(String, usize)>> {
        self.by_name.get_or_init(|| {
            let mut map: FxHashMap<String, Vec<(String, usize)>> = FxHashMap::default();
            for (path, entry) in &self.files {
                for (i, def) in entry.summary.iter().flat_map(|s| s.defs.iter().enumerate()) {
                    if def.kind != SymbolKind::Impl {
                        map.entry(def.name.clone())
                            .or_default()
                            .push((path.clone(), i));
                    }
                }
            }
            map
        })
    }
}

impl DefinitionLookup for RepoIndex {
    fn definitions_named(&self, name: &str) -> Vec<SignatureInfo> {
        let Some(hits) = self.name_index().get(name) else {
            return Vec::new();
        };
        hits.iter()
            .filter_map(|(path, i)| {
                let def = self.files.get(path)?.summary.as_ref()?.defs.get(*i)?;
                Some(SignatureInfo {
                    name: def.name.clone(),
                    kind: def.kind,
                    path: Some(path.clone()),
                    line: def.line,
                    signature: def.sig.join("\n"),
                })
            })
            .collect()
    }
}

fn plain_entry(file: &Listed) -> FileEntry {
    FileEntry {
        size: file.size,
        mtime_ns: file.mtime_ns,
        hash: [0; 32],
        language: None,
        lossy: false,
        summary: None,
        problem: None,
    }
}

fn now_ns() -> u128 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos())
}

/// Applies `f` to every item on `threads` workers; results are in item order (`None` for
/// items of a worker that panicked).
fn run_parallel<T: Sync, R: Send>(
    threads: usize,
    items: &[T],
    f: impl Fn(&mut Parsers, &T) -> R + Sync,
) -> Vec<Option<R>> {
    let next = AtomicUsize::new(0);
    let workers = threads.clamp(1, items.len().max(1));
    let mut slots: Vec<Option<R>> = std::iter::repeat_with(|| None).take(items.len()).collect();
    std::thread::scope(|scope| {
        let handles: Vec<_> = (0..workers)
            .map(|_| {
                scope.spawn(|| {
                    let mut parsers = Parsers::default();
                    let mut out = Vec::new();
                    loop {
                        let i = next.fetch_add(1, Ordering::Relaxed);
                        let Some(item) = items.get(i) else { break };
                        out.push((i, f(&mut parsers, item)));
                    }
                    out
                })
            })
            .collect();
        for handle in handles {
            if let Ok(results) = handle.join() {
                for (i, r) in results {
                    slots[i] = Some(r);
                }
            }
        }
    });
    slots
}
