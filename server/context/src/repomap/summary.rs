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
                        .map(|i| signature_line(rope.line(i)))
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

/// How much of one signature line the map keeps: a minified file's one line would
/// otherwise be copied whole into every definition on it, and never fit a budget anyway.
const MAX_SIGNATURE_CHARS: usize = 200;

/// A signature line without its line break, cut to [`MAX_SIGNATURE_CHARS`] with `…`.
fn signature_line(line: ropey::RopeSlice<'_>) -> String {
    let mut out: String = line.chars().take(MAX_SIGNATURE_CHARS + 1).collect();
    let trimmed = out.trim_end_matches(['\n', '\r']).len();
    out.truncate(trimmed);
    if out.chars().count() > MAX_SIGNATURE_CHARS {
        out = out.chars().take(MAX_SIGNATURE_CHARS).collect();
        out.push('…');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signature_lines_are_cut_without_their_line_break() {
        let long = format!("function a(){{{}}}\n", "x;".repeat(500));
        let rope = Rope::from_str(&format!("fn short() {{\r\n{long}"));
        assert_eq!(signature_line(rope.line(0)), "fn short() {");
        let cut = signature_line(rope.line(1));
        assert_eq!(cut.chars().count(), MAX_SIGNATURE_CHARS + 1);
        assert!(
            cut.starts_with("function a(){x;x;") && cut.ends_with('…'),
            "{cut}"
        );
    }
}
