//! Figures of issue 3, printed (run with `cargo bench -p lathe-agent --bench agent`):
//!
//! 1. Harness overhead per turn: a whole `Agent::run` against the scripted model with zero
//!    latency, minus the time spent inside the model client's stream (request, server,
//!    parsing). What remains is the agent: prompt assembly and token counting, events,
//!    durable store commits, session bookkeeping. Measured for a one-call answer and per
//!    model turn of a read_file tool session, with the store on disk and on tmpfs.
//! 2. Stream parsing throughput: the OpenAI client consuming a pre-rendered SSE body of
//!    one-token chunks from a loopback socket (the server only writes bytes), in tokens/s.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::print_stdout)]

use futures::StreamExt;
use hdrhistogram::Histogram;
use lathe_agent::model::{
    ModelClient, ModelEvent, ModelRequest, ModelStream, OpenAiClient, RetryPolicy,
};
use lathe_agent::tools::ToolRegistry;
use lathe_agent::{Agent, AgentConfig, RunRequest};
use lathe_protocol::config::ModelConfig;
use lathe_protocol::{Message, MessageId, Role};
use lathe_tests::scripted_model::{Script, ScriptedModel, Step};
use serde_json::json;
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// Wraps a model client and adds up the time its streams are alive.
struct Timed {
    inner: OpenAiClient,
    nanos: Arc<AtomicU64>,
}

impl ModelClient for Timed {
    fn stream(&self, request: ModelRequest) -> ModelStream {
        let started = Instant::now();
        let inner = self.inner.stream(request);
        futures::stream::unfold(
            (inner, started, self.nanos.clone()),
            |(mut inner, started, nanos)| async move {
                match inner.next().await {
                    Some(item) => Some((item, (inner, started, nanos))),
                    None => {
                        nanos.fetch_add(started.elapsed().as_nanos() as u64, Ordering::Relaxed);
                        None
                    }
                }
            },
        )
        .boxed()
    }
}

fn policy() -> RetryPolicy {
    RetryPolicy {
        max_retries: 0,
        ..RetryPolicy::default()
    }
}

async fn overhead(label: &str, state_dir: &Path, tool_session: bool, runs: usize) {
    let workspace = tempfile::tempdir().unwrap();
    std::fs::write(workspace.path().join("a.txt"), "alpha\nbeta\n").unwrap();
    let state = tempfile::tempdir_in(state_dir).unwrap();
    let store = lathe_store::Store::open(&state.path().join("bench.redb")).unwrap();
    let steps = if tool_session {
        vec![
            Step::tool_calls([("read_file", json!({"path": "a.txt"}))]),
            Step::text("It holds alpha and beta."),
        ]
    } else {
        vec![Step::text("The answer is 42.")]
    };
    let mut script_steps = Vec::new();
    for _ in 0..runs + 20 {
        script_steps.extend(steps.iter().cloned());
    }
    let model = ScriptedModel::start(Script::new(script_steps))
        .await
        .unwrap();
    let nanos = Arc::new(AtomicU64::new(0));
    let client = Timed {
        inner: OpenAiClient::new(&model.base_url(), None, policy(), Duration::from_secs(30))
            .unwrap(),
        nanos: nanos.clone(),
    };
    let config = AgentConfig::new(
        workspace.path().to_owned(),
        ModelConfig {
            base_url: Some(model.base_url()),
            model: Some("gpt-4o".into()),
            ..ModelConfig::default()
        },
    );
    let agent = Agent::new(
        store,
        Arc::new(client),
        ToolRegistry::with_file_tools(),
        config,
    )
    .unwrap();
    let turns_per_run = if tool_session { 2 } else { 1 };
    let mut histogram = Histogram::<u64>::new(3).unwrap();
    for i in 0..runs + 20 {
        let before = nanos.load(Ordering::Relaxed);
        let started = Instant::now();
        let outcome = agent
            .run(RunRequest::new("what is in a.txt?", "bench"))
            .await
            .unwrap();
        assert!(outcome.error.is_none(), "{outcome:?}");
        let total = started.elapsed().as_nanos() as u64;
        let model_time = nanos.load(Ordering::Relaxed) - before;
        if i >= 20 {
            histogram
                .record(total.saturating_sub(model_time) / turns_per_run)
                .unwrap();
        }
    }
    println!(
        "harness overhead per turn, {label}: p50 {:.3} ms, p90 {:.3} ms, p99 {:.3} ms ({runs} runs)",
        histogram.value_at_quantile(0.5) as f64 / 1e6,
        histogram.value_at_quantile(0.9) as f64 / 1e6,
        histogram.value_at_quantile(0.99) as f64 / 1e6,
    );
}

