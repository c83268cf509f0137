//! The on-disk cache of a workspace's file summaries.
//!
//! Invariants:
//! - One file per workspace in the caller's cache directory, written atomically (a temp
//!   file renamed over it); a missing, unreadable, corrupt or foreign cache is ignored, never
//!   an error. Foreign means another root, another layout ([`CACHE_VERSION`]) or another
//!   [`format_key`].
//! - The format key hashes everything a summary depends on besides the file's bytes: the
//!   layout version, the crate version, and every language's tags query and grammar. So a
//!   changed `.scm` or grammar invalidates the cache without a hand-bumped version.
//! - Everything stored round-trips through postcard (a test saves and loads every kind of
//!   entry), since a cache that fails to decode is silently ignored.
//! - The header (version, key, root) is decoded before the entries, so a foreign cache costs
//!   no decoding of its entries.
//! - Entries are trusted by size and modification time only when the file was last modified
//!   comfortably before the cache was saved ("racy" entries are re-hashed); otherwise the
//!   content hash decides whether a file is parsed again.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use super::scan::ProblemKind;
use super::summary::FileSummary;
use crate::error::ContextError;
use crate::language::Language;

/// Bumped whenever the layout of the cache file or of a summary changes (queries and
/// grammars are covered by [`format_key`]).
const CACHE_VERSION: u32 = 2;

/// File name of the cache inside the cache directory.
const CACHE_FILE: &str = "lathe-repomap.v1.bin";

/// Modification times this close to the save time (ns) are not trusted.
pub(crate) const RACY_NS: u128 = 2_000_000_000;

/// What is known about one file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct FileEntry {
    pub(crate) size: u64,
    pub(crate) mtime_ns: u128,
    pub(crate) hash: [u8; 32],
    pub(crate) language: Option<Language>,
    pub(crate) lossy: bool,
    pub(crate) summary: Option<FileSummary>,
    /// Why the file has no summary (binary, too large).
    #[serde(with = "problem_as_json")]
    pub(crate) problem: Option<ProblemKind>,
}

/// [`ProblemKind`] is internally tagged (for the JSON of scan reports), which postcard cannot
/// decode: the cache stores it as its JSON text.
mod problem_as_json {
    use serde::de::Error as _;
    use serde::ser::Error as _;
    use serde::{Deserialize, Deserializer, Serialize, Serializer};

    use super::ProblemKind;

    pub(super) fn serialize<S: Serializer>(
        problem: &Option<ProblemKind>,
        serializer: S,
    ) -> Result<S::Ok, S::Error> {
        problem
            .as_ref()
            .map(serde_json::to_string)
            .transpose()
            .map_err(S::Error::custom)?
            .serialize(serializer)
    }

    pub(super) fn deserialize<'de, D: Deserializer<'de>>(
        deserializer: D,
    ) -> Result<Option<ProblemKind>, D::Error> {
        Option::<String>::deserialize(deserializer)?
            .map(|json| serde_json::from_str(&json))
            .transpose()
            .map_err(D::Error::custom)
    }
}

/// The start of the cache file; the entries follow it.
#[derive(Serialize, Deserialize)]
struct Header {
    version: u32,
    key: [u8; 32],
    root: String,
    saved_ns: u128,
}

/// The key of this build's summaries: see the module's invariants.
fn format_key() -> [u8; 32] {
    static KEY: OnceLock<[u8; 32]> = OnceLock::new();
    *KEY.get_or_init(|| key_with_queries(Language::query_source))
}

/// The format key, with each language's tags query given by `query`.
fn key_with_queries(query: impl Fn(Language) -> String) -> [u8; 32] {
    let mut hash = Sha256::new();
    let mut field = |bytes: &[u8]| {
        hash.update((bytes.len() as u64).to_le_bytes());
        hash.update(bytes);
    };
    field(&CACHE_VERSION.to_le_bytes());
    field(env!("CARGO_PKG_VERSION").as_bytes());
    for language in Language::ALL {
        let grammar = language.grammar();
        let version = grammar
            .metadata()
            .map(|m| (m.major_version, m.minor_version, m.patch_version));
        field(language.name().as_bytes());
        field(query(language).as_bytes());
        field(
            format!(
                "abi {} kinds {} states {} fields {} version {version:?}",
                grammar.abi_version(),
                grammar.node_kind_count(),
                grammar.parse_state_count(),
                grammar.field_count(),
            )
            .as_bytes(),
        );
    }
    hash.finalize().into()
}

fn cache_path(dir: &Path) -> PathBuf {
    dir.join(CACHE_FILE)
}

/// Loads the entries saved for `root` by this build, and when they were saved.
pub(crate) fn load(dir: &Path, root: &Path) -> Option<(BTreeMap<String, FileEntry>, u128)> {
    load_keyed(dir, root, &format_key())
}

