//! `lathe run` end to end: the real binary against the scripted model, `--json` event
//! streams, approvals without a terminal, `--session` resume, `--skill`, faults, Ctrl-C.

use lathe_tests::daemon::LatheHome;
use lathe_tests::scripted_model::{Expect, Reply, Script, ScriptedModel, Step, StreamFault};
use pretty_assertions::assert_eq;
use serde_json::{Value, json};
use std::process::Output;

pub(crate) struct Run {
    pub(crate) output: Output,
    pub(crate) events: Vec<Value>,
}

impl Run {
    pub(crate) fn code(&self) -> Option<i32> {
        self.output.status.code()
    }

    pub(crate) fn stderr(&self) -> String {
        String::from_utf8_lossy(&self.output.stderr).into_owned()
    }

    /// Event types, custom events by name, deltas left out.
    fn types(&self) -> Vec<String> {
        self.events
            .iter()
            .filter(|e| e["type"] != "TEXT_MESSAGE_CONTENT" && e["type"] != "TOOL_CALL_ARGS")
            .map(|e| match e["type"].as_str().unwrap() {
                "CUSTOM" => e["name"].as_str().unwrap().to_owned(),
                other => other.to_owned(),
            })
            .collect()
    }

    fn session(&self) -> String {
        self.events[0]["sessionId"].as_str().unwrap().to_owned()
    }

    pub(crate) fn of_type(&self, kind: &str) -> Vec<&Value> {
        self.events.iter().filter(|e| e["type"] == kind).collect()
    }
}

fn workspace() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("notes.txt"), "remember the milk\n").unwrap();
    dir
}

