//! Policy and approvals through real tools: `run_command` on the host backend (which asks
//! for every command) and the file-changing tools, answered by simulated surfaces on the
//! store's bus.

use crate::support::{Harness, names, results, strings};
use lathe_agent::tools::{ToolRegistry, WorkspaceRoot};
use lathe_agent::{Agent, AgentError, Answer, ApprovalBroker, RunRequest};
use lathe_protocol::config::ApprovalMode;
use lathe_protocol::{
    ApprovalDecision, ApprovalStatus, CustomEvent, EventPayload, SessionStatus, Surface,
};
use lathe_sandbox::host::HostSandbox;
use lathe_sandbox::{SandboxConfig, WorkspaceAccess};
use lathe_tests::scripted_model::{Script, Step};
use pretty_assertions::assert_eq;
use serde_json::json;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

fn tools(workspace: &Path, state: &Path) -> ToolRegistry {
    ToolRegistry::builtins(
        &WorkspaceRoot::new(workspace, state),
        Some(Arc::new(HostSandbox::new(SandboxConfig::default()))),
        WorkspaceAccess::WorkspaceWrite,
    )
}

async fn harness(script: Script, mode: ApprovalMode, timeout_secs: u64) -> Harness {
    Harness::with(
        script,
        |config| {
            config.policy.mode = mode;
            config.policy.approval_timeout_secs = Some(timeout_secs);
            config.sandbox_isolated = false;
        },
        tools,
    )
    .await
}

/// A surface that answers every approval request with `decision`, as `by`/`who`, and
/// reports what it saw.
fn surface(
    agent: &Agent,
    decision: ApprovalDecision,
    by: Surface,
    who: &str,
) -> tokio::task::JoinHandle<Vec<String>> {
    let mut bus = agent.store().subscribe();
    let broker = agent.broker().clone();
    let who = who.to_owned();
    tokio::spawn(async move {
        let mut seen = Vec::new();
        while let Ok(event) = bus.recv().await {
            match event.payload {
                EventPayload::Custom(CustomEvent::ApprovalRequested(request)) => {
                    seen.push(request.summary.clone());
                    let answer = Answer {
                        decision,
                        by: by.clone(),
                        who: Some(who.clone()),
                    };
                    broker.answer(&request.id, answer).unwrap();
                }
                EventPayload::RunFinished { .. } | EventPayload::RunError { .. } => break,
                _ => {}
            }
        }
        seen
    })
}

#[tokio::test]
async fn allow_once_runs_the_command_and_stores_who_answered() {
    let h = harness(
        Script::new([
            Step::tool_calls([("run_command", json!({"command": "echo sandboxed-hello"}))]),
            Step::text("done"),
        ]),
        ApprovalMode::Ask,
        60,
    )
    .await;
    let answering = surface(
        &h.agent,
        ApprovalDecision::AllowOnce,
        Surface::Dashboard,
        "alice",
    );
    let outcome = h
        .agent
        .run(RunRequest::new("say hello", "cli"))
        .await
        .unwrap();
    assert_eq!(
        answering.await.unwrap(),
        strings(&["run `echo sandboxed-hello` on the host (no sandbox)"])
    );
    assert_eq!(outcome.status, SessionStatus::Finished);
    let events = h.events(&outcome.session);
    let results = results(&events);
    assert_eq!(results.len(), 1);
    assert!(!results[0].0, "{results:?}");
    assert!(results[0].1.starts_with("exit code 0"), "{results:?}");
    assert!(
        results[0].1.contains("--- stdout ---\nsandboxed-hello\n"),
        "{results:?}"
    );
    let names = names(&events);
    for expected in ["approval.requested", "approval.resolved", "sandbox.output"] {
        assert!(
            names.contains(&expected.to_owned()),
            "{expected} in {names:?}"
        );
    }
    let approvals = h.store.approvals(Some(&outcome.session)).unwrap();
    assert_eq!(approvals.len(), 1);
    assert_eq!(
        approvals[0].request.action,
        "run_command(echo sandboxed-hello)"
    );
    assert!(matches!(
        &approvals[0].status,
        ApprovalStatus::Resolved {
            decision: ApprovalDecision::AllowOnce,
            by: Surface::Dashboard,
            who: Some(who),
            ..
        } if who == "alice"
    ));
}

