//! Where the real MCP peers live (installed by `.ci/mcp-peers.sh`) and small helpers.

use std::path::{Path, PathBuf};

/// The peers' install prefix: `LATHE_MCP_PEERS` or `/opt/lathe-mcp-peers`.
pub fn peers() -> PathBuf {
    let dir = std::env::var_os("LATHE_MCP_PEERS")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("/opt/lathe-mcp-peers"));
    assert!(
        dir.join("venv/bin/python").exists() && dir.join("node/node22").exists(),
        "the MCP test peers are not installed in {}; run `.ci/mcp-peers.sh` (LATHE_MCP_PEERS sets the prefix)",
        dir.display()
    );
    dir
}

pub fn node22() -> String {
    peers().join("node/node22").to_string_lossy().into_owned()
}

pub fn npm_package_file(package: &str, file: &str) -> String {
    peers()
        .join("node/node_modules/@modelcontextprotocol")
        .join(package)
        .join(file)
        .to_string_lossy()
        .into_owned()
}

pub fn venv_bin(name: &str) -> String {
    peers()
        .join("venv/bin")
        .join(name)
        .to_string_lossy()
        .into_owned()
}

/// A file of the workspace's shared fixtures (`fixtures/...`).
pub fn fixture(relative: &str) -> String {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../fixtures")
        .join(relative)
        .to_string_lossy()
        .into_owned()
}

/// A file of this test suite (`tests/it/...`).
pub fn test_file(relative: &str) -> String {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/it")
        .join(relative)
        .to_string_lossy()
        .into_owned()
}

/// A git repository with one commit.
pub fn git_repo(dir: &Path) {
    let git = |args: &[&str]| {
        let status = std::process::Command::new("git")
            .args(args)
            .current_dir(dir)
            .env("GIT_AUTHOR_NAME", "t")
            .env("GIT_AUTHOR_EMAIL", "t@example.invalid")
            .env("GIT_COMMITTER_NAME", "t")
            .env("GIT_COMMITTER_EMAIL", "t@example.invalid")
            .status()
            .unwrap();
        assert!(status.success(), "git {args:?}");
    };
    git(&["init", "-q", "-b", "main"]);
    std::fs::write(dir.join("README.md"), "hello\n").unwrap();
    git(&["add", "README.md"]);
    git(&["commit", "-q", "-m", "first"]);
}
