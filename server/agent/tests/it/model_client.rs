//! The OpenAI-compatible client against the scripted server: streaming, tool-call deltas,
//! usage, retries and every fault.

use futures::StreamExt;
use lathe_agent::model::{
    FinishReason, ModelClient, ModelError, ModelEvent, ModelRequest, OpenAiClient, RetryPolicy,
    TokenUsage, ToolSpec,
};
use lathe_protocol::{Message, MessageId, Role};
use lathe_tests::scripted_model::{
    Reply, Script, ScriptedModel, ScriptedToolCall, ScriptedUsage, Step, StreamFault,
};
use pretty_assertions::assert_eq;
use serde_json::json;
use std::time::Duration;

fn fast_policy() -> RetryPolicy {
    RetryPolicy {
        max_retries: 3,
        base_delay: Duration::from_millis(1),
        max_delay: Duration::from_millis(5),
        max_retry_after: Duration::from_secs(5),
        request_timeout: Duration::from_secs(10),
    }
}

fn client(model: &ScriptedModel) -> OpenAiClient {
    OpenAiClient::new(
        &model.base_url(),
        Some("sk-test"),
        fast_policy(),
        Duration::from_secs(10),
    )
    .unwrap()
}

fn request() -> ModelRequest {
    ModelRequest {
        model: "scripted-1".into(),
        messages: vec![
            Message {
                id: MessageId::new(),
                role: Role::System,
                content: "You are a test.".into(),
                tool_calls: vec![],
                tool_call_id: None,
            },
            Message {
                id: MessageId::new(),
                role: Role::User,
                content: "hello".into(),
                tool_calls: vec![],
                tool_call_id: None,
            },
        ],
        tools: vec![ToolSpec {
            name: "read_file".into(),
            description: "Read a file".into(),
            parameters: json!({"type": "object", "properties": {"path": {"type": "string"}}}),
        }],
        max_output_tokens: None,
    }
}

async fn collect(client: &OpenAiClient) -> (Vec<ModelEvent>, Option<ModelError>) {
    let mut stream = client.stream(request());
    let mut events = Vec::new();
    while let Some(item) = stream.next().await {
        match item {
            Ok(event) => events.push(event),
            Err(error) => {
                assert!(
                    stream.next().await.is_none(),
                    "the stream ends after an error"
                );
                return (events, Some(error));
            }
        }
    }
    (events, None)
}

fn text(events: &[ModelEvent]) -> String {
    events
        .iter()
        .filter_map(|e| match e {
            ModelEvent::TextDelta(t) => Some(t.as_str()),
            _ => None,
        })
        .collect()
}

#[tokio::test]
async fn streams_text_then_finish_then_usage_and_sends_system_and_tools() {
    let model = ScriptedModel::start(Script::new([Step::reply(Reply {
        content: Some("Hello there!".into()),
        usage: Some(ScriptedUsage {
            prompt_tokens: 12,
            completion_tokens: 3,
        }),
        ..Reply::default()
    })]))
    .await
    .unwrap();
    let (events, error) = collect(&client(&model)).await;
    assert_eq!(error, None);
    assert_eq!(text(&events), "Hello there!");
    assert_eq!(
        events[events.len() - 2..],
        [
            ModelEvent::Finished(FinishReason::Stop),
            ModelEvent::Usage(TokenUsage {
                input_tokens: 12,
                output_tokens: 3,
                cached_input_tokens: 0
            })
        ]
    );
    let requests = model.requests();
    assert_eq!(requests.len(), 1);
    assert_eq!(
        requests[0].system_prompt().as_deref(),
        Some("You are a test.")
    );
    assert_eq!(requests[0].tool_names(), vec!["read_file".to_owned()]);
    assert_eq!(requests[0].authorization.as_deref(), Some("Bearer sk-test"));
    assert_eq!(
        requests[0].body["stream_options"],
        json!({"include_usage": true})
    );
    model.assert_played();
}

