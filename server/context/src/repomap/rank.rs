//! Ranking: personalized PageRank over the file reference graph, distributed to the
//! definitions each edge stands for (the scheme Aider popularised).
//!
//! Invariants:
//! - Deterministic: files are visited in path order, references in name order, and every
//!   float sum is accumulated in that order.
//! - An edge `r -> d` exists for each name that file `r` references and file `d` (≠ r)
//!   defines; its weight grows with the square root of the reference count and with how
//!   specific the name is, and is multiplied for references made by focus files.

use rustc_hash::FxHashMap;
use std::collections::{BTreeMap, BTreeSet};

use super::cache::FileEntry;
use crate::language::SymbolKind;

const DAMPING: f64 = 0.85;
/// Names defined in more files than this (`new`, `fmt`, `__init__`) say nothing about
/// which file a reference depends on: they make no edges.
const MAX_DEFINERS: usize = 24;
const MAX_ITERATIONS: usize = 100;
/// Convergence threshold per node (as networkx's `pagerank`).
const TOLERANCE: f64 = 1e-6;

/// What the ranking is personalized toward.
pub(crate) struct Personalization<'a> {
    /// Indices of focus files.
    pub(crate) focus: &'a BTreeSet<usize>,
    /// Identifiers mentioned by the user or the conversation.
    pub(crate) mentioned: &'a BTreeSet<String>,
}

/// One rankable item: a definition, or a file without definitions.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct Item {
    pub(crate) file: usize,
    pub(crate) def: Option<usize>,
    pub(crate) rank: f64,
}

/// File ranks and all items, best first.
pub(crate) fn rank(
    files: &[(&str, &FileEntry)],
    who: &Personalization<'_>,
) -> (Vec<f64>, Vec<Item>) {
    let n = files.len();
    // Looked up once per reference, never iterated: a hash map keeps ranking deterministic.
    let mut defines: FxHashMap<&str, Vec<usize>> = FxHashMap::default();
    for (i, (_, entry)) in files.iter().enumerate() {
        for def in entry.summary.iter().flat_map(|s| &s.defs) {
            if def.kind != SymbolKind::Impl {
                let list = defines.entry(def.name.as_str()).or_default();
                if list.last() != Some(&i) {
                    list.push(i);
                }
            }
        }
    }
    // (source, target, weight, name)
    let mut edges: Vec<(usize, usize, f64, &str)> = Vec::new();
    for (r, (_, entry)) in files.iter().enumerate() {
        for (name, count) in entry.summary.iter().flat_map(|s| &s.refs) {
            let Some(definers) = defines.get(name.as_str()) else {
                continue;
            };
            if definers.len() > MAX_DEFINERS {
                continue;
            }
            let mut weight =
                name_weight(name, definers.len(), who.mentioned) * f64::from(*count).sqrt();
            if who.focus.contains(&r) {
                weight *= 50.0;
            }
            for &d in definers {
                if d != r {
                    edges.push((r, d, weight, name.as_str()));
                }
            }
        }
    }
    let personal = personalization(files, who, &defines);
    let ranks = pagerank(n, &edges, &personal);

    let mut out_weight = vec![0.0f64; n];
    for &(s, _, w, _) in &edges {
        out_weight[s] += w;
    }
    let mut def_rank: FxHashMap<(usize, &str), f64> = FxHashMap::default();
    for &(s, d, w, name) in &edges {
        *def_rank.entry((d, name)).or_default() += ranks[s] * w / out_weight[s];
    }
    let mut items = Vec::new();
    for (f, (_, entry)) in files.iter().enumerate() {
        let defs = entry
            .summary
            .as_ref()
            .map(|s| s.defs.as_slice())
            .unwrap_or_default();
        if defs.is_empty() {
            items.push(Item {
                file: f,
                def: None,
                rank: 0.0,
            });
        }
        for (i, def) in defs.iter().enumerate() {
            if def.kind == SymbolKind::Impl {
                continue;
            }
            let rank = def_rank
                .get(&(f, def.name.as_str()))
                .copied()
                .unwrap_or(0.0);
            items.push(Item {
                file: f,
                def: Some(i),
                rank,
            });
        }
    }
    items.sort_by(|a, b| {
        b.rank
            .total_cmp(&a.rank)
            .then(ranks[b.file].total_cmp(&ranks[a.file]))
            .then(files[a.file].0.cmp(files[b.file].0))
            .then(a.def.cmp(&b.def))
    });
    (ranks, items)
}

