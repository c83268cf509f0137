//! The server's own tools over [`lathe_mcp::serve_connection`] (an in-memory duplex pipe,
//! the framing `lathe mcp` uses), driven by rmcp's client: `code_context` by position and
//! by symbol, `repo_map`, and `sandbox_exec` on the host backend, whose policy asks — the
//! question answered by elicitation, or refused when the client cannot elicit; with an
//! agent, asked through its approval broker (so other surfaces answer too) and stored.

use lathe_agent::model::{OpenAiClient, RetryPolicy};
use lathe_agent::tools::ToolRegistry;
use lathe_agent::{Agent, AgentConfig, Answer};
use lathe_mcp::server::services::{SandboxRunner, Services};
use lathe_mcp::{Shared, serve_connection};
use lathe_protocol::config::{ModelConfig, PolicyConfig};
use lathe_protocol::{ApprovalDecision, ApprovalStatus, Surface};
use pretty_assertions::assert_eq;
use rmcp::ClientHandler;
use rmcp::model::{
    CallToolRequestParams, CallToolResult, ClientCapabilities, ClientConfig, ElicitRequestParams,
    ElicitResult, ElicitationAction, ErrorData, Implementation,
};
use rmcp::service::{RequestContext, RoleClient, RunningService};
use serde_json::{Value, json};
use std::sync::Arc;
use std::time::Duration;
use tokio_util::sync::CancellationToken;

