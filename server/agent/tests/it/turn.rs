//! The turn loop end to end against the scripted model and a real store: multi-turn tool
//! sessions, every fault, cancellation, resume.

use crate::support::{Harness, names, results, strings};
use lathe_agent::history::conversation;
use lathe_agent::{AgentError, RunRequest, RunUsage};
use lathe_protocol::{EventPayload, Role, SessionStatus};
use lathe_tests::scripted_model::{Expect, Reply, Script, ScriptedToolCall, Step, StreamFault};
use pretty_assertions::assert_eq;
use serde_json::json;

#[tokio::test]
async fn a_multi_turn_tool_session_reads_searches_and_answers() {
    let h = Harness::new(Script::new([
        Step::reply(Reply {
            content: Some("Let me look.".into()),
            tool_calls: vec![
                ScriptedToolCall {
                    id: Some("c1".into()),
                    name: "read_file".into(),
                    arguments: json!({"path": "src/lib.rs"}),
                },
                ScriptedToolCall {
                    id: Some("c2".into()),
                    name: "search".into(),
                    arguments: json!({"pattern": "hello"}),
                },
            ],
            ..Reply::default()
        })
        .expecting(Expect {
            user_contains: Some("what does add do".into()),
            tools_include: strings(&["read_file", "list_files", "search", "code_context"]),
            ..Expect::default()
        }),
        Step::text("`add` returns the sum of its two arguments.").expecting(Expect {
            tool_result_contains: Some("a + b".into()),
            ..Expect::default()
        }),
    ]))
    .await;
    let outcome = h
        .agent
        .run(RunRequest::new("what does add do?", "cli"))
        .await
        .unwrap();
    h.model.assert_played();
    assert_eq!(outcome.status, SessionStatus::Finished);
    assert_eq!(
        outcome.answer,
        "`add` returns the sum of its two arguments."
    );
    assert_eq!(outcome.usage.model_calls, 2);
    let events = h.events(&outcome.session);
    assert_eq!(
        names(&events),
        strings(&[
            "RUN_STARTED",
            "TEXT_MESSAGE_START",
            "TEXT_MESSAGE_END",
            "STEP_STARTED",
            "TEXT_MESSAGE_START",
            "TOOL_CALL_START",
            "TOOL_CALL_START",
            "TEXT_MESSAGE_END",
            "TOOL_CALL_END",
            "TOOL_CALL_END",
            "usage",
            "STEP_FINISHED",
            "TOOL_CALL_RESULT",
            "TOOL_CALL_RESULT",
            "STEP_STARTED",
            "TEXT_MESSAGE_START",
            "TEXT_MESSAGE_END",
            "usage",
            "STEP_FINISHED",
            "RUN_FINISHED",
        ])
    );
    assert_eq!(
        results(&events),
        vec![
            (
                false,
                "1\tpub fn add(a: i32, b: i32) -> i32 {\n2\t    a + b\n3\t}\n".to_owned()
            ),
            (false, "README.md:2: hello world".to_owned()),
        ]
    );
    let seqs: Vec<u64> = events.iter().map(|e| e.seq).collect();
    assert_eq!(seqs, (1..=events.len() as u64).collect::<Vec<_>>());
    let second = &h.model.requests()[1];
    assert_eq!(
        second
            .messages()
            .iter()
            .map(|m| m["role"].as_str().unwrap().to_owned())
            .collect::<Vec<_>>(),
        strings(&["system", "user", "assistant", "tool", "tool"])
    );
    assert_eq!(
        h.store.session(&outcome.session).unwrap().unwrap().status,
        SessionStatus::Finished
    );
}

