//! The dashboard in a real headless Chromium: an MCP client without elicitation starts a
//! run whose `write_file` and `run_command` wait for approval; the browser answers one from
//! the approvals queue and one from the session's live transcript, then sees the result,
//! the diff, the command's streamed output and exit code, finds the session by search and
//! filter, reads the metrics charts and the workspace's MCP server. Raw HTTP checks pin the
//! login flow: the token becomes an HttpOnly cookie, a request the cookie alone
//! authenticates cannot change anything without the page's Origin, and MCP does not take it.

use crate::mcp_shim::McpShim;
use lathe_tests::browser::Browser;
use lathe_tests::daemon::LatheHome;
use lathe_tests::http::{request, send};
use lathe_tests::scripted_model::{Script, ScriptedModel, Step};
use pretty_assertions::assert_eq;
use serde_json::json;
use std::time::Duration;

const WAIT: Duration = Duration::from_secs(60);

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
    let home = LatheHome::new().unwrap();
    home.write_user_config(&format!(
        "[daemon]\nport = 0\n\n[model]\nbase_url = \"{}\"\nmodel = \"scripted\"\n\n[sandbox]\nbackend = \"none\"\n",
        model.base_url()
    ))
    .unwrap();
    let workspace = tempfile::tempdir().unwrap();
    let time_server = lathe_tests::peers::mcp().join("venv/bin/mcp-server-time");
    std::fs::write(
        workspace.path().join(".mcp.json"),
        json!({"mcpServers": {"time": {"command": time_server, "startup_timeout_sec": 60}}})
            .to_string(),
    )
    .unwrap();
    let _daemon = home.start_daemon().unwrap();
    let info = home.daemon_info().unwrap();
    let url = info["url"].as_str().unwrap().to_owned();
    let token = info["token"].as_str().unwrap().to_owned();

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

    let mut shim = McpShim::start(&home, workspace.path());
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
    assert!(browser.text("#banner").unwrap().unwrap().is_empty());

    // Sessions: search and filters go through the daemon's query.
    browser.goto(&format!("{url}/#/sessions")).unwrap();
    let row = format!("#sessions tr[data-session-id='{session}']");
    browser.wait_for_count(&row, WAIT, |n| n == 1).unwrap();
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
    assert!(browser.count("svg[data-chart=tokens] rect").unwrap() > 0);
    let exec_times = browser
        .text(".histogram[data-histogram=sandbox_exec_ms] .percentiles")
        .unwrap()
        .unwrap();
    assert!(exec_times.starts_with("1 call · p50 ≤"), "{exec_times}");
    let metrics = request(&url, &token, "GET", "/api/metrics", &[], None)
        .unwrap()
        .json()
        .unwrap();
    assert_eq!(metrics["totals"]["model_calls"], 3, "{metrics:#}");
    assert_eq!(metrics["histograms"]["sandbox_exec_ms"]["count"], 1);
    assert_eq!(metrics["histograms"]["model_latency_ms"]["count"], 3);
    assert_eq!(metrics["tool_success_rate"], 0.5, "run_command exited 3");
    let prometheus = request(&url, &token, "GET", "/metrics", &[], None).unwrap();
    for line in [
        "lathe_sandbox_execs_total 1",
        "lathe_sandbox_exec_failures_total 1",
        "lathe_sandbox_exec_ms_bucket{le=\"+Inf\"} 1",
        "lathe_model_latency_ms_count 3",
    ] {
        assert!(
            prometheus.body.lines().any(|l| l == line),
            "{line} in {}",
            prometheus.body
        );
    }

    // MCP servers: the workspace's time server, up, with its tools.
    browser.goto(&format!("{url}/#/mcp")).unwrap();
    let server = browser
        .wait_for_text("#mcp-servers tr[data-server=time]", WAIT, |t| {
            t.contains("up")
        })
        .unwrap();
    assert!(server.contains("stdio"), "{server}");
}

#[tokio::test(flavor = "multi_thread")]
async fn the_token_becomes_a_cookie_that_cannot_be_used_cross_site() {
    let home = LatheHome::new().unwrap();
    home.write_user_config("[daemon]\nport = 0\n").unwrap();
    let _daemon = home.start_daemon().unwrap();
    let info = home.daemon_info().unwrap();
    let url = info["url"].as_str().unwrap();
    let token = info["token"].as_str().unwrap();
    let port = url.rsplit(':').next().unwrap();

    let bare = send(url, "GET", "/", &[], None).unwrap();
    assert_eq!(
        (bare.status, bare.header("location")),
        (303, Some("/login"))
    );
    let wrong = send(url, "GET", "/?token=wrong", &[], None).unwrap();
    assert_eq!(wrong.header("location"), Some("/login"));
    let login = send(url, "GET", "/login", &[], None).unwrap();
    assert_eq!(login.status, 200);
    assert!(login.body.contains("lathe status"), "{}", login.body);
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
    assert_eq!(
        send(url, "GET", "/api/status", &[], None).unwrap().status,
        401
    );

    let signed_in = send(url, "GET", &format!("/?token={token}"), &[], None).unwrap();
    assert_eq!(signed_in.status, 303);
    assert_eq!(signed_in.header("location"), Some("/"));
    let cookie = signed_in.header("set-cookie").unwrap();
    assert_eq!(
        cookie,
        format!("lathe_token_{port}={token}; Path=/; HttpOnly; SameSite=Strict")
    );
    let cookie = format!("lathe_token_{port}={token}");
    let page = send(url, "GET", "/", &[("Cookie", &cookie)], None).unwrap();
    assert_eq!(page.status, 200);
    assert!(
        page.header("content-security-policy")
            .unwrap()
            .starts_with("default-src 'self'")
    );
    let status = send(url, "GET", "/api/status", &[("Cookie", &cookie)], None).unwrap();
    assert_eq!(status.status, 200, "{}", status.body);

    let answer = json!({"decision": "deny"});
    let no_origin = send(
        url,
        "POST",
        "/api/approvals/a-1",
        &[("Cookie", &cookie)],
        Some(&answer),
    )
    .unwrap();
    assert_eq!(no_origin.status, 403, "{}", no_origin.body);
    let own_origin = send(
        url,
        "POST",
        "/api/approvals/a-1",
        &[("Cookie", &cookie), ("Origin", url)],
        Some(&answer),
    )
    .unwrap();
    assert_eq!(
        own_origin.status, 409,
        "no such approval: {}",
        own_origin.body
    );

    let mcp = send(
        url,
        "POST",
        "/mcp",
        &[("Cookie", &cookie), ("Origin", "http://127.0.0.1:1")],
        Some(&json!({"jsonrpc": "2.0", "id": 1, "method": "ping"})),
    )
    .unwrap();
    assert_eq!(
        mcp.status, 401,
        "another local page cannot use the cookie for MCP"
    );

    let filtered = send(
        url,
        "GET",
        "/api/sessions?colour=red",
        &[("Cookie", &cookie)],
        None,
    )
    .unwrap();
    assert_eq!(filtered.status, 400, "{}", filtered.body);
}
