//! Cursor context: what the agent sees around a position or selection.
//!
//! Invariants:
//! - Works on any document: plain text (unknown language) gets a window of lines, a file
//!   with syntax errors gets whatever tree-sitter's error recovery yields.
//! - The budget (o200k tokens) bounds the rendering: the enclosing chain and the focus come
//!   first (the focus shrinks to an excerpt around the selection when too long, taking at
//!   most three quarters of the room left), then
//!   diagnostics, imports, referenced definitions and sibling signatures while they fit.
//!   `tokens` counts [`CursorContext::render`] line by line (an upper bound of its exact
//!   count, see [`crate::tokens`]), with a per-document memo of line counts.
//! - Cost is proportional to the tags of the file plus the focus, never a full reparse.

use std::collections::{BTreeSet, HashSet};
use std::ops::Range;

use ropey::Rope;
use serde::{Deserialize, Serialize};

use crate::document::Document;
use crate::error::ContextError;
use crate::language::{Language, SymbolKind};
use crate::tags::{self, Def};
use crate::text::{self, Clamp, Encoding, Position, TextRange, line_content_end};
use crate::tokens::{LineMemo, TokenCounter};

/// Default token budget of a cursor context.
pub const DEFAULT_CURSOR_BUDGET: usize = 2048;

/// Lines shown around the cursor when it is outside every definition.
const WINDOW_LINES: usize = 20;

/// Estimated tokens a list item costs beyond its text (prefix, line number, section title).
const ITEM_OVERHEAD: usize = 6;

/// Definitions shown per referenced name.
const MAX_DEFS_PER_NAME: usize = 3;

/// How serious a diagnostic is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    /// An error.
    Error,
    /// A warning.
    Warning,
    /// Information.
    Information,
    /// A hint.
    Hint,
}

/// A diagnostic the caller knows about (positions in the request's encoding).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Diagnostic {
    /// Where.
    pub range: TextRange,
    /// How serious.
    pub severity: Severity,
    /// What.
    pub message: String,
    /// Who said so (`rustc`, `pyright`, ...).
    pub source: Option<String>,
}

/// What to compute a context for.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CursorRequest {
    /// The file's path as shown in the rendering.
    pub path: Option<String>,
    /// The selection (empty for a plain cursor).
    pub selection: TextRange,
    /// Encoding of every position in the request and the answer.
    pub encoding: Encoding,
    /// Token budget of the rendering.
    pub budget: usize,
    /// Diagnostics of the file; those in range are included.
    pub diagnostics: Vec<Diagnostic>,
}

impl CursorRequest {
    /// A cursor at `position`, default budget, no diagnostics.
    pub fn at(position: Position, encoding: Encoding) -> Self {
        Self {
            path: None,
            selection: TextRange::point(position),
            encoding,
            budget: DEFAULT_CURSOR_BUDGET,
            diagnostics: Vec::new(),
        }
    }
}

/// Finds definitions outside the current file (implemented by [`crate::RepoIndex`]).
pub trait DefinitionLookup {
    /// Signatures of definitions named `name`, best first.
    fn definitions_named(&self, name: &str) -> Vec<SignatureInfo>;
}

/// A definition shown by its signature.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SignatureInfo {
    /// Its name.
    pub name: String,
    /// What it is.
    pub kind: SymbolKind,
    /// The file, when not the current one (workspace-relative, `/`-separated).
    pub path: Option<String>,
    /// Zero-based first line.
    pub line: u32,
    /// The signature's source lines.
    pub signature: String,
}

/// One enclosing definition.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Scope {
    /// Its name.
    pub name: String,
    /// What it is.
    pub kind: SymbolKind,
    /// Its whole range.
    pub range: TextRange,
    /// Its signature.
    pub signature: String,
}

/// Where the focus text comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum FocusSource {
    /// The innermost enclosing definition.
    Symbol,
    /// The selection's lines (no enclosing definition).
    Selection,
    /// Lines around the cursor.
    Window,
}

