//! `tools/call` over streamable HTTP with 32 concurrent clients: Lathe's `code_context`
//! (a real tree-sitter context of a Rust file) at `/mcp`, side by side with the Python MCP
//! SDK's server (PyPI `mcp`, MCPServer on uvicorn) serving a trivial echo tool on the same
//! machine. Both are driven by the same Rust client (rmcp, one HTTP session per client).
//! Every `code_context` call reads the file and computes the context; what the server keeps
//! between calls is the parsed document of an unchanged file (see `server/documents.rs`).
//! Prints p50/p90/p99 latency and throughput.
//!
//! Run: `cargo bench -p lathe-mcp --bench mcp_http` (needs `.ci/mcp-peers.sh` for the
//! Python server; `LATHE_MCP_PEERS` sets the prefix).

#![allow(clippy::print_stdout)] // a bench binary: printing the figures is its job

use hdrhistogram::Histogram;
use lathe_mcp::server::services::Services;
use lathe_mcp::{HttpOptions, Shared, http_service};
use rmcp::model::{CallToolRequestParams, CallToolResponse};
use rmcp::transport::StreamableHttpClientTransport;
use rmcp::transport::streamable_http_client::StreamableHttpClientTransportConfig;
use serde_json::{Map, Value, json};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::io::AsyncBufReadExt;
use tokio_util::sync::CancellationToken;

const CLIENTS: usize = 32;
const CALLS_PER_CLIENT: usize = 200;
const WARMUP_CALLS: usize = 10;
const TOKEN: &str = "bench-token";

struct Figures {
    histogram: Histogram<u64>,
    wall: Duration,
    calls: usize,
}

async fn drive(url: &str, token: Option<&str>, tool: &str, args: Value) -> Result<Figures, String> {
    let arguments: Map<String, Value> = args.as_object().cloned().unwrap_or_default();
    let mut clients = Vec::new();
    for _ in 0..CLIENTS {
        let mut config = StreamableHttpClientTransportConfig::with_uri(url);
        if let Some(token) = token {
            config = config.auth_header(token);
        }
        let transport = StreamableHttpClientTransport::from_config(config);
        let client = rmcp::serve_client((), transport)
            .await
            .map_err(|e| format!("connecting to {url}: {e}"))?;
        clients.push(client);
    }
    let call = |peer: rmcp::Peer<rmcp::RoleClient>, arguments: Map<String, Value>, tool: String| async move {
        let mut params = CallToolRequestParams::new(tool);
        params.arguments = Some(arguments);
        match peer.call_tool_once(params).await {
            Ok(CallToolResponse::Complete(result)) if result.is_error != Some(true) => Ok(()),
            Ok(other) => Err(format!("unexpected result {other:?}")),
            Err(e) => Err(e.to_string()),
        }
    };
    for client in &clients {
        for _ in 0..WARMUP_CALLS {
            call(client.peer().clone(), arguments.clone(), tool.to_owned()).await?;
        }
    }
    let start = Instant::now();
    let mut tasks = Vec::new();
    for client in &clients {
        let peer = client.peer().clone();
        let arguments = arguments.clone();
        let tool = tool.to_owned();
        tasks.push(tokio::spawn(async move {
            let mut samples = Vec::with_capacity(CALLS_PER_CLIENT);
            for _ in 0..CALLS_PER_CLIENT {
                let began = Instant::now();
                call(peer.clone(), arguments.clone(), tool.clone()).await?;
                samples.push(began.elapsed());
            }
            Ok::<_, String>(samples)
        }));
    }
    let mut histogram = Histogram::<u64>::new(3).map_err(|e| e.to_string())?;
    for task in tasks {
        for sample in task.await.map_err(|e| e.to_string())?? {
            histogram
                .record(u64::try_from(sample.as_micros()).unwrap_or(u64::MAX))
                .map_err(|e| e.to_string())?;
        }
    }
    let wall = start.elapsed();
    for client in clients {
        let _ = client.cancel().await;
    }
    Ok(Figures {
        histogram,
        wall,
        calls: CLIENTS * CALLS_PER_CLIENT,
    })
}

