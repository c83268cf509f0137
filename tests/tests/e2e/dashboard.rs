//! The dashboard in a real headless Chromium: an MCP client without elicitation starts a
//! run whose `write_file` and `run_command` wait for approval; the browser answers one from
//! the approvals queue and one from the session's live transcript, then sees the result,
//! the diff, the command's streamed output and exit code, finds the session by search and
//! filter, reads the metrics charts and the workspace's MCP server. Another browser signs
//! in with the form, starts a skill from the New run form, cancels a stalled follow-up,
//! sends another, and is sent back to the form when its token goes stale. A third cancels
//! a run an MCP client started. A fourth fills in an MCP server's form (elicitation).
//! A new `lathe trust` takes effect at the workspace's next run. Raw HTTP checks pin what needs the token: everything but the
//! static page and assets, never as a cookie, with the page's own Origin for changes.

use crate::mcp_shim::McpShim;
use lathe_tests::browser::Browser;
use lathe_tests::daemon::{Daemon, LatheHome};
use lathe_tests::http::{request, send};
use lathe_tests::scripted_model::{Expect, Script, ScriptedModel, Step, StreamFault};
use pretty_assertions::assert_eq;
use serde_json::json;
use std::time::Duration;

const WAIT: Duration = Duration::from_secs(60);

/// A daemon under a private home: its model the scripted one (none when not given), its
/// commands on the host (the `none` sandbox, so each asks for approval).
struct Scene {
    /// Declared first so that it drops first: the daemon stops before its home goes.
    _daemon: Daemon,
    home: LatheHome,
    url: String,
    token: String,
}

