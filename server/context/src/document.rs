//! A source document: a rope, its syntax tree and its tags, all updated incrementally.
//!
//! Invariants:
//! - After every [`Document::apply_edit`] the tree is the incremental reparse of the new text
//!   (`Tree::edit` + reparse with the old tree), structurally equal to a fresh parse — or, when
//!   that reparse needs more than the edit's budget (300 µs by default; tree-sitter's
//!   error recovery can take milliseconds on a large file), the previous tree edited to the
//!   new text's positions, with the reparse paused until [`Document::settle`] finishes it.
//!   Readers in between see that edited tree (as editors that parse in the background do); a
//!   later edit restarts the paused reparse from it, so no edit is ever lost.
//! - Tags are refreshed lazily: an edit shifts the cached tags and records the byte ranges
//!   whose syntax changed; the next read re-runs the tags query only over those ranges (tags
//!   queries are rooted, so this yields exactly the tags a full run would).
//! - Nothing here panics on bad input: positions are clamped and the clamps returned.

use std::ops::{ControlFlow, Range};
use std::path::Path;
use std::time::{Duration, Instant};

use ropey::Rope;
use serde::{Deserialize, Serialize};
use tree_sitter::{InputEdit, ParseOptions, Parser, Point, Tree};

use crate::error::ContextError;
use crate::language::{Language, LanguageSpec};
use crate::tags::{self, RawTag};
use crate::text::{self, Clamp, Encoding, TextRange};
use crate::tokens::LineMemo;

/// What an edit did.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
pub struct EditOutcome {
    /// Positions that were out of range and were clamped.
    pub clamps: Vec<Clamp>,
    /// Whether the syntax tree was updated (false for plain-text documents).
    pub reparsed: bool,
}

#[derive(Default)]
struct TagCache {
    tags: Option<Vec<RawTag>>,
    /// Byte ranges (current text) whose tags must be recomputed.
    pending: Vec<Range<usize>>,
}

/// A document: text, tree (when the language is known) and tags.
pub struct Document {
    rope: Rope,
    language: Option<Language>,
    syntax: Option<Syntax>,
    tags: TagCache,
    invalid_utf8: bool,
    pub(crate) token_memo: LineMemo,
}

/// The longest an edit's reparse runs before it is left to [`Document::settle`].
const EDIT_REPARSE_BUDGET: Duration = Duration::from_micros(300);

struct Syntax {
    spec: &'static LanguageSpec,
    parser: Parser,
    tree: Option<Tree>,
    /// The parser holds a paused reparse of the current text from `tree`.
    paused: bool,
    /// How long an edit's reparse runs before it pauses.
    edit_budget: Duration,
}

impl std::fmt::Debug for Document {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Document")
            .field("language", &self.language)
            .field("bytes", &self.rope.len_bytes())
            .field("lines", &self.rope.len_lines())
            .finish_non_exhaustive()
    }
}

impl Document {
    /// A document in `language` (`None`: plain text, no tree).
    pub fn new(text: &str, language: Option<Language>) -> Result<Self, ContextError> {
        let syntax = match language {
            Some(lang) => {
                let spec = lang.spec()?;
                let mut parser = Parser::new();
                parser
                    .set_language(&spec.grammar)
                    .map_err(|e| ContextError::Grammar {
                        language: lang.name(),
                        message: e.to_string(),
                    })?;
                Some(Syntax {
                    spec,
                    parser,
                    tree: None,
                    paused: false,
                    edit_budget: EDIT_REPARSE_BUDGET,
                })
            }
            None => None,
        };
        let mut doc = Self {
            rope: Rope::from_str(text),
            language,
            syntax,
            tags: TagCache::default(),
            invalid_utf8: false,
            token_memo: LineMemo::default(),
        };
        doc.reparse_full();
        Ok(doc)
    }

    /// A document whose language is detected from `path`'s extension.
    pub fn for_path(path: &Path, text: &str) -> Result<Self, ContextError> {
        Self::new(text, Language::for_source(path, text))
    }

    /// The language, if the document has a grammar.
    pub fn language(&self) -> Option<Language> {
        self.language
    }

    /// The text.
    pub fn rope(&self) -> &Rope {
        &self.rope
    }

    /// The text as a string.
    pub fn text(&self) -> String {
        self.rope.to_string()
    }

    /// The current syntax tree (the previous one, edited, while a reparse is paused).
    pub fn tree(&self) -> Option<&Tree> {
        self.syntax.as_ref().and_then(|s| s.tree.as_ref())
    }

    /// Whether the text was decoded lossily from invalid UTF-8.
    pub fn invalid_utf8(&self) -> bool {
        self.invalid_utf8
    }

    /// Records that the text was decoded lossily from invalid UTF-8.
    pub fn set_invalid_utf8(&mut self, lossy: bool) {
        self.invalid_utf8 = lossy;
    }

