//! Which workspaces may configure what runs and where data goes. A workspace's `.mcp.json`
//! and the [`GUARDED`] settings of its `.lathe/config.toml` (its MCP servers, policy,
//! sandbox and model endpoint) are what a cloned repository would use to run commands on
//! the host or send the user's API key elsewhere as soon as an editor opens it, so (as
//! Claude Code asks before it starts a project's servers) they apply only once the user
//! has trusted exactly what they say: `lathe trust` records a fingerprint per workspace in
//! the state directory. The rest of the workspace's config (the model name, limits)
//! applies regardless.
//!
//! Invariants: the fingerprint covers every byte of `.mcp.json` and every guarded setting
//! of the workspace's config, so changing them needs trusting again (what a trusted
//! server's own files do is the user's to review); a workspace that sets none of them
//! needs no trust; the trust file is written whole (temporary file + rename), so a crash
//! never leaves it half written.

use crate::paths::Paths;
use anyhow::Context;
use sha2::{Digest, Sha256};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// What a workspace would configure, and whether the user trusted it.
#[derive(Debug)]
pub struct WorkspaceServers {
    /// The files with guarded settings (`.mcp.json`, `.lathe/config.toml`).
    pub files: Vec<PathBuf>,
    /// Hex SHA-256 over what those files would run.
    pub fingerprint: String,
    pub trusted: bool,
}

impl WorkspaceServers {
    /// Whether the workspace has guarded settings nobody trusted.
    pub fn untrusted(&self) -> bool {
        !self.files.is_empty() && !self.trusted
    }

    /// Why its guarded settings do not apply and what to do.
    pub fn advice(&self, workspace: &Path) -> String {
        let files: Vec<String> = self.files.iter().map(|f| f.display().to_string()).collect();
        format!(
            "{} not applied (MCP servers, policy, sandbox, model endpoint): this workspace is \
             not trusted, or they changed since; review them, then run `lathe trust \
             --workspace {}` (a running daemon applies them at the workspace's next run)",
            files.join(" and "),
            workspace.display()
        )
    }
}

/// The settings of a workspace's `.lathe/config.toml` that apply only once it is trusted:
/// tables, or `table.key`.
pub const GUARDED: &[&str] = &["mcp_servers", "policy", "sandbox", "model.base_url"];

/// The guarded settings of a config table, removed from it.
pub fn take_guarded(table: &mut toml::Table) -> toml::Table {
    let mut taken = toml::Table::new();
    for setting in GUARDED {
        match setting.split_once('.') {
            None => {
                if let Some(value) = table.remove(*setting) {
                    taken.insert((*setting).to_owned(), value);
                }
            }
            Some((section, key)) => {
                let value = table
                    .get_mut(section)
                    .and_then(toml::Value::as_table_mut)
                    .and_then(|section| section.remove(key));
                if let Some(value) = value {
                    taken.insert((*setting).to_owned(), value);
                }
            }
        }
    }
    taken
}

fn trust_file(paths: &Paths) -> PathBuf {
    paths.state_dir.join("trusted-workspaces.json")
}

/// How a workspace is named in the trust file: its canonical path.
fn key(workspace: &Path) -> String {
    workspace
        .canonicalize()
        .unwrap_or_else(|_| workspace.to_owned())
        .display()
        .to_string()
}

fn recorded(paths: &Paths) -> BTreeMap<String, String> {
    std::fs::read_to_string(trust_file(paths))
        .ok()
        .and_then(|text| serde_json::from_str(&text).ok())
        .unwrap_or_default()
}

/// The servers `workspace` names and whether they are trusted as they are now.
pub fn check(paths: &Paths, workspace: &Path) -> WorkspaceServers {
    let mut files = Vec::new();
    let mut hash = Sha256::new();
    let mcp_json = workspace.join(".mcp.json");
    if let Ok(bytes) = std::fs::read(&mcp_json) {
        hash.update(b"mcp.json\0");
        hash.update(&bytes);
        files.push(mcp_json);
    }
    let config = workspace.join(".lathe").join("config.toml");
    let guarded = std::fs::read_to_string(&config)
        .ok()
        .and_then(|text| text.parse::<toml::Table>().ok())
        .map(|mut table| take_guarded(&mut table))
        .filter(|guarded| !guarded.is_empty());
    if let Some(guarded) = guarded {
        hash.update(b"\0config.toml guarded\0");
        hash.update(guarded.to_string().as_bytes());
        files.push(config);
    }
    let fingerprint = hex::encode(hash.finalize());
    let trusted = files.is_empty() || recorded(paths).get(&key(workspace)) == Some(&fingerprint);
    WorkspaceServers {
        files,
        fingerprint,
        trusted,
    }
}

/// Trusts what `workspace` names now; returns what was trusted.
pub fn trust(paths: &Paths, workspace: &Path) -> anyhow::Result<WorkspaceServers> {
    let mut servers = check(paths, workspace);
    if servers.files.is_empty() {
        return Ok(servers);
    }
    let mut all = recorded(paths);
    all.insert(key(workspace), servers.fingerprint.clone());
    let file = trust_file(paths);
    std::fs::create_dir_all(&paths.state_dir)
        .with_context(|| format!("creating {}", paths.state_dir.display()))?;
    let temporary = file.with_extension("json.tmp");
    std::fs::write(&temporary, serde_json::to_string_pretty(&all)?)
        .with_context(|| format!("writing {}", temporary.display()))?;
    std::fs::rename(&temporary, &file).with_context(|| format!("writing {}", file.display()))?;
    servers.trusted = true;
    Ok(servers)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn trust_covers_exactly_what_would_run() {
        let home = tempfile::tempdir().unwrap();
        let paths = Paths::under(home.path());
        let workspace = tempfile::tempdir().unwrap();
        let root = workspace.path();
        assert!(
            !check(&paths, root).untrusted(),
            "nothing to run, nothing to trust"
        );

        std::fs::write(root.join(".mcp.json"), r#"{"mcpServers": {}}"#).unwrap();
        assert!(check(&paths, root).untrusted());
        assert!(trust(&paths, root).unwrap().trusted);
        assert!(!check(&paths, root).untrusted());

        std::fs::create_dir(root.join(".lathe")).unwrap();
        let config = root.join(".lathe/config.toml");
        std::fs::write(&config, "[model]\nmodel = \"gpt-4o\"\n").unwrap();
        assert!(
            !check(&paths, root).untrusted(),
            "a model name needs no trust"
        );
        std::fs::write(
            &config,
            "[model]\nmodel = \"gpt-4o\"\n[mcp_servers.x]\ncommand = \"sh\"\n",
        )
        .unwrap();
        let changed = check(&paths, root);
        assert!(changed.untrusted());
        assert!(changed.advice(root).contains("lathe trust --workspace"));
        trust(&paths, root).unwrap();
        std::fs::write(root.join(".mcp.json"), r#"{"mcpServers": {"y": {}}}"#).unwrap();
        assert!(
            check(&paths, root).untrusted(),
            "an edit needs trusting again"
        );
    }
}