impl Scene {
    fn start(model: Option<&ScriptedModel>) -> Scene {
        let home = LatheHome::new().unwrap();
        let model = model.map_or_else(String::new, |model| {
            format!(
                "[model]\nbase_url = \"{}\"\nmodel = \"scripted\"\n\n",
                model.base_url()
            )
        });
        home.write_user_config(&format!(
            "[daemon]\nport = 0\n\n{model}[sandbox]\nbackend = \"none\"\n"
        ))
        .unwrap();
        let daemon = home.start_daemon().unwrap();
        let info = home.daemon_info().unwrap();
        Scene {
            url: info["url"].as_str().unwrap().to_owned(),
            token: info["token"].as_str().unwrap().to_owned(),
            _daemon: daemon,
            home,
        }
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_browser_answers_approvals_and_follows_the_run() {
    let model = ScriptedModel::start(Script::new([
        Step::tool_calls([(
            "write_file",
            json!({"path": "hello.txt", "content": "hi\n"}),
        )]),
        Step::tool_calls([(
            "run_command",
            json!({"command": "echo sandboxed; cat hello.txt; exit 3"}),
        )]),
        Step::text("Wrote hello.txt and ran it."),
    ]))
    .await
    .unwrap();
    let scene = Scene::start(Some(&model));
    let (home, url, token) = (&scene.home, scene.url.as_str(), scene.token.as_str());
    let workspace = tempfile::tempdir().unwrap();
    let time_server = lathe_tests::peers::mcp().join("venv/bin/mcp-server-time");
    std::fs::write(
        workspace.path().join(".mcp.json"),
        json!({"mcpServers": {"time": {"command": time_server, "startup_timeout_sec": 60}}})
            .to_string(),
    )
    .unwrap();
    home.trust(workspace.path()).unwrap();

    let browser = Browser::start().unwrap();
    browser.goto(&format!("{url}/?token={token}")).unwrap();
    assert_eq!(
        browser.current_url().unwrap(),
        format!("{url}/"),
        "the token leaves the address bar"
    );
    browser
        .wait_for_text("#daemon-status", WAIT, |t| t.contains("scripted"))
        .unwrap();
    browser
        .wait_for_count("body[data-live=true]", WAIT, |n| n == 1)
        .unwrap();

    let mut shim = McpShim::start(home, workspace.path());
    let run = shim.send(
        "tools/call",
        json!({"name": "run_task", "arguments": {"prompt": "greet in hello.txt and show it"}}),
    );

    browser.goto(&format!("{url}/#/approvals")).unwrap();
    browser
        .wait_for_count("#approval-list .approval", WAIT, |n| n == 1)
        .unwrap();
    let card = browser.text("#approval-list .approval").unwrap().unwrap();
    assert!(card.contains("write_file"), "{card}");
    browser
        .wait_for_text("#approval-count", WAIT, |t| t == "1")
        .unwrap();
    let session = browser
        .execute(
            "return document.querySelector('#approval-list .approval a').textContent;",
            &[],
        )
        .unwrap();
    let session = session.as_str().unwrap().to_owned();
    browser
        .click("#approval-list .approval button[data-decision=allow_once]")
        .unwrap();

    // The command's approval arrives while the browser watches the transcript.
    browser.goto(&format!("{url}/#/session/{session}")).unwrap();
    browser
        .wait_for_count(
            "#transcript .tool[data-tool=run_command] .approval.pending",
            WAIT,
            |n| n == 1,
        )
        .unwrap();
    browser
        .click("#transcript .approval.pending button[data-decision=allow_once]")
        .unwrap();

    let result = shim.response(run);
    assert_eq!(result["result"]["isError"], false, "{result:#}");
    assert_eq!(
        std::fs::read_to_string(workspace.path().join("hello.txt")).unwrap(),
        "hi\n"
    );
    browser
        .wait_for_text(
            "#transcript .message[data-role=assistant]:not(.empty)",
            WAIT,
            |t| t.contains("Wrote hello.txt and ran it."),
        )
        .unwrap();
    let diff = browser
        .text("#transcript .tool[data-tool=write_file] .diff .add")
        .unwrap()
        .unwrap();
    assert_eq!(diff.trim(), "+hi");
    let output = browser
        .text("#transcript .tool[data-tool=run_command] .output")
        .unwrap()
        .unwrap();
    assert!(
        output.contains("sandboxed") && output.contains("hi"),
        "{output}"
    );
    let exit = browser
        .text("#transcript .tool[data-tool=run_command] .exit")
        .unwrap()
        .unwrap();
    assert!(
        exit.starts_with("exit 3 ·") && exit.ends_with("none"),
        "{exit}"
    );
    assert_eq!(
        browser
            .count("#transcript .approval.allowed[data-decision=allow_once]")
            .unwrap(),
        2
    );
    let answered = browser
        .text("#transcript .approval.allowed .answer")
        .unwrap()
        .unwrap();
    assert_eq!(answered, "Allow once by dashboard");
    assert_eq!(
        browser
            .execute("return document.getElementById('banner').hidden;", &[])
            .unwrap(),
        true
    );

    // Sessions: search and filters go through the daemon's query.
    browser.goto(&format!("{url}/#/sessions")).unwrap();
    let row = format!("#sessions tr[data-session-id='{session}']");
    browser.wait_for_count(&row, WAIT, |n| n == 1).unwrap();
    browser
        .wait_for_text(&format!("{row} .usage"), WAIT, |t| {
            t.contains(" in / ") && t.ends_with(" out")
        })
        .unwrap();
    browser
        .type_into("#session-search", "no-such-words")
        .unwrap();
    browser
        .wait_for_text("#session-count", WAIT, |t| t == "0 sessions")
        .unwrap();
    browser.clear("#session-search").unwrap();
    browser.type_into("#session-search", "GREET").unwrap();
    browser
        .wait_for_text("#session-count", WAIT, |t| t == "1 session")
        .unwrap();
    browser
        .click("#status-filter option[value=failed]")
        .unwrap();
    browser
        .wait_for_text("#session-count", WAIT, |t| t == "0 sessions")
        .unwrap();
    browser
        .click("#status-filter option[value=finished]")
        .unwrap();
    browser.wait_for_count(&row, WAIT, |n| n == 1).unwrap();

    // Metrics: the same rollups as /api/metrics, drawn.
    browser.goto(&format!("{url}/#/metrics")).unwrap();
    browser
        .wait_for_text(".card[data-metric=runs] .card-value", WAIT, |t| t == "1")
        .unwrap();
    assert_eq!(
        browser
            .text(".card[data-metric=sandbox_execs] .card-value")
            .unwrap()
            .unwrap(),
        "1 (1 non-zero)"
    );
    let bars = browser
        .execute(
            "return [...document.querySelectorAll('svg[data-chart=tokens] rect')]
                .filter((r) => Number(r.getAttribute('height')) > 0).length;",
            &[],
        )
        .unwrap();
    assert!(
        bars == 2 || bars == 4,
        "input and output tokens of today (and yesterday, past midnight): {bars}"
    );
    let exec_times = browser
        .text(".histogram[data-histogram=sandbox_exec_ms] .percentiles")
        .unwrap()
        .unwrap();
    assert!(exec_times.starts_with("1 call · mean "), "{exec_times}");
    let metrics = request(url, token, "GET", "/api/metrics", &[], None)
        .unwrap()
        .json()
        .unwrap();
    assert_eq!(metrics["totals"]["model_calls"], 3, "{metrics:#}");
    assert_eq!(metrics["histograms"]["sandbox_exec_ms"]["count"], 1);
    assert_eq!(metrics["histograms"]["model_latency_ms"]["count"], 3);
    assert_eq!(metrics["tool_success_rate"], 0.5, "run_command exited 3");
    let events = request(
        url,
        token,
        "GET",
        &format!("/api/sessions/{session}/events"),
        &[],
        None,
    )
    .unwrap()
    .json()
    .unwrap();
    let exited = events
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["name"] == "sandbox.exited")
        .unwrap();
    assert_eq!(exited["value"]["exitCode"], 3);
    let exec_ms = exited["value"]["durationMs"].as_u64().unwrap();
    assert_eq!(metrics["histograms"]["sandbox_exec_ms"]["sum_ms"], exec_ms);
    assert!(
        metrics["totals"].get("sandbox_exec_ms_sum").is_none(),
        "histogram parts are not counters"
    );
    let prometheus = request(url, token, "GET", "/metrics", &[], None).unwrap();
    for line in [
        "lathe_sandbox_execs_total 1".to_owned(),
        "lathe_sandbox_exec_failures_total 1".to_owned(),
        "lathe_sandbox_exec_ms_bucket{le=\"+Inf\"} 1".to_owned(),
        "lathe_model_latency_ms_count 3".to_owned(),
        format!("lathe_sandbox_exec_ms_sum {exec_ms}"),
    ] {
        assert!(
            prometheus.body.lines().any(|l| l == line.as_str()),
            "{line} in {}",
            prometheus.body
        );
    }

    // MCP servers: the workspace's time server, up, with its tools.
    browser.goto(&format!("{url}/#/mcp")).unwrap();
    browser
        .wait_for_count(
            "#mcp-servers tr[data-server=time] .pill[data-status=up]",
            WAIT,
            |n| n == 1,
        )
        .unwrap();
    let server = browser
        .text("#mcp-servers tr[data-server=time]")
        .unwrap()
        .unwrap();
    assert!(server.contains("stdio"), "{server}");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_skill_runs_from_the_dashboard() {
    let model = ScriptedModel::start(Script::new([
        Step::text("It adds two numbers.").expecting(Expect {
            system_contains: Some("You are explaining code".into()),
            user_contains: Some("what does add do?".into()),
            ..Expect::default()
        }),
        Step::text("Subtraction would need")
            .with_fault(StreamFault::StallAfter { after_chunks: 2 })
            .expecting(Expect {
                user_contains: Some("and subtract?".into()),
                ..Expect::default()
            }),
        Step::text("Use a * b.").expecting(Expect {
            user_contains: Some("then multiply?".into()),
            ..Expect::default()
        }),
    ]))
    .await
    .unwrap();
    let scene = Scene::start(Some(&model));
    let (url, token) = (scene.url.as_str(), scene.token.as_str());
    let workspace = tempfile::tempdir().unwrap();
    std::fs::write(
        workspace.path().join("lib.rs"),
        "pub fn add(a: i32, b: i32) -> i32 { a + b }\n",
    )
    .unwrap();
    let root = workspace.path().canonicalize().unwrap();

    let browser = Browser::start().unwrap();
    browser.goto(&format!("{url}/#/sessions")).unwrap();
    browser
        .wait_for_count("#sign-in", WAIT, |n| n == 1)
        .unwrap();
    browser.type_into("#token", token).unwrap();
    browser.click("#sign-in button").unwrap();
    browser.click("#new-run summary").unwrap();
    browser
        .wait_for_count("#run-skill option[value=review]", WAIT, |n| n == 1)
        .unwrap();
    browser.clear("#run-workspace").unwrap();
    browser
        .type_into("#run-workspace", &root.display().to_string())
        .unwrap();
    // Leaving the field reloads the skills of the workspace typed.
    browser.type_into("#run-file", "lib.rs").unwrap();
    browser
        .wait_for_count(
            &format!("#run-skill[data-workspace='{}']", root.display()),
            WAIT,
            |n| n == 1,
        )
        .unwrap();
    assert_eq!(
        browser.count("#run-skill option[value=undo]").unwrap(),
        0,
        "actions are not runs"
    );
    browser
        .type_into("#run-prompt", "what does add do?")
        .unwrap();
    browser.click("#run-skill option[value=explain]").unwrap();
    browser.click("#run-start").unwrap();

    browser
        .wait_for_text(
            "#transcript .message[data-role=assistant]:not(.empty)",
            WAIT,
            |t| t.contains("It adds two numbers."),
        )
        .unwrap();
    assert!(browser.current_url().unwrap().contains("#/session/"));
    browser
        .wait_for_text(".session-header h1", WAIT, |t| {
            t == "/explain what does add do?"
        })
        .unwrap();

    // A follow-up that stalls is cancelled from the page (after reloads, which read the
    // log and then follow it); the next one answers.
    let reply_box = "#reply-form:not([hidden])";
    browser.wait_for_count(reply_box, WAIT, |n| n == 1).unwrap();
    browser.type_into("#reply-prompt", "and subtract?").unwrap();
    browser.click("#reply-send").unwrap();
    let streaming = ".message.streaming[data-role=assistant]:not(.empty)";
    for _reload in 0..2 {
        browser
            .wait_for_count("#cancel-run:not([hidden])", WAIT, |n| n == 1)
            .unwrap();
        browser.wait_for_count(streaming, WAIT, |n| n == 1).unwrap();
        browser.execute("location.reload();", &[]).unwrap();
    }
    browser
        .wait_for_count("#cancel-run:not([hidden])", WAIT, |n| n == 1)
        .unwrap();
    browser.wait_for_count(streaming, WAIT, |n| n == 1).unwrap();
    assert_eq!(
        browser
            .count("#transcript .message[data-role=user]")
            .unwrap(),
        2
    );
    browser.click("#cancel-run").unwrap();
    browser
        .wait_for_text(".session-header .pill", WAIT, |t| t == "cancelled")
        .unwrap();
    browser.wait_for_count(reply_box, WAIT, |n| n == 1).unwrap();
    browser
        .type_into("#reply-prompt", "then multiply?")
        .unwrap();
    browser.click("#reply-send").unwrap();
    browser
        .wait_for_text(".session-header .pill", WAIT, |t| t == "finished")
        .unwrap();
    let answers = browser
        .execute(
            "return [...document.querySelectorAll('#transcript .message[data-role=assistant]:not(.empty)')]
                .map((m) => m.querySelector('.text').textContent);",
            &[],
        )
        .unwrap();
    let answers: Vec<&str> = answers
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a.as_str().unwrap())
        .collect();
    assert_eq!(answers.len(), 3, "{answers:?}");
    assert_eq!(
        (answers[0], answers[2]),
        ("It adds two numbers.", "Use a * b.")
    );
    assert!(
        "Subtraction would need".starts_with(answers[1]) && !answers[1].is_empty(),
        "the cancelled turn keeps what streamed: {answers:?}"
    );
    assert_eq!(
        browser
            .count("#transcript .message[data-role=user]")
            .unwrap(),
        3
    );
    assert!(model.mismatches().is_empty(), "{:?}", model.mismatches());
    let sessions = request(
        url,
        token,
        "GET",
        "/api/sessions?origin=dashboard",
        &[],
        None,
    )
    .unwrap()
    .json()
    .unwrap();
    assert_eq!(sessions.as_array().unwrap().len(), 1, "{sessions:#}");
    assert_eq!(sessions[0]["workspace"], root.display().to_string());
    assert_eq!(sessions[0]["status"], "finished");
    let id = sessions[0]["id"].as_str().unwrap();
    let one = request(url, token, "GET", &format!("/api/sessions/{id}"), &[], None).unwrap();
    assert_eq!(one.json().unwrap(), sessions[0]);

    // A restarted daemon has a new token: the page asks for it again.
    browser
        .execute(
            "localStorage.setItem('lathe-token', 'stale'); location.reload();",
            &[],
        )
        .unwrap();
    browser
        .wait_for_text("#sign-in-reason", WAIT, |t| {
            t.contains("does not accept this token")
        })
        .unwrap();
}

/// An MCP server's form (MCP elicitation) reaches the dashboard: the real server of
/// `fixtures/mcp-servers/elicit_server.py`, named by the workspace's `.mcp.json`, asks while
/// the agent calls its tool for a run an MCP client without elicitation started; the
/// browser approves the call, fills the form, and the server gets the reply.
#[tokio::test(flavor = "multi_thread")]
async fn a_browser_answers_an_mcp_servers_question() {
    let model = ScriptedModel::start(Script::new([
        Step::tool_calls([("mcp__elicit__book_table", json!({"day": "friday"}))]),
        Step::text("Booked.").expecting(Expect {
            tool_result_contains: Some("booked 3 seats on friday by the window".into()),
            ..Expect::default()
        }),
    ]))
    .await
    .unwrap();
    let scene = Scene::start(Some(&model));
    let (home, url, token) = (&scene.home, scene.url.as_str(), scene.token.as_str());
    let workspace = tempfile::tempdir().unwrap();
    let python = lathe_tests::peers::mcp().join("venv/bin/python");
    let server = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../fixtures/mcp-servers/elicit_server.py");
    std::fs::write(
        workspace.path().join(".mcp.json"),
        json!({"mcpServers": {"elicit": {
            "command": python, "args": [server], "startup_timeout_sec": 60
        }}})
        .to_string(),
    )
    .unwrap();
    home.trust(workspace.path()).unwrap();

    let browser = Browser::start().unwrap();
    browser
        .goto(&format!("{url}/?token={token}#/approvals"))
        .unwrap();
    browser
        .wait_for_count("body[data-live=true]", WAIT, |n| n == 1)
        .unwrap();
    browser
        .wait_for_count("#no-questions", WAIT, |n| n == 1)
        .unwrap();
    let mut shim = McpShim::start(home, workspace.path());
    let run = shim.send(
        "tools/call",
        json!({"name": "run_task", "arguments": {"prompt": "book a table for friday"}}),
    );
    browser
        .wait_for_count("#approval-list .approval", WAIT, |n| n == 1)
        .unwrap();
    browser
        .click("#approval-list .approval button[data-decision=allow_once]")
        .unwrap();

    browser
        .wait_for_count("#question-list .question.pending", WAIT, |n| n == 1)
        .unwrap();
    let card = browser.text("#question-list .question").unwrap().unwrap();
    assert!(
        card.contains("elicit asks: How many seats on friday?"),
        "{card}"
    );
    browser
        .wait_for_text("#approval-count", WAIT, |t| t == "1")
        .unwrap();
    let asked = request(url, token, "GET", "/api/questions", &[], None).unwrap();
    assert_eq!(asked.status, 200);
    let asked: serde_json::Value = serde_json::from_str(&asked.body).unwrap();
    assert_eq!(asked[0]["asker"], "elicit");
    assert_eq!(asked[0]["kind"], "form");
    assert_eq!(
        asked[0]["schema"]["required"],
        json!(["seats", "window"]),
        "{asked}"
    );
    let bad = request(
        url,
        token,
        "POST",
        &format!("/api/questions/{}", asked[0]["id"].as_str().unwrap()),
        &[],
        Some(&json!({"action": "accept", "content": 3})),
    )
    .unwrap();
    assert_eq!(bad.status, 400, "{}", bad.body);

    browser
        .type_into("#question-list input[name=seats]", "3")
        .unwrap();
    browser.click("#question-list input[name=window]").unwrap();
    browser.click("#question-list button[type=submit]").unwrap();
    browser
        .wait_for_text("#question-list .question .answer", WAIT, |t| {
            t == "Answered by dashboard"
        })
        .unwrap();

    let result = shim.response(run);
    assert_eq!(result["result"]["isError"], false, "{result:#}");
    assert_eq!(
        result["result"]["structuredContent"]["answer"], "Booked.",
        "{result:#}"
    );
    model.assert_played();
    browser
        .wait_for_text("#approval-count", WAIT, |t| t.is_empty() || t == "0")
        .unwrap();
    let late = request(
        url,
        token,
        "POST",
        &format!("/api/questions/{}", asked[0]["id"].as_str().unwrap()),
        &[],
        Some(&json!({"action": "decline"})),
    )
    .unwrap();
    assert_eq!(late.status, 409, "{}", late.body);
}

/// `lathe trust` takes effect in a running daemon: the workspace's next run (here the
/// dashboard's) gets the MCP servers its `.mcp.json` names, with no restart.
#[tokio::test(flavor = "multi_thread")]
async fn a_running_daemon_applies_a_new_trust_at_the_next_run() {
    let model = ScriptedModel::start(Script::new(["untrusted", "trusted"].map(Step::text)))
        .await
        .unwrap();
    let scene = Scene::start(Some(&model));
    let (home, url, token) = (&scene.home, scene.url.as_str(), scene.token.as_str());
    let workspace = tempfile::tempdir().unwrap();
    let time = lathe_tests::peers::mcp().join("venv/bin/mcp-server-time");
    std::fs::write(
        workspace.path().join(".mcp.json"),
        json!({"mcpServers": {"time": {"command": time, "startup_timeout_sec": 60}}}).to_string(),
    )
    .unwrap();
    let root = workspace.path().canonicalize().unwrap();
    let run = |prompt: &str| {
        let body = json!({"workspace": root, "prompt": prompt});
        let started = request(url, token, "POST", "/api/runs", &[], Some(&body)).unwrap();
        assert_eq!(started.status, 202, "{}", started.body);
        let session = started.json().unwrap()["sessionId"]
            .as_str()
            .unwrap()
            .to_owned();
        lathe_tests::daemon::wait_until(WAIT, || {
            let path = format!("/api/sessions/{session}");
            let meta = request(url, token, "GET", &path, &[], None).unwrap();
            meta.json().unwrap()["status"] == "finished"
        })
        .unwrap();
    };
    let health = || {
        let status = request(url, token, "GET", "/api/status", &[], None)
            .unwrap()
            .json()
            .unwrap();
        status["mcp"]
            .as_array()
            .unwrap()
            .iter()
            .find(|w| w["workspace"] == root.to_str().unwrap())
            .cloned()
            .unwrap_or_else(|| panic!("no health of {}: {status:#}", root.display()))
    };
    let time_tool = "mcp__time__get_current_time".to_owned();

    run("what time is it?");
    let untrusted = health();
    assert!(
        untrusted["problems"][0]
            .as_str()
            .unwrap()
            .contains("not trusted"),
        "{untrusted:#}"
    );
    assert_eq!(untrusted["mcp_servers"], json!([]));
    assert!(!model.requests()[0].tool_names().contains(&time_tool));

    home.trust(workspace.path()).unwrap();
    run("what time is it?");
    assert!(
        model.requests()[1].tool_names().contains(&time_tool),
        "{:?}",
        model.requests()[1].tool_names()
    );
    let trusted = health();
    assert_eq!(trusted["problems"], json!([]), "{trusted:#}");
    assert_eq!(trusted["mcp_servers"][0]["name"], "time", "{trusted:#}");
    model.assert_played();
}

/// A model whose answer stalls after two chunks: a run that goes on until cancelled.
async fn thinking_forever() -> ScriptedModel {
    ScriptedModel::start(Script::new([
        Step::text("Thinking it over").with_fault(StreamFault::StallAfter { after_chunks: 2 })
    ]))
    .await
    .unwrap()
}

#[tokio::test(flavor = "multi_thread")]
async fn the_dashboard_cancels_a_run_another_surface_started() {
    let model = thinking_forever().await;
    let scene = Scene::start(Some(&model));
    let (home, url, token) = (&scene.home, scene.url.as_str(), scene.token.as_str());
    let workspace = tempfile::tempdir().unwrap();
    let mut shim = McpShim::start(home, workspace.path());
    let run = shim.send(
        "tools/call",
        json!({"name": "run_task", "arguments": {"prompt": "think it over"}}),
    );
    let mut running = json!([]);
    lathe_tests::daemon::wait_until(WAIT, || {
        running = request(url, token, "GET", "/api/runs", &[], None)
            .unwrap()
            .json()
            .unwrap();
        running.as_array().is_some_and(|r| r.len() == 1)
    })
    .unwrap();
    let session = running[0].as_str().unwrap().to_owned();

    let browser = Browser::start().unwrap();
    browser
        .goto(&format!("{url}/?token={token}#/session/{session}"))
        .unwrap();
    browser
        .wait_for_text(".session-header .muted", WAIT, |t| t.contains("mcp"))
        .unwrap();
    browser
        .wait_for_count("#cancel-run:not([hidden])", WAIT, |n| n == 1)
        .unwrap();
    browser.click("#cancel-run").unwrap();

    let result = shim.response(run);
    assert_eq!(result["result"]["isError"], true, "{result:#}");
    assert!(result.to_string().contains("cancel"), "{result:#}");
    browser
        .wait_for_text(".session-header .pill", WAIT, |t| t == "cancelled")
        .unwrap();
    browser
        .wait_for_count("#reply-form:not([hidden])", WAIT, |n| n == 1)
        .unwrap();
    let running = request(url, token, "GET", "/api/runs", &[], None).unwrap();
    assert_eq!(running.json().unwrap(), json!([]));
}

#[tokio::test(flavor = "multi_thread")]
async fn an_mcp_client_cancels_a_run_the_dashboard_started() {
    let model = thinking_forever().await;
    let scene = Scene::start(Some(&model));
    let (home, url, token) = (&scene.home, scene.url.as_str(), scene.token.as_str());
    let workspace = tempfile::tempdir().unwrap();
    let root = workspace.path().canonicalize().unwrap();
    let body = json!({"workspace": root, "prompt": "think it over"});
    let started = request(url, token, "POST", "/api/runs", &[], Some(&body)).unwrap();
    assert_eq!(started.status, 202, "{}", started.body);
    let session = started.json().unwrap()["sessionId"]
        .as_str()
        .unwrap()
        .to_owned();
    lathe_tests::daemon::wait_until(WAIT, || {
        request(url, token, "GET", "/api/runs", &[], None)
            .unwrap()
            .json()
            .unwrap()
            == json!([session])
    })
    .unwrap();

    let mut shim = McpShim::start(home, workspace.path());
    let id = shim.send(
        "tools/call",
        json!({"name": "cancel", "arguments": {"sessionId": session}}),
    );
    let cancel = shim.response(id);
    assert_eq!(
        cancel["result"]["structuredContent"],
        json!({"sessionId": session, "cancelled": true}),
        "{cancel:#}"
    );
    lathe_tests::daemon::wait_until(WAIT, || {
        let meta = request(
            url,
            token,
            "GET",
            &format!("/api/sessions/{session}"),
            &[],
            None,
        )
        .unwrap()
        .json()
        .unwrap();
        meta["status"] == "cancelled"
    })
    .unwrap();
    let id = shim.send(
        "tools/call",
        json!({"name": "cancel", "arguments": {"sessionId": session}}),
    );
    let again = shim.response(id);
    assert_eq!(
        again["result"]["structuredContent"]["cancelled"], false,
        "{again:#}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn only_the_static_page_is_served_without_the_token() {
    let scene = Scene::start(None);
    let (url, token) = (scene.url.as_str(), scene.token.as_str());

    let page = send(url, "GET", "/", &[], None).unwrap();
    assert_eq!(page.status, 200);
    assert!(page.body.contains("/assets/app.js"), "{}", page.body);
    assert!(
        page.header("content-security-policy")
            .unwrap()
            .starts_with("default-src 'self'")
    );
    let script = send(url, "GET", "/assets/app.js", &[], None).unwrap();
    assert_eq!(script.status, 200);
    assert_eq!(
        script.header("content-type"),
        Some("text/javascript; charset=utf-8")
    );
    assert_eq!(
        send(url, "GET", "/assets/secrets", &[], None)
            .unwrap()
            .status,
        404
    );
    for path in ["/api/status", "/api/sessions", "/events", "/metrics"] {
        assert_eq!(
            send(url, "GET", path, &[], None).unwrap().status,
            401,
            "{path}"
        );
    }
    let cookie = format!("lathe_token={token}");
    let by_cookie = send(url, "GET", "/api/status", &[("Cookie", &cookie)], None).unwrap();
    assert_eq!(by_cookie.status, 401, "no cookie authenticates");
    let by_query = send(
        url,
        "GET",
        &format!("/api/sessions?token={token}"),
        &[],
        None,
    )
    .unwrap();
    assert_eq!(by_query.status, 200, "{}", by_query.body);
    assert_eq!(by_query.json().unwrap(), json!([]));

    let answer = json!({"decision": "deny"});
    let foreign = request(
        url,
        token,
        "POST",
        "/api/approvals/a-1",
        &[("Origin", "http://127.0.0.1:1")],
        Some(&answer),
    )
    .unwrap();
    assert_eq!(foreign.status, 403, "{}", foreign.body);
    let own = request(
        url,
        token,
        "POST",
        "/api/approvals/a-1",
        &[("Origin", url)],
        Some(&answer),
    )
    .unwrap();
    assert_eq!(own.status, 409, "no such approval: {}", own.body);

    let workspace = tempfile::tempdir().unwrap();
    let workspace = workspace.path().display().to_string();
    for (body, says) in [
        (
            json!({"workspace": "relative/dir", "prompt": "hi"}),
            "absolute path",
        ),
        (
            json!({"workspace": workspace, "skill": "no-such-skill"}),
            "no-such-skill",
        ),
        (json!({"workspace": workspace, "prompt": "hi"}), "model"),
        (
            json!({"workspace": workspace}),
            "a prompt, a skill, or both",
        ),
        (
            json!({"workspace": workspace, "skill": "undo"}),
            "is an action",
        ),
    ] {
        let refused = request(url, token, "POST", "/api/runs", &[], Some(&body)).unwrap();
        assert_eq!(refused.status, 400, "{body}: {}", refused.body);
        assert!(refused.body.contains(says), "{body}: {}", refused.body);
    }
    let follow_up = json!({"prompt": "and then?"});
    let unknown = request(
        url,
        token,
        "POST",
        "/api/sessions/nope/messages",
        &[],
        Some(&follow_up),
    )
    .unwrap();
    assert_eq!(unknown.status, 404, "{}", unknown.body);
    let idle = request(url, token, "POST", "/api/sessions/nope/cancel", &[], None).unwrap();
    assert_eq!(idle.status, 404, "{}", idle.body);
    let missing = request(url, token, "GET", "/api/sessions/nope", &[], None).unwrap();
    assert_eq!(missing.status, 404, "{}", missing.body);
    assert!(missing.body.contains("no session nope"), "{}", missing.body);
    let skills = request(url, token, "GET", "/api/skills?workspace=", &[], None).unwrap();
    assert_eq!(skills.status, 400, "{}", skills.body);
    let running = request(url, token, "GET", "/api/runs", &[], None).unwrap();
    assert_eq!(running.json().unwrap(), json!([]));
    let sessions = request(url, token, "GET", "/api/sessions", &[], None).unwrap();
    assert_eq!(
        sessions.json().unwrap(),
        json!([]),
        "a refused run creates nothing"
    );
    let filtered = request(url, token, "GET", "/api/sessions?colour=red", &[], None).unwrap();
    assert_eq!(filtered.status, 400, "{}", filtered.body);
}