/// A loopback HTTP server answering every request with `body` as an SSE stream.
async fn byte_server(body: Arc<Vec<u8>>) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        loop {
            let (mut socket, _) = listener.accept().await.unwrap();
            let body = body.clone();
            tokio::spawn(async move {
                let mut request = Vec::new();
                let mut buf = [0u8; 8192];
                // Read the head and the JSON body (Content-Length) before answering.
                loop {
                    let n = socket.read(&mut buf).await.unwrap();
                    if n == 0 {
                        return;
                    }
                    request.extend_from_slice(&buf[..n]);
                    let text = String::from_utf8_lossy(&request);
                    if let Some(head_end) = text.find("\r\n\r\n") {
                        let length = text[..head_end]
                            .lines()
                            .find_map(|l| {
                                l.to_ascii_lowercase()
                                    .strip_prefix("content-length:")
                                    .map(|v| v.trim().parse::<usize>().unwrap())
                            })
                            .unwrap_or(0);
                        if request.len() >= head_end + 4 + length {
                            break;
                        }
                    }
                }
                let head = format!(
                    "HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\ncontent-length: {}\r\n\r\n",
                    body.len()
                );
                socket.write_all(head.as_bytes()).await.unwrap();
                socket.write_all(&body).await.unwrap();
            });
        }
    });
    format!("http://{addr}/v1")
}

async fn throughput(tokens: usize) {
    let mut body = String::new();
    body.push_str("data: {\"id\":\"c\",\"object\":\"chat.completion.chunk\",\"created\":1,\"model\":\"m\",\"choices\":[{\"index\":0,\"delta\":{\"role\":\"assistant\",\"content\":\"\"},\"finish_reason\":null}]}\n\n");
    for i in 0..tokens {
        body.push_str(&format!(
            "data: {{\"id\":\"c\",\"object\":\"chat.completion.chunk\",\"created\":1,\"model\":\"m\",\"choices\":[{{\"index\":0,\"delta\":{{\"content\":\" tok{}\"}},\"finish_reason\":null}}]}}\n\n",
            i % 100
        ));
    }
    body.push_str("data: {\"id\":\"c\",\"object\":\"chat.completion.chunk\",\"created\":1,\"model\":\"m\",\"choices\":[{\"index\":0,\"delta\":{},\"finish_reason\":\"stop\"}]}\n\ndata: [DONE]\n\n");
    let base = byte_server(Arc::new(body.into_bytes())).await;
    let client = OpenAiClient::new(&base, None, policy(), Duration::from_secs(30)).unwrap();
    let request = ModelRequest {
        model: "m".into(),
        messages: vec![Message {
            id: MessageId::new(),
            role: Role::User,
            content: "go".into(),
            tool_calls: vec![],
            tool_call_id: None,
        }],
        tools: vec![],
        max_output_tokens: None,
    };
    let mut best = 0.0f64;
    for _ in 0..5 {
        let started = Instant::now();
        let mut stream = client.stream(request.clone());
        let mut assembler = lathe_agent::model::Assembler::new();
        let mut deltas = 0usize;
        while let Some(event) = stream.next().await {
            let event = event.unwrap();
            if matches!(event, ModelEvent::TextDelta(_)) {
                deltas += 1;
            }
            assembler.push(&event);
        }
        assert_eq!(deltas, tokens);
        let rate = tokens as f64 / started.elapsed().as_secs_f64();
        best = best.max(rate);
        println!("stream parsing: {tokens} one-token chunks at {rate:.0} tokens/s");
    }
    println!("stream parsing throughput: best {best:.0} tokens/s");
}

fn main() {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async {
        let disk = std::env::temp_dir();
        overhead("one-call answer, store on disk", &disk, false, 300).await;
        overhead("read_file tool session, store on disk", &disk, true, 200).await;
        let shm = Path::new("/dev/shm");
        if shm.is_dir() {
            overhead("one-call answer, store on tmpfs", shm, false, 300).await;
            overhead("read_file tool session, store on tmpfs", shm, true, 200).await;
        }
        throughput(200_000).await;
    });
}
