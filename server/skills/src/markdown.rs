//! Splitting a skill file: YAML front matter between `---` lines, the markdown body, and the
//! body's `## Template` section.
//!
//! Invariants: every piece keeps the 1-based file line of its first line, so problems found
//! inside a piece are reported at the right file line; headings inside fenced code blocks are
//! not headings.

/// A piece of the file and the file line its text starts on.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Piece<'a> {
    pub(crate) text: &'a str,
    pub(crate) line: u32,
}

/// A file split at its front matter.
#[derive(Debug)]
pub(crate) struct Document<'a> {
    /// The YAML between the `---` lines; `None` when the file has no front matter.
    pub(crate) front_matter: Option<Piece<'a>>,
    pub(crate) body: Piece<'a>,
}

/// Splits off the front matter. `Err((line, message))` when it is opened but never closed.
pub(crate) fn split_front_matter(text: &str) -> Result<Document<'_>, (u32, String)> {
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let mut lines = text.split_inclusive('\n');
    let first = lines.next().unwrap_or_default();
    if first.trim_end() != "---" {
        return Ok(Document {
            front_matter: None,
            body: Piece { text, line: 1 },
        });
    }
    let yaml_start = first.len();
    let mut offset = yaml_start;
    for (line, l) in (2u32..).zip(lines) {
        let trimmed = l.trim_end();
        if trimmed == "---" || trimmed == "..." {
            return Ok(Document {
                front_matter: Some(Piece {
                    text: &text[yaml_start..offset],
                    line: 2,
                }),
                body: Piece {
                    text: &text[offset + l.len()..],
                    line: line + 1,
                },
            });
        }
        offset += l.len();
    }
    Err((
        1,
        "the front matter opened on this line is never closed with a `---` line".into(),
    ))
}

/// A body split at its `## Template` section.
#[derive(Debug, PartialEq, Eq)]
pub(crate) struct Body<'a> {
    /// The body without the template section, trimmed.
    pub(crate) system_prompt: String,
    /// The template section's content, trimmed (and unwrapped when it is one fenced block).
    pub(crate) template: Option<Piece<'a>>,
}