fn report(name: &str, figures: &Figures) {
    let ms = |q: f64| figures.histogram.value_at_quantile(q) as f64 / 1000.0;
    println!(
        "{name:<44} p50 {:>7.2} ms  p90 {:>7.2} ms  p99 {:>7.2} ms  {:>8.0} calls/s  ({} calls, {} clients)",
        ms(0.5),
        ms(0.9),
        ms(0.99),
        figures.calls as f64 / figures.wall.as_secs_f64(),
        figures.calls,
        CLIENTS
    );
}

async fn lathe() -> Result<Figures, String> {
    let workspace = tempfile::tempdir().map_err(|e| e.to_string())?;
    std::fs::create_dir_all(workspace.path().join("src")).map_err(|e| e.to_string())?;
    let source = include_str!("../src/client/mod.rs");
    std::fs::write(workspace.path().join("src/lib.rs"), source).map_err(|e| e.to_string())?;
    let home = tempfile::tempdir().map_err(|e| e.to_string())?;
    let services = Services {
        store: lathe_store::Store::open(&home.path().join("store.redb"))
            .map_err(|e| e.to_string())?,
        agent: None,
        skills: Arc::new(lathe_skills::Registry::new(
            lathe_skills::SkillRoots::default(),
        )),
        workspace: workspace.path().canonicalize().map_err(|e| e.to_string())?,
        repo_map_cache: None,
        commands: None,
        policy: lathe_protocol::config::PolicyConfig::default(),
        elicitation: lathe_mcp::ElicitationRelay::default(),
    };
    let shutdown = CancellationToken::new();
    let service = http_service(
        Shared::new(services),
        HttpOptions {
            token: Some(TOKEN.into()),
            shutdown: shutdown.clone(),
        },
    );
    let app = axum::Router::new().nest_service("/mcp", service);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .map_err(|e| e.to_string())?;
    let url = format!(
        "http://127.0.0.1:{}/mcp",
        listener.local_addr().map_err(|e| e.to_string())?.port()
    );
    let stop = shutdown.clone();
    tokio::spawn(async move {
        let _ = axum::serve(listener, app)
            .with_graceful_shutdown(async move { stop.cancelled().await })
            .await;
    });
    let line = source
        .lines()
        .position(|l| l.contains("pub async fn call("))
        .map_or(1, |i| i + 3);
    let figures = drive(
        &url,
        Some(TOKEN),
        "code_context",
        json!({"file": "src/lib.rs", "line": line, "column": 9, "budget": 1500}),
    )
    .await;
    shutdown.cancel();
    figures
}

async fn python_echo() -> Result<Figures, String> {
    let peers = std::env::var_os("LATHE_MCP_PEERS")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("/opt/lathe-mcp-peers"));
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map_err(|e| e.to_string())?
        .port();
    let mut server = tokio::process::Command::new(peers.join("venv/bin/python"))
        .arg(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/benches/py_echo_server.py"
        ))
        .arg(port.to_string())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .map_err(|e| format!("cannot start the Python server (run .ci/mcp-peers.sh): {e}"))?;
    let stderr = server.stderr.take().ok_or("no stderr")?;
    let mut lines = tokio::io::BufReader::new(stderr).lines();
    loop {
        match lines.next_line().await.map_err(|e| e.to_string())? {
            Some(line) if line.contains("Uvicorn running on") => break,
            Some(_) => {}
            None => return Err("the Python server exited before listening".into()),
        }
    }
    tokio::spawn(async move { while let Ok(Some(_)) = lines.next_line().await {} });
    let figures = drive(
        &format!("http://127.0.0.1:{port}/mcp"),
        None,
        "echo",
        json!({"text": "hello"}),
    )
    .await;
    let _ = server.kill().await;
    figures
}

fn main() -> Result<(), String> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(|e| e.to_string())?;
    runtime.block_on(async {
        println!("tools/call over streamable HTTP, {CLIENTS} concurrent clients, {CALLS_PER_CLIENT} calls each");
        let ours = lathe().await?;
        report("lathe /mcp code_context (tree-sitter)", &ours);
        let theirs = python_echo().await?;
        report("python mcp 2.3.0 MCPServer echo", &theirs);
        Ok(())
    })
}