#[tokio::test]
async fn invalid_json_arguments_and_unknown_tools_are_errors_the_model_recovers_from() {
    let h = Harness::new(Script::new([
        Step::reply(Reply {
            tool_calls: vec![
                ScriptedToolCall {
                    id: Some("bad".into()),
                    name: "read_file".into(),
                    arguments: json!("{\"path\": \"src/lib.rs\""),
                },
                ScriptedToolCall {
                    id: Some("ghost".into()),
                    name: "delete_everything".into(),
                    arguments: json!({}),
                },
            ],
            ..Reply::default()
        }),
        Step::text("Sorry, recovered.").expecting(Expect {
            tool_result_contains: Some("unknown tool `delete_everything`".into()),
            ..Expect::default()
        }),
    ]))
    .await;
    let outcome = h.agent.run(RunRequest::new("go", "cli")).await.unwrap();
    h.model.assert_played();
    assert_eq!(outcome.status, SessionStatus::Finished);
    let results = results(&h.events(&outcome.session));
    assert_eq!(
        results,
        vec![
            (
                true,
                "the arguments of `read_file` are not valid JSON (EOF while parsing an object at \
                 line 1 column 21); you sent: {\"path\": \"src/lib.rs\"\nCall the tool again with \
                 a JSON object matching its schema."
                    .to_owned()
            ),
            (
                true,
                "unknown tool `delete_everything`; the tools you can call are: code_context, \
                 list_files, read_file, search"
                    .to_owned()
            ),
        ]
    );
    // The botched arguments go back to the server as an empty object.
    let second = &h.model.requests()[1];
    assert_eq!(
        second.messages()[2]["tool_calls"][0]["function"]["arguments"],
        json!("{}")
    );
}

#[tokio::test]
async fn a_model_that_never_stops_calling_tools_hits_the_turn_limit() {
    let h = Harness::with(
        Script::new([Step::tool_calls([("list_files", json!({}))]).repeated()]),
        |config| config.max_turns = 3,
        |_, _| lathe_agent::tools::ToolRegistry::with_file_tools(),
    )
    .await;
    let outcome = h.agent.run(RunRequest::new("loop", "cli")).await.unwrap();
    assert_eq!(outcome.status, SessionStatus::Failed);
    assert_eq!(outcome.error.as_ref().unwrap().0, "turn_limit");
    assert_eq!(h.model.requests().len(), 3);
    let events = h.events(&outcome.session);
    assert_eq!(results(&events).len(), 3, "every call got its result");
    assert!(matches!(
        events.last().unwrap().payload,
        EventPayload::RunError { .. }
    ));
}

#[tokio::test]
async fn a_failing_model_server_ends_in_a_clear_run_error_and_keeps_the_prompt() {
    let h = Harness::new(Script::new([Step::status(500).repeated()])).await;
    let outcome = h.agent.run(RunRequest::new("hello?", "cli")).await.unwrap();
    assert_eq!(outcome.status, SessionStatus::Failed);
    let (code, message) = outcome.error.unwrap();
    assert_eq!(code, "model_server_error");
    assert!(message.contains("HTTP 500"), "{message}");
    let events = h.events(&outcome.session);
    assert_eq!(
        names(&events),
        strings(&[
            "RUN_STARTED",
            "TEXT_MESSAGE_START",
            "TEXT_MESSAGE_END",
            "STEP_STARTED",
            "usage",
            "STEP_FINISHED",
            "RUN_ERROR",
        ])
    );
    assert_eq!(
        outcome.usage,
        RunUsage {
            model_calls: 1,
            ..RunUsage::default()
        },
        "a call that got no answer costs nothing"
    );
    let history = conversation(&events);
    assert_eq!(history.len(), 1);
    assert_eq!(
        (history[0].role, history[0].content.as_str()),
        (Role::User, "hello?")
    );
    assert_eq!(
        h.store.session(&outcome.session).unwrap().unwrap().status,
        SessionStatus::Failed
    );
}

