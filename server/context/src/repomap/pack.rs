//! Packing ranked definitions into a token budget and rendering the map.
//!
//! Invariants:
//! - The rendering lists files in path order, each as `path:` followed by the chosen
//!   signature lines in file order (with the signatures of enclosing definitions for
//!   context), `⋮` standing for elided lines; files without definitions are listed by path.
//! - Items are taken in rank order while they fit; the final text is counted exactly with
//!   o200k_base and is never over the budget. No blank lines are emitted, so the token count
//!   of the text is the sum of its lines' counts (o200k pieces never span a line break),
//!   which lets packing compute each item's cost without re-counting the whole map.

use rustc_hash::FxHashMap;
use std::collections::BTreeMap;
use std::fmt::Write as _;

use super::cache::FileEntry;
use super::rank::Item;
use super::summary::DefEntry;
use crate::tokens::TokenCounter;

/// Consecutive items that may fail to fit before packing stops looking.
const MAX_MISSES: usize = 256;

const GAP: &str = "⋮";

/// Lines chosen for one file.
#[derive(Default, Clone)]
pub(crate) struct Chosen<'a> {
    lines: BTreeMap<u32, &'a str>,
}

/// The packing result: chosen lines per file and the accepted items in rank order.
pub(crate) struct Packed<'a> {
    pub(crate) files: BTreeMap<usize, Chosen<'a>>,
    pub(crate) accepted: Vec<Item>,
}

struct Costs<'c> {
    counter: &'c TokenCounter,
    lines: FxHashMap<(usize, u32), usize>,
    gap: usize,
}

impl Costs<'_> {
    fn line(&mut self, file: usize, line: u32, text: &str) -> usize {
        *self
            .lines
            .entry((file, line))
            .or_insert_with(|| self.counter.count(&format!("{text}\n")))
    }
}

/// The lines an item shows: its signature and those of its enclosing definitions.
fn item_lines(defs: &[DefEntry], def: usize) -> Vec<(u32, &str)> {
    let mut out = Vec::new();
    let mut current = Some(def);
    while let Some(i) = current {
        let Some(d) = defs.get(i) else { break };
        for (k, text) in d.sig.iter().enumerate() {
            out.push((d.line + k as u32, text.as_str()));
        }
        current = d.parent.map(|p| p as usize);
    }
    out
}

fn file_cost(
    costs: &mut Costs<'_>,
    file: usize,
    header: usize,
    total_lines: u32,
    chosen: &Chosen<'_>,
) -> usize {
    if chosen.lines.is_empty() {
        return header;
    }
    let mut cost = header;
    let mut previous: Option<u32> = None;
    for (&line, text) in &chosen.lines {
        let gap = match previous {
            None => line > 0,
            Some(p) => line > p + 1,
        };
        if gap {
            cost += costs.gap;
        }
        cost += costs.line(file, line, text);
        previous = Some(line);
    }
    if previous.is_some_and(|p| p + 1 < total_lines) {
        cost += costs.gap;
    }
    cost
}

/// Greedily takes items in rank order while the estimated total stays within `budget`.
pub(crate) fn pack<'a>(
    counter: &TokenCounter,
    files: &[(&'a str, &'a FileEntry)],
    items: &[Item],
    budget: usize,
) -> Packed<'a> {
    let mut costs = Costs {
        counter,
        lines: FxHashMap::default(),
        gap: counter.count(&format!("{GAP}\n")),
    };
    let mut chosen: BTreeMap<usize, Chosen<'a>> = BTreeMap::new();
    let mut file_costs: FxHashMap<usize, usize> = FxHashMap::default();
    let mut headers: FxHashMap<usize, usize> = FxHashMap::default();
    let mut total = 0usize;
    let mut accepted = Vec::new();
    let mut misses = 0usize;
    for item in items {
        if misses >= MAX_MISSES || total >= budget {
            break;
        }
        let (path, entry) = files[item.file];
        let defs = entry
            .summary
            .as_ref()
            .map(|s| s.defs.as_slice())
            .unwrap_or_default();
        let total_lines = entry.summary.as_ref().map_or(0, |s| s.lines);
        let header = *headers.entry(item.file).or_insert_with(|| match item.def {
            Some(_) => counter.count(&format!("{path}:\n")),
            None => counter.count(&format!("{path}\n")),
        });
        let mut candidate = chosen.get(&item.file).cloned().unwrap_or_default();
        if let Some(def) = item.def {
            for (line, text) in item_lines(defs, def) {
                candidate.lines.insert(line, text);
            }
        }
        let old = file_costs.get(&item.file).copied().unwrap_or(0);
        let new = file_cost(&mut costs, item.file, header, total_lines, &candidate);
        if total - old + new <= budget {
            total = total - old + new;
            file_costs.insert(item.file, new);
            chosen.insert(item.file, candidate);
            accepted.push(*item);
            misses = 0;
        } else {
            misses += 1;
        }
    }
    Packed {
        files: chosen,
        accepted,
    }
}

/// Renders packed files in path order.
pub(crate) fn render(files: &[(&str, &FileEntry)], packed: &Packed<'_>) -> String {
    let mut out = String::new();
    for (&f, chosen) in &packed.files {
        let (path, entry) = files[f];
        if chosen.lines.is_empty() {
            let _ = writeln!(out, "{path}");
            continue;
        }
        let total_lines = entry.summary.as_ref().map_or(0, |s| s.lines);
        let _ = writeln!(out, "{path}:");
        let mut previous: Option<u32> = None;
        for (&line, text) in &chosen.lines {
            let gap = match previous {
                None => line > 0,
                Some(p) => line > p + 1,
            };
            if gap {
                let _ = writeln!(out, "{GAP}");
            }
            let _ = writeln!(out, "{text}");
            previous = Some(line);
        }
        if previous.is_some_and(|p| p + 1 < total_lines) {
            let _ = writeln!(out, "{GAP}");
        }
    }
    out
}
