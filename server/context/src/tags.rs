//! Tag extraction: definitions, references and imports from a tree and its tags query.
//!
//! Invariants:
//! - [`extract`] returns tags sorted by [`RawTag::order_key`], with at most one definition per
//!   tagged node (the query's earliest pattern wins).
//! - A tag's `node` is the range of the pattern's root node, which is what a range-restricted
//!   query tests against; `span` is what is shown (widened to decorators, `export`, ...).
//! - References are deduplicated and stripped of definition names when read
//!   ([`references`]), so that tags kept incrementally need no global pass on each edit.

use std::collections::HashSet;
use std::ops::Range;

use ropey::Rope;
use tree_sitter::{Node, QueryCursor, StreamingIterator, Tree};

use crate::language::{CaptureRole, LanguageSpec, SymbolKind};
use crate::text::line_content_end;

/// What a tag is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub(crate) enum Role {
    Definition(SymbolKind),
    Reference,
    Import,
}

/// One tag, in byte offsets of the text it was extracted from.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub(crate) struct RawTag {
    pub(crate) role: Role,
    /// The pattern's root node.
    pub(crate) node: Range<usize>,
    /// The range shown for the tag.
    pub(crate) span: Range<usize>,
    /// The identifier (for imports: the node).
    pub(crate) name: Range<usize>,
    /// The identifier's text (empty for imports).
    pub(crate) text: String,
    /// Start of the definition's body, if it has one.
    pub(crate) body_start: Option<usize>,
    /// The query pattern that produced the tag.
    pub(crate) pattern: usize,
}

impl RawTag {
    pub(crate) fn order_key(&self) -> (usize, std::cmp::Reverse<usize>, usize, usize) {
        (
            self.node.start,
            std::cmp::Reverse(self.node.end),
            self.pattern,
            self.name.start,
        )
    }

    pub(crate) fn kind(&self) -> Option<SymbolKind> {
        match self.role {
            Role::Definition(kind) => Some(kind),
            _ => None,
        }
    }

    /// Moves every offset as the edit `start..old_end -> start..new_end` moves text.
    pub(crate) fn shift(&mut self, start: usize, old_end: usize, new_end: usize) {
        let map = |p: usize| {
            if p >= old_end {
                p - old_end + new_end
            } else if p > start {
                start.max(p.min(new_end))
            } else {
                p
            }
        };
        let shift_range = |r: &mut Range<usize>| {
            r.start = map(r.start);
            r.end = map(r.end).max(r.start);
        };
        shift_range(&mut self.node);
        shift_range(&mut self.span);
        shift_range(&mut self.name);
        self.body_start = self.body_start.map(map);
    }
}

/// Runs the tags query over `tree`, restricted to tags whose node intersects `range`.
pub(crate) fn extract(
    spec: &LanguageSpec,
    tree: &Tree,
    rope: &Rope,
    range: Option<Range<usize>>,
) -> Vec<RawTag> {
    let mut cursor = QueryCursor::new();
    if let Some(range) = range {
        // An end of 0 means "unbounded" to tree-sitter.
        cursor.set_byte_range(range.start..range.end.max(1));
    }
    let root = tree.root_node();
    let text = |node: Node<'_>| {
        rope.byte_slice(node.byte_range())
            .chunks()
            .map(str::as_bytes)
    };
    let mut tags = Vec::new();
    let mut matches = cursor.matches(&spec.query, root, text);
    while let Some(m) = matches.next() {
        let mut tagged: Option<(Node<'_>, CaptureRole)> = None;
        let mut name: Option<Node<'_>> = None;
        for capture in m.captures() {
            match spec.captures.get(capture.index as usize).copied().flatten() {
                Some(CaptureRole::Name) => name = Some(capture.node),
                Some(role) => tagged = Some((capture.node, role)),
                None => {}
            }
        }
        let Some((node, role)) = tagged else { continue };
        if spec.top_only.get(m.pattern_index).copied().unwrap_or(false)
            && !LanguageSpec::is_top_level(node)
        {
            continue;
        }
        if let Some(tag) = make_tag(rope, node, role, name, m.pattern_index) {
            tags.push(tag);
        }
    }
    tags.sort_by_key(RawTag::order_key);
    dedup_definitions(&mut tags);
    tags
}

fn make_tag(
    rope: &Rope,
    node: Node<'_>,
    role: CaptureRole,
    name: Option<Node<'_>>,
    pattern: usize,
) -> Option<RawTag> {
    let slice = |r: Range<usize>| rope.byte_slice(r).to_string();
    match role {
        CaptureRole::Import => Some(RawTag {
            role: Role::Import,
            node: node.byte_range(),
            span: node.byte_range(),
            name: node.byte_range(),
            text: String::new(),
            body_start: None,
            pattern,
        }),
        CaptureRole::Reference => {
            let name = name?;
            Some(RawTag {
                role: Role::Reference,
                node: node.byte_range(),
                span: node.byte_range(),
                name: name.byte_range(),
                text: slice(name.byte_range()),
                body_start: None,
                pattern,
            })
        }
        CaptureRole::Definition(kind) => {
            let name = name?;
            let mut text = slice(name.byte_range());
            if kind == SymbolKind::Impl
                && let Some(tr) = node.child_by_field_name("trait")
            {
                text = format!("{} for {text}", slice(tr.byte_range()));
            }
            Some(RawTag {
                role: Role::Definition(kind),
                node: node.byte_range(),
                span: LanguageSpec::display_span(node),
                name: name.byte_range(),
                text,
                body_start: body_start(rope, node),
                pattern,
            })
        }
        CaptureRole::Name => None,
    }
}