/// Finds the `## Template` section: from that heading to the next heading of level 1 or 2
/// outside a code fence. `Err((line, message))` for a second such section.
pub(crate) fn split_template(body: Piece<'_>) -> Result<Body<'_>, (u32, String)> {
    let mut fence: Option<(char, usize)> = None;
    let mut offset = 0;
    let mut section: Option<(usize, usize, u32)> = None;
    let mut in_section = false;
    for (line, l) in (body.line..).zip(body.text.split_inclusive('\n')) {
        let heading = if fence.is_none() { heading(l) } else { None };
        update_fence(&mut fence, l);
        if let Some((level, title)) = heading {
            if in_section && level <= 2 {
                in_section = false;
                if let Some(s) = section.as_mut() {
                    s.1 = offset;
                }
            }
            if level == 2 && title.eq_ignore_ascii_case("template") {
                if section.is_some() {
                    return Err((
                        line,
                        "a second `## Template` section; a skill has one template".into(),
                    ));
                }
                section = Some((offset, body.text.len(), line));
                in_section = true;
            }
        }
        offset += l.len();
    }
    let Some((start, end, heading_line)) = section else {
        return Ok(Body {
            system_prompt: body.text.trim().to_owned(),
            template: None,
        });
    };
    let system_prompt = format!(
        "{}\n\n{}",
        body.text[..start].trim_end(),
        body.text[end..].trim_start()
    );
    let content = &body.text[start..end];
    let after_heading = content.find('\n').map_or(content.len(), |i| i + 1);
    let template = trim_piece(Piece {
        text: &content[after_heading..],
        line: heading_line + 1,
    });
    Ok(Body {
        system_prompt: system_prompt.trim().to_owned(),
        template: Some(unwrap_fence(template)),
    })
}

/// The line of a top-level YAML key (`key:` at column 0) in the front matter, if present.
pub(crate) fn key_line(front_matter: Piece<'_>, key: &str) -> Option<u32> {
    front_matter
        .text
        .lines()
        .zip(front_matter.line..)
        .find_map(|(l, n)| {
            let rest = l.strip_prefix(key)?;
            rest.trim_start().starts_with(':').then_some(n)
        })
}

/// The first line at or after `key`'s line that contains `needle` (e.g. one alias in a list).
pub(crate) fn value_line(front_matter: Piece<'_>, key: &str, needle: &str) -> Option<u32> {
    let start = key_line(front_matter, key)?;
    front_matter
        .text
        .lines()
        .zip(front_matter.line..)
        .skip_while(|(_, n)| *n < start)
        .find_map(|(l, n)| {
            let value = if n == start {
                l.split_once(':').map_or("", |(_, v)| v)
            } else {
                l
            };
            value.contains(needle).then_some(n)
        })
}

/// A heading line's level and title (ATX headings, up to three spaces of indentation).
fn heading(line: &str) -> Option<(usize, &str)> {
    let indent = line.len() - line.trim_start_matches(' ').len();
    if indent > 3 {
        return None;
    }
    let rest = &line[indent..];
    let level = rest.len() - rest.trim_start_matches('#').len();
    let after = &rest[level..];
    if !(1..=6).contains(&level)
        || !(after.is_empty() || after.starts_with([' ', '\t', '\n', '\r']))
    {
        return None;
    }
    Some((level, after.trim().trim_end_matches('#').trim_end()))
}

/// Tracks fenced code blocks (``` or ~~~, closed by the same character at least as long).
fn update_fence(fence: &mut Option<(char, usize)>, line: &str) {
    let trimmed = line.trim_start_matches(' ');
    if line.len() - trimmed.len() > 3 {
        return;
    }
    let Some(c) = trimmed.chars().next().filter(|c| *c == '`' || *c == '~') else {
        return;
    };
    let run = trimmed.len() - trimmed.trim_start_matches(c).len();
    if run < 3 {
        return;
    }
    match *fence {
        None => *fence = Some((c, run)),
        Some((open, len)) if open == c && run >= len && trimmed[run..].trim().is_empty() => {
            *fence = None
        }
        Some(_) => {}
    }
}

/// Trims blank lines and surrounding whitespace, moving the line number to the first kept line.
fn trim_piece(piece: Piece<'_>) -> Piece<'_> {
    let trimmed_start = piece.text.trim_start();
    let skipped = &piece.text[..piece.text.len() - trimmed_start.len()];
    let newlines = u32::try_from(skipped.matches('\n').count()).unwrap_or(0);
    Piece {
        text: trimmed_start.trim_end(),
        line: piece.line + newlines,
    }
}

/// When the whole piece is one fenced code block, its content.
fn unwrap_fence(piece: Piece<'_>) -> Piece<'_> {
    let lines: Vec<&str> = piece.text.lines().collect();
    let (Some(first), Some(last)) = (lines.first(), lines.last()) else {
        return piece;
    };
    if lines.len() < 2 {
        return piece;
    }
    let mut fence = None;
    update_fence(&mut fence, first);
    let Some((c, len)) = fence else { return piece };
    let closes = |l: &str| {
        let t = l.trim();
        t.len() >= len && t.chars().all(|x| x == c)
    };
    if !closes(last) || lines[1..lines.len() - 1].iter().any(|l| closes(l)) {
        return piece;
    }
    let start = first.len() + 1;
    let end = piece.text.len() - last.len();
    let inner = piece.text.get(start..end).unwrap_or_default();
    Piece {
        text: inner.trim_end_matches(['\n', '\r']),
        line: piece.line + 1,
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use super::*;
    use pretty_assertions::assert_eq;

    #[test]
    fn front_matter_lines() {
        let doc = split_front_matter("---\nname: a\n---\nbody\n").unwrap();
        assert_eq!(
            doc.front_matter,
            Some(Piece {
                text: "name: a\n",
                line: 2
            })
        );
        assert_eq!(
            doc.body,
            Piece {
                text: "body\n",
                line: 4
            }
        );
        let doc = split_front_matter("body only").unwrap();
        assert_eq!(
            (doc.front_matter, doc.body),
            (
                None,
                Piece {
                    text: "body only",
                    line: 1
                }
            )
        );
        assert_eq!(split_front_matter("---\nname: a\n").unwrap_err().0, 1);
    }

    #[test]
    fn template_section() {
        let text = "System.\n\n## Template\n\n{{input}}\n### sub\nmore\n\n## Notes\nkept\n";
        let body = split_template(Piece { text, line: 5 }).unwrap();
        assert_eq!(
            body,
            Body {
                system_prompt: "System.\n\n## Notes\nkept".into(),
                template: Some(Piece {
                    text: "{{input}}\n### sub\nmore",
                    line: 9
                }),
            }
        );
    }

    #[test]
    fn template_in_fence_and_headings_in_fences() {
        let text = "S\n```md\n## Template\n```\n## Template\n````\n## Heading in template\n{{input}}\n````\n";
        let body = split_template(Piece { text, line: 1 }).unwrap();
        assert_eq!(
            body,
            Body {
                system_prompt: "S\n```md\n## Template\n```".into(),
                template: Some(Piece {
                    text: "## Heading in template\n{{input}}",
                    line: 7
                }),
            }
        );
        let twice = split_template(Piece {
            text: "## Template\na\n## template\nb",
            line: 3,
        });
        assert_eq!(twice.unwrap_err().0, 5);
    }

    #[test]
    fn key_lines() {
        let fm = Piece {
            text: "name: a\naliases:\n  - b\n  - c\ntools: []\n",
            line: 2,
        };
        assert_eq!(key_line(fm, "aliases"), Some(3));
        assert_eq!(key_line(fm, "alias"), None);
        assert_eq!(value_line(fm, "aliases", "c"), Some(5));
        assert_eq!(value_line(fm, "aliases", "a"), None);
    }
}
