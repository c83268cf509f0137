//! Outline and tag listings of a document.
//!
//! Invariant: symbols are in document order and nested by range containment, so a method
//! appears under its class, impl or trait.

use serde::{Deserialize, Serialize};

use crate::document::Document;
use crate::language::SymbolKind;
use crate::tags::{self, Def, Role};
use crate::text::{Encoding, TextRange, byte_to_position};

/// A definition in a file's outline.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Symbol {
    /// Its name (for Rust impls: `Trait for Type` or `Type`).
    pub name: String,
    /// What it is.
    pub kind: SymbolKind,
    /// The whole definition (widened to decorators and `export`).
    pub range: TextRange,
    /// The identifier.
    pub selection_range: TextRange,
    /// Its signature: the source lines up to where the body opens.
    pub signature: String,
    /// Nested definitions.
    pub children: Vec<Symbol>,
}

/// Whether a tag defines or uses a name.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum TagRole {
    /// A definition.
    Definition,
    /// A reference.
    Reference,
}

/// A definition or reference of a name.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Tag {
    /// Definition or reference.
    pub role: TagRole,
    /// For definitions, what is defined.
    pub kind: Option<SymbolKind>,
    /// The name.
    pub name: String,
    /// The identifier's range.
    pub range: TextRange,
}

impl Document {
    /// The file's definitions, nested.
    pub fn outline(&mut self, encoding: Encoding) -> Vec<Symbol> {
        let rope = self.rope().clone();
        let tags = self.raw_tags();
        let defs = tags::definitions(tags);
        let mut children: Vec<Vec<usize>> = vec![Vec::new(); defs.len()];
        let mut roots = Vec::new();
        for (i, def) in defs.iter().enumerate() {
            match def.parent {
                Some(p) => children[p].push(i),
                None => roots.push(i),
            }
        }
        let range = |r: &std::ops::Range<usize>| {
            TextRange::new(
                byte_to_position(&rope, r.start, encoding),
                byte_to_position(&rope, r.end, encoding),
            )
        };
        fn build(
            i: usize,
            defs: &[Def<'_>],
            children: &[Vec<usize>],
            rope: &ropey::Rope,
            range: &dyn Fn(&std::ops::Range<usize>) -> TextRange,
        ) -> Symbol {
            let def = defs[i];
            Symbol {
                name: def.tag.text.clone(),
                kind: def.kind,
                range: range(&def.tag.span),
                selection_range: range(&def.tag.name),
                signature: tags::signature_text(rope, def.tag),
                children: children[i]
                    .iter()
                    .map(|&c| build(c, defs, children, rope, range))
                    .collect(),
            }
        }
        roots
            .into_iter()
            .map(|i| build(i, &defs, &children, &rope, &range))
            .collect()
    }

    /// Every definition and reference, in document order (references deduplicated, without
    /// the identifiers of definitions).
    pub fn tags(&mut self, encoding: Encoding) -> Vec<Tag> {
        let rope = self.rope().clone();
        let tags = self.raw_tags();
        let defs = tags::definitions(tags);
        let mut out: Vec<(usize, Tag)> = Vec::new();
        let range = |r: &std::ops::Range<usize>| {
            TextRange::new(
                byte_to_position(&rope, r.start, encoding),
                byte_to_position(&rope, r.end, encoding),
            )
        };
        for def in &defs {
            out.push((
                def.tag.name.start,
                Tag {
                    role: TagRole::Definition,
                    kind: Some(def.kind),
                    name: def.tag.text.clone(),
                    range: range(&def.tag.name),
                },
            ));
        }
        for r in tags::references(tags) {
            if r.role == Role::Reference {
                out.push((
                    r.name.start,
                    Tag {
                        role: TagRole::Reference,
                        kind: None,
                        name: r.text.clone(),
                        range: range(&r.name),
                    },
                ));
            }
        }
        out.sort_by(|a, b| {
            (a.0, a.1.role == TagRole::Reference).cmp(&(b.0, b.1.role == TagRole::Reference))
        });
        out.into_iter().map(|(_, t)| t).collect()
    }

    /// The file's import statements, in order.
    pub fn imports(&mut self) -> Vec<String> {
        let rope = self.rope().clone();
        tags::imports(self.raw_tags())
            .into_iter()
            .map(|t| {
                rope.byte_slice(t.span.clone())
                    .to_string()
                    .trim_end()
                    .to_owned()
            })
            .collect()
    }
}
