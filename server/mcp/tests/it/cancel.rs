//! Cancelling a run from MCP: the `cancel` tool, and `notifications/cancelled` for the
//! `run_task` request (sent by rmcp's client when the caller drops the call). The run is
//! held inside a real MCP server's tool (the hub's `blocking` server) so the test knows it
//! is in flight.

use crate::support::{test_file, venv_bin};
use lathe_mcp::config::ServerConfig;
use lathe_mcp::server::assemble::{BuildOptions, build};
use lathe_protocol::config::{ModelConfig, PolicyConfig};
use lathe_protocol::{EventPayload, SessionId};
use lathe_tests::scripted_model::{Script, ScriptedModel, Step};
use rmcp::ClientHandler;
use rmcp::model::{
    CallToolRequestParams, ClientCapabilities, ClientConfig, ElicitRequestParams, ElicitResult,
    ElicitationAction, ErrorData, Implementation,
};
use rmcp::service::{RequestContext, RoleClient};
use serde_json::json;
use std::time::Duration;
use tokio_util::sync::CancellationToken;

struct AllowAll;

impl ClientHandler for AllowAll {
    fn get_info(&self) -> ClientConfig {
        let capabilities: ClientCapabilities =
            serde_json::from_value(json!({"elicitation": {"form": {}}})).unwrap();
        ClientConfig::new(capabilities, Implementation::new("allow-all", "1"))
    }

    async fn create_elicitation(
        &self,
        _request: ElicitRequestParams,
        _context: RequestContext<RoleClient>,
    ) -> Result<ElicitResult, ErrorData> {
        Ok(ElicitResult::new(ElicitationAction::Accept)
            .with_content(json!({"decision": "allow_once"})))
    }
}

async fn wait_for_block(fifo: std::path::PathBuf) {
    tokio::task::spawn_blocking(move || {
        let mut line = String::new();
        std::io::BufRead::read_line(
            &mut std::io::BufReader::new(std::fs::File::open(fifo).unwrap()),
            &mut line,
        )
        .unwrap();
    })
    .await
    .unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn runs_stop_on_the_cancel_tool_and_on_cancelled_requests() {
    let workspace = tempfile::tempdir().unwrap();
    let home = tempfile::tempdir().unwrap();
    let fifo = home.path().join("fifo");
    assert!(
        std::process::Command::new("mkfifo")
            .arg(&fifo)
            .status()
            .unwrap()
            .success()
    );
    let block = Step::tool_calls([("mcp__blocking__block", json!({"fifo": fifo}))]);
    let model = ScriptedModel::start(Script::new([block.clone(), block]))
        .await
        .unwrap();
    let mut blocking = ServerConfig::stdio(
        "blocking",
        &venv_bin("python"),
        &[&test_file("servers/blocking_server.py")],
    );
    blocking.startup_timeout = Duration::from_secs(60);
    let store = lathe_store::Store::open(&home.path().join("store.redb")).unwrap();
    let built = build(BuildOptions {
        store: store.clone(),
        workspace: workspace.path().to_path_buf(),
        model: ModelConfig {
            base_url: Some(model.base_url()),
            model: Some("scripted".into()),
            max_retries: 0,
            ..ModelConfig::default()
        },
        policy: PolicyConfig::default(),
        mcp_servers: vec![blocking],
        skills: lathe_skills::SkillRoots::default(),
        commands: None,
        repo_map_cache: None,
    })
    .unwrap();
    built.hub.ready().await;
    let (client_side, server_side) = tokio::io::duplex(64 * 1024);
    let (read, write) = tokio::io::split(server_side);
    tokio::spawn(lathe_mcp::serve_connection(
        read,
        write,
        built.shared.clone(),
        CancellationToken::new(),
    ));
    let client = rmcp::serve_client(AllowAll, client_side).await.unwrap();
    let run_task = || {
        let mut params = CallToolRequestParams::new("run_task");
        params.arguments = json!({"prompt": "block"}).as_object().cloned();
        params
    };

    // The `cancel` tool.
    let peer = client.peer().clone();
    let running = tokio::spawn(async move { peer.call_tool_once(run_task()).await });
    wait_for_block(fifo.clone()).await;
    let session = store.sessions().unwrap()[0].id.clone();
    let mut cancel = CallToolRequestParams::new("cancel");
    cancel.arguments = json!({"sessionId": session}).as_object().cloned();
    let cancelled = client.call_tool(cancel).await.unwrap();
    assert_eq!(
        cancelled.structured_content,
        Some(json!({"sessionId": session, "cancelled": true}))
    );
    let Ok(rmcp::model::CallToolResponse::Complete(result)) = running.await.unwrap() else {
        panic!("run_task did not complete");
    };
    assert_eq!(result.is_error, Some(true));
    assert_eq!(
        result.structured_content.unwrap()["status"],
        json!("cancelled")
    );

    // `notifications/cancelled`: the caller gives up on the request.
    let mut events = store.subscribe();
    let peer = client.peer().clone();
    let abandoned = tokio::spawn(async move { peer.call_tool_once(run_task()).await });
    wait_for_block(fifo).await;
    let second: SessionId = store
        .sessions()
        .unwrap()
        .into_iter()
        .find(|s| s.id != session)
        .unwrap()
        .id;
    abandoned.abort();
    loop {
        let event = events.recv().await.unwrap();
        if event.session_id == second
            && matches!(
                event.payload,
                EventPayload::RunError { .. } | EventPayload::RunFinished { .. }
            )
        {
            assert!(
                matches!(&event.payload, EventPayload::RunError { code: Some(code), .. } if code == "cancelled"),
                "{event:?}"
            );
            break;
        }
    }
    let _ = client.cancel().await;
    built.hub.shutdown().await;
}
