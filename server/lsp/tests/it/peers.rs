//! The real peers: pytest-lsp replaying the captured capabilities of Neovim 0.7, VS Code and
//! Emacs, and headless Neovim 0.11 with the project's plugin, all against the `lsp_host`
//! example (tests/peers/). `.ci/lsp-peers.sh` installs them under `$LATHE_LSP_PEERS`
//! (default `/opt/lathe-lsp-peers`).

use std::path::PathBuf;
use std::process::Command;

fn peers() -> PathBuf {
    std::env::var_os("LATHE_LSP_PEERS")
        .map_or_else(|| PathBuf::from("/opt/lathe-lsp-peers"), PathBuf::from)
}

/// The `lsp_host` example next to this test binary (`target/<profile>/examples/`).
fn host() -> PathBuf {
    let exe = std::env::current_exe().unwrap();
    let profile_dir = exe.parent().unwrap().parent().unwrap();
    profile_dir.join("examples").join("lsp_host")
}

#[test]
fn real_clients_and_neovim_drive_the_server() {
    let python = peers().join("venv/bin/python");
    assert!(
        python.exists(),
        "{} is missing: run .ci/lsp-peers.sh",
        python.display()
    );
    let host = host();
    assert!(
        host.exists(),
        "{} is missing: build the examples (cargo test builds them)",
        host.display()
    );
    let suite = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/peers");
    let output = Command::new(&python)
        .args(["-m", "pytest", "-q", "-p", "no:cacheprovider"])
        .arg(&suite)
        .current_dir(&suite)
        .env("LATHE_LSP_HOST", &host)
        .env("LATHE_LSP_PEERS", peers())
        .output()
        .unwrap();
    let report = format!(
        "{}\n{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(output.status.success(), "the peer suite failed:\n{report}");
    assert!(report.contains("6 passed"), "{report}");
}