#[tokio::test]
async fn several_tool_calls_with_split_arguments() {
    let model = ScriptedModel::start(Script::new([Step::reply(Reply {
        tool_calls: vec![
            ScriptedToolCall {
                id: Some("c1".into()),
                name: "read_file".into(),
                arguments: json!({"path": "src/lib.rs"}),
            },
            ScriptedToolCall {
                id: Some("c2".into()),
                name: "search".into(),
                arguments: json!({"pattern": "fn main"}),
            },
        ],
        chunk_chars: Some(3),
        ..Reply::default()
    })]))
    .await
    .unwrap();
    let (events, error) = collect(&client(&model)).await;
    assert_eq!(error, None);
    let mut assembler = lathe_agent::model::Assembler::new();
    events.iter().for_each(|e| assembler.push(e));
    let reply = assembler.finish();
    let calls: Vec<(String, String, String)> = reply
        .tool_calls
        .iter()
        .map(|c| (c.id.to_string(), c.name.clone(), c.arguments.clone()))
        .collect();
    assert_eq!(
        calls,
        vec![
            (
                "c1".into(),
                "read_file".into(),
                r#"{"path":"src/lib.rs"}"#.into()
            ),
            (
                "c2".into(),
                "search".into(),
                r#"{"pattern":"fn main"}"#.into()
            ),
        ]
    );
    assert_eq!(reply.finish, Some(FinishReason::ToolCalls));
    let arg_deltas = events
        .iter()
        .filter(|e| matches!(e, ModelEvent::ToolCallArgs { .. }))
        .count();
    assert!(
        arg_deltas > 10,
        "arguments arrive split: {arg_deltas} deltas"
    );
}