/// The text in focus, whole or excerpted.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Excerpt {
    /// Where it comes from.
    pub source: FocusSource,
    /// Zero-based first line of the region.
    pub start_line: u32,
    /// Zero-based last line of the region.
    pub end_line: u32,
    /// The text; elided lines are replaced by a line `⋮`.
    pub text: String,
    /// Whether lines were elided to fit the budget.
    pub truncated: bool,
}

/// How many items were left out to fit the budget.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
pub struct Omitted {
    /// Import statements.
    pub imports: usize,
    /// Referenced definitions.
    pub referenced: usize,
    /// Sibling definitions.
    pub siblings: usize,
    /// Diagnostics.
    pub diagnostics: usize,
}

/// The context of a position or selection.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CursorContext {
    /// The file, if known.
    pub path: Option<String>,
    /// The language (none: plain text).
    pub language: Option<Language>,
    /// Encoding of every position.
    pub encoding: Encoding,
    /// The selection actually used.
    pub selection: TextRange,
    /// Positions of the request that were clamped.
    pub clamps: Vec<Clamp>,
    /// Whether the file has syntax errors.
    pub syntax_errors: bool,
    /// Whether the file was not valid UTF-8 (decoded lossily).
    pub invalid_utf8: bool,
    /// Enclosing definitions, outermost first.
    pub enclosing: Vec<Scope>,
    /// The focus text.
    pub focus: Excerpt,
    /// Import statements of the file.
    pub imports: Vec<String>,
    /// Definitions referenced from the focus (this file first, then the workspace).
    pub referenced: Vec<SignatureInfo>,
    /// Other definitions in the same scope, in file order.
    pub siblings: Vec<SignatureInfo>,
    /// Diagnostics in the focus.
    pub diagnostics: Vec<Diagnostic>,
    /// What did not fit.
    pub omitted: Omitted,
    /// o200k tokens of [`CursorContext::render`], counted line by line: an upper bound of
    /// the whole text's count (blank lines count one token more), never over the budget.
    pub tokens: usize,
}

impl Document {
    /// The context of `request`'s selection; `lookup` resolves names defined elsewhere.
    /// A reparse left paused by an edit is finished first, so the context is of the text
    /// as it is now.
    pub fn cursor_context(
        &mut self,
        request: &CursorRequest,
        lookup: Option<&dyn DefinitionLookup>,
    ) -> Result<CursorContext, ContextError> {
        let counter = TokenCounter::o200k()?;
        self.settle(None);
        let mut memo = std::mem::take(&mut self.token_memo);
        let result = self.cursor_context_inner(request, lookup, counter, &mut memo);
        self.token_memo = memo;
        Ok(result)
    }

