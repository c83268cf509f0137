//! Prompt renderings of cursor contexts and outlines (plain text with markdown fences).
//!
//! Invariant: line and column numbers shown to people and models are 1-based; the
//! structured values keep zero-based positions.

use std::fmt::Write as _;

use crate::cursor::{CursorContext, FocusSource, Severity, SignatureInfo};
use crate::outline::Symbol;
use crate::text::ClampReason;

impl CursorContext {
    /// The context as prompt text.
    pub fn render(&self) -> String {
        let mut out = String::new();
        let lang = self.language.map_or("text", |l| l.name());
        let path = self.path.as_deref().unwrap_or("<buffer>");
        let _ = writeln!(out, "File: {path} ({lang})");
        let (s, e) = (self.selection.start, self.selection.end);
        if s == e {
            let _ = writeln!(
                out,
                "Cursor: line {}, column {}",
                s.line + 1,
                s.character + 1
            );
        } else {
            let _ = writeln!(
                out,
                "Selection: {}:{} to {}:{}",
                s.line + 1,
                s.character + 1,
                e.line + 1,
                e.character + 1
            );
        }
        if self.invalid_utf8 {
            out.push_str("Note: the file is not valid UTF-8; invalid bytes are shown as U+FFFD.\n");
        }
        if self.syntax_errors {
            out.push_str("Note: the file has syntax errors; structure is best effort.\n");
        }
        for clamp in &self.clamps {
            let why = match clamp.reason {
                ClampReason::PastEndOfDocument => "is past the end of the file",
                ClampReason::PastEndOfLine => "is past the end of its line",
                ClampReason::InsideCharacter => "falls inside a character",
                ClampReason::Reversed => "comes before the start of the range",
            };
            let (asked, used) = (clamp.requested, clamp.used);
            let _ = writeln!(
                out,
                "Note: line {}, column {} {why}; line {}, column {} is shown instead.",
                asked.line + 1,
                asked.character + 1,
                used.line + 1,
                used.character + 1
            );
        }
        if !self.enclosing.is_empty() {
            out.push_str("\nEnclosing:\n");
            for (depth, scope) in self.enclosing.iter().enumerate() {
                let first = scope.signature.lines().next().unwrap_or("").trim();
                let _ = writeln!(
                    out,
                    "{}{} {} (line {}): {first}",
                    "  ".repeat(depth),
                    scope.kind.as_str(),
                    scope.name,
                    scope.range.start.line + 1
                );
            }
        }
        if !self.focus.text.is_empty() {
            let what = match self.focus.source {
                FocusSource::Symbol => "symbol",
                FocusSource::Selection => "selection",
                FocusSource::Window => "around the cursor",
            };
            let cut = if self.focus.truncated {
                ", excerpt"
            } else {
                ""
            };
            let _ = writeln!(
                out,
                "\nFocus ({what}, lines {}-{}{cut}):\n```{}\n{}\n```",
                self.focus.start_line + 1,
                self.focus.end_line + 1,
                self.language.map_or("", |l| l.name()),
                self.focus.text
            );
        }
        if !self.diagnostics.is_empty() {
            out.push_str("\nDiagnostics:\n");
            for d in &self.diagnostics {
                let severity = match d.severity {
                    Severity::Error => "error",
                    Severity::Warning => "warning",
                    Severity::Information => "info",
                    Severity::Hint => "hint",
                };
                let source = d
                    .source
                    .as_deref()
                    .map(|s| format!(" [{s}]"))
                    .unwrap_or_default();
                let _ = writeln!(
                    out,
                    "- {severity} at {}:{}{source}: {}",
                    d.range.start.line + 1,
                    d.range.start.character + 1,
                    d.message
                );
            }
        }
        if !self.imports.is_empty() {
            out.push_str("\nImports:\n");
            for i in &self.imports {
                let _ = writeln!(out, "{i}");
            }
        }
        render_signatures(&mut out, "Referenced definitions", &self.referenced);
        render_signatures(&mut out, "Sibling definitions", &self.siblings);
        let o = &self.omitted;
        let omitted = o.imports + o.referenced + o.siblings + o.diagnostics;
        if omitted > 0 {
            let _ = writeln!(
                out,
                "\n({omitted} more items left out for the token budget: {} imports, {} referenced, {} siblings, {} diagnostics)",
                o.imports, o.referenced, o.siblings, o.diagnostics
            );
        }
        out
    }
}

fn render_signatures(out: &mut String, title: &str, sigs: &[SignatureInfo]) {
    if sigs.is_empty() {
        return;
    }
    let _ = writeln!(out, "\n{title}:");
    for sig in sigs {
        let place = match &sig.path {
            Some(p) => format!("{p}:{}", sig.line + 1),
            None => format!("line {}", sig.line + 1),
        };
        let mut lines = sig.signature.lines();
        let _ = writeln!(out, "{place}: {}", lines.next().unwrap_or("").trim());
        for line in lines {
            let _ = writeln!(out, "    {line}");
        }
    }
}

/// An outline as indented lines: `kind name (line N)`.
pub fn render_outline(symbols: &[Symbol]) -> String {
    fn walk(out: &mut String, symbols: &[Symbol], depth: usize) {
        for s in symbols {
            let _ = writeln!(
                out,
                "{}{} {} (line {})",
                "  ".repeat(depth),
                s.kind.as_str(),
                s.name,
                s.range.start.line + 1
            );
            walk(out, &s.children, depth + 1);
        }
    }
    let mut out = String::new();
    walk(&mut out, symbols, 0);
    out
}
