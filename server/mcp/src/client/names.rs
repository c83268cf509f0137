//! The names the model sees for MCP tools: `mcp__<server>__<tool>`.
//!
//! Invariants: every name matches `^[A-Za-z0-9_-]{1,64}$` (what OpenAI-compatible APIs
//! accept); the same inputs in the same order give the same names; two tools never share a
//! name — when sanitizing or truncating makes two names equal, or a name is longer than 64
//! bytes, the name is shortened and given a suffix derived from the exact server and tool
//! names (a hash), so it stays stable across restarts.

use sha2::{Digest, Sha256};
use std::collections::HashSet;

/// Longest tool name, in bytes.
pub const MAX_NAME_BYTES: usize = 64;

/// Replaces every character outside `[A-Za-z0-9_-]` with `_`.
pub fn sanitize(part: &str) -> String {
    part.chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '_' || c == '-' {
                c
            } else {
                '_'
            }
        })
        .collect()
}

fn hash8(server: &str, tool: &str, salt: u32) -> String {
    let mut hasher = Sha256::new();
    hasher.update(server.as_bytes());
    hasher.update([0]);
    hasher.update(tool.as_bytes());
    hasher.update(salt.to_le_bytes());
    hex::encode(&hasher.finalize()[..4])
}

fn with_suffix(base: &str, suffix: &str) -> String {
    let keep = MAX_NAME_BYTES - suffix.len() - 1;
    // `base` is ASCII after sanitizing, so any byte index is a char boundary.
    format!("{}_{suffix}", &base[..base.len().min(keep)])
}

/// Names for `(server, tool)` pairs, in order. Earlier entries keep their plain name when
/// a later one collides with it.
pub fn assign<'a>(entries: impl IntoIterator<Item = (&'a str, &'a str)>) -> Vec<String> {
    let mut used: HashSet<String> = HashSet::new();
    let mut names = Vec::new();
    for (server, tool) in entries {
        let base = format!("mcp__{}__{}", sanitize(server), sanitize(tool));
        let mut name = if base.len() <= MAX_NAME_BYTES {
            base.clone()
        } else {
            with_suffix(&base, &hash8(server, tool, 0))
        };
        let mut salt = 0;
        while used.contains(&name) {
            salt += 1;
            name = with_suffix(&base, &hash8(server, tool, salt));
        }
        used.insert(name.clone());
        names.push(name);
    }
    names
}

#[cfg(test)]
mod tests {
    use super::*;
    use pretty_assertions::assert_eq;

    #[test]
    fn plain_names_are_namespaced_and_sanitized() {
        assert_eq!(
            assign([("git", "git_status"), ("my server", "get.time"), ("ü", "x")]),
            vec![
                "mcp__git__git_status",
                "mcp__my_server__get_time",
                "mcp_____x"
            ]
        );
    }

    #[test]
    fn long_names_are_cut_to_64_bytes_with_a_stable_suffix() {
        let tool = "a".repeat(80);
        let names = assign([("srv", tool.as_str())]);
        assert_eq!(names[0].len(), MAX_NAME_BYTES);
        assert!(names[0].starts_with("mcp__srv__aaaa"));
        assert_eq!(names, assign([("srv", tool.as_str())]));
    }

    #[test]
    fn collisions_are_disambiguated() {
        let names = assign([("a", "x.y"), ("a", "x_y"), ("a", "x y")]);
        assert_eq!(names[0], "mcp__a__x_y");
        assert!(names[1].starts_with("mcp__a__x_y_") && names[1].len() == 20);
        assert!(names[2].starts_with("mcp__a__x_y_"));
        let unique: HashSet<&String> = names.iter().collect();
        assert_eq!(unique.len(), 3);
        for name in &names {
            assert!(name.len() <= MAX_NAME_BYTES);
            assert!(
                name.chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
            );
        }
    }
}
