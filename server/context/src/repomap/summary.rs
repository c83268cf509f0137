//! Per-file summaries: the definitions (with signatures) and reference counts the repo map
//! needs, extracted once per content hash and cached on disk.
//!
//! Invariant: a summary depends only on the file's bytes, the crate's queries and the grammars
//! (all hashed into the cache's format key, see [`super::cache`]).

use std::collections::BTreeMap;

use ropey::Rope;
use serde::{Deserialize, Serialize};
use tree_sitter::Parser;

use crate::error::ContextError;
use crate::language::{Language, SymbolKind};
use crate::tags;

/// A definition as the repo map shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct DefEntry {
    pub(crate) name: String,
    pub(crate) kind: SymbolKind,
    /// Zero-based first line of the signature.
    pub(crate) line: u32,
    /// The signature's lines.
    pub(crate) sig: Vec<String>,
    /// Index of the enclosing definition in the same file.
    pub(crate) parent: Option<u32>,
}

/// What the repo map knows of one source file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct FileSummary {
    pub(crate) lines: u32,
    pub(crate) defs: Vec<DefEntry>,
    /// Referenced names and how often, sorted by name.
    pub(crate) refs: Vec<(String, u32)>,
    pub(crate) syntax_errors: bool,
}

/// Parsers per language, reused across files by one worker.
#[derive(Default)]
pub(crate) struct Parsers {
    parsers: BTreeMap<Language, Parser>,
}

impl Parsers {
    fn get(&mut self, language: Language) -> Result<&mut Parser, ContextError> {
        match self.parsers.entry(language) {
            std::collections::btree_map::Entry::Occupied(slot) => Ok(slot.into_mut()),
            std::collections::btree_map::Entry::Vacant(slot) => {
                let spec = language.spec()?;
                let mut parser = Parser::new();
                parser
                    .set_language(&spec.grammar)
                    .map_err(|e| ContextError::Grammar {
                        language: language.name(),
                        message: e.to_string(),
                    })?;
                Ok(slot.insert(parser))
            }
        }
    }

    /// Parses `text` and extracts its summary.
    pub(crate) fn summarize(
        &mut self,
        language: Language,
        text: &str,
    ) -> Result<FileSummary, ContextError> {
        let spec = language.spec()?;
        let parser = self.get(language)?;
        let rope = Rope::from_str(text);
        let lines = rope.len_lines() as u32;
        let Some(tree) = parser.parse(text, None) else {
            return Ok(FileSummary {
                lines,
                defs: Vec::new(),
                refs: Vec::new(),
                syntax_errors: true,
            });
        };
        let raw = tags::extract(spec, &tree, &rope, None);
        let defs = tags::definitions(&raw)
            .iter()
            .map(|d| {
                let (first, last) = tags::signature_lines(&rope, d.tag);
                DefEntry {
                    name: d.tag.text.clone(),
                    kind: d.kind,
                    line: first as u32,
                    sig: (first..=last)
                        .map(|i| {
                            let s = rope.line(i).to_string();
                            s.trim_end_matches(['\n', '\r']).to_owned()
                        })
                        .collect(),
                    parent: d.parent.map(|p| p as u32),
                }
            })
            .collect();
        let mut counts: BTreeMap<&str, u32> = BTreeMap::new();
        for r in tags::references(&raw) {
            *counts.entry(r.text.as_str()).or_default() += 1;
        }
        Ok(FileSummary {
            lines,
            defs,
            refs: counts.into_iter().map(|(k, v)| (k.to_owned(), v)).collect(),
            syntax_errors: tree.root_node().has_error(),
        })
    }
}