#[tokio::test]
async fn a_denied_write_changes_nothing_and_tells_the_model() {
    let h = harness(
        Script::new([
            Step::tool_calls([("write_file", json!({"path": "new.txt", "content": "x\n"}))]),
            Step::text("ok, not writing"),
        ]),
        ApprovalMode::Ask,
        60,
    )
    .await;
    let answering = surface(&h.agent, ApprovalDecision::Deny, Surface::Lsp, "nvim");
    let outcome = h.agent.run(RunRequest::new("write", "cli")).await.unwrap();
    answering.await.unwrap();
    assert_eq!(
        results(&h.events(&outcome.session)),
        vec![(
            true,
            "denied: the user refused `write_file(new.txt)`; do not retry it, ask or do \
             something else"
                .to_owned()
        )]
    );
    assert!(!h.agent.config().workspace.join("new.txt").exists());
}

#[tokio::test]
async fn no_answer_within_the_timeout_is_a_deny_by_policy() {
    let h = harness(
        Script::new([
            Step::tool_calls([("run_command", json!({"command": "true"}))]),
            Step::text("gave up"),
        ]),
        ApprovalMode::Ask,
        1,
    )
    .await;
    let outcome = h.agent.run(RunRequest::new("run", "cli")).await.unwrap();
    assert_eq!(
        results(&h.events(&outcome.session)),
        vec![(
            true,
            "denied: `run_command(true)` was not approved (no answer within 1 s)".to_owned()
        )]
    );
    let approvals = h.store.approvals(Some(&outcome.session)).unwrap();
    assert!(matches!(
        approvals[0].status,
        ApprovalStatus::Resolved {
            decision: ApprovalDecision::Deny,
            by: Surface::Policy,
            ..
        }
    ));
}

#[tokio::test]
async fn allow_for_session_is_remembered_and_stored() {
    let h = harness(
        Script::new([
            Step::tool_calls([("write_file", json!({"path": "a.txt", "content": "a\n"}))]),
            Step::tool_calls([(
                "edit_file",
                json!({"path": "a.txt", "old_string": "a", "new_string": "b"}),
            )]),
            Step::tool_calls([("write_file", json!({"path": "c.txt", "content": "c\n"}))]),
            Step::text("wrote them"),
        ]),
        ApprovalMode::Ask,
        60,
    )
    .await;
    let answering = surface(
        &h.agent,
        ApprovalDecision::AllowForSession,
        Surface::Mcp,
        "claude",
    );
    let outcome = h.agent.run(RunRequest::new("write", "cli")).await.unwrap();
    assert_eq!(
        answering.await.unwrap(),
        strings(&["write_file a.txt", "edit_file a.txt"]),
        "the second write_file is not asked again"
    );
    assert_eq!(outcome.status, SessionStatus::Finished);
    let workspace = &h.agent.config().workspace;
    assert_eq!(
        std::fs::read_to_string(workspace.join("a.txt")).unwrap(),
        "b\n"
    );
    assert_eq!(
        std::fs::read_to_string(workspace.join("c.txt")).unwrap(),
        "c\n"
    );
    let fresh = ApprovalBroker::new(h.store.clone(), Duration::from_secs(1));
    assert!(fresh.granted(&outcome.session, "write_file").unwrap());
    assert!(!fresh.granted(&outcome.session, "run_command").unwrap());
    let changed: Vec<String> = h
        .events(&outcome.session)
        .into_iter()
        .filter_map(|e| match e.payload {
            EventPayload::Custom(CustomEvent::FileChanged(change)) => Some(change.diff),
            _ => None,
        })
        .collect();
    assert_eq!(changed.len(), 3);
    assert!(changed[1].contains("-a\n+b\n"), "{}", changed[1]);
}

