//! `file:` URIs and paths.
//!
//! Invariants: only `file:` URIs map to paths (`untitled:` and others are documents without
//! a path: they can be read and answered about, never written through the workspace);
//! decoding then encoding a path is the identity; encoding percent-escapes everything but
//! RFC 3986 unreserved characters and `/`, as VS Code and Neovim do.

use std::path::{Path, PathBuf};

/// The path of a `file:` URI (`file:///a/b%20c.rs` → `/a/b c.rs`); `None` for other
/// schemes, a remote authority or invalid escapes.
pub fn to_path(uri: &str) -> Option<PathBuf> {
    let rest = uri.strip_prefix("file://")?;
    let rest = rest.strip_prefix("localhost").unwrap_or(rest);
    if !rest.starts_with('/') {
        return None;
    }
    let rest = rest.split(['?', '#']).next().unwrap_or(rest);
    let bytes = percent_decode(rest)?;
    #[cfg(unix)]
    {
        use std::os::unix::ffi::OsStringExt;
        Some(PathBuf::from(std::ffi::OsString::from_vec(bytes)))
    }
    #[cfg(not(unix))]
    {
        String::from_utf8(bytes).ok().map(PathBuf::from)
    }
}

/// The `file:` URI of an absolute path.
pub fn from_path(path: &Path) -> String {
    #[cfg(unix)]
    let bytes = {
        use std::os::unix::ffi::OsStrExt;
        path.as_os_str().as_bytes().to_vec()
    };
    #[cfg(not(unix))]
    let bytes = path.to_string_lossy().into_owned().into_bytes();
    let mut uri = String::with_capacity(bytes.len() + 8);
    uri.push_str("file://");
    for byte in bytes {
        if byte.is_ascii_alphanumeric() || matches!(byte, b'/' | b'-' | b'.' | b'_' | b'~') {
            uri.push(char::from(byte));
        } else {
            uri.push_str(&format!("%{byte:02X}"));
        }
    }
    uri
}

fn percent_decode(text: &str) -> Option<Vec<u8>> {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            let hex = std::str::from_utf8(bytes.get(i + 1..i + 3)?).ok()?;
            out.push(u8::from_str_radix(hex, 16).ok()?);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use pretty_assertions::assert_eq;

    #[test]
    fn round_trips_and_refuses_other_schemes() {
        let cases = [
            ("/tmp/a b/é😀.rs", "file:///tmp/a%20b/%C3%A9%F0%9F%98%80.rs"),
            ("/src/lib.rs", "file:///src/lib.rs"),
            ("/x/%41#?", "file:///x/%2541%23%3F"),
        ];
        for (path, uri) in cases {
            assert_eq!(from_path(Path::new(path)), uri);
            assert_eq!(to_path(uri), Some(PathBuf::from(path)));
        }
        assert_eq!(to_path("file://localhost/a"), Some(PathBuf::from("/a")));
        assert_eq!(to_path("file:///a%2"), None);
        assert_eq!(to_path("untitled:Untitled-1"), None);
        assert_eq!(to_path("file://server/share"), None);
    }
}