/// How much a reference to `name` says about a dependency.
fn name_weight(name: &str, definers: usize, mentioned: &BTreeSet<String>) -> f64 {
    let mut w = 1.0;
    if mentioned.contains(name) {
        w *= 10.0;
    }
    let is_snake = name.contains('_') && name.chars().any(char::is_alphabetic);
    let is_camel = name.chars().any(char::is_uppercase) && name.chars().any(char::is_lowercase);
    if (is_snake || is_camel) && name.len() >= 8 {
        w *= 10.0;
    }
    if name.starts_with('_') {
        w *= 0.1;
    }
    if definers > 5 {
        w *= 0.1;
    }
    w
}

/// Focus files, files named like a mentioned identifier and the files defining one (unless
/// too many do); uniform when there are none.
fn personalization(
    files: &[(&str, &FileEntry)],
    who: &Personalization<'_>,
    defines: &FxHashMap<&str, Vec<usize>>,
) -> Vec<f64> {
    let n = files.len();
    let mut p = vec![0.0; n];
    for name in who.mentioned {
        match defines.get(name.as_str()) {
            Some(definers) if definers.len() <= MAX_DEFINERS => {
                definers.iter().for_each(|&d| p[d] = 1.0);
            }
            _ => {}
        }
    }
    for (i, (path, _)) in files.iter().enumerate() {
        let stem = path
            .rsplit('/')
            .next()
            .and_then(|name| name.split('.').next())
            .unwrap_or_default();
        if who.focus.contains(&i) || (!stem.is_empty() && who.mentioned.contains(stem)) {
            p[i] = 1.0;
        }
    }
    let total: f64 = p.iter().sum();
    if total == 0.0 {
        return vec![1.0 / n.max(1) as f64; n];
    }
    p.iter().map(|x| x / total).collect()
}

/// Personalized PageRank by power iteration; dangling mass follows the personalization.
fn pagerank(n: usize, edges: &[(usize, usize, f64, &str)], personal: &[f64]) -> Vec<f64> {
    // Parallel edges (one per name) are merged: PageRank only needs their total weight.
    // Edges come grouped by source, so merging per source keeps the sums ordered.
    let mut links: Vec<(usize, usize, f64)> = Vec::new();
    let mut out_weight = vec![0.0f64; n];
    let mut start = 0;
    while start < edges.len() {
        let source = edges[start].0;
        let end = start + edges[start..].partition_point(|e| e.0 == source);
        let mut targets: BTreeMap<usize, f64> = BTreeMap::new();
        for &(_, d, w, _) in &edges[start..end] {
            *targets.entry(d).or_default() += w;
        }
        for (d, w) in targets {
            out_weight[source] += w;
            links.push((source, d, w));
        }
        start = end;
    }
    for link in &mut links {
        link.2 /= out_weight[link.0];
    }
    let mut x = personal.to_vec();
    for _ in 0..MAX_ITERATIONS {
        let mut next = vec![0.0f64; n];
        let dangling: f64 = (0..n).filter(|&i| out_weight[i] == 0.0).map(|i| x[i]).sum();
        for &(s, d, share) in &links {
            next[d] += DAMPING * x[s] * share;
        }
        for i in 0..n {
            next[i] += (DAMPING * dangling + (1.0 - DAMPING)) * personal[i];
        }
        let diff: f64 = next.iter().zip(&x).map(|(a, b)| (a - b).abs()).sum();
        x = next;
        if diff < TOLERANCE * n as f64 {
            break;
        }
    }
    x
}