fn load_keyed(
    dir: &Path,
    root: &Path,
    key: &[u8; 32],
) -> Option<(BTreeMap<String, FileEntry>, u128)> {
    let bytes = std::fs::read(cache_path(dir)).ok()?;
    let (header, rest) = postcard::take_from_bytes::<Header>(&bytes).ok()?;
    let ours = header.version == CACHE_VERSION
        && header.key == *key
        && header.root == root.to_string_lossy();
    if !ours {
        return None;
    }
    let files = postcard::from_bytes(rest).ok()?;
    Some((files, header.saved_ns))
}

/// Saves the entries atomically.
pub(crate) fn save(
    dir: &Path,
    root: &Path,
    files: &BTreeMap<String, FileEntry>,
    saved_ns: u128,
) -> Result<(), ContextError> {
    save_keyed(dir, root, &format_key(), files, saved_ns)
}

fn save_keyed(
    dir: &Path,
    root: &Path,
    key: &[u8; 32],
    files: &BTreeMap<String, FileEntry>,
    saved_ns: u128,
) -> Result<(), ContextError> {
    std::fs::create_dir_all(dir).map_err(|e| ContextError::io("create directory", dir, e))?;
    let header = Header {
        version: CACHE_VERSION,
        key: *key,
        root: root.to_string_lossy().into_owned(),
        saved_ns,
    };
    let encode = |e: postcard::Error| ContextError::Cache(e.to_string());
    let mut bytes = postcard::to_stdvec(&header).map_err(encode)?;
    bytes.extend(postcard::to_stdvec(files).map_err(encode)?);
    let path = cache_path(dir);
    // Unique per process and save, so concurrent saves (two runs of one daemon) never
    // write the same temporary file; the last rename wins, and each is a whole cache.
    static SAVES: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
    let n = SAVES.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let tmp = dir.join(format!("{CACHE_FILE}.{}.{n}.tmp", std::process::id()));
    let saved = std::fs::write(&tmp, bytes)
        .map_err(|e| ContextError::io("write", &tmp, e))
        .and_then(|()| {
            std::fs::rename(&tmp, &path).map_err(|e| ContextError::io("rename", &path, e))
        });
    if saved.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    saved
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::super::summary::DefEntry;
    use super::*;
    use crate::language::SymbolKind;

    /// Entries of every shape: plain text, parsed, and each problem a file can be left with.
    fn entries() -> BTreeMap<String, FileEntry> {
        let entry = |language, summary, problem| FileEntry {
            size: 3,
            mtime_ns: 7,
            hash: [1; 32],
            language,
            lossy: true,
            summary,
            problem,
        };
        let summary = FileSummary {
            lines: 2,
            defs: vec![DefEntry {
                name: "f".to_owned(),
                kind: SymbolKind::Method,
                line: 1,
                sig: vec!["    fn f(&self) {".to_owned()],
                parent: Some(0),
            }],
            refs: vec![("f".to_owned(), 2)],
            syntax_errors: true,
        };
        let problems = [
            ProblemKind::Binary,
            ProblemKind::TooLarge { bytes: 9, limit: 8 },
            ProblemKind::Unreadable {
                message: "denied".to_owned(),
            },
        ];
        let mut files = BTreeMap::from([
            ("a.txt".to_owned(), entry(None, None, None)),
            (
                "a.rs".to_owned(),
                entry(Some(Language::Rust), Some(summary), None),
            ),
        ]);
        for (i, problem) in problems.into_iter().enumerate() {
            files.insert(
                format!("p{i}.rs"),
                entry(Some(Language::Rust), None, Some(problem)),
            );
        }
        files
    }

    #[test]
    fn a_cache_is_loaded_only_by_the_same_root_and_format() {
        let dir = tempfile::tempdir().unwrap();
        let root = Path::new("/work/project");
        save(dir.path(), root, &entries(), 42).unwrap();
        assert_eq!(load(dir.path(), root), Some((entries(), 42)));
        assert_eq!(load(dir.path(), Path::new("/work/other")), None);
        assert_eq!(load_keyed(dir.path(), root, &[0; 32]), None);

        save_keyed(dir.path(), root, &[9; 32], &entries(), 42).unwrap();
        assert_eq!(load(dir.path(), root), None);
        assert_eq!(
            load_keyed(dir.path(), root, &[9; 32]),
            Some((entries(), 42))
        );

        std::fs::write(cache_path(dir.path()), b"\x01garbage").unwrap();
        assert_eq!(load(dir.path(), root), None);
    }

    #[test]
    fn the_format_key_changes_with_any_query() {
        assert_eq!(key_with_queries(Language::query_source), format_key());
        for changed in Language::ALL {
            let key = key_with_queries(|language| {
                let mut query = language.query_source();
                if language == changed {
                    query.push_str("\n(identifier) @reference.call\n");
                }
                query
            });
            assert_ne!(key, format_key(), "{changed:?}");
        }
    }
}
