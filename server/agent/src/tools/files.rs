//! `read_file` (line ranges, size cap, numbered lines; an editor's unsaved buffer wins over
//! the disk, and the model is told when the two differ) and `list_files` (gitignore-aware).

use super::{
    OpenBuffers, Tool, ToolContext, ToolKind, ToolOutput, confine, relative, string_arg, usize_arg,
};
use crate::model::ToolSpec;
use futures::FutureExt;
use futures::future::BoxFuture;
use serde_json::{Value, json};
use std::path::Path;
use std::sync::Arc;

/// Lines `read_file` returns when no range is given.
const DEFAULT_LINES: usize = 2000;
/// The most bytes `read_file` returns.
const MAX_READ_BYTES: usize = 256 * 1024;
/// The most entries `list_files` returns.
const MAX_LIST: usize = 1000;

/// `read_file`: a file's lines, numbered, optionally a range.
#[derive(Debug, Default)]
pub struct ReadFile {
    buffers: Option<Arc<dyn OpenBuffers>>,
}

impl ReadFile {
    /// `read_file` reading open files from `buffers`.
    pub fn over(buffers: Arc<dyn OpenBuffers>) -> Self {
        Self {
            buffers: Some(buffers),
        }
    }
}

impl Tool for ReadFile {
    fn spec(&self) -> ToolSpec {
        ToolSpec {
            name: "read_file".into(),
            description: format!(
                "Read a text file of the workspace. Returns numbered lines (`N\\tline`). \
                 Without a range, returns the first {DEFAULT_LINES} lines; use start_line and \
                 end_line (1-based, inclusive) for other parts of long files."
            ),
            parameters: json!({
                "type": "object",
                "properties": {
                    "path": {"type": "string", "description": "Workspace-relative path."},
                    "start_line": {"type": "integer", "minimum": 1},
                    "end_line": {"type": "integer", "minimum": 1}
                },
                "required": ["path"],
                "additionalProperties": false
            }),
        }
    }

    fn kind(&self) -> ToolKind {
        ToolKind::ReadOnly
    }

    fn rule_argument(&self, args: &Value) -> Option<String> {
        args.get("path").and_then(Value::as_str).map(str::to_owned)
    }

    fn call(&self, ctx: ToolContext, args: Value) -> BoxFuture<'static, ToolOutput> {
        let buffers = self.buffers.clone();
        async move {
            match read(&ctx.workspace, buffers.as_deref(), &args).await {
                Ok(text) => ToolOutput::ok(text),
                Err(error) => ToolOutput::error(error),
            }
        }
        .boxed()
    }
}

async fn read(
    workspace: &Path,
    buffers: Option<&dyn OpenBuffers>,
    args: &Value,
) -> Result<String, String> {
    let path_arg = string_arg(args, "path")?.to_owned();
    let path = confine(workspace, &path_arg)?;
    let open = buffers.and_then(|b| b.text(&path));
    let start = usize_arg(args, "start_line")?.unwrap_or(1).max(1);
    let end = usize_arg(args, "end_line")?;
    if let Some(end) = end
        && end < start
    {
        return Err(format!("end_line {end} is before start_line {start}"));
    }
    let last = end.unwrap_or(start + DEFAULT_LINES - 1);
    let read = tokio::task::spawn_blocking(move || {
        if let Some(text) = open {
            let unsaved = std::fs::read(&path).ok().as_deref() != Some(text.as_bytes());
            let window = LineWindow::read(text.as_bytes(), start, last)?;
            return Ok((window, text.len() as u64, unsaved));
        }
        let file = std::fs::File::open(&path)?;
        let size = file.metadata()?.len();
        let window = LineWindow::read(std::io::BufReader::new(file), start, last)?;
        Ok::<_, std::io::Error>((window, size, false))
    })
    .await
    .map_err(std::io::Error::other);
    let (window, size, unsaved) = read
        .and_then(|read| read)
        .map_err(|e| format!("cannot read {path_arg}: {e}"))?;
    if window.binary {
        return Err(format!("{path_arg} is a binary file ({size} bytes)"));
    }
    let total = window.total;
    if total == 0 {
        return Ok(format!("({path_arg} is empty)"));
    }
    if start > total {
        return Err(format!(
            "{path_arg} has {total} lines; start_line {start} is past the end"
        ));
    }
    let mut out = window.text;
    let shown_last = window.shown_last;
    if shown_last < total && (end.is_none() || shown_last < last.min(total)) {
        out.push_str(&format!(
            "[showing lines {start}-{shown_last} of {total}; read more with start_line={}]\n",
            shown_last + 1
        ));
    }
    if unsaved {
        out.push_str(
            "[as open in the editor, with unsaved changes: commands see the saved file]\n",
        );
    }
    Ok(out)
}

