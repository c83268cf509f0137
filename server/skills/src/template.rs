//! The user-prompt template language: `{{name}}` inserts a variable, `{{#name}}…{{/name}}`
//! keeps its content when the variable is not blank, `{{^name}}…{{/name}}` when it is, and
//! `\{{` is a literal `{{`.
//!
//! Invariants: only `{{` + optional sigil + identifier + `}}` is a tag, so other uses of
//! braces (code, Jinja, JSON) stay literal; a section tag alone on its line takes the whole
//! line with it (as in mustache), so templates can put sections on their own lines without
//! leaving blank lines behind. Values are inserted verbatim, never re-parsed.

/// A parsed template.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Template {
    nodes: Vec<Node>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
enum Node {
    Text(String),
    Var {
        name: String,
        line: u32,
    },
    Section {
        name: String,
        inverted: bool,
        line: u32,
        body: Vec<Node>,
    },
}

/// A syntax error, with the 1-based line within the template source.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct TemplateError {
    pub(crate) line: u32,
    pub(crate) message: String,
}

/// One recognised `{{…}}` tag.
enum Tag<'a> {
    Var(&'a str),
    Open(&'a str, bool),
    Close(&'a str),
}

/// A section being parsed: (name, inverted, line, nodes before it).
type Frame = (String, bool, u32, Vec<Node>);

/// Whether `s` is a variable name: ASCII letter or `_`, then letters, digits, `_` or `-`.
pub(crate) fn is_identifier(s: &str) -> bool {
    let mut chars = s.chars();
    chars
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
}

impl Template {
    /// Parses `src`, reporting the first syntax error.
    pub(crate) fn parse(src: &str) -> Result<Self, TemplateError> {
        let mut stack: Vec<Frame> = Vec::new();
        let mut nodes = Vec::new();
        let mut text = String::new();
        let mut pos = 0;
        let mut scan = 0;
        while let Some(found) = src[scan..].find("{{") {
            let start = scan + found;
            if start > 0 && src.as_bytes()[start - 1] == b'\\' {
                text.push_str(&src[pos..start - 1]);
                text.push_str("{{");
                pos = start + 2;
                scan = pos;
                continue;
            }
            let line = line_at(src, start);
            let Some(len) = src[start + 2..].find("}}") else {
                break;
            };
            let end = start + 2 + len + 2;
            let inner = src[start + 2..end - 2].trim();
            let Some(tag) = classify(inner).map_err(|message| TemplateError { line, message })?
            else {
                scan = start + 2;
                continue;
            };
            let (cut_from, resume) = match tag {
                Tag::Var(_) => (start, end),
                Tag::Open(..) | Tag::Close(_) => standalone_span(src, start, end),
            };
            text.push_str(&src[pos..cut_from]);
            pos = resume;
            scan = resume;
            if !text.is_empty() {
                nodes.push(Node::Text(std::mem::take(&mut text)));
            }
            match tag {
                Tag::Var(name) => nodes.push(Node::Var {
                    name: name.to_owned(),
                    line,
                }),
                Tag::Open(name, inverted) => {
                    stack.push((name.to_owned(), inverted, line, std::mem::take(&mut nodes)));
                }
                Tag::Close(name) => {
                    let Some((open, inverted, open_line, outer)) = stack.pop() else {
                        return Err(TemplateError {
                            line,
                            message: format!(
                                "`{{{{/{name}}}}}` closes a section that was never opened"
                            ),
                        });
                    };
                    if open != name {
                        return Err(TemplateError {
                            line,
                            message: format!(
                                "`{{{{/{name}}}}}` closes the section `{open}` opened on line {open_line}"
                            ),
                        });
                    }
                    let body = std::mem::replace(&mut nodes, outer);
                    nodes.push(Node::Section {
                        name: open,
                        inverted,
                        line: open_line,
                        body,
                    });
                }
            }
        }
        text.push_str(&src[pos..]);
        if !text.is_empty() {
            nodes.push(Node::Text(text));
        }
        if let Some((name, _, line, _)) = stack.pop() {
            return Err(TemplateError {
                line,
                message: format!("section `{name}` is never closed with `{{{{/{name}}}}}`"),
            });
        }
        Ok(Self { nodes })
    }

    /// Every variable the template refers to, with its line, in order of appearance.
    pub(crate) fn variables(&self) -> Vec<(&str, u32)> {
        fn walk<'a>(nodes: &'a [Node], out: &mut Vec<(&'a str, u32)>) {
            for node in nodes {
                match node {
                    Node::Text(_) => {}
                    Node::Var { name, line } => out.push((name, *line)),
                    Node::Section {
                        name, line, body, ..
                    } => {
                        out.push((name, *line));
                        walk(body, out);
                    }
                }
            }
        }
        let mut out = Vec::new();
        walk(&self.nodes, &mut out);
        out
    }

    /// Renders with `lookup` giving each variable's value ("" when unknown or unset).
    pub(crate) fn render<'v>(&self, lookup: &dyn Fn(&str) -> &'v str) -> String {
        fn walk<'v>(nodes: &[Node], lookup: &dyn Fn(&str) -> &'v str, out: &mut String) {
            for node in nodes {
                match node {
                    Node::Text(text) => out.push_str(text),
                    Node::Var { name, .. } => out.push_str(lookup(name)),
                    Node::Section {
                        name,
                        inverted,
                        body,
                        ..
                    } => {
                        let present = !lookup(name).trim().is_empty();
                        if present != *inverted {
                            walk(body, lookup, out);
                        }
                    }
                }
            }
        }
        let mut out = String::new();
        walk(&self.nodes, lookup, &mut out);
        out
    }
}