/// Runs `lathe run --json <args>` in `workspace` against `base_url`.
pub(crate) async fn lathe_run(
    home: &LatheHome,
    base_url: &str,
    workspace: &std::path::Path,
    args: &[&str],
) -> Run {
    let mut command = home.command();
    command
        .env("LATHE_BASE_URL", base_url)
        .env("LATHE_MODEL", "gpt-4o")
        .env("LATHE_SANDBOX", "none")
        .current_dir(workspace)
        .args(["run", "--json"])
        .args(args);
    let output = tokio::task::spawn_blocking(move || command.output())
        .await
        .unwrap()
        .unwrap();
    let events = String::from_utf8_lossy(&output.stdout)
        .lines()
        .map(|line| serde_json::from_str(line).unwrap())
        .collect();
    Run { output, events }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_tool_session_streams_every_event_as_json_lines() {
    let model = ScriptedModel::start(Script::new([
        Step::tool_calls([("read_file", json!({"path": "notes.txt"}))]).expecting(Expect {
            user_contains: Some("what do my notes say".into()),
            ..Expect::default()
        }),
        Step::text("They say to remember the milk.").expecting(Expect {
            tool_result_contains: Some("remember the milk".into()),
            ..Expect::default()
        }),
    ]))
    .await
    .unwrap();
    let home = LatheHome::new().unwrap();
    let dir = workspace();
    let run = lathe_run(
        &home,
        &model.base_url(),
        dir.path(),
        &["what do my notes say?"],
    )
    .await;
    assert_eq!(run.code(), Some(0), "{}", run.stderr());
    model.assert_played();
    assert_eq!(
        run.types(),
        [
            "RUN_STARTED",
            "TEXT_MESSAGE_START",
            "TEXT_MESSAGE_END",
            "STEP_STARTED",
            "TEXT_MESSAGE_START",
            "TOOL_CALL_START",
            "TEXT_MESSAGE_END",
            "TOOL_CALL_END",
            "usage",
            "STEP_FINISHED",
            "TOOL_CALL_RESULT",
            "STEP_STARTED",
            "TEXT_MESSAGE_START",
            "TEXT_MESSAGE_END",
            "usage",
            "STEP_FINISHED",
            "RUN_FINISHED",
        ]
    );
    let seqs: Vec<u64> = run
        .events
        .iter()
        .map(|e| e["seq"].as_u64().unwrap())
        .collect();
    assert_eq!(seqs, (1..=run.events.len() as u64).collect::<Vec<_>>());
    assert_eq!(
        run.of_type("RUN_FINISHED")[0]["result"],
        json!({"answer": "They say to remember the milk."})
    );
    let sessions = home.run(&["sessions", "--json"]).unwrap();
    let sessions: Value = serde_json::from_slice(&sessions.stdout).unwrap();
    assert_eq!(sessions[0]["id"], run.session());
    assert_eq!(sessions[0]["status"], "finished");
    assert_eq!(sessions[0]["origin"], "cli");
}

#[tokio::test(flavor = "multi_thread")]
async fn without_a_terminal_ask_denies_and_says_so_while_auto_writes() {
    let model = ScriptedModel::start(Script::new([
        Step::tool_calls([("write_file", json!({"path": "out.txt", "content": "hi\n"}))]),
        Step::text("could not write").expecting(Expect {
            tool_result_contains: Some("denied".into()),
            ..Expect::default()
        }),
        Step::tool_calls([("write_file", json!({"path": "out.txt", "content": "hi\n"}))]),
        Step::text("wrote it"),
    ]))
    .await
    .unwrap();
    let home = LatheHome::new().unwrap();
    let dir = workspace();
    let asked = lathe_run(
        &home,
        &model.base_url(),
        dir.path(),
        &["write", "--approval", "ask"],
    )
    .await;
    assert_eq!(asked.code(), Some(0), "{}", asked.stderr());
    assert!(
        asked.stderr().contains("no terminal to ask"),
        "{}",
        asked.stderr()
    );
    let types = asked.types();
    assert!(types.contains(&"approval.requested".to_owned()));
    assert!(types.contains(&"approval.resolved".to_owned()));
    assert!(!dir.path().join("out.txt").exists());

    let auto = lathe_run(
        &home,
        &model.base_url(),
        dir.path(),
        &["write", "--approval", "auto"],
    )
    .await;
    assert_eq!(auto.code(), Some(0), "{}", auto.stderr());
    assert!(!auto.types().contains(&"approval.requested".to_owned()));
    assert!(auto.types().contains(&"file.changed".to_owned()));
    assert_eq!(
        std::fs::read_to_string(dir.path().join("out.txt")).unwrap(),
        "hi\n"
    );

    // `/undo` restores the checkpoint itself: no model is asked to pretend it did; it keeps
    // a change made after the run unless forced.
    let session = auto.session();
    std::fs::write(dir.path().join("out.txt"), "hi\nand mine\n").unwrap();
    let kept = lathe_run(
        &home,
        &model.base_url(),
        dir.path(),
        &["--skill", "undo", "--session", &session],
    )
    .await;
    assert_eq!(kept.code(), Some(1), "{}", kept.stderr());
    assert!(
        kept.stderr()
            .contains("undo would lose changes made after the run to out.txt")
            && kept
                .stderr()
                .contains("run it again with `--force` to undo anyway"),
        "{}",
        kept.stderr()
    );
    assert_eq!(
        std::fs::read_to_string(dir.path().join("out.txt")).unwrap(),
        "hi\nand mine\n"
    );
    let undone = lathe_run(
        &home,
        &model.base_url(),
        dir.path(),
        &["--skill", "undo", "--session", &session, "--force"],
    )
    .await;
    assert_eq!(undone.code(), Some(0), "{}", undone.stderr());
    assert_eq!(undone.events[0]["sessionId"], session.as_str());
    let report = undone.events[0]["report"].as_str().unwrap();
    assert!(report.starts_with("undo: removed out.txt"), "{report}");
    assert!(!dir.path().join("out.txt").exists());
    assert_eq!(model.requests().len(), 4, "undo asked the model");
    let which = lathe_run(&home, &model.base_url(), dir.path(), &["--skill", "undo"]).await;
    assert_eq!(which.code(), Some(1));
    assert!(
        which.stderr().contains("pass --session ID"),
        "{}",
        which.stderr()
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn session_continues_a_stored_conversation() {
    let model = ScriptedModel::start(Script::new([
        Step::text("Nice to meet you, Ada."),
        Step::text("Your name is Ada.").expecting(Expect {
            user_contains: Some("what is my name".into()),
            ..Expect::default()
        }),
    ]))
    .await
    .unwrap();
    let home = LatheHome::new().unwrap();
    let dir = workspace();
    let first = lathe_run(&home, &model.base_url(), dir.path(), &["I am Ada"]).await;
    assert_eq!(first.code(), Some(0), "{}", first.stderr());
    let session = first.session();
    // From another directory: the session continues in its own workspace.
    let elsewhere = tempfile::tempdir().unwrap();
    let second = lathe_run(
        &home,
        &model.base_url(),
        elsewhere.path(),
        &["what is my name?", "--session", &session],
    )
    .await;
    assert_eq!(second.code(), Some(0), "{}", second.stderr());
    assert_eq!(second.session(), session);
    let first_seq_of_second = second.events[0]["seq"].as_u64().unwrap();
    assert_eq!(first_seq_of_second, first.events.len() as u64 + 1);
    let sent: Vec<String> = model.requests()[1]
        .messages()
        .iter()
        .map(|m| {
            format!(
                "{}: {}",
                m["role"].as_str().unwrap(),
                m["content"].as_str().unwrap_or("")
            )
        })
        .collect();
    assert_eq!(
        sent[1..],
        [
            "user: I am Ada".to_owned(),
            "assistant: Nice to meet you, Ada.".to_owned(),
            "user: what is my name?".to_owned(),
        ]
    );
    // The session's usage is the sum of both runs' model calls.
    let listed = home.run(&["sessions", "--json"]).unwrap();
    let sessions: Value = serde_json::from_slice(&listed.stdout).unwrap();
    let usage = &sessions[0]["usage"];
    assert_eq!(usage["modelCalls"], 2, "{usage}");
    let reported: u64 = [&first, &second]
        .iter()
        .flat_map(|run| run.events.iter())
        .filter(|e| e["name"] == "usage")
        .map(|e| e["value"]["inputTokens"].as_u64().unwrap())
        .sum();
    assert_eq!(usage["inputTokens"], reported, "{usage}");
    let other = elsewhere.path().canonicalize().unwrap();
    let moved = lathe_run(
        &home,
        &model.base_url(),
        dir.path(),
        &[
            "x",
            "--session",
            &session,
            "--workspace",
            other.to_str().unwrap(),
        ],
    )
    .await;
    assert_eq!(moved.code(), Some(1), "{}", moved.stderr());
    assert!(
        moved.stderr().contains(&format!(
            "belongs to the workspace {}",
            dir.path().canonicalize().unwrap().display()
        )),
        "{}",
        moved.stderr()
    );
    let unknown = lathe_run(
        &home,
        &model.base_url(),
        dir.path(),
        &["x", "--session", "nope"],
    )
    .await;
    assert_eq!(unknown.code(), Some(1));
    assert!(
        unknown.stderr().contains("no session nope"),
        "{}",
        unknown.stderr()
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_skill_sets_the_system_prompt_and_restricts_the_tools() {
    let model = ScriptedModel::start(Script::new([Step::text("It adds numbers.").expecting(
        Expect {
            system_contains: Some("You are explaining code".into()),
            user_contains: Some("the add function".into()),
            ..Expect::default()
        },
    )]))
    .await
    .unwrap();
    let home = LatheHome::new().unwrap();
    let dir = workspace();
    let run = lathe_run(
        &home,
        &model.base_url(),
        dir.path(),
        &["the add function", "--skill", "explain"],
    )
    .await;
    assert_eq!(run.code(), Some(0), "{}", run.stderr());
    model.assert_played();
    let tools = model.requests()[0].tool_names();
    assert!(tools.contains(&"read_file".to_owned()), "{tools:?}");
    assert!(!tools.contains(&"write_file".to_owned()), "{tools:?}");
    assert!(!tools.contains(&"run_command".to_owned()), "{tools:?}");
}

#[tokio::test(flavor = "multi_thread")]
async fn skill_fix_sends_its_system_prompt_template_and_exactly_its_tools() {
    let model = ScriptedModel::start(Script::new([Step::text("Fixed nothing yet.").expecting(
        Expect {
            system_contains: Some("You are fixing a defect in the user's code.".into()),
            user_contains: Some("add returns the wrong sum".into()),
            ..Expect::default()
        },
    )]))
    .await
    .unwrap();
    let home = LatheHome::new().unwrap();
    let dir = workspace();
    let run = lathe_run(
        &home,
        &model.base_url(),
        dir.path(),
        &["add returns the wrong sum", "--skill", "fix"],
    )
    .await;
    assert_eq!(run.code(), Some(0), "{}", run.stderr());
    model.assert_played();
    let system = model.requests()[0].messages()[0]["content"]
        .as_str()
        .unwrap()
        .to_owned();
    assert!(
        system.starts_with(lathe_agent_default_prompt_start()),
        "the skill's prompt follows Lathe's own: {system}"
    );
    let mut tools = model.requests()[0].tool_names();
    tools.sort();
    assert_eq!(
        tools,
        [
            "apply_patch",
            "code_context",
            "edit_file",
            "git",
            "list_files",
            "read_file",
            "run_command",
            "search",
        ],
        "fix.md's `tools`, no more"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn skill_arguments_and_the_file_fill_the_template_and_unknown_ones_are_refused() {
    let model = ScriptedModel::start(Script::new([
        Step::text("Planned.").expecting(Expect {
            user_contains: Some("Migrating to: Python 3.12".into()),
            ..Expect::default()
        }),
        Step::text("It adds.").expecting(Expect {
            user_contains: Some("File: `src/lib.rs` (rust)".into()),
            ..Expect::default()
        }),
    ]))
    .await
    .unwrap();
    let home = LatheHome::new().unwrap();
    let dir = workspace();
    std::fs::create_dir(dir.path().join("src")).unwrap();
    std::fs::write(dir.path().join("src/lib.rs"), "pub fn add() {}\n").unwrap();
    let run = lathe_run(
        &home,
        &model.base_url(),
        dir.path(),
        &[
            "the scripts",
            "--skill",
            "migrate",
            "--arg",
            "from=Python 3.8",
            "--arg",
            "to=Python 3.12",
        ],
    )
    .await;
    assert_eq!(run.code(), Some(0), "{}", run.stderr());
    let user = model.requests()[0].messages()[1]["content"]
        .as_str()
        .unwrap()
        .to_owned();
    assert!(user.contains("Migrating from: Python 3.8"), "{user}");
    assert!(user.contains("the scripts"), "{user}");

    let explained = lathe_run(
        &home,
        &model.base_url(),
        dir.path(),
        &["add", "--skill", "explain", "--file", "src/lib.rs"],
    )
    .await;
    assert_eq!(explained.code(), Some(0), "{}", explained.stderr());
    model.assert_played();

    let unknown = lathe_run(
        &home,
        &model.base_url(),
        dir.path(),
        &["x", "--skill", "migrate", "--arg", "version=3"],
    )
    .await;
    assert_eq!(unknown.code(), Some(1));
    assert!(
        unknown.stderr().contains("version") && unknown.stderr().contains("from, to"),
        "{}",
        unknown.stderr()
    );
    let malformed = lathe_run(
        &home,
        &model.base_url(),
        dir.path(),
        &["x", "--skill", "migrate", "--arg", "to"],
    )
    .await;
    assert_eq!(malformed.code(), Some(2), "clap's usage error");
    assert!(
        malformed.stderr().contains("expected NAME=VALUE"),
        "{}",
        malformed.stderr()
    );

    let asked = model.requests().len();
    let help = lathe_run(
        &home,
        &model.base_url(),
        dir.path(),
        &["--skill", "commands"],
    )
    .await;
    assert_eq!(help.code(), Some(0), "{}", help.stderr());
    let names: Vec<&str> = help.events[0]["skills"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|s| s["name"].as_str())
        .collect();
    assert!(
        names.contains(&"fix") && names.contains(&"migrate"),
        "`/help` alone lists the commands: {names:?}"
    );
    assert_eq!(model.requests().len(), asked, "without asking the model");
}

/// The first words of Lathe's default system prompt, which every skill's prompt extends.
fn lathe_agent_default_prompt_start() -> &'static str {
    "You are Lathe, a coding agent"
}

#[tokio::test(flavor = "multi_thread")]
async fn faults_end_with_a_clear_message_and_a_failing_status() {
    let home = LatheHome::new().unwrap();
    let dir = workspace();
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let down = lathe_run(
        &home,
        &format!("http://127.0.0.1:{port}/v1"),
        dir.path(),
        &["hi"],
    )
    .await;
    assert_eq!(down.code(), Some(1));
    let error = down.of_type("RUN_ERROR")[0];
    assert_eq!(error["code"], "model_unreachable");
    assert!(
        error["message"]
            .as_str()
            .unwrap()
            .contains(&port.to_string())
    );

    let model = ScriptedModel::start(Script::new([
        Step::status(401),
        Step::text("half").with_fault(StreamFault::CutAfter { after_chunks: 2 }),
    ]))
    .await
    .unwrap();
    let unauthorized = lathe_run(&home, &model.base_url(), dir.path(), &["hi"]).await;
    assert_eq!(unauthorized.code(), Some(1));
    assert_eq!(
        unauthorized.of_type("RUN_ERROR")[0]["code"],
        "model_unauthorized"
    );
    let cut = lathe_run(&home, &model.base_url(), dir.path(), &["hi"]).await;
    assert_eq!(cut.code(), Some(1));
    assert_eq!(cut.types().last().unwrap(), "RUN_ERROR");

    let mut unconfigured = home.command();
    unconfigured.current_dir(dir.path()).args(["run", "hi"]);
    let output = tokio::task::spawn_blocking(move || unconfigured.output())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(output.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("no model configured: set LATHE_BASE_URL"),
        "{stderr}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn ctrl_c_cancels_mid_stream_and_exits_130() {
    use tokio::io::AsyncBufReadExt;
    let model = ScriptedModel::start(Script::new([Step::reply(Reply {
        content: Some("this answer never ends".into()),
        fault: Some(StreamFault::StallAfter { after_chunks: 3 }),
        ..Reply::default()
    })]))
    .await
    .unwrap();
    let home = LatheHome::new().unwrap();
    let dir = workspace();
    let mut command = tokio::process::Command::from(home.command());
    command
        .env("LATHE_BASE_URL", model.base_url())
        .env("LATHE_MODEL", "gpt-4o")
        .env("LATHE_SANDBOX", "none")
        .current_dir(dir.path())
        .args(["run", "--json", "go"])
        .stdout(std::process::Stdio::piped())
        .kill_on_drop(true);
    let mut child = command.spawn().unwrap();
    let mut lines = tokio::io::BufReader::new(child.stdout.take().unwrap()).lines();
    let mut events = Vec::new();
    let mut assistant = None;
    while let Some(line) = lines.next_line().await.unwrap() {
        let event: Value = serde_json::from_str(&line).unwrap();
        if event["type"] == "TEXT_MESSAGE_START" && event["role"] == "assistant" {
            assistant = Some(event["messageId"].clone());
        }
        let streaming = event["type"] == "TEXT_MESSAGE_CONTENT"
            && Some(&event["messageId"]) == assistant.as_ref();
        events.push(event);
        if streaming {
            lathe_tests::daemon::signal(child.id().unwrap(), "INT");
            break;
        }
    }
    while let Some(line) = lines.next_line().await.unwrap() {
        events.push(serde_json::from_str(&line).unwrap());
    }
    let status = child.wait().await.unwrap();
    assert_eq!(status.code(), Some(130));
    let last = events.last().unwrap();
    assert_eq!(
        (&last["type"], &last["code"]),
        (&json!("RUN_ERROR"), &json!("cancelled"))
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn kill_9_loses_no_finished_tool_result_and_the_session_resumes() {
    use tokio::io::AsyncBufReadExt;
    let model = ScriptedModel::start(Script::new([
        Step::tool_calls([("read_file", json!({"path": "notes.txt"}))]),
        Step::text("stuck").with_fault(StreamFault::StallAfter { after_chunks: 2 }),
        Step::text("The notes say to remember the milk.").expecting(Expect {
            tool_result_contains: Some("remember the milk".into()),
            user_contains: Some("continue".into()),
            ..Expect::default()
        }),
    ]))
    .await
    .unwrap();
    let home = LatheHome::new().unwrap();
    let dir = workspace();
    let mut command = tokio::process::Command::from(home.command());
    command
        .env("LATHE_BASE_URL", model.base_url())
        .env("LATHE_MODEL", "gpt-4o")
        .env("LATHE_SANDBOX", "none")
        .current_dir(dir.path())
        .args(["run", "--json", "read my notes"])
        .stdout(std::process::Stdio::piped())
        .kill_on_drop(true);
    let mut child = command.spawn().unwrap();
    let mut lines = tokio::io::BufReader::new(child.stdout.take().unwrap()).lines();
    let mut session = None;
    while let Some(line) = lines.next_line().await.unwrap() {
        let event: Value = serde_json::from_str(&line).unwrap();
        session.get_or_insert_with(|| event["sessionId"].as_str().unwrap().to_owned());
        if event["type"] == "TOOL_CALL_RESULT" {
            break;
        }
    }
    model.wait_for_requests(2).await;
    lathe_tests::daemon::signal(child.id().unwrap(), "KILL");
    child.wait().await.unwrap();
    let session = session.unwrap();
    let resumed = lathe_run(
        &home,
        &model.base_url(),
        dir.path(),
        &["continue", "--session", &session],
    )
    .await;
    assert_eq!(resumed.code(), Some(0), "{}", resumed.stderr());
    model.assert_played();
    let roles: Vec<String> = model.requests()[2]
        .messages()
        .iter()
        .map(|m| m["role"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(roles, ["system", "user", "assistant", "tool", "user"]);
}

/// `lathe run --approval ask PROMPT` on a terminal (a real pty from util-linux `script`),
/// its input and output piped.
fn on_a_terminal(
    home: &LatheHome,
    model: &ScriptedModel,
    workspace: &std::path::Path,
    prompt: &str,
) -> std::process::Child {
    let lathe = lathe_tests::daemon::lathe_bin().display().to_string();
    home.command_of("script")
        .env("LATHE_BASE_URL", model.base_url())
        .env("LATHE_MODEL", "gpt-4o")
        .env("LATHE_SANDBOX", "none")
        .current_dir(workspace)
        .args([
            "-qec",
            &format!("{lathe} run --approval ask '{prompt}'"),
            "/dev/null",
        ])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap()
}

/// On a terminal (a real pty from util-linux `script`), `--approval ask` asks; "s" allows
/// the tool for the rest of the session, so the second write is not asked again.
#[tokio::test(flavor = "multi_thread")]
async fn on_a_terminal_ask_prompts_and_allow_for_session_is_remembered() {
    let model = ScriptedModel::start(Script::new([
        Step::tool_calls([("write_file", json!({"path": "a.txt", "content": "a\n"}))]),
        Step::tool_calls([("write_file", json!({"path": "b.txt", "content": "b\n"}))]),
        Step::text("Wrote both."),
    ]))
    .await
    .unwrap();
    let home = LatheHome::new().unwrap();
    let dir = workspace();
    let mut child = on_a_terminal(&home, &model, dir.path(), "write a and b");
    {
        use std::io::Write;
        let mut stdin = child.stdin.take().unwrap();
        stdin.write_all(b"s\n").unwrap();
    }
    let output = tokio::task::spawn_blocking(move || child.wait_with_output())
        .await
        .unwrap()
        .unwrap();
    let shown = String::from_utf8_lossy(&output.stdout);
    assert!(output.status.success(), "{shown}");
    assert_eq!(shown.matches("allow? [y] once").count(), 1, "{shown}");
    assert!(shown.contains("Wrote both."), "{shown}");
    assert_eq!(
        std::fs::read_to_string(dir.path().join("b.txt")).unwrap(),
        "b\n"
    );
}

/// A terminal prompt that timed out says so, and what is typed afterwards answers only the
/// next prompt once it shows.
#[tokio::test(flavor = "multi_thread")]
async fn a_prompt_that_timed_out_leaves_the_terminal_to_the_next_one() {
    let model = ScriptedModel::start(Script::new([
        Step::tool_calls([("write_file", json!({"path": "a.txt", "content": "a\n"}))]),
        Step::tool_calls([("write_file", json!({"path": "b.txt", "content": "b\n"}))]),
        Step::text("Wrote b."),
    ]))
    .await
    .unwrap();
    let home = LatheHome::new().unwrap();
    home.write_user_config("[policy]\napproval_timeout_secs = 1\n")
        .unwrap();
    let dir = workspace();
    let mut child = on_a_terminal(&home, &model, dir.path(), "write a and b");
    let mut stdin = child.stdin.take().unwrap();
    let mut stdout = child.stdout.take().unwrap();
    let shown = tokio::task::spawn_blocking(move || {
        use std::io::{Read, Write};
        let mut shown = String::new();
        let mut buffer = [0u8; 4096];
        let mut answered = false;
        loop {
            let n = stdout.read(&mut buffer).unwrap();
            if n == 0 {
                return shown;
            }
            shown.push_str(&String::from_utf8_lossy(&buffer[..n]));
            if !answered && shown.matches("allow? [y] once").count() == 2 {
                stdin.write_all(b"y\n").unwrap();
                answered = true;
            }
        }
    })
    .await
    .unwrap();
    let status = child.wait().unwrap();
    assert!(status.success(), "{shown}");
    let first = shown.find("no longer asked").expect(&shown);
    assert!(first < shown.rfind("allow? [y] once").unwrap(), "{shown}");
    assert!(
        !dir.path().join("a.txt").exists(),
        "the first write timed out: {shown}"
    );
    assert_eq!(
        std::fs::read_to_string(dir.path().join("b.txt")).unwrap(),
        "b\n"
    );
    assert!(shown.contains("Wrote b."), "{shown}");
}