/// Lines `start..=last` of a file, numbered, read in one streaming pass that also counts
/// the file's lines: memory stays within [`MAX_READ_BYTES`] whatever the file's size.
#[derive(Debug, Default, PartialEq)]
struct LineWindow {
    /// The numbered lines (`N\tline\n`) that fit in [`MAX_READ_BYTES`].
    text: String,
    /// The number of the last line in `text` (`start - 1` when none is).
    shown_last: usize,
    /// The file's lines (as `str::lines` counts them).
    total: usize,
    /// A NUL byte in the first 8 KiB.
    binary: bool,
}

impl LineWindow {
    fn read(mut reader: impl std::io::BufRead, start: usize, last: usize) -> std::io::Result<Self> {
        let mut window = LineWindow {
            shown_last: start - 1,
            ..LineWindow::default()
        };
        // The current line's bytes while it is wanted and fits; `None` when not kept.
        let mut line: Option<Vec<u8>> = None;
        let mut line_bytes = 0usize;
        let mut at_line_start = true;
        let mut full = false;
        let mut seen = 0usize;
        loop {
            let chunk = reader.fill_buf()?;
            if chunk.is_empty() {
                break;
            }
            if seen < 8192 && chunk[..chunk.len().min(8192 - seen)].contains(&0) {
                window.binary = true;
                return Ok(window);
            }
            seen += chunk.len();
            let mut rest = chunk;
            while !rest.is_empty() {
                if at_line_start {
                    window.total += 1;
                    at_line_start = false;
                    line_bytes = 0;
                    let wanted = (start..=last).contains(&window.total) && !full;
                    line = wanted.then(Vec::new);
                }
                let (piece, ended) = match rest.iter().position(|b| *b == b'\n') {
                    Some(i) => (&rest[..i], true),
                    None => (rest, false),
                };
                line_bytes += piece.len();
                if let Some(kept) = line.as_mut() {
                    let room = MAX_READ_BYTES.saturating_sub(window.text.len() + kept.len());
                    kept.extend_from_slice(&piece[..piece.len().min(room)]);
                }
                rest = &rest[piece.len() + usize::from(ended)..];
                if ended {
                    window.finish_line(line.take(), line_bytes, &mut full);
                    at_line_start = true;
                }
            }
            let consumed = chunk.len();
            reader.consume(consumed);
        }
        if !at_line_start {
            window.finish_line(line.take(), line_bytes, &mut full);
        }
        Ok(window)
    }

    /// Adds the line just read (`kept`, when wanted, `line_bytes` long in the file) if it
    /// fits; the window's first line is cut to fit instead, so that a read always shows
    /// something. Once a line does not fit, no later line is kept.
    fn finish_line(&mut self, kept: Option<Vec<u8>>, line_bytes: usize, full: &mut bool) {
        let Some(mut kept) = kept else {
            return;
        };
        let whole = kept.len() == line_bytes;
        let first = self.text.is_empty();
        if !first && (!whole || self.text.len() + kept.len() > MAX_READ_BYTES) {
            *full = true;
            return;
        }
        if whole && kept.last() == Some(&b'\r') {
            kept.pop();
        }
        let number = self.total;
        self.text
            .push_str(&format!("{number}\t{}", String::from_utf8_lossy(&kept)));
        if !whole {
            self.text.push_str(&format!(
                " [line cut: {} of its {line_bytes} bytes shown]",
                kept.len()
            ));
            *full = true;
        }
        self.text.push('\n');
        self.shown_last = number;
    }
}

/// `list_files`: the files under a directory, gitignore-aware.
#[derive(Debug)]
pub struct ListFiles;

impl Tool for ListFiles {
    fn spec(&self) -> ToolSpec {
        ToolSpec {
            name: "list_files".into(),
            description: format!(
                "List the files under a workspace directory (default: the whole workspace), \
                 respecting .gitignore. Returns workspace-relative paths, at most {MAX_LIST}."
            ),
            parameters: json!({
                "type": "object",
                "properties": {
                    "path": {"type": "string", "description": "Directory, workspace-relative (default \".\")."},
                    "max_depth": {"type": "integer", "minimum": 1}
                },
                "additionalProperties": false
            }),
        }
    }

