//! A real editor on the product: headless Neovim 0.11 with the project's plugin
//! (`editors/nvim`) attaches the real `lathe lsp` shim, which autostarts the daemon under a
//! private `LATHE_HOME` configured for the scripted model (and, the same session again,
//! `lathe lsp --in-process`, which serves it without a daemon). Neovim lists the code actions,
//! runs "Document" (answering the approval prompt) until its buffer changes, and sends a
//! chat document whose answer streams in.
//!
//! The Neovim side is `server/lsp/tests/peers/nvim_e2e.lua`, shared with lathe-lsp's peer
//! suite (which runs it against the in-process `lsp_host`); only the command differs.
//! `.ci/lsp-peers.sh` installs Neovim under `$LATHE_LSP_PEERS` (default
//! `/opt/lathe-lsp-peers`).

use lathe_tests::daemon::{LatheHome, lathe_bin, signal};
use lathe_tests::scripted_model::{Expect, Reply, Script, ScriptedModel, Step};
use pretty_assertions::assert_eq;
use serde_json::{Value, json};
use std::path::{Path, PathBuf};
use std::time::Duration;

const LIB: &str = "pub fn add(a: i32, b: i32) -> i32 {\n    a + b\n}\n";

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

fn script() -> Script {
    Script::new([
        Step::tool_calls([(
            "edit_file",
            json!({"path": "src/lib.rs", "old_string": "pub fn add",
                   "new_string": "/// Adds `a` and `b`.\npub fn add"}),
        )])
        .expecting(Expect {
            user_contains: Some("## Code context".into()),
            ..Expect::default()
        }),
        Step::text("Documented `add`.").expecting(Expect {
            tool_result_contains: Some("applied in the editor".into()),
            ..Expect::default()
        }),
        Step::reply(Reply {
            content: Some("Four.".into()),
            chunk_chars: Some(2),
            token_delay_ms: 10,
            ..Reply::default()
        })
        .expecting(Expect {
            user_contains: Some("What is 2+2?".into()),
            ..Expect::default()
        }),
    ])
}

fn strings(value: &Value) -> Vec<String> {
    value
        .as_array()
        .unwrap_or_else(|| panic!("not a list: {value}"))
        .iter()
        .map(|v| v.as_str().unwrap().to_owned())
        .collect()
}