#[tokio::test]
async fn unauthorized_and_unreachable_servers_say_what_to_do() {
    let h = Harness::new(Script::new([Step::status(401)])).await;
    let outcome = h.agent.run(RunRequest::new("hi", "cli")).await.unwrap();
    let (code, message) = outcome.error.unwrap();
    assert_eq!(code, "model_unauthorized");
    assert!(message.contains("LATHE_API_KEY"), "{message}");
}

#[tokio::test]
async fn a_stream_cut_mid_tool_arguments_leaves_a_consistent_session() {
    let h = Harness::new(Script::new([
        Step::tool_calls([("read_file", json!({"path": "src/lib.rs"}))])
            .with_fault(StreamFault::CutMidToolArgs),
        Step::text("resumed fine").expecting(Expect {
            user_contains: Some("try again".into()),
            ..Expect::default()
        }),
    ]))
    .await;
    let first = h
        .agent
        .run(RunRequest::new("read it", "cli"))
        .await
        .unwrap();
    assert_eq!(first.status, SessionStatus::Failed);
    let events = h.events(&first.session);
    assert!(!names(&events).contains(&"TOOL_CALL_END".to_owned()));
    assert!(results(&events).is_empty(), "an unfinished call never runs");
    let mut again = RunRequest::new("try again", "cli");
    again.session = Some(first.session.clone());
    let second = h.agent.run(again).await.unwrap();
    assert_eq!(second.answer, "resumed fine");
    let roles: Vec<String> = h.model.requests()[1]
        .messages()
        .iter()
        .map(|m| m["role"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(roles, strings(&["system", "user", "user"]));
}

#[tokio::test]
async fn a_malformed_chunk_and_a_stream_without_done() {
    let h = Harness::new(Script::new([
        Step::text("broken").with_fault(StreamFault::MalformedChunk { after_chunks: 1 }),
        Step::text("complete anyway").with_fault(StreamFault::NoDone),
    ]))
    .await;
    let broken = h.agent.run(RunRequest::new("one", "cli")).await.unwrap();
    assert_eq!(broken.error.unwrap().0, "model_malformed_chunk");
    let mut next = RunRequest::new("two", "cli");
    next.session = Some(broken.session);
    let fine = h.agent.run(next).await.unwrap();
    assert_eq!(
        (fine.status, fine.answer.as_str()),
        (SessionStatus::Finished, "complete anyway")
    );
}

#[tokio::test]
async fn a_rate_limit_storm_is_retried_then_reported() {
    let h = Harness::new(Script::new([
        Step::rate_limited(0),
        Step::rate_limited(0),
        Step::text("made it"),
    ]))
    .await;
    let outcome = h.agent.run(RunRequest::new("hi", "cli")).await.unwrap();
    assert_eq!(outcome.answer, "made it");
    h.model.inject(Step::rate_limited(0));
    h.model.inject(Step::rate_limited(0));
    h.model.inject(Step::rate_limited(0));
    let mut next = RunRequest::new("again", "cli");
    next.session = Some(outcome.session);
    let storm = h.agent.run(next).await.unwrap();
    assert_eq!(storm.error.unwrap().0, "model_rate_limited");
}

#[tokio::test]
async fn cancelling_mid_stream_records_what_was_finished() {
    let h = Harness::new(Script::new([Step::text("partial answer that never ends")
        .with_fault(StreamFault::StallAfter { after_chunks: 3 })]))
    .await;
    let mut bus = h.store.subscribe();
    let request = RunRequest::new("long task", "cli");
    let cancel = request.cancel.clone();
    let agent = h.agent.clone();
    let run = tokio::spawn(async move { agent.run(request).await });
    let mut assistant = None;
    loop {
        match bus.recv().await.unwrap().payload {
            EventPayload::TextMessageStart {
                message_id,
                role: Role::Assistant,
            } => assistant = Some(message_id),
            EventPayload::TextMessageContent { message_id, .. }
                if Some(&message_id) == assistant.as_ref() =>
            {
                cancel.cancel();
                break;
            }
            _ => {}
        }
    }
    let outcome = run.await.unwrap().unwrap();
    assert_eq!(outcome.status, SessionStatus::Cancelled);
    assert_eq!(outcome.error.as_ref().unwrap().0, "cancelled");
    let events = h.events(&outcome.session);
    let tail: Vec<String> = names(&events).into_iter().rev().take(4).collect();
    assert_eq!(
        tail,
        strings(&["RUN_ERROR", "STEP_FINISHED", "usage", "TEXT_MESSAGE_END"])
    );
    let history = conversation(&events);
    assert_eq!(history.len(), 2);
    assert_eq!(history[1].role, Role::Assistant);
    assert!("partial answer that never ends".starts_with(&history[1].content));
    assert!(!history[1].content.is_empty());
    assert_eq!(
        h.store.session(&outcome.session).unwrap().unwrap().status,
        SessionStatus::Cancelled
    );
}

#[tokio::test]
async fn resuming_a_session_sends_the_stored_conversation() {
    let h = Harness::new(Script::new([
        Step::tool_calls([("read_file", json!({"path": "README.md"}))]),
        Step::text("It is a demo."),
        Step::text("You asked about the README.").expecting(Expect {
            user_contains: Some("what did I ask".into()),
            tool_result_contains: Some("hello world".into()),
            ..Expect::default()
        }),
    ]))
    .await;
    let first = h
        .agent
        .run(RunRequest::new("what is the README?", "cli"))
        .await
        .unwrap();
    let mut again = RunRequest::new("what did I ask?", "cli");
    again.session = Some(first.session.clone());
    let second = h.agent.run(again).await.unwrap();
    h.model.assert_played();
    assert_eq!(second.session, first.session);
    let roles: Vec<String> = h.model.requests()[2]
        .messages()
        .iter()
        .map(|m| m["role"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(
        roles,
        strings(&["system", "user", "assistant", "tool", "assistant", "user"])
    );
}

#[tokio::test]
async fn usage_is_estimated_when_the_server_sends_none_and_priced() {
    let mut script = Script::new([Step::text("four words of answer")]);
    script.supports_usage = false;
    let h = Harness::with(
        script,
        |config| {
            config.model.prices.insert(
                "gpt-4o".into(),
                lathe_protocol::config::Price {
                    input: 1_000_000.0,
                    output: 2_000_000.0,
                    cached_input: None,
                },
            );
        },
        |_, _| lathe_agent::tools::ToolRegistry::with_file_tools(),
    )
    .await;
    let outcome = h.agent.run(RunRequest::new("hi", "cli")).await.unwrap();
    let usage = h
        .events(&outcome.session)
        .into_iter()
        .find_map(|e| match e.payload {
            EventPayload::Custom(lathe_protocol::CustomEvent::Usage(u)) => Some(u),
            _ => None,
        })
        .unwrap();
    assert!(usage.estimated);
    assert_eq!(usage.output_tokens, 4);
    assert!(
        usage.input_tokens > 100,
        "system prompt and tools count: {usage:?}"
    );
    assert_eq!(
        usage.cost_usd,
        Some(usage.input_tokens as f64 + 2.0 * usage.output_tokens as f64)
    );
    assert_eq!(outcome.usage.input_tokens, usage.input_tokens);
}

#[tokio::test]
async fn a_small_window_compacts_old_turns_into_a_summary() {
    let long = "lorem ipsum dolor sit amet ".repeat(250);
    let h = Harness::with(
        Script::new([
            Step::text(long.clone()),
            Step::text("short").expecting(Expect {
                system_contains: Some("You are Lathe".into()),
                ..Expect::default()
            }),
        ]),
        |config| {
            config.model.context_window = 1_700;
            config.model.max_output_tokens = 200;
        },
        |_, _| lathe_agent::tools::ToolRegistry::with_file_tools(),
    )
    .await;
    let first = h
        .agent
        .run(RunRequest::new("first question", "cli"))
        .await
        .unwrap();
    let mut again = RunRequest::new("second question", "cli");
    again.session = Some(first.session.clone());
    let second = h.agent.run(again).await.unwrap();
    assert_eq!(second.answer, "short");
    let events = h.events(&first.session);
    assert!(names(&events).contains(&"context.compacted".to_owned()));
    let sent = h.model.requests()[1].messages();
    assert_eq!(sent.len(), 3, "system, summary, new question: {sent:#?}");
    let summary = sent[1]["content"].as_str().unwrap();
    assert!(
        summary
            .starts_with("Summary of the earlier conversation:\n- The user asked: first question")
    );
    assert_eq!(sent[2]["content"], "second question");
}

#[tokio::test]
async fn the_compact_skill_replaces_the_conversation_with_its_summary() {
    let h = Harness::new(Script::new([
        Step::text("The answer is 42."),
        Step::text("Goal: find the answer. Work done: found 42.").expecting(Expect {
            system_contains: Some("Write the summary".into()),
            ..Expect::default()
        }),
        Step::text("Still 42."),
    ]))
    .await;
    let first = h
        .agent
        .run(RunRequest::new("what is the answer?", "cli"))
        .await
        .unwrap();
    let mut compact = RunRequest::new("", "cli");
    compact.session = Some(first.session.clone());
    compact.skill = Some(lathe_protocol::skill::RenderedSkill {
        name: "compact".into(),
        kind: lathe_protocol::skill::SkillKind::Action,
        system_prompt: "Write the summary of the conversation.".into(),
        user_prompt: "Compact the conversation.".into(),
        tools: Some(Vec::new()),
        model: None,
        approval: None,
    });
    h.agent.run(compact).await.unwrap();
    let mut again = RunRequest::new("and now?", "cli");
    again.session = Some(first.session.clone());
    assert_eq!(h.agent.run(again).await.unwrap().answer, "Still 42.");
    h.model.assert_played();
    let sent = h.model.requests()[2].messages();
    let contents: Vec<&str> = sent[1..]
        .iter()
        .map(|m| m["content"].as_str().unwrap())
        .collect();
    assert_eq!(
        contents,
        [
            "Summary of the earlier conversation:\nGoal: find the answer. Work done: found 42.",
            "and now?"
        ]
    );
}

/// A tool source like the MCP hub: one read-only tool and one that acts outside.
struct DemoSource;

impl lathe_agent::tools::ToolSource for DemoSource {
    fn tools(&self) -> Vec<lathe_agent::tools::ExternalTool> {
        let spec = |name: &str| lathe_agent::model::ToolSpec {
            name: name.into(),
            description: "demo".into(),
            parameters: json!({"type": "object"}),
        };
        vec![
            lathe_agent::tools::ExternalTool {
                spec: spec("mcp__demo__echo"),
                read_only: true,
            },
            lathe_agent::tools::ExternalTool {
                spec: spec("mcp__demo__deploy"),
                read_only: false,
            },
        ]
    }

    fn call(
        &self,
        name: &str,
        args: serde_json::Value,
        _cancel: tokio_util::sync::CancellationToken,
    ) -> futures::future::BoxFuture<'static, lathe_agent::tools::ToolOutput> {
        let text = format!("{name} got {args}");
        Box::pin(async move { lathe_agent::tools::ToolOutput::ok(text) })
    }
}

#[tokio::test]
async fn tools_from_a_source_are_offered_called_and_judged_by_the_policy() {
    let h = Harness::with(
        Script::new([
            Step::tool_calls([
                ("mcp__demo__echo", json!({"say": "hi"})),
                ("mcp__demo__deploy", json!({})),
            ])
            .expecting(Expect {
                tools_include: strings(&["read_file", "mcp__demo__echo", "mcp__demo__deploy"]),
                ..Expect::default()
            }),
            Step::text("done"),
        ]),
        |config| {
            config.policy.mode = lathe_protocol::config::ApprovalMode::Auto;
            config.policy.deny = vec!["mcp__demo__deploy".into()];
        },
        |_, _| {
            let mut tools = lathe_agent::tools::ToolRegistry::with_file_tools();
            tools.add_source(std::sync::Arc::new(DemoSource));
            tools
        },
    )
    .await;
    let outcome = h
        .agent
        .run(RunRequest::new("use the demo", "mcp"))
        .await
        .unwrap();
    h.model.assert_played();
    assert_eq!(
        results(&h.events(&outcome.session)),
        vec![
            (false, "mcp__demo__echo got {\"say\":\"hi\"}".to_owned()),
            (
                true,
                "denied: `mcp__demo__deploy` is denied by a policy rule".to_owned()
            ),
        ]
    );
}

#[tokio::test]
async fn the_system_prompt_carries_the_repo_map_of_the_workspace() {
    let script = Script::new([
        Step::text("first").expecting(Expect {
            system_contains: Some("## Repository map".into()),
            ..Expect::default()
        }),
        Step::text("second"),
    ]);
    // A loaded machine may take longer than a run waits by default for the first index.
    let patient = |config: &mut lathe_agent::AgentConfig| {
        config.repo_map_wait = std::time::Duration::from_secs(60);
    };
    let h = Harness::with(script, patient, |_, _| {
        lathe_agent::tools::ToolRegistry::with_file_tools()
    })
    .await;
    let first = h.agent.run(RunRequest::new("hi", "cli")).await.unwrap();
    let mut again = RunRequest::new("and again", "cli");
    again.session = Some(first.session.clone());
    h.agent.run(again).await.unwrap();
    h.model.assert_played();
    let systems: Vec<String> = h
        .model
        .requests()
        .iter()
        .map(|r| r.messages()[0]["content"].as_str().unwrap().to_owned())
        .collect();
    assert!(
        systems[0].contains("src/lib.rs:")
            && systems[0].contains("pub fn add(a: i32, b: i32) -> i32"),
        "{}",
        systems[0]
    );
    assert_eq!(
        systems[0], systems[1],
        "an unchanged workspace keeps the prompt's prefix"
    );
}

#[tokio::test]
async fn the_run_registry_holds_a_session_for_one_turn_and_cancels_it() {
    let h =
        Harness::new(Script::new([Step::text("thinking without end")
            .with_fault(StreamFault::StallAfter { after_chunks: 2 })]))
        .await;
    let session = h.agent.create_session("busy", "cli").await.unwrap();
    let mut bus = h.store.subscribe();
    let mut first = RunRequest::new("think", "cli");
    first.session = Some(session.clone());
    let agent = h.agent.clone();
    let run = tokio::spawn(async move { agent.run(first).await });
    while !matches!(
        bus.recv().await.unwrap().payload,
        EventPayload::TextMessageContent { .. }
    ) {}
    assert_eq!(h.agent.runs().running(), vec![session.clone()]);

    let mut second = RunRequest::new("and this too", "lsp");
    second.session = Some(session.clone());
    let busy = h.agent.run(second).await.unwrap_err();
    assert!(
        matches!(&busy, AgentError::SessionBusy(s) if *s == session),
        "{busy:?}"
    );

    assert!(h.agent.runs().cancel(&session));
    let outcome = run.await.unwrap().unwrap();
    assert_eq!(outcome.status, SessionStatus::Cancelled);
    assert!(h.agent.runs().running().is_empty());
    assert!(!h.agent.runs().cancel(&session), "nothing left to cancel");
}

/// Read-only tools that each wait for the other: they finish only when they run at once.
struct Rendezvous(std::sync::Arc<tokio::sync::Barrier>);

impl lathe_agent::tools::ToolSource for Rendezvous {
    fn tools(&self) -> Vec<lathe_agent::tools::ExternalTool> {
        ["mcp__meet__left", "mcp__meet__right"]
            .map(|name| lathe_agent::tools::ExternalTool {
                spec: lathe_agent::model::ToolSpec {
                    name: name.into(),
                    description: "waits for its partner".into(),
                    parameters: json!({"type": "object"}),
                },
                read_only: true,
            })
            .into()
    }

    fn call(
        &self,
        name: &str,
        _args: serde_json::Value,
        _cancel: tokio_util::sync::CancellationToken,
    ) -> futures::future::BoxFuture<'static, lathe_agent::tools::ToolOutput> {
        let (barrier, name) = (self.0.clone(), name.to_owned());
        Box::pin(async move {
            let met = tokio::time::timeout(std::time::Duration::from_secs(5), barrier.wait());
            match met.await {
                Ok(_) => lathe_agent::tools::ToolOutput::ok(format!("{name} met its partner")),
                Err(_) => lathe_agent::tools::ToolOutput::error(format!("{name} waited alone")),
            }
        })
    }
}

#[tokio::test]
async fn read_only_calls_of_one_message_run_at_the_same_time() {
    let h = Harness::with(
        Script::new([
            Step::tool_calls([
                ("mcp__meet__left", json!({})),
                ("mcp__meet__right", json!({})),
            ]),
            Step::text("both met"),
        ]),
        |config| config.policy.mode = lathe_protocol::config::ApprovalMode::Auto,
        |_, _| {
            let mut tools = lathe_agent::tools::ToolRegistry::with_file_tools();
            let barrier = std::sync::Arc::new(tokio::sync::Barrier::new(2));
            tools.add_source(std::sync::Arc::new(Rendezvous(barrier)));
            tools
        },
    )
    .await;
    let outcome = h.agent.run(RunRequest::new("meet", "mcp")).await.unwrap();
    let mut seen = results(&h.events(&outcome.session));
    seen.sort();
    assert_eq!(
        seen,
        vec![
            (false, "mcp__meet__left met its partner".to_owned()),
            (false, "mcp__meet__right met its partner".to_owned()),
        ]
    );
}

#[tokio::test]
async fn a_skill_whose_tools_are_missing_is_told_so_and_keeps_the_rest() {
    let h = Harness::new(Script::new([Step::text("no fetch tool here").expecting(
        Expect {
            system_contains: Some("This skill needs tools this setup lacks: mcp__*__fetch*".into()),
            tools_include: strings(&["read_file"]),
            ..Expect::default()
        },
    )]))
    .await;
    let mut request = RunRequest::new("get the page", "cli");
    request.skill = Some(lathe_protocol::skill::RenderedSkill {
        name: "scrape".into(),
        kind: lathe_protocol::skill::SkillKind::Prompt,
        system_prompt: "Scrape pages.".into(),
        user_prompt: "get the page".into(),
        tools: Some(strings(&["read_file", "mcp__*__fetch*"])),
        model: None,
        approval: None,
    });
    h.agent.run(request).await.unwrap();
    h.model.assert_played();
    assert_eq!(h.model.requests()[0].tool_names(), ["read_file"]);
}

#[tokio::test]
async fn undo_is_refused_as_a_model_run() {
    let h = Harness::new(Script::new([])).await;
    let mut request = RunRequest::new("", "mcp");
    request.skill = Some(lathe_protocol::skill::RenderedSkill {
        name: "undo".into(),
        kind: lathe_protocol::skill::SkillKind::Action,
        system_prompt: String::new(),
        user_prompt: String::new(),
        tools: Some(Vec::new()),
        model: None,
        approval: None,
    });
    let refused = h.agent.run(request).await.unwrap_err();
    assert!(matches!(refused, AgentError::UndoIsNotARun), "{refused:?}");
    assert!(
        refused
            .to_string()
            .contains("lathe run --skill undo --session")
    );
    assert!(h.model.requests().is_empty(), "no model was asked");
}
