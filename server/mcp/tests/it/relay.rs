//! Servers' elicitations relayed to Lathe's MCP clients: a real MCP server
//! (`fixtures/mcp-servers/elicit_server.py`, the Python SDK's MCPServer) asks for a form while the agent
//! calls its tool through the hub; two Python SDK clients are connected to Lathe's `/mcp`
//! (`py/answer_elicitations.py`): one never answers, the one running the task fills the
//! form. The first answer reaches the server and the question is withdrawn from the other;
//! with no client connected the server's question is declined. Lathe's own approval
//! questions are withdrawn the same way when another surface answers them.

use crate::support::{fixture, test_file, venv_bin};
use lathe_mcp::config::ServerConfig;
use lathe_mcp::server::assemble::{BuildOptions, Built, build};
use lathe_mcp::{HttpOptions, http_service};
use lathe_protocol::config::{ModelConfig, PolicyConfig};
use lathe_tests::scripted_model::{Script, ScriptedModel, Step};
use pretty_assertions::assert_eq;
use serde_json::{Value, json};
use std::path::Path;
use std::process::Stdio;
use std::time::Duration;
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio_util::sync::CancellationToken;

const TOKEN: &str = "s3cret";
const QUESTION: &str = "The MCP server `elicit` asks: How many seats on friday?";

