//! Entry points over files on disk, for the CLI (`lathe context FILE:LINE:COL`) and the
//! agent's `code_context` tool.
//!
//! Invariants:
//! - Positions given by people are 1-based line and column, the column counting characters
//!   (Unicode scalar values), like compiler messages.
//! - A file over [`MAX_DOCUMENT_BYTES`] is never read whole nor parsed: it is refused with
//!   [`ContextError::TooLarge`], which says so.

use std::fs::File;
use std::io::Read;
use std::path::{Path, PathBuf};

use crate::cursor::{CursorContext, CursorRequest, DefinitionLookup};
use crate::document::Document;
use crate::error::ContextError;
use crate::text::{Encoding, Position, TextRange};

/// Parses `FILE:LINE[:COL]` (1-based; the column defaults to 1).
pub fn parse_location(arg: &str) -> Result<(PathBuf, u32, u32), ContextError> {
    let bad = || ContextError::BadLocation(arg.to_owned());
    let numeric = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
    let positive = |s: &str| s.parse::<u32>().ok().filter(|n| *n >= 1).ok_or_else(bad);
    let (head, last) = arg.rsplit_once(':').ok_or_else(bad)?;
    if !numeric(last) {
        return Err(bad());
    }
    let (file, line, col) = match head.rsplit_once(':') {
        Some((file, middle)) if numeric(middle) => (file, positive(middle)?, positive(last)?),
        _ => (head, positive(last)?, 1),
    };
    if file.is_empty() {
        return Err(bad());
    }
    Ok((PathBuf::from(file), line, col))
}

/// Cap on the size of a file read for code context by [`read_document`] (and of the bytes
/// given to [`decode_source`]): 8 MiB. Larger than the repo map's per-file cap
/// ([`crate::DEFAULT_MAX_FILE_BYTES`]) because it applies to the one file asked for, not to
/// every file of a workspace.
pub const MAX_DOCUMENT_BYTES: u64 = 8 << 20;

/// Reads a file into a document: invalid UTF-8 is decoded lossily (and flagged, see
/// [`Document::invalid_utf8`]), binary files and files over [`MAX_DOCUMENT_BYTES`] are
/// refused ([`ContextError::BinaryFile`], [`ContextError::TooLarge`]).
pub fn read_document(path: &Path) -> Result<Document, ContextError> {
    read_document_capped(path, MAX_DOCUMENT_BYTES)
}

fn read_document_capped(path: &Path, limit: u64) -> Result<Document, ContextError> {
    let bytes = read_capped(path, limit)?;
    let (text, lossy) = decode_capped(path, bytes, limit)?;
    let mut doc = Document::for_path(path, &text)?;
    doc.set_invalid_utf8(lossy);
    Ok(doc)
}

/// The file's bytes, refused when there are more than `limit`: the size is checked before
/// reading, and reading stops one byte past the cap (the file may grow meanwhile).
fn read_capped(path: &Path, limit: u64) -> Result<Vec<u8>, ContextError> {
    let too_large = |bytes| ContextError::TooLarge {
        path: path.to_path_buf(),
        bytes,
        limit,
    };
    let file = File::open(path).map_err(|e| ContextError::io("open", path, e))?;
    let size = file
        .metadata()
        .map_err(|e| ContextError::io("stat", path, e))?
        .len();
    if size > limit {
        return Err(too_large(size));
    }
    let mut bytes = Vec::with_capacity(usize::try_from(size).unwrap_or_default());
    file.take(limit.saturating_add(1))
        .read_to_end(&mut bytes)
        .map_err(|e| ContextError::io("read", path, e))?;
    let read = bytes.len() as u64;
    if read > limit {
        return Err(too_large(read));
    }
    Ok(bytes)
}

/// Decodes the bytes of the file at `path` as [`read_document`] does: more than
/// [`MAX_DOCUMENT_BYTES`] or binary (a NUL byte in the first 8 KiB) is refused, invalid
/// UTF-8 is decoded lossily (the `bool`). For callers that keep documents and refresh them
/// from disk ([`Document::set_text`]).
pub fn decode_source(path: &Path, bytes: Vec<u8>) -> Result<(String, bool), ContextError> {
    decode_capped(path, bytes, MAX_DOCUMENT_BYTES)
}

