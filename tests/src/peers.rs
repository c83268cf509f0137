//! Where the real peers the tests drive are installed: `.ci/mcp-peers.sh` puts the MCP
//! peers under `$LATHE_MCP_PEERS` (default `/opt/lathe-mcp-peers`) and `.ci/lsp-peers.sh`
//! the LSP peers under `$LATHE_LSP_PEERS` (default `/opt/lathe-lsp-peers`); `.ci/browser.sh`
//! installs Chromium and ChromeDriver.
//!
//! Invariant: a missing installation fails the test with the command that installs it,
//! never skips it.

use std::path::PathBuf;

/// The MCP peers: `venv/bin/python` (the Python `mcp` SDK, mcp-server-git, mcp-server-time)
/// and `node/node22` with `node/node_modules/@modelcontextprotocol/*`.
pub fn mcp() -> PathBuf {
    let dir = installed("LATHE_MCP_PEERS", "/opt/lathe-mcp-peers");
    assert!(
        dir.join("venv/bin/python").exists() && dir.join("node/node22").exists(),
        "the MCP peers are missing in {}: run .ci/mcp-peers.sh",
        dir.display()
    );
    dir
}

/// The LSP peers: `venv/bin/python` (pytest-lsp) and `venv/bin/nvim` (Neovim 0.11).
pub fn lsp() -> PathBuf {
    let dir = installed("LATHE_LSP_PEERS", "/opt/lathe-lsp-peers");
    assert!(
        dir.join("venv/bin/nvim").exists(),
        "the LSP peers are missing in {}: run .ci/lsp-peers.sh",
        dir.display()
    );
    dir
}

fn installed(variable: &str, default: &str) -> PathBuf {
    std::env::var_os(variable).map_or_else(|| PathBuf::from(default), PathBuf::from)
}

/// The browser: Chromium and ChromeDriver (`$LATHE_CHROMIUM`, `$LATHE_CHROMEDRIVER`, by
/// default Debian's `/usr/bin/chromium` and `/usr/bin/chromedriver`).
pub fn browser() -> (PathBuf, PathBuf) {
    let chromium = installed("LATHE_CHROMIUM", "/usr/bin/chromium");
    let driver = installed("LATHE_CHROMEDRIVER", "/usr/bin/chromedriver");
    assert!(
        chromium.exists() && driver.exists(),
        "Chromium or ChromeDriver is missing ({}, {}): run .ci/browser.sh",
        chromium.display(),
        driver.display()
    );
    (chromium, driver)
}