/// A client that answers every elicitation with `decision`, or declares no elicitation.
struct Approver(Option<&'static str>);

impl ClientHandler for Approver {
    fn get_info(&self) -> ClientConfig {
        let capabilities: ClientCapabilities = match self.0 {
            Some(_) => serde_json::from_value(json!({"elicitation": {"form": {}}})).unwrap(),
            None => ClientCapabilities::default(),
        };
        ClientConfig::new(capabilities, Implementation::new("approver", "1"))
    }

    async fn create_elicitation(
        &self,
        request: ElicitRequestParams,
        _context: RequestContext<RoleClient>,
    ) -> Result<ElicitResult, ErrorData> {
        let ElicitRequestParams::FormElicitationParams { message, .. } = request else {
            return Ok(ElicitResult::new(ElicitationAction::Decline));
        };
        assert_eq!(
            message,
            "Lathe asks to run_command(echo hi): run `echo hi` in the sandbox"
        );
        Ok(ElicitResult::new(ElicitationAction::Accept).with_content(json!({"decision": self.0})))
    }
}

async fn connect(
    approver: Approver,
) -> (
    RunningService<RoleClient, Approver>,
    tempfile::TempDir,
    tempfile::TempDir,
) {
    let (client, workspace, home, _) = connect_with(approver, false).await;
    (client, workspace, home)
}

/// A connected client, and the agent the server asks approvals through when `with_agent`
/// (its model is never called).
async fn connect_with(
    approver: Approver,
    with_agent: bool,
) -> (
    RunningService<RoleClient, Approver>,
    tempfile::TempDir,
    tempfile::TempDir,
    Option<Agent>,
) {
    let workspace = tempfile::tempdir().unwrap();
    std::fs::create_dir(workspace.path().join("src")).unwrap();
    std::fs::write(
        workspace.path().join("src/lib.rs"),
        "pub struct Circle {\n    pub r: f64,\n}\n\nimpl Circle {\n    pub fn area(&self) -> f64 {\n        3.14 * self.r * self.r\n    }\n}\n",
    )
    .unwrap();
    let root = workspace.path().canonicalize().unwrap();
    let home = tempfile::tempdir().unwrap();
    let sandbox = lathe_sandbox::host::HostSandbox::new(lathe_sandbox::SandboxConfig::default());
    let store = lathe_store::Store::open(&home.path().join("store.redb")).unwrap();
    let agent = with_agent.then(|| {
        let model = OpenAiClient::new(
            "http://127.0.0.1:9/v1",
            None,
            RetryPolicy::default(),
            Duration::from_secs(1),
        )
        .unwrap();
        let config = AgentConfig::new(root.clone(), ModelConfig::default());
        Agent::new(store.clone(), Arc::new(model), ToolRegistry::new(), config).unwrap()
    });
    let services = Services {
        store,
        agent: agent
            .clone()
            .map(|a| Arc::new(a) as Arc<dyn lathe_mcp::server::services::AgentService>),
        skills: Arc::new(lathe_skills::Registry::new(
            lathe_skills::SkillRoots::default(),
        )),
        workspace: root.clone(),
        repo_map_cache: None,
        commands: Some(Arc::new(SandboxRunner {
            sandbox: Arc::new(sandbox),
            session: lathe_sandbox::SessionSpec {
                id: "mcp-test".into(),
                workspace: root,
                access: lathe_sandbox::config::WorkspaceAccess::WorkspaceWrite,
            },
        })),
        policy: PolicyConfig::default(),
        elicitation: lathe_mcp::ElicitationRelay::default(),
    };
    let (client_side, server_side) = tokio::io::duplex(64 * 1024);
    let (server_read, server_write) = tokio::io::split(server_side);
    tokio::spawn(serve_connection(
        server_read,
        server_write,
        Shared::new(services),
        CancellationToken::new(),
    ));
    let client = rmcp::serve_client(approver, client_side).await.unwrap();
    (client, workspace, home, agent)
}

async fn call(
    client: &RunningService<RoleClient, Approver>,
    name: &'static str,
    args: Value,
) -> CallToolResult {
    let mut params = CallToolRequestParams::new(name);
    params.arguments = args.as_object().cloned();
    client.call_tool(params).await.unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn code_context_and_repo_map() {
    let (client, _workspace, _home) = connect(Approver(None)).await;
    let by_position = call(
        &client,
        "code_context",
        json!({"file": "src/lib.rs", "line": 7, "column": 9}),
    )
    .await;
    let structured = by_position.structured_content.unwrap();
    assert_eq!(
        (
            &structured["path"],
            &structured["language"],
            &structured["line"]
        ),
        (&json!("src/lib.rs"), &json!("rust"), &json!(7))
    );
    assert!(
        structured["text"].as_str().unwrap().contains("fn area"),
        "{structured}"
    );
    let by_symbol = call(
        &client,
        "code_context",
        json!({"file": "src/lib.rs", "symbol": "Circle::area"}),
    )
    .await;
    assert_eq!(by_symbol.structured_content.unwrap()["line"], json!(6));
    let outside = call(
        &client,
        "code_context",
        json!({"file": "../etc/passwd", "line": 1}),
    )
    .await;
    assert_eq!(outside.is_error, Some(true));
    let map = call(&client, "repo_map", json!({"budget": 256})).await;
    let structured = map.structured_content.unwrap();
    assert_eq!(structured["totalFiles"], json!(1));
    assert!(
        structured["text"].as_str().unwrap().contains("Circle"),
        "{structured}"
    );
    let _ = client.cancel().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sandbox_exec_asks_by_elicitation() {
    let (client, _workspace, _home) = connect(Approver(Some("allow_once"))).await;
    let ran = call(&client, "sandbox_exec", json!({"command": "echo hi"})).await;
    let mut structured = ran.structured_content.unwrap();
    structured.as_object_mut().unwrap().remove("durationMs");
    assert_eq!(
        structured,
        json!({"exitCode": 0, "timedOut": false, "stdout": "hi\n", "stderr": ""})
    );
    let _ = client.cancel().await;

    let (client, _workspace, _home) = connect(Approver(Some("deny"))).await;
    let denied = call(&client, "sandbox_exec", json!({"command": "echo hi"})).await;
    assert_eq!(
        (denied.content, denied.is_error),
        (
            vec![rmcp::model::ContentBlock::text(
                "running `echo hi` was denied"
            )],
            Some(true)
        )
    );
    let _ = client.cancel().await;

    let (client, _workspace, _home) = connect(Approver(None)).await;
    let refused = call(&client, "sandbox_exec", json!({"command": "echo hi"})).await;
    assert_eq!(refused.is_error, Some(true));
    assert!(
        format!("{:?}", refused.content)
            .contains("this MCP client cannot answer (it does not support elicitation)"),
        "{refused:?}"
    );
    let _ = client.cancel().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sandbox_exec_asks_every_surface_through_the_broker() {
    // A client that cannot elicit: another surface (here the broker, as the dashboard's
    // `POST /api/approvals/{id}` calls it) answers, and the decision is stored.
    let (client, _workspace, _home, agent) = connect_with(Approver(None), true).await;
    let agent = agent.unwrap();
    let answerer = agent.clone();
    let answered = tokio::spawn(async move {
        let request = loop {
            if let Some(request) = answerer.broker().pending().pop() {
                break request;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        };
        let answer = Answer {
            decision: ApprovalDecision::AllowForSession,
            by: Surface::Dashboard,
            who: Some("ana".into()),
        };
        answerer.broker().answer(&request.id, answer).unwrap();
        request
    });
    let ran = call(&client, "sandbox_exec", json!({"command": "echo hi"})).await;
    assert_eq!(ran.is_error, Some(false), "{ran:?}");
    let request = answered.await.unwrap();
    assert_eq!(request.action, "run_command(echo hi)");
    let session = agent.store().session(&request.session_id).unwrap().unwrap();
    assert_eq!(session.title, "sandbox_exec from approver");
    let stored = agent.store().approvals(Some(&request.session_id)).unwrap();
    assert!(
        matches!(&stored[..], [a] if matches!(&a.status, ApprovalStatus::Resolved {
            decision: ApprovalDecision::AllowForSession, by: Surface::Dashboard, who: Some(who), ..
        } if who == "ana")),
        "{stored:?}"
    );
    // Allowed for the session: the connection's next call runs without asking.
    let again = call(&client, "sandbox_exec", json!({"command": "echo hi"})).await;
    assert_eq!(again.is_error, Some(false), "{again:?}");
    assert!(agent.broker().pending().is_empty());
    assert_eq!(
        agent
            .store()
            .approvals(Some(&request.session_id))
            .unwrap()
            .len(),
        1
    );
    let _ = client.cancel().await;

    // A client that elicits answers through the broker too: its answer is stored as MCP's.
    let (client, _workspace, _home, agent) = connect_with(Approver(Some("deny")), true).await;
    let agent = agent.unwrap();
    let denied = call(&client, "sandbox_exec", json!({"command": "echo hi"})).await;
    assert_eq!(denied.is_error, Some(true));
    let stored = agent.store().approvals(None).unwrap();
    assert!(
        matches!(&stored[..], [a] if matches!(&a.status, ApprovalStatus::Resolved {
            decision: ApprovalDecision::Deny, by: Surface::Mcp, ..
        })),
        "{stored:?}"
    );
    let _ = client.cancel().await;
}
