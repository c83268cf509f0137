//! `lathe run` with the workspace's MCP servers: the reference servers from npm and PyPI
//! (server-everything, server-filesystem, mcp-server-git, mcp-server-time), configured in
//! the workspace's `.mcp.json`, offered to the model as `mcp__<server>__<tool>` and called
//! by the agent in a scripted run. The peers come from `.ci/mcp-peers.sh` (see
//! `lathe_tests::peers`).

use super::run_cli::lathe_run;
use lathe_tests::daemon::LatheHome;
use lathe_tests::scripted_model::{Expect, Script, ScriptedModel, Step};
use pretty_assertions::assert_eq;
use serde_json::{Value, json};
use std::path::Path;
use std::process::Command;

/// A git repository with one commit and an untracked note.
fn workspace() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let git = |args: &[&str]| {
        let status = Command::new("git")
            .args(args)
            .current_dir(dir.path())
            .env("GIT_AUTHOR_NAME", "t")
            .env("GIT_AUTHOR_EMAIL", "t@example.invalid")
            .env("GIT_COMMITTER_NAME", "t")
            .env("GIT_COMMITTER_EMAIL", "t@example.invalid")
            .status()
            .unwrap();
        assert!(status.success(), "git {args:?}");
    };
    git(&["init", "-q", "-b", "main"]);
    std::fs::write(dir.path().join("README.md"), "hello\n").unwrap();
    git(&["add", "README.md"]);
    git(&["commit", "-q", "-m", "first"]);
    std::fs::write(dir.path().join("notes.txt"), "remember the milk\n").unwrap();
    dir
}

fn mcp_json(root: &Path) -> Value {
    let peers = lathe_tests::peers::mcp();
    let node = peers.join("node/node22");
    let package = |name: &str| {
        peers
            .join("node/node_modules/@modelcontextprotocol")
            .join(name)
            .join("dist/index.js")
    };
    json!({"mcpServers": {
        "everything": {"command": node, "args": [package("server-everything"), "stdio"],
                       "startup_timeout_sec": 60},
        "fs": {"command": node, "args": [package("server-filesystem"), root],
               "startup_timeout_sec": 60},
        "git": {"command": peers.join("venv/bin/mcp-server-git"), "args": ["--repository", root],
                "startup_timeout_sec": 60},
        "time": {"command": peers.join("venv/bin/mcp-server-time"), "startup_timeout_sec": 60},
    }})
}

#[tokio::test(flavor = "multi_thread")]
async fn the_agent_calls_the_reference_servers_tools() {
    let dir = workspace();
    let root = dir.path().canonicalize().unwrap();
    std::fs::write(dir.path().join(".mcp.json"), mcp_json(&root).to_string()).unwrap();
    let notes = root.join("notes.txt").to_string_lossy().into_owned();
    let model = ScriptedModel::start(Script::new([
        Step::tool_calls([
            ("mcp__everything__echo", json!({"message": "hello hub"})),
            ("mcp__fs__read_text_file", json!({"path": notes})),
            ("mcp__git__git_status", json!({"repo_path": root})),
            ("mcp__time__get_current_time", json!({"timezone": "UTC"})),
        ])
        .expecting(Expect {
            tools_include: vec![
                "mcp__everything__echo".into(),
                "mcp__fs__read_text_file".into(),
                "mcp__git__git_status".into(),
                "mcp__time__get_current_time".into(),
            ],
            ..Expect::default()
        }),
        Step::text("Done."),
    ]))
    .await
    .unwrap();
    let home = LatheHome::new().unwrap();
    home.trust(dir.path()).unwrap();
    let run = lathe_run(
        &home,
        &model.base_url(),
        dir.path(),
        &["--approval", "auto", "use every server"],
    )
    .await;
    assert_eq!(run.code(), Some(0), "{}", run.stderr());
    model.assert_played();

    let results: Vec<(bool, String)> = run
        .of_type("TOOL_CALL_RESULT")
        .iter()
        .map(|e| {
            (
                e["isError"].as_bool().unwrap_or(false),
                e["content"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    assert_eq!(results.len(), 4, "{results:?}");
    for (is_error, content) in &results {
        assert!(!is_error, "{content}");
    }
    // Read-only calls run concurrently, so results come in completion order.
    for expected in ["hello hub", "remember the milk", "notes.txt", "UTC"] {
        assert!(
            results
                .iter()
                .any(|(_, content)| content.contains(expected)),
            "{expected:?} in no result: {results:?}"
        );
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_workspace_starts_the_servers_it_names_only_once_trusted() {
    let dir = workspace();
    let time = lathe_tests::peers::mcp().join("venv/bin/mcp-server-time");
    let servers = |timeout: u32| {
        json!({"mcpServers": {"time": {"command": time, "startup_timeout_sec": timeout}}})
            .to_string()
    };
    std::fs::write(dir.path().join(".mcp.json"), servers(60)).unwrap();
    let model = ScriptedModel::start(Script::new(
        ["untrusted", "trusted", "changed"].map(Step::text),
    ))
    .await
    .unwrap();
    let home = LatheHome::new().unwrap();
    let offered = |run: usize| model.requests()[run].tool_names();
    let time_tool = "mcp__time__get_current_time".to_owned();

    let untrusted = lathe_run(&home, &model.base_url(), dir.path(), &["what time is it?"]).await;
    assert_eq!(untrusted.code(), Some(0), "{}", untrusted.stderr());
    assert!(
        untrusted.stderr().contains("not trusted")
            && untrusted.stderr().contains("lathe trust --workspace"),
        "{}",
        untrusted.stderr()
    );
    assert!(!offered(0).contains(&time_tool), "{:?}", offered(0));

    let trusted = home
        .run(&["trust", "--workspace", dir.path().to_str().unwrap()])
        .unwrap();
    let said = String::from_utf8_lossy(&trusted.stdout);
    assert!(
        said.contains(&format!("time: {}", time.display())),
        "{said}"
    );
    let run = lathe_run(&home, &model.base_url(), dir.path(), &["what time is it?"]).await;
    assert_eq!(run.code(), Some(0), "{}", run.stderr());
    assert!(offered(1).contains(&time_tool), "{:?}", offered(1));

    // Any change to what would run needs trusting again.
    std::fs::write(dir.path().join(".mcp.json"), servers(61)).unwrap();
    let changed = lathe_run(&home, &model.base_url(), dir.path(), &["what time is it?"]).await;
    assert!(
        changed.stderr().contains("not trusted"),
        "{}",
        changed.stderr()
    );
    assert!(!offered(2).contains(&time_tool), "{:?}", offered(2));
}