    fn kind(&self) -> ToolKind {
        ToolKind::ReadOnly
    }

    fn rule_argument(&self, args: &Value) -> Option<String> {
        args.get("path").and_then(Value::as_str).map(str::to_owned)
    }

    fn call(&self, ctx: ToolContext, args: Value) -> BoxFuture<'static, ToolOutput> {
        async move {
            let outcome = tokio::task::spawn_blocking(move || list(&ctx.workspace, &args)).await;
            match outcome {
                Ok(Ok(text)) => ToolOutput::ok(text),
                Ok(Err(error)) => ToolOutput::error(error),
                Err(join) => ToolOutput::error(format!("list_files failed: {join}")),
            }
        }
        .boxed()
    }
}

fn list(workspace: &Path, args: &Value) -> Result<String, String> {
    let dir_arg = args.get("path").and_then(Value::as_str).unwrap_or(".");
    let dir = confine(workspace, dir_arg)?;
    if !dir.is_dir() {
        return Err(format!("{dir_arg} is not a directory"));
    }
    let mut walker = ignore::WalkBuilder::new(&dir);
    walker
        .hidden(false)
        .require_git(false)
        .filter_entry(|e| e.file_name() != ".git");
    if let Some(depth) = usize_arg(args, "max_depth")? {
        walker.max_depth(Some(depth));
    }
    let mut files = Vec::new();
    let mut more = false;
    for entry in walker.build().flatten() {
        if entry.file_type().is_some_and(|t| t.is_file()) {
            if files.len() == MAX_LIST {
                more = true;
                break;
            }
            files.push(relative(workspace, entry.path()));
        }
    }
    files.sort();
    let mut out = files.join("\n");
    if files.is_empty() {
        out = format!("(no files under {dir_arg})");
    }
    if more {
        out.push_str(&format!(
            "\n[stopped at {MAX_LIST} files; list a subdirectory to see more]"
        ));
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::{LineWindow, MAX_READ_BYTES};
    use std::io::BufReader;

    /// Reads through a 3-byte buffer, so that lines span chunks.
    fn window(bytes: &[u8], start: usize, last: usize) -> LineWindow {
        LineWindow::read(BufReader::with_capacity(3, bytes), start, last).unwrap()
    }

    #[test]
    fn counts_lines_as_str_lines_does_and_strips_crlf() {
        let text = "one\r\ntwo\nthree";
        let read = window(text.as_bytes(), 2, 5);
        assert_eq!(read.text, "2\ttwo\n3\tthree\n");
        assert_eq!((read.shown_last, read.total), (3, text.lines().count()));
        assert_eq!(window(b"a\n\nb\n", 1, 9).total, "a\n\nb\n".lines().count());
        assert_eq!(window(b"", 1, 9).total, 0);
    }

    #[test]
    fn an_oversized_first_line_is_cut_and_the_window_stops_after_it() {
        let long = "x".repeat(MAX_READ_BYTES + 10);
        let read = window(format!("{long}\nnext\n").as_bytes(), 1, 9);
        assert!(read.text.starts_with("1\txxx"), "{}", &read.text[..20]);
        assert!(
            read.text.ends_with(&format!(
                " [line cut: {MAX_READ_BYTES} of its {} bytes shown]\n",
                long.len()
            )),
            "{}",
            &read.text[read.text.len() - 80..]
        );
        assert_eq!((read.shown_last, read.total), (1, 2));
    }

    #[test]
    fn a_later_line_that_does_not_fit_ends_the_window_before_it() {
        let long = "y".repeat(MAX_READ_BYTES);
        let read = window(format!("short\n{long}\nlast\n").as_bytes(), 1, 9);
        assert_eq!(read.text, "1\tshort\n");
        assert_eq!((read.shown_last, read.total), (1, 3));
    }

    #[test]
    fn a_nul_in_the_first_8_kib_means_binary() {
        assert!(window(b"ab\0cd\n", 1, 9).binary);
        let mut late = vec![b'a'; 9000];
        late.push(0);
        assert!(!window(&late, 1, 9).binary);
    }
}