    fn cursor_context_inner(
        &mut self,
        request: &CursorRequest,
        lookup: Option<&dyn DefinitionLookup>,
        counter: &TokenCounter,
        memo: &mut LineMemo,
    ) -> CursorContext {
        let rope = self.rope().clone();
        let enc = request.encoding;
        let (sel, clamps) = text::range_to_bytes(&rope, request.selection, enc);
        let language = self.language();
        let syntax_errors = self.has_syntax_errors();
        let invalid_utf8 = self.invalid_utf8();
        let tags = self.raw_tags();
        let defs = tags::definitions(tags);
        let chain = enclosing_chain(&defs, &sel);
        let to_range = |r: &Range<usize>| {
            TextRange::new(
                text::byte_to_position(&rope, r.start, enc),
                text::byte_to_position(&rope, r.end, enc),
            )
        };
        let enclosing: Vec<Scope> = chain
            .iter()
            .map(|&i| Scope {
                name: defs[i].tag.text.clone(),
                kind: defs[i].kind,
                range: to_range(&defs[i].tag.span),
                signature: tags::signature_text(&rope, defs[i].tag),
            })
            .collect();

        let sel_lines = (rope.byte_to_line(sel.start), rope.byte_to_line(sel.end));
        let (source, region, header) = match chain.last() {
            Some(&i) => {
                let tag = defs[i].tag;
                let first = rope.byte_to_line(tag.span.start);
                let last = rope.byte_to_line(tag.span.end.saturating_sub(1).max(tag.span.start));
                (
                    FocusSource::Symbol,
                    (first, last),
                    Some(tags::signature_lines(&rope, tag)),
                )
            }
            None if sel.start != sel.end => (FocusSource::Selection, sel_lines, None),
            None => {
                let last_line = rope.len_lines().saturating_sub(1);
                let first = sel_lines.0.saturating_sub(WINDOW_LINES);
                (
                    FocusSource::Window,
                    (first, (sel_lines.1 + WINDOW_LINES).min(last_line)),
                    None,
                )
            }
        };
        let mut ctx = CursorContext {
            path: request.path.clone(),
            language,
            encoding: enc,
            selection: to_range(&sel),
            clamps,
            syntax_errors,
            invalid_utf8,
            enclosing,
            focus: Excerpt {
                source,
                start_line: region.0 as u32,
                end_line: region.1 as u32,
                text: String::new(),
                truncated: false,
            },
            imports: Vec::new(),
            referenced: Vec::new(),
            siblings: Vec::new(),
            diagnostics: Vec::new(),
            omitted: Omitted::default(),
            tokens: 0,
        };
        // Reserve room for the focus header and for the "left out" note.
        ctx.focus.text = "x".to_owned();
        ctx.omitted = Omitted {
            imports: 99,
            referenced: 99,
            siblings: 99,
            diagnostics: 99,
        };
        let fixed = memo.count(counter, &ctx.render());
        ctx.omitted = Omitted::default();
        // A long focus leaves a quarter of the room to the lists.
        let mut focus_budget =
            (request.budget.saturating_sub(fixed) * 3 / 4).max(request.budget / 4);
        let mut used = 0;
        for _ in 0..4 {
            let (focus_text, truncated) = excerpt(
                &rope,
                counter,
                memo,
                region,
                header,
                sel_lines,
                focus_budget,
            );
            ctx.focus.text = focus_text;
            ctx.focus.truncated = truncated;
            used = memo.count(counter, &ctx.render());
            if used <= request.budget || !truncated {
                break;
            }
            focus_budget = focus_budget.saturating_sub(used - request.budget + 4);
        }

        let region_bytes = rope.line_to_byte(region.0)..line_content_end(&rope, region.1);
        let mut fits = |text: &str, used: &mut usize| {
            let cost = memo.count(counter, text) + ITEM_OVERHEAD;
            if *used + cost <= request.budget {
                *used += cost;
                true
            } else {
                false
            }
        };

        for d in &request.diagnostics {
            let (bytes, _) = text::range_to_bytes(&rope, d.range, enc);
            if bytes.start > region_bytes.end || bytes.end < region_bytes.start {
                continue;
            }
            if fits(&d.message, &mut used) {
                ctx.diagnostics.push(d.clone());
            } else {
                ctx.omitted.diagnostics += 1;
            }
        }
        for import in tags::imports(tags) {
            let text = rope
                .byte_slice(import.span.clone())
                .to_string()
                .trim_end()
                .to_owned();
            if fits(&text, &mut used) {
                ctx.imports.push(text);
            } else {
                ctx.omitted.imports += 1;
            }
        }
        for sig in referenced(&rope, tags, &defs, &chain, &region_bytes, lookup) {
            if fits(&sig.signature, &mut used) {
                ctx.referenced.push(sig);
            } else {
                ctx.omitted.referenced += 1;
            }
        }
        let mut siblings = siblings(&defs, &chain, &region_bytes);
        let cursor_line = sel_lines.0;
        siblings.sort_by_key(|&i| {
            let line = rope.byte_to_line(defs[i].tag.span.start);
            (line.abs_diff(cursor_line), line)
        });
        let mut kept = Vec::new();
        for i in siblings {
            let sig = signature_info(&rope, &defs[i], None);
            if fits(&sig.signature, &mut used) {
                kept.push(sig);
            } else {
                ctx.omitted.siblings += 1;
            }
        }
        kept.sort_by_key(|s| s.line);
        ctx.siblings = kept;
        ctx.tokens = memo.count(counter, &ctx.render());
        while ctx.tokens > request.budget && ctx.drop_least_important() {
            ctx.tokens = memo.count(counter, &ctx.render());
        }
        for _ in 0..4 {
            if ctx.tokens <= request.budget || focus_budget == 0 {
                break;
            }
            focus_budget = focus_budget.saturating_sub(ctx.tokens - request.budget + 4);
            let (focus_text, truncated) = excerpt(
                &rope,
                counter,
                memo,
                region,
                header,
                sel_lines,
                focus_budget,
            );
            ctx.focus.text = focus_text;
            ctx.focus.truncated = truncated;
            ctx.tokens = memo.count(counter, &ctx.render());
        }
        ctx
    }
}