#[tokio::test]
async fn an_ask_rule_asks_every_time_despite_allow_for_session() {
    let h = Harness::with(
        Script::new([
            Step::tool_calls([("write_file", json!({"path": "a.txt", "content": "a\n"}))]),
            Step::tool_calls([("write_file", json!({"path": "b.txt", "content": "b\n"}))]),
            Step::tool_calls([(
                "write_file",
                json!({"path": "Cargo.toml", "content": "[x]\n"}),
            )]),
            Step::text("wrote them"),
        ]),
        |config| {
            config.policy.mode = ApprovalMode::Ask;
            config.policy.ask = vec!["Write(Cargo.toml)".into()];
            config.policy.approval_timeout_secs = Some(60);
            config.sandbox_isolated = false;
        },
        tools,
    )
    .await;
    let answering = surface(
        &h.agent,
        ApprovalDecision::AllowForSession,
        Surface::Mcp,
        "claude",
    );
    let outcome = h.agent.run(RunRequest::new("write", "cli")).await.unwrap();
    assert_eq!(outcome.status, SessionStatus::Finished);
    assert_eq!(
        answering.await.unwrap(),
        strings(&["write_file a.txt", "write_file Cargo.toml"]),
        "b.txt is covered by the grant; Cargo.toml has its own ask rule"
    );
}

#[tokio::test]
async fn the_first_answer_wins() {
    let h = harness(
        Script::new([
            Step::tool_calls([("run_command", json!({"command": "true"}))]),
            Step::text("ran"),
        ]),
        ApprovalMode::Ask,
        60,
    )
    .await;
    let mut bus = h.store.subscribe();
    let broker = h.agent.broker().clone();
    let answering = tokio::spawn(async move {
        loop {
            if let EventPayload::Custom(CustomEvent::ApprovalRequested(request)) =
                bus.recv().await.unwrap().payload
            {
                let first = broker.answer(
                    &request.id,
                    Answer {
                        decision: ApprovalDecision::AllowOnce,
                        by: Surface::Lsp,
                        who: None,
                    },
                );
                let second = broker.answer(
                    &request.id,
                    Answer {
                        decision: ApprovalDecision::Deny,
                        by: Surface::Dashboard,
                        who: None,
                    },
                );
                return (first, second);
            }
        }
    });
    let outcome = h.agent.run(RunRequest::new("run", "cli")).await.unwrap();
    let (first, second) = answering.await.unwrap();
    assert!(first.is_ok());
    assert!(matches!(second, Err(AgentError::ApprovalNotPending(_))));
    assert!(!results(&h.events(&outcome.session))[0].0);
}

#[tokio::test]
async fn read_only_denies_and_auto_allows_without_asking() {
    let script = || {
        Script::new([
            Step::tool_calls([("write_file", json!({"path": "w.txt", "content": "w\n"}))]),
            Step::text("end"),
        ])
    };
    let read_only = harness(script(), ApprovalMode::Ask, 60).await;
    let mut request = RunRequest::new("write", "cli");
    request.approval = Some(ApprovalMode::ReadOnly);
    let outcome = read_only.agent.run(request).await.unwrap();
    let events = read_only.events(&outcome.session);
    assert!(!names(&events).contains(&"approval.requested".to_owned()));
    assert_eq!(
        results(&events),
        vec![(
            true,
            "denied: `write_file` changes things and this session is read-only".to_owned()
        )]
    );
    let auto = harness(script(), ApprovalMode::Auto, 60).await;
    let outcome = auto
        .agent
        .run(RunRequest::new("write", "cli"))
        .await
        .unwrap();
    let events = auto.events(&outcome.session);
    assert!(!names(&events).contains(&"approval.requested".to_owned()));
    assert_eq!(
        results(&events),
        vec![(false, "created w.txt (1 lines)\n".to_owned())]
    );
    assert!(names(&events).contains(&"file.changed".to_owned()));
}