#[tokio::test(flavor = "multi_thread")]
async fn neovim_documents_code_and_chats_through_lathe_lsp() {
    let daemon = neovim_session(&["lsp"]).await;
    assert!(
        daemon.is_some(),
        "`lathe lsp` autostarted a daemon under the private home"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn neovim_documents_code_and_chats_through_lathe_lsp_in_process() {
    let daemon = neovim_session(&["lsp", "--in-process"]).await;
    assert_eq!(daemon, None, "`lathe lsp --in-process` started no daemon");
}

/// Runs the Neovim session against `lathe <args>` under a private home and checks what
/// Neovim saw; returns the pid of the daemon that served it, if one was started.
async fn neovim_session(args: &[&str]) -> Option<u32> {
    let model = ScriptedModel::start(script()).await.unwrap();
    let home = LatheHome::new().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let workspace = dir.path().join("workspace");
    for sub in ["src", ".lathe", ".git"] {
        std::fs::create_dir_all(workspace.join(sub)).unwrap();
    }
    std::fs::write(workspace.join("src/lib.rs"), LIB).unwrap();
    std::fs::write(
        workspace.join(".lathe/chat.lathe.md"),
        "## You\n\nWhat is 2+2?\n",
    )
    .unwrap();
    let (results, daemon) = neovim(
        &home,
        &model,
        &workspace,
        "server/lsp/tests/peers/nvim_e2e.lua",
        args,
    )
    .await;
    assert_eq!(
        strings(&results["steps"]),
        [
            "attach",
            "the documented buffer",
            "the end of the Document run",
            "attach to the chat",
            "the chat answer"
        ]
    );
    assert_eq!(results["encoding"], "utf-8");
    assert_eq!(
        strings(&results["titles"]),
        [
            "Lathe: Fix",
            "Lathe: Explain",
            "Lathe: Document",
            "Lathe: Refactor",
            "Lathe: Write tests",
            "Lathe: Review",
            "Lathe: Run skill…"
        ]
    );
    let documented: Vec<String> = std::iter::once("/// Adds `a` and `b`.")
        .chain(LIB.lines())
        .map(str::to_owned)
        .collect();
    assert_eq!(strings(&results["document"]), documented);
    assert_eq!(
        results["modified"], true,
        "the edit is the buffer's, unsaved"
    );
    assert_eq!(
        std::fs::read_to_string(workspace.join("src/lib.rs")).unwrap(),
        LIB
    );
    let prompts = results["prompts"].as_array().unwrap();
    assert_eq!(prompts.len(), 1, "{prompts:?}");
    assert!(
        prompts[0]["prompt"]
            .as_str()
            .unwrap()
            .starts_with("Lathe wants to"),
        "{prompts:?}"
    );
    assert_eq!(
        strings(&prompts[0]["items"]),
        ["Allow once", "Allow for session", "Deny"]
    );
    let chat = strings(&results["chat"]);
    let heading = chat.get(4).cloned().unwrap_or_default();
    let session = heading
        .strip_prefix("## Lathe <!-- session: ")
        .and_then(|rest| rest.strip_suffix(" -->"))
        .unwrap_or_else(|| panic!("no answer heading in {chat:#?}"));
    assert!(
        !session.is_empty() && session.chars().all(|c| c.is_ascii_hexdigit() || c == '-'),
        "{heading}"
    );
    assert_eq!(
        chat,
        [
            "## You",
            "",
            "What is 2+2?",
            "",
            heading.as_str(),
            "",
            "Four.",
            "",
            "## You",
            ""
        ]
    );
    model.assert_played();
    daemon
}

/// An MCP server's question reaches the editor: the workspace's (trusted) `.mcp.json` names
/// `fixtures/mcp-servers/elicit_server.py`; a chat run calls its `confirm_booking`, whose
/// yes/no form Neovim answers through `window/showMessageRequest`
/// (`tests/tests/e2e/nvim_question.lua`), and the server gets the answer.
#[tokio::test(flavor = "multi_thread")]
async fn neovim_answers_an_mcp_servers_question() {
    let model = ScriptedModel::start(Script::new([
        Step::tool_calls([("mcp__elicit__confirm_booking", json!({"day": "friday"}))]),
        Step::text("Confirmed.").expecting(Expect {
            tool_result_contains: Some("confirmed=True on friday".into()),
            ..Expect::default()
        }),
    ]))
    .await
    .unwrap();
    let home = LatheHome::new().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let workspace = dir.path().join("workspace");
    for sub in [".lathe", ".git"] {
        std::fs::create_dir_all(workspace.join(sub)).unwrap();
    }
    std::fs::write(
        workspace.join(".lathe/chat.lathe.md"),
        "## You\n\nBook friday\n",
    )
    .unwrap();
    std::fs::write(
        workspace.join(".mcp.json"),
        json!({"mcpServers": {"elicit": {
            "command": lathe_tests::peers::mcp().join("venv/bin/python"),
            "args": [repo().join("fixtures/mcp-servers/elicit_server.py")],
            "startup_timeout_sec": 60
        }}})
        .to_string(),
    )
    .unwrap();
    home.trust(&workspace).unwrap();
    let (results, _) = neovim(
        &home,
        &model,
        &workspace,
        "tests/tests/e2e/nvim_question.lua",
        &["lsp"],
    )
    .await;
    let prompts = results["prompts"].as_array().unwrap();
    assert_eq!(prompts.len(), 2, "{results:#}");
    assert_eq!(
        strings(&prompts[0]["items"]),
        ["Allow once", "Allow for session", "Deny"]
    );
    assert_eq!(strings(&prompts[1]["items"]), ["Yes", "No", "Decline"]);
    let asked = prompts[1]["prompt"].as_str().unwrap();
    assert!(
        asked.contains("The MCP server `elicit` asks: Confirm the booking on friday?"),
        "{asked}"
    );
    model.assert_played();
}

/// Runs headless Neovim with the project's plugin on the Lua `script` (a path in the repo)
/// in `workspace`, attached to `lathe <args>` under `home` with the scripted `model`; stops
/// the daemon it autostarted. Returns what the script reported (after checking it reported
/// no error) and the pid of that daemon, if one was started.
async fn neovim(
    home: &LatheHome,
    model: &ScriptedModel,
    workspace: &Path,
    script: &str,
    args: &[&str],
) -> (Value, Option<u32>) {
    let out = workspace.with_file_name("out.json");
    let mut command = tokio::process::Command::new(lathe_tests::peers::lsp().join("venv/bin/nvim"));
    // Neovim starts `lathe lsp` with its own environment: give it the home's.
    for (key, value) in home.command().get_envs() {
        match value {
            Some(value) => command.env(key, value),
            None => command.env_remove(key),
        };
    }
    command
        .env("LATHE_BASE_URL", model.base_url())
        .env("LATHE_MODEL", "gpt-4o")
        .env("LATHE_SANDBOX", "none")
        .env("LATHE_TEST_OUT", &out)
        .env("LATHE_TEST_WORKSPACE", workspace)
        .env("LATHE_PLUGIN", repo().join("editors/nvim"))
        .env(
            "LATHE_HOST_CMD",
            json!(
                std::iter::once(lathe_bin().to_string_lossy())
                    .chain(args.iter().map(|a| (*a).into()))
                    .collect::<Vec<_>>()
            )
            .to_string(),
        )
        .args(["--headless", "--clean", "-l"])
        .arg(repo().join(script))
        .current_dir(workspace)
        .stdin(std::process::Stdio::null())
        .kill_on_drop(true);
    let done = tokio::time::timeout(Duration::from_secs(120), command.output())
        .await
        .expect("Neovim did not finish within 120 s")
        .unwrap();
    let daemon = home.daemon_pid();
    if let Some(pid) = daemon {
        signal(pid, "TERM");
    }
    let log = format!(
        "{}\n{}",
        String::from_utf8_lossy(&done.stdout),
        String::from_utf8_lossy(&done.stderr)
    );
    let results: Value = serde_json::from_str(
        &std::fs::read_to_string(&out)
            .unwrap_or_else(|e| panic!("Neovim wrote no results ({e}):\n{log}")),
    )
    .unwrap();
    assert_eq!(results["error"], Value::Null, "{results:#}\n{log}");
    (results, daemon)
}