fn decode_capped(path: &Path, bytes: Vec<u8>, limit: u64) -> Result<(String, bool), ContextError> {
    if bytes.len() as u64 > limit {
        return Err(ContextError::TooLarge {
            path: path.to_path_buf(),
            bytes: bytes.len() as u64,
            limit,
        });
    }
    if bytes[..bytes.len().min(8192)].contains(&0) {
        return Err(ContextError::BinaryFile(path.to_path_buf()));
    }
    Ok(match String::from_utf8(bytes) {
        Ok(text) => (text, false),
        Err(err) => (String::from_utf8_lossy(err.as_bytes()).into_owned(), true),
    })
}

/// The cursor context at 1-based `line`:`column` (characters) of the file at `path`, within
/// `budget` tokens; `lookup` (e.g. a [`crate::RepoIndex`]) resolves names defined in other
/// files.
pub fn cursor_context_for_file(
    path: &Path,
    line: u32,
    column: u32,
    budget: usize,
    lookup: Option<&dyn DefinitionLookup>,
) -> Result<CursorContext, ContextError> {
    let mut doc = read_document(path)?;
    let at = Position::new(line.saturating_sub(1), column.saturating_sub(1));
    let request = CursorRequest {
        path: Some(path.to_string_lossy().into_owned()),
        selection: TextRange::point(at),
        encoding: Encoding::Utf32,
        budget,
        diagnostics: Vec::new(),
    };
    doc.cursor_context(&request, lookup)
}

impl Document {
    /// The identifier range of the first definition matching `symbol`: a name, or a path of
    /// names separated by `::` or `.` (`Circle::area`, `Store.total`) matched against the
    /// enclosing definitions.
    pub fn find_symbol(&mut self, symbol: &str, encoding: Encoding) -> Option<TextRange> {
        let wanted: Vec<&str> = symbol
            .split("::")
            .flat_map(|s| s.split('.'))
            .filter(|s| !s.is_empty())
            .collect();
        let (last, parents) = wanted.split_last()?;
        let rope = self.rope().clone();
        let tags = self.raw_tags();
        let defs = crate::tags::definitions(tags);
        let found = defs.iter().find(|d| {
            if d.tag.text != *last {
                return false;
            }
            let mut chain = Vec::new();
            let mut current = d.parent;
            while let Some(p) = current {
                chain.push(defs[p].tag.text.as_str());
                current = defs[p].parent;
            }
            let mut chain = chain.into_iter();
            parents.iter().rev().all(|want| {
                chain.any(|have| have == *want || have.ends_with(&format!(" for {want}")))
            })
        })?;
        Some(TextRange::new(
            crate::text::byte_to_position(&rope, found.tag.name.start, encoding),
            crate::text::byte_to_position(&rope, found.tag.name.end, encoding),
        ))
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn locations() {
        assert_eq!(
            parse_location("src/a.rs:3:7").unwrap(),
            (PathBuf::from("src/a.rs"), 3, 7)
        );
        assert_eq!(
            parse_location("src/a.rs:3").unwrap(),
            (PathBuf::from("src/a.rs"), 3, 1)
        );
        assert_eq!(
            parse_location("C:/x.rs:2:1").unwrap(),
            (PathBuf::from("C:/x.rs"), 2, 1)
        );
        assert!(parse_location("src/a.rs").is_err());
        assert!(parse_location("src/a.rs:0:1").is_err());
        assert!(parse_location(":3:4").is_err());
    }

    #[test]
    fn files_over_the_cap_are_refused_and_files_at_it_read() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("a.rs");
        std::fs::write(&path, "fn f() {}\n").unwrap();
        let err = read_document_capped(&path, 9).unwrap_err();
        assert!(
            matches!(&err, ContextError::TooLarge { path: p, bytes: 10, limit: 9 } if *p == path),
            "{err:?}"
        );
        assert!(err.to_string().contains("too large"), "{err}");
        let doc = read_document_capped(&path, 10).unwrap();
        assert_eq!(doc.text(), "fn f() {}\n");
        assert!(matches!(
            decode_capped(&path, b"fn f() {}\n".to_vec(), 9),
            Err(ContextError::TooLarge {
                bytes: 10,
                limit: 9,
                ..
            })
        ));
    }
}