impl CursorContext {
    /// Drops one item of the least important non-empty list; false when none is left.
    fn drop_least_important(&mut self) -> bool {
        let o = &mut self.omitted;
        if let Some(far) = self
            .siblings
            .iter()
            .enumerate()
            .max_by_key(|(_, s)| s.line.abs_diff(self.selection.start.line))
            .map(|(i, _)| i)
        {
            self.siblings.remove(far);
            o.siblings += 1;
        } else if self.referenced.pop().is_some() {
            o.referenced += 1;
        } else if self.imports.pop().is_some() {
            o.imports += 1;
        } else if self.diagnostics.pop().is_some() {
            o.diagnostics += 1;
        } else {
            return false;
        }
        true
    }
}

/// Indices of the definitions enclosing `sel`, outermost first.
fn enclosing_chain(defs: &[Def<'_>], sel: &Range<usize>) -> Vec<usize> {
    let innermost = defs
        .iter()
        .rposition(|d| d.tag.span.start <= sel.start && sel.end <= d.tag.span.end);
    let mut chain = Vec::new();
    let mut current = innermost;
    while let Some(i) = current {
        chain.push(i);
        current = defs[i].parent;
    }
    chain.reverse();
    chain
}

fn signature_info(rope: &Rope, def: &Def<'_>, path: Option<String>) -> SignatureInfo {
    SignatureInfo {
        name: def.tag.text.clone(),
        kind: def.kind,
        path,
        line: rope.byte_to_line(def.tag.span.start) as u32,
        signature: tags::signature_text(rope, def.tag),
    }
}

/// Definitions of names referenced in the focus region: this file's first, then `lookup`'s.
fn referenced(
    rope: &Rope,
    tags: &[tags::RawTag],
    defs: &[Def<'_>],
    chain: &[usize],
    region: &Range<usize>,
    lookup: Option<&dyn DefinitionLookup>,
) -> Vec<SignatureInfo> {
    let chain_names: HashSet<&str> = chain.iter().map(|&i| defs[i].tag.text.as_str()).collect();
    // Tags are sorted by node start: only those starting in the region are looked at.
    let first = tags.partition_point(|t| t.node.start < region.start);
    let last = tags.partition_point(|t| t.node.start < region.end);
    let in_region = &tags[first..last];
    let mut names: Vec<&str> = Vec::new();
    let mut seen: HashSet<&str> = HashSet::new();
    for r in tags::references(in_region) {
        if r.name.end <= region.end
            && !chain_names.contains(r.text.as_str())
            && seen.insert(r.text.as_str())
        {
            names.push(r.text.as_str());
        }
    }
    let mut out = Vec::new();
    for name in names {
        let local: Vec<SignatureInfo> = defs
            .iter()
            .filter(|d| d.tag.text == name && d.kind != SymbolKind::Impl)
            .filter(|d| d.tag.span.start >= region.end || d.tag.span.end <= region.start)
            .take(MAX_DEFS_PER_NAME)
            .map(|d| signature_info(rope, d, None))
            .collect();
        if !local.is_empty() {
            out.extend(local);
        } else if let Some(lookup) = lookup {
            out.extend(
                lookup
                    .definitions_named(name)
                    .into_iter()
                    .take(MAX_DEFS_PER_NAME),
            );
        }
    }
    out
}

/// Definitions sharing the innermost enclosing definition's parent (top-level definitions
/// when there is none), outside the focus region.
fn siblings(defs: &[Def<'_>], chain: &[usize], region: &Range<usize>) -> Vec<usize> {
    let parent = chain.last().and_then(|&i| defs[i].parent);
    (0..defs.len())
        .filter(|&i| defs[i].parent == parent && Some(&i) != chain.last())
        .filter(|&i| defs[i].tag.span.start >= region.end || defs[i].tag.span.end <= region.start)
        .collect()
}

/// The text of lines `region`, or, over `budget`, the header lines, the selection and as
/// many lines around it as fit, with `⋮` for elided runs.
fn excerpt(
    rope: &Rope,
    counter: &TokenCounter,
    memo: &mut LineMemo,
    region: (usize, usize),
    header: Option<(usize, usize)>,
    selection: (usize, usize),
    budget: usize,
) -> (String, bool) {
    let line_text = |i: usize| rope.byte_slice(rope.line_to_byte(i)..line_content_end(rope, i));
    let whole = rope.byte_slice(rope.line_to_byte(region.0)..line_content_end(rope, region.1));
    if whole.len_bytes() <= budget {
        return (whole.to_string(), false);
    }
    let whole = whole.to_string();
    if memo.count(counter, &whole) <= budget {
        return (whole, false);
    }
    let budget = budget.saturating_sub(4);
    let mut chosen: BTreeSet<usize> = BTreeSet::new();
    let mut used = 0usize;
    let mut take = |i: usize, chosen: &mut BTreeSet<usize>, used: &mut usize| -> bool {
        if chosen.contains(&i) {
            return true;
        }
        let cost = memo.count(counter, &format!("{}\n", line_text(i)));
        if *used + cost > budget {
            return false;
        }
        *used += cost;
        chosen.insert(i);
        true
    };
    if let Some((a, b)) = header {
        for i in a..=b.min(region.1) {
            take(i, &mut chosen, &mut used);
        }
    }
    let anchor_start = selection.0.clamp(region.0, region.1);
    let anchor_end = selection.1.clamp(anchor_start, region.1);
    for i in anchor_start..=anchor_end {
        if !take(i, &mut chosen, &mut used) {
            break;
        }
    }
    let (mut up, mut down) = (anchor_start, anchor_end);
    let (mut up_open, mut down_open) = (true, true);
    while up_open || down_open {
        if up_open {
            up_open = up > region.0 && take(up - 1, &mut chosen, &mut used);
            if up_open {
                up -= 1;
            }
        }
        if down_open {
            down_open = down < region.1 && take(down + 1, &mut chosen, &mut used);
            if down_open {
                down += 1;
            }
        }
    }
    take(region.1, &mut chosen, &mut used);
    let mut out = String::new();
    let mut previous: Option<usize> = None;
    for &i in &chosen {
        if previous.is_some_and(|p| i > p + 1) || (previous.is_none() && i > region.0) {
            out.push_str("⋮\n");
        }
        out.push_str(&line_text(i).to_string());
        out.push('\n');
        previous = Some(i);
    }
    if previous.is_some_and(|p| p < region.1) {
        out.push_str("⋮\n");
    }
    out.pop();
    (out, true)
}