    /// Whether the tree contains syntax errors (context is still produced).
    pub fn has_syntax_errors(&self) -> bool {
        self.tree().is_some_and(|t| t.root_node().has_error())
    }

    /// Replaces the whole text (full sync) and parses from scratch.
    pub fn set_text(&mut self, text: &str) {
        self.rope = Rope::from_str(text);
        self.tags = TagCache::default();
        self.reparse_full();
    }

    /// Replaces `range` (in `encoding` code units) by `text` and reparses incrementally.
    pub fn apply_edit(&mut self, range: TextRange, text: &str, encoding: Encoding) -> EditOutcome {
        let (bytes, clamps) = text::range_to_bytes(&self.rope, range, encoding);
        let reparsed = self.edit_bytes(bytes, text);
        EditOutcome { clamps, reparsed }
    }

    /// Replaces a byte range (already valid) and reparses incrementally.
    fn edit_bytes(&mut self, bytes: Range<usize>, text: &str) -> bool {
        let start = bytes.start;
        let old_end = bytes.end;
        let start_position = text::byte_to_point(&self.rope, start);
        let old_end_position = text::byte_to_point(&self.rope, old_end);
        let start_char = self.rope.byte_to_char(start);
        let old_end_char = self.rope.byte_to_char(old_end);
        self.rope.remove(start_char..old_end_char);
        self.rope.insert(start_char, text);
        let new_end = start + text.len();
        let new_end_position = text::byte_to_point(&self.rope, new_end);
        let edit = InputEdit {
            start_byte: start,
            old_end_byte: old_end,
            new_end_byte: new_end,
            start_position,
            old_end_position,
            new_end_position,
        };
        self.shift_tags(start, old_end, new_end);
        let Some(syntax) = self.syntax.as_mut() else {
            return false;
        };
        let Some(mut old_tree) = syntax.tree.take() else {
            self.reparse_full();
            return self.tree().is_some();
        };
        old_tree.edit(&edit);
        if std::mem::take(&mut syntax.paused) {
            // The paused reparse was of the previous text.
            syntax.parser.reset();
        }
        syntax.tree = Some(old_tree);
        let deadline = Instant::now() + syntax.edit_budget;
        self.reparse(Some(deadline));
        self.tree().is_some()
    }

    /// Sets how long an edit's reparse may run before it pauses (300 µs by default; zero
    /// pauses every reparse that is not done at tree-sitter's first progress check).
    pub fn set_edit_budget(&mut self, budget: Duration) {
        if let Some(syntax) = self.syntax.as_mut() {
            syntax.edit_budget = budget;
        }
    }

    /// Whether the tree is the parse of the current text (no reparse is paused).
    pub fn is_settled(&self) -> bool {
        self.syntax.as_ref().is_none_or(|s| !s.paused)
    }

    /// Finishes a paused reparse; true when the tree is then the parse of the current text.
    /// With `budget`, works at most about that long (call again to go on).
    pub fn settle(&mut self, budget: Option<Duration>) -> bool {
        if !self.is_settled() {
            self.reparse(budget.map(|b| Instant::now() + b));
        }
        self.is_settled()
    }

    /// Reparses the current text from the current tree (already edited to it), until done or
    /// `deadline`; pausing keeps the current tree.
    fn reparse(&mut self, deadline: Option<Instant>) {
        let Some(syntax) = self.syntax.as_mut() else {
            return;
        };
        let Some(old_tree) = syntax.tree.take() else {
            return;
        };
        let mut out_of_time =
            |_: &tree_sitter::ParseState| match deadline.filter(|d| Instant::now() >= *d) {
                Some(_) => ControlFlow::Break(()),
                None => ControlFlow::Continue(()),
            };
        let options = ParseOptions::new().progress_callback(&mut out_of_time);
        match parse_rope(
            &mut syntax.parser,
            &self.rope,
            Some(&old_tree),
            Some(options),
        ) {
            Some(tree) => {
                self.tags.pending.extend(
                    old_tree
                        .changed_ranges(&tree)
                        .map(|r| r.start_byte..r.end_byte),
                );
                syntax.tree = Some(tree);
                syntax.paused = false;
            }
            None => {
                syntax.tree = Some(old_tree);
                syntax.paused = true;
            }
        }
    }

    fn shift_tags(&mut self, start: usize, old_end: usize, new_end: usize) {
        let Some(tags) = self.tags.tags.as_mut() else {
            return;
        };
        for tag in tags.iter_mut() {
            tag.shift(start, old_end, new_end);
        }
        let map = |p: usize| {
            if p >= old_end {
                p - old_end + new_end
            } else {
                p.min(new_end).max(start.min(p))
            }
        };
        for r in &mut self.tags.pending {
            *r = map(r.start)..map(r.end).max(map(r.start));
            if r.start <= new_end && r.end >= start {
                r.start = r.start.min(start);
                r.end = r.end.max(new_end);
            }
        }
        self.tags.pending.push(start..new_end);
    }