/// Keeps the first definition (lowest pattern) of each tagged node.
fn dedup_definitions(tags: &mut Vec<RawTag>) {
    let mut seen: HashSet<Range<usize>> = HashSet::new();
    tags.retain(|t| !matches!(t.role, Role::Definition(_)) || seen.insert(t.node.clone()));
}

/// Where a definition's body starts: its `body` field, or the first `{` block a few levels
/// down (Go struct types, arrow functions, ...).
fn body_start(rope: &Rope, node: Node<'_>) -> Option<usize> {
    if let Some(body) = node.child_by_field_name("body") {
        return Some(body.start_byte());
    }
    let mut level = vec![node];
    for _ in 0..3 {
        let mut next = Vec::new();
        for n in level {
            let mut cursor = n.walk();
            for child in n.named_children(&mut cursor) {
                if child.start_byte() < rope.len_bytes() && rope.byte(child.start_byte()) == b'{' {
                    return Some(child.start_byte());
                }
                next.push(child);
            }
        }
        level = next;
    }
    None
}

/// Most lines a signature may have.
const MAX_SIGNATURE_LINES: usize = 8;

/// Line range (inclusive, zero-based) of a definition's signature: from its first line to
/// the line where its body opens (or the line before, when the body starts its own line).
pub(crate) fn signature_lines(rope: &Rope, tag: &RawTag) -> (usize, usize) {
    let first = rope.byte_to_line(tag.span.start.min(rope.len_bytes()));
    let last_of_span = rope.byte_to_line(
        tag.span
            .end
            .saturating_sub(1)
            .max(tag.span.start)
            .min(rope.len_bytes()),
    );
    let last = match tag.body_start {
        Some(body) => {
            let body = body.min(rope.len_bytes());
            let line = rope.byte_to_line(body);
            let before = rope.byte_slice(rope.line_to_byte(line)..body);
            if line > first && before.chars().all(char::is_whitespace) {
                line - 1
            } else {
                line
            }
        }
        None if last_of_span - first < 3 => last_of_span,
        None => first,
    };
    (first, last.clamp(first, first + MAX_SIGNATURE_LINES - 1))
}

/// The signature's text: whole lines, without the trailing line break.
pub(crate) fn signature_text(rope: &Rope, tag: &RawTag) -> String {
    let (first, last) = signature_lines(rope, tag);
    rope.byte_slice(rope.line_to_byte(first)..line_content_end(rope, last))
        .to_string()
}

/// A definition with its effective kind and enclosing definition.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Def<'a> {
    pub(crate) tag: &'a RawTag,
    pub(crate) kind: SymbolKind,
    /// Index (in the same list) of the innermost enclosing definition.
    pub(crate) parent: Option<usize>,
}

/// Definitions in document order, with parents; functions in containers become methods.
pub(crate) fn definitions(tags: &[RawTag]) -> Vec<Def<'_>> {
    let mut defs: Vec<&RawTag> = tags
        .iter()
        .filter(|t| matches!(t.role, Role::Definition(_)))
        .collect();
    defs.sort_by_key(|t| (t.span.start, std::cmp::Reverse(t.span.end), t.pattern));
    let mut out: Vec<Def<'_>> = Vec::with_capacity(defs.len());
    let mut stack: Vec<usize> = Vec::new();
    for tag in defs {
        while let Some(&top) = stack.last() {
            if out[top].tag.span.end >= tag.span.end && out[top].tag.span.start <= tag.span.start {
                break;
            }
            stack.pop();
        }
        let parent = stack.last().copied();
        let mut kind = tag.kind().unwrap_or(SymbolKind::Function);
        if kind == SymbolKind::Function && parent.is_some_and(|p| out[p].kind.is_container()) {
            kind = SymbolKind::Method;
        }
        stack.push(out.len());
        out.push(Def { tag, kind, parent });
    }
    out
}

/// References, deduplicated by identifier, without identifiers that name a definition.
pub(crate) fn references(tags: &[RawTag]) -> Vec<&RawTag> {
    let def_names: HashSet<usize> = tags
        .iter()
        .filter(|t| matches!(t.role, Role::Definition(_)))
        .map(|t| t.name.start)
        .collect();
    let mut seen: HashSet<usize> = HashSet::new();
    tags.iter()
        .filter(|t| t.role == Role::Reference)
        .filter(|t| !def_names.contains(&t.name.start) && seen.insert(t.name.start))
        .collect()
}

/// Import statements in document order.
pub(crate) fn imports(tags: &[RawTag]) -> Vec<&RawTag> {
    let mut out: Vec<&RawTag> = tags.iter().filter(|t| t.role == Role::Import).collect();
    out.sort_by_key(|t| t.span.start);
    out.dedup_by_key(|t| t.span.clone());
    out
}