/// Classifies the inside of `{{…}}`: `Ok(None)` for text that is not a tag.
fn classify(inner: &str) -> Result<Option<Tag<'_>>, String> {
    let (sigil, rest) = match inner.chars().next() {
        Some(c @ ('#' | '^' | '/')) => (Some(c), inner[1..].trim()),
        _ => (None, inner),
    };
    if !is_identifier(rest) {
        return match sigil {
            Some(_) => Err(format!(
                "malformed section tag `{{{{{inner}}}}}`: sections are `{{{{#name}}}}…{{{{/name}}}}` or `{{{{^name}}}}…{{{{/name}}}}`"
            )),
            None => Ok(None),
        };
    }
    Ok(Some(match sigil {
        Some('#') => Tag::Open(rest, false),
        Some('^') => Tag::Open(rest, true),
        Some(_) => Tag::Close(rest),
        None => Tag::Var(rest),
    }))
}

/// For a section tag at `start..end`: when nothing but whitespace shares its line, the span
/// to cut is the whole line including its newline; otherwise just the tag.
fn standalone_span(src: &str, start: usize, end: usize) -> (usize, usize) {
    let line_start = src[..start].rfind('\n').map_or(0, |i| i + 1);
    let line_end = src[end..].find('\n').map_or(src.len(), |i| end + i);
    let blank = |s: &str| s.chars().all(|c| c == ' ' || c == '\t' || c == '\r');
    if blank(&src[line_start..start]) && blank(&src[end..line_end]) {
        (line_start, (line_end + 1).min(src.len()))
    } else {
        (start, end)
    }
}

fn line_at(src: &str, offset: usize) -> u32 {
    let newlines = src.as_bytes()[..offset]
        .iter()
        .filter(|&&b| b == b'\n')
        .count();
    u32::try_from(newlines).map_or(u32::MAX, |n| n.saturating_add(1))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use super::*;
    use pretty_assertions::assert_eq;

    fn render(src: &str, vars: &[(&str, &str)]) -> String {
        let template = Template::parse(src).unwrap();
        template.render(&|name| vars.iter().find(|(n, _)| *n == name).map_or("", |(_, v)| v))
    }

    #[test]
    fn variables_and_sections() {
        let src = "Do: {{ input }}\n{{#selection}}\n```{{language}}\n{{selection}}\n```\n{{/selection}}\n{{^selection}}\nNo selection.\n{{/selection}}\nend";
        assert_eq!(
            render(
                src,
                &[
                    ("input", "x"),
                    ("selection", "fn a() {}"),
                    ("language", "rust")
                ]
            ),
            "Do: x\n```rust\nfn a() {}\n```\nend"
        );
        assert_eq!(
            render(src, &[("input", "x"), ("selection", "  \n")]),
            "Do: x\nNo selection.\nend"
        );
    }

    #[test]
    fn inline_sections_keep_their_line() {
        assert_eq!(render("a {{#x}}[{{x}}]{{/x}} b", &[("x", "1")]), "a [1] b");
        assert_eq!(render("a {{#x}}[{{x}}]{{/x}} b", &[]), "a  b");
    }

    #[test]
    fn literals() {
        assert_eq!(
            render(
                "\\{{input}} {{ not a tag }} {{}} {\"a\": {{input}}}",
                &[("input", "1")]
            ),
            "{{input}} {{ not a tag }} {{}} {\"a\": 1}"
        );
        assert_eq!(render("\\\\{{input}}", &[("input", "1")]), "\\{{input}}");
    }

    #[test]
    fn variables_have_lines() {
        let t = Template::parse("{{a}}\n{{#b}}\n{{c}}\n{{/b}}").unwrap();
        assert_eq!(t.variables(), vec![("a", 1), ("b", 2), ("c", 3)]);
    }

    #[test]
    fn errors() {
        let err = |src: &str| Template::parse(src).unwrap_err();
        assert_eq!(
            err("x\n{{#a}}\n{{/b}}"),
            TemplateError {
                line: 3,
                message: "`{{/b}}` closes the section `a` opened on line 2".into()
            }
        );
        assert_eq!(
            err("{{/a}}"),
            TemplateError {
                line: 1,
                message: "`{{/a}}` closes a section that was never opened".into()
            }
        );
        assert_eq!(
            err("\n\n{{#a}}"),
            TemplateError {
                line: 3,
                message: "section `a` is never closed with `{{/a}}`".into()
            }
        );
        assert_eq!(err("{{#if a}}").line, 1);
    }
}