    fn reparse_full(&mut self) {
        self.tags = TagCache::default();
        if let Some(syntax) = self.syntax.as_mut() {
            if std::mem::take(&mut syntax.paused) {
                syntax.parser.reset();
            }
            syntax.tree = parse_rope(&mut syntax.parser, &self.rope, None, None);
        }
    }

    /// The current tags, refreshed over the ranges changed since the last read.
    pub(crate) fn raw_tags(&mut self) -> &[RawTag] {
        let Some(syntax) = self.syntax.as_ref() else {
            return &[];
        };
        let Some(tree) = syntax.tree.as_ref() else {
            return &[];
        };
        let cache = &mut self.tags;
        match cache.tags.as_mut() {
            None => {
                cache.tags = Some(tags::extract(syntax.spec, tree, &self.rope, None));
                cache.pending.clear();
            }
            Some(tags) if !cache.pending.is_empty() => {
                let ranges = merge_ranges(&mut cache.pending);
                let mut fresh: Vec<RawTag> = ranges
                    .iter()
                    .flat_map(|r| tags::extract(syntax.spec, tree, &self.rope, Some(r.clone())))
                    .collect();
                fresh.sort_by_key(RawTag::order_key);
                fresh.dedup();
                refresh_tags(tags, fresh, &ranges);
            }
            Some(_) => {}
        }
        cache.tags.as_deref().unwrap_or(&[])
    }
}

/// Whether a node range intersects a query range, as tree-sitter's query cursor decides it.
fn intersects(node: &Range<usize>, range: &Range<usize>) -> bool {
    let empty = node.start == node.end;
    (node.end > range.start || (empty && node.end == range.start)) && node.start < range.end
}

/// Replaces the tags over `ranges` by `fresh` (the tags found again there), keeping `tags`
/// in [`RawTag::order_key`] order without duplicates. Most tags found again are unchanged:
/// they stay where they are, so a keystroke moves only the tags it really changed. (A tag
/// found again may also lie outside the ranges, when only its match touched them.)
fn refresh_tags(tags: &mut Vec<RawTag>, fresh: Vec<RawTag>, ranges: &[Range<usize>]) {
    let position = |list: &[RawTag], tag: &RawTag| -> Result<usize, usize> {
        let key = tag.order_key();
        let first = list.partition_point(|t| t.order_key() < key);
        let run = list[first..].partition_point(|t| t.order_key() == key);
        list[first..first + run]
            .iter()
            .position(|t| t == tag)
            .map(|i| first + i)
            .ok_or(first + run)
    };
    let mut found = vec![false; fresh.len()];
    let mut stale = Vec::new();
    for (i, tag) in tags.iter().enumerate() {
        if !ranges.iter().any(|r| intersects(&tag.node, r)) {
            continue;
        }
        match position(&fresh, tag) {
            Ok(j) if !found[j] => found[j] = true,
            _ => stale.push(i),
        }
    }
    if !stale.is_empty() {
        let mut index = 0;
        let mut stale = stale.into_iter().peekable();
        tags.retain(|_| {
            let keep = stale.next_if_eq(&index).is_none();
            index += 1;
            keep
        });
    }
    for (tag, _) in fresh.into_iter().zip(found).filter(|(_, found)| !found) {
        if let Err(at) = position(tags, &tag) {
            tags.insert(at, tag);
        }
    }
}

/// Sorts, widens by one byte on each side (so that tags squashed to an empty range at an
/// edit are caught) and merges pending ranges; clears them.
fn merge_ranges(pending: &mut Vec<Range<usize>>) -> Vec<Range<usize>> {
    let mut ranges: Vec<Range<usize>> = pending
        .drain(..)
        .map(|r| r.start.saturating_sub(1)..r.end + 1)
        .collect();
    ranges.sort_by_key(|r| r.start);
    let mut merged: Vec<Range<usize>> = Vec::with_capacity(ranges.len());
    for r in ranges {
        match merged.last_mut() {
            Some(last) if r.start <= last.end => last.end = last.end.max(r.end),
            _ => merged.push(r),
        }
    }
    merged
}

/// Parses the rope chunk by chunk (no copy of the text).
fn parse_rope(
    parser: &mut Parser,
    rope: &Rope,
    old: Option<&Tree>,
    options: Option<ParseOptions<'_>>,
) -> Option<Tree> {
    let len = rope.len_bytes();
    let mut read = |byte: usize, _: Point| -> &[u8] {
        if byte >= len {
            return &[];
        }
        let (chunk, chunk_start, _, _) = rope.chunk_at_byte(byte);
        chunk.as_bytes().get(byte - chunk_start..).unwrap_or(&[])
    };
    parser.parse_with_options(&mut read, old, options)
}