async fn serve(
    workspace: &Path,
    home: &Path,
    model_url: String,
) -> (Built, String, CancellationToken) {
    let mut elicit = ServerConfig::stdio(
        "elicit",
        &venv_bin("python"),
        &[&fixture("mcp-servers/elicit_server.py")],
    );
    elicit.startup_timeout = Duration::from_secs(60);
    let built = build(BuildOptions {
        store: lathe_store::Store::open(&home.join("store.redb")).unwrap(),
        workspace: workspace.to_path_buf(),
        model: ModelConfig {
            base_url: Some(model_url),
            model: Some("scripted".into()),
            max_retries: 0,
            ..ModelConfig::default()
        },
        policy: PolicyConfig::default(),
        mcp_servers: vec![elicit],
        skills: lathe_skills::SkillRoots::default(),
        commands: None,
        repo_map_cache: None,
    })
    .unwrap();
    built.hub.ready().await;
    let shutdown = CancellationToken::new();
    let service = http_service(
        built.shared.clone(),
        HttpOptions {
            token: Some(TOKEN.into()),
            shutdown: shutdown.clone(),
        },
    );
    let app = axum::Router::new().nest_service("/mcp", service);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!(
        "http://127.0.0.1:{}/mcp",
        listener.local_addr().unwrap().port()
    );
    let stop = shutdown.clone();
    tokio::spawn(async move {
        axum::serve(listener, app)
            .with_graceful_shutdown(async move { stop.cancelled().await })
            .await
            .unwrap();
    });
    (built, url, shutdown)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_servers_form_is_answered_by_the_first_client_and_withdrawn_from_the_others() {
    let model = ScriptedModel::start(Script::new([
        Step::tool_calls([("mcp__elicit__book_table", json!({"day": "friday"}))]),
        Step::text("Booked."),
    ]))
    .await
    .unwrap();
    let workspace = tempfile::tempdir().unwrap();
    let home = tempfile::tempdir().unwrap();
    let (built, url, shutdown) = serve(workspace.path(), home.path(), model.base_url()).await;
    let mut clients = built.shared.services().elicitation.watch_clients();

    let mut watcher = tokio::process::Command::new(venv_bin("python"))
        .arg(test_file("py/answer_elicitations.py"))
        .args(["watch", &url, TOKEN])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    let mut said = BufReader::new(watcher.stdout.take().unwrap()).lines();
    let mut next = async || -> Value {
        serde_json::from_str(&said.next_line().await.unwrap().expect("the watcher exited")).unwrap()
    };
    assert_eq!(next().await, json!({"ready": true}));
    clients.wait_for(|n| *n == 1).await.unwrap();

    let run = tokio::process::Command::new(venv_bin("python"))
        .arg(test_file("py/answer_elicitations.py"))
        .args(["run", &url, TOKEN, "Book a table for friday"])
        .output()
        .await
        .unwrap();
    assert!(
        run.status.success(),
        "answer_elicitations.py run failed: {}",
        String::from_utf8_lossy(&run.stderr)
    );
    let mut seen: Value = serde_json::from_slice(&run.stdout).unwrap();
    let transcript = seen["transcript"].take();
    assert!(
        transcript
            .as_str()
            .unwrap()
            .contains("Tool result:\n\n```text\nbooked 3 seats on friday by the window\n```"),
        "{transcript}"
    );
    let asked = seen["asked"].take();
    assert!(
        asked[0]
            .as_str()
            .unwrap()
            .starts_with("Lathe asks to mcp__elicit__book_table"),
        "{asked}"
    );
    assert_eq!(asked[1], json!(QUESTION));
    assert_eq!(asked.as_array().unwrap().len(), 2, "{asked}");
    assert_eq!(
        seen,
        json!({"asked": null, "status": "finished", "answer": "Booked.", "transcript": null})
    );
    // The watcher was asked too, and the question was withdrawn once answered.
    assert_eq!(next().await, json!({"asked": QUESTION}));
    assert_eq!(next().await, json!({"withdrawn": QUESTION}));
    model.assert_played();

    drop(watcher.stdin.take());
    assert!(watcher.wait().await.unwrap().success());
    tokio::time::timeout(Duration::from_secs(30), clients.wait_for(|n| *n == 0))
        .await
        .expect("a disconnected client leaves the relay")
        .unwrap();
    shutdown.cancel();
    built.hub.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_approval_answered_elsewhere_is_withdrawn_from_the_client() {
    let model = ScriptedModel::start(Script::new([])).await.unwrap();
    let workspace = tempfile::tempdir().unwrap();
    let home = tempfile::tempdir().unwrap();
    let (built, url, shutdown) = serve(workspace.path(), home.path(), model.base_url()).await;
    let mut client = tokio::process::Command::new(venv_bin("python"))
        .arg(test_file("py/answer_elicitations.py"))
        .args(["exec", &url, TOKEN, "echo hi"])
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut said = BufReader::new(client.stdout.take().unwrap()).lines();
    let mut next = async || -> Value {
        serde_json::from_str(&said.next_line().await.unwrap().expect("the client exited")).unwrap()
    };
    let asked = next().await;
    assert!(
        asked["asked"]
            .as_str()
            .is_some_and(|m| m.starts_with("Lathe asks to run_command(echo hi)")),
        "{asked}"
    );
    let services = built.shared.services();
    let pending = services.store.approvals(None).unwrap();
    let pending = pending
        .iter()
        .find(|a| a.status == lathe_protocol::ApprovalStatus::Pending)
        .expect("the approval is pending");
    services
        .agent
        .as_ref()
        .unwrap()
        .answer(
            &pending.request.id,
            lathe_protocol::ApprovalDecision::AllowOnce,
            Some("dashboard".into()),
        )
        .unwrap();
    let mut rest = vec![next().await, next().await];
    rest.sort_by_key(Value::to_string);
    assert_eq!(
        rest,
        vec![
            json!({"result": "no sandbox is available to this Lathe server; `lathe doctor` says how to set one up"}),
            json!({"withdrawn": asked["asked"]}),
        ],
        "the client's dialog is withdrawn once the dashboard answered"
    );
    assert!(client.wait().await.unwrap().success());
    shutdown.cancel();
    built.hub.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn with_no_client_connected_a_servers_question_is_declined() {
    let model = ScriptedModel::start(Script::new([])).await.unwrap();
    let workspace = tempfile::tempdir().unwrap();
    let home = tempfile::tempdir().unwrap();
    let (built, _url, shutdown) = serve(workspace.path(), home.path(), model.base_url()).await;
    let output = built
        .hub
        .call(
            "mcp__elicit__book_table",
            json!({"day": "monday"}),
            CancellationToken::new(),
        )
        .await;
    assert_eq!(
        (output.content.as_str(), output.is_error),
        ("no booking: decline", false)
    );
    shutdown.cancel();
    built.hub.shutdown().await;
}