#[tokio::test]
async fn parallel_calls_sent_under_one_index_stay_apart() {
    let model = ScriptedModel::start(Script::new([Step::reply(Reply {
        tool_calls: vec![
            ScriptedToolCall {
                id: Some("c1".into()),
                name: "read_file".into(),
                arguments: json!({"path": "a.rs"}),
            },
            ScriptedToolCall {
                id: Some("c2".into()),
                name: "read_file".into(),
                arguments: json!({"path": "b.rs"}),
            },
        ],
        one_call_index: true,
        ..Reply::default()
    })]))
    .await
    .unwrap();
    let (events, error) = collect(&client(&model)).await;
    assert_eq!(error, None);
    let mut assembler = lathe_agent::model::Assembler::new();
    events.iter().for_each(|e| assembler.push(e));
    let calls: Vec<(String, String)> = assembler
        .finish()
        .tool_calls
        .iter()
        .map(|c| (c.id.to_string(), c.arguments.clone()))
        .collect();
    assert_eq!(
        calls,
        vec![
            ("c1".into(), r#"{"path":"a.rs"}"#.into()),
            ("c2".into(), r#"{"path":"b.rs"}"#.into()),
        ]
    );
}

#[tokio::test]
async fn refusals_in_plain_text_keep_their_status_and_text() {
    let plain = |status: u16, message: &str| {
        let mut step = Step::status(status);
        let error = step.error.as_mut().unwrap();
        error.message = Some(message.into());
        error.plain = true;
        step
    };
    let model = ScriptedModel::start(Script::new([
        plain(404, "404 page not found"),
        plain(401, "<html><body>401 Authorization Required</body></html>"),
    ]))
    .await
    .unwrap();
    let (_, error) = collect(&client(&model)).await;
    assert_eq!(
        error,
        Some(ModelError::Rejected {
            status: 404,
            message: "404 page not found".into()
        })
    );
    let (_, error) = collect(&client(&model)).await;
    let error = error.unwrap();
    assert!(
        matches!(&error, ModelError::Unauthorized { status: 401, message } if message.contains("Authorization Required")),
        "{error:?}"
    );
    assert!(error.to_string().contains("LATHE_API_KEY"), "{error}");
}

#[tokio::test]
async fn rate_limit_with_retry_after_is_retried() {
    let model = ScriptedModel::start(Script::new([
        Step::rate_limited(0),
        Step::status(503),
        Step::text("ok"),
    ]))
    .await
    .unwrap();
    let (events, error) = collect(&client(&model)).await;
    assert_eq!((text(&events), error), ("ok".to_owned(), None));
    assert_eq!(model.requests().len(), 3);
}

#[tokio::test]
async fn retry_after_is_honoured() {
    let model = ScriptedModel::start(Script::new([Step::rate_limited(1), Step::text("ok")]))
        .await
        .unwrap();
    let started = std::time::Instant::now();
    let (events, error) = collect(&client(&model)).await;
    assert_eq!((text(&events), error), ("ok".to_owned(), None));
    assert!(
        started.elapsed() >= Duration::from_secs(1),
        "waited {:?}",
        started.elapsed()
    );
}

#[tokio::test]
async fn a_429_storm_ends_in_rate_limited_after_the_retries() {
    let model = ScriptedModel::start(Script::new([Step::rate_limited(0).repeated()]))
        .await
        .unwrap();
    let (events, error) = collect(&client(&model)).await;
    assert_eq!(events, vec![]);
    assert!(
        matches!(error, Some(ModelError::RateLimited { .. })),
        "{error:?}"
    );
    assert_eq!(model.requests().len(), 4, "one attempt and three retries");
}

#[tokio::test]
async fn server_errors_end_in_server_error_after_the_retries() {
    let model = ScriptedModel::start(Script::new([Step::status(500).repeated()]))
        .await
        .unwrap();
    let (_, error) = collect(&client(&model)).await;
    assert!(
        matches!(error, Some(ModelError::Server { status: 500, .. })),
        "{error:?}"
    );
    assert_eq!(model.requests().len(), 4);
}

#[tokio::test]
async fn unauthorized_is_not_retried() {
    let model = ScriptedModel::start(Script::new([Step::status(401)]))
        .await
        .unwrap();
    let (_, error) = collect(&client(&model)).await;
    let error = error.unwrap();
    assert!(
        matches!(error, ModelError::Unauthorized { status: 401, .. }),
        "{error:?}"
    );
    assert!(error.to_string().contains("LATHE_API_KEY"));
    assert_eq!(model.requests().len(), 1);
}

#[tokio::test]
async fn a_server_that_is_down_is_unreachable() {
    let port = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        listener.local_addr().unwrap().port()
    };
    let client = OpenAiClient::new(
        &format!("http://127.0.0.1:{port}/v1"),
        None,
        fast_policy(),
        Duration::from_secs(5),
    )
    .unwrap();
    let (_, error) = collect(&client).await;
    let error = error.unwrap();
    assert!(matches!(error, ModelError::Unreachable { .. }), "{error:?}");
    assert!(error.to_string().contains(&port.to_string()), "{error}");
}

fn one_call() -> Step {
    Step::tool_calls([("read_file", json!({"path": "a/long/path/to/some/file.rs"}))])
}

#[tokio::test]
async fn a_stream_cut_mid_tool_arguments_is_a_stream_error() {
    let model = ScriptedModel::start(Script::new([
        one_call().with_fault(StreamFault::CutMidToolArgs)
    ]))
    .await
    .unwrap();
    let (events, error) = collect(&client(&model)).await;
    assert!(
        events
            .iter()
            .any(|e| matches!(e, ModelEvent::ToolCallArgs { .. }))
    );
    assert!(!events.iter().any(|e| matches!(e, ModelEvent::Finished(_))));
    assert!(
        matches!(error, Some(ModelError::Stream(_) | ModelError::Incomplete)),
        "{error:?}"
    );
}

#[tokio::test]
async fn a_malformed_chunk_is_reported() {
    let model =
        ScriptedModel::start(Script::new([Step::text("some text here")
            .with_fault(StreamFault::MalformedChunk { after_chunks: 2 })]))
        .await
        .unwrap();
    let (_, error) = collect(&client(&model)).await;
    assert!(
        matches!(error, Some(ModelError::MalformedChunk(_))),
        "{error:?}"
    );
}

#[tokio::test]
async fn a_finished_stream_without_done_is_complete() {
    let model = ScriptedModel::start(Script::new([
        Step::text("done?").with_fault(StreamFault::NoDone)
    ]))
    .await
    .unwrap();
    let (events, error) = collect(&client(&model)).await;
    assert_eq!(error, None);
    assert_eq!(text(&events), "done?");
    assert!(events.contains(&ModelEvent::Finished(FinishReason::Stop)));
}

#[tokio::test]
async fn a_stream_ending_before_the_finish_is_incomplete() {
    let mut script = Script::new([Step::text("cut short").with_fault(StreamFault::NoDone)]);
    if let Some(reply) = script.steps[0].reply.as_mut() {
        reply.fault = Some(StreamFault::CutAfter { after_chunks: 2 });
    }
    let model = ScriptedModel::start(script).await.unwrap();
    let (_, error) = collect(&client(&model)).await;
    assert!(
        matches!(error, Some(ModelError::Stream(_) | ModelError::Incomplete)),
        "{error:?}"
    );
}

#[tokio::test]
async fn a_silent_stream_hits_the_idle_timeout() {
    let model = ScriptedModel::start(Script::new([
        Step::text("and then silence").with_fault(StreamFault::StallAfter { after_chunks: 2 })
    ]))
    .await
    .unwrap();
    let client = OpenAiClient::new(
        &model.base_url(),
        None,
        fast_policy(),
        Duration::from_millis(300),
    )
    .unwrap();
    let (events, error) = collect(&client).await;
    assert!(!events.is_empty());
    assert_eq!(error, Some(ModelError::IdleTimeout { secs: 0 }));
}

#[tokio::test]
async fn servers_without_usage_send_none() {
    let mut script = Script::new([Step::text("no usage")]);
    script.supports_usage = false;
    let model = ScriptedModel::start(script).await.unwrap();
    let (events, error) = collect(&client(&model)).await;
    assert_eq!(error, None);
    assert!(!events.iter().any(|e| matches!(e, ModelEvent::Usage(_))));
}

#[tokio::test]
async fn a_server_rejecting_stream_options_is_asked_again_without_them() {
    let mut rejection = Step::status(400);
    if let Some(error) = rejection.error.as_mut() {
        error.message = Some("Unrecognized request argument supplied: stream_options".into());
    }
    let model = ScriptedModel::start(Script::new([
        rejection,
        Step::text("first"),
        Step::text("second"),
    ]))
    .await
    .unwrap();
    let client = client(&model);
    let (events, error) = collect(&client).await;
    assert_eq!((text(&events), error), ("first".to_owned(), None));
    let (events, error) = collect(&client.clone()).await;
    assert_eq!((text(&events), error), ("second".to_owned(), None));
    let asked: Vec<bool> = model
        .requests()
        .iter()
        .map(|r| r.body.get("stream_options").is_some())
        .collect();
    assert_eq!(asked, [true, false, false], "asked once, then never again");
}

#[tokio::test]
async fn other_bad_requests_are_not_asked_again() {
    let model = ScriptedModel::start(Script::new([Step::status(400), Step::text("unused")]))
        .await
        .unwrap();
    let (_, error) = collect(&client(&model)).await;
    assert!(
        matches!(error, Some(ModelError::Rejected { status: 400, .. })),
        "{error:?}"
    );
    assert_eq!(model.requests().len(), 1);
}

#[tokio::test]
async fn dropping_the_stream_closes_the_connection() {
    let model = ScriptedModel::start(Script::new([
        Step::text("never finishes").with_fault(StreamFault::StallAfter { after_chunks: 2 }),
        Step::text("next"),
    ]))
    .await
    .unwrap();
    let client = client(&model);
    let mut stream = client.stream(request());
    assert!(matches!(
        stream.next().await,
        Some(Ok(ModelEvent::TextDelta(_)))
    ));
    drop(stream);
    let (events, error) = collect(&client).await;
    assert_eq!((text(&events), error), ("next".to_owned(), None));
}
