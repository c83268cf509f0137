//! Lathe's MCP server on stdin/stdout, configured from the environment: what the
//! integration tests launch as an MCP stdio server for the Python SDK's client (the same
//! wiring as `lathe mcp --in-process`, without the daemon's config loading).
//!
//! Environment: `LATHE_TEST_WORKSPACE`, `LATHE_TEST_STORE` (redb file), `LATHE_TEST_MODEL_URL`
//! (an OpenAI-compatible base URL ending in /v1), and optionally `LATHE_TEST_MCP_SERVER`
//! (`<name>=<command> <args…>`, one stdio MCP server for the agent's hub).

use lathe_mcp::config::ServerConfig;
use lathe_mcp::server::assemble::{BuildOptions, build};
use lathe_protocol::config::{ModelConfig, PolicyConfig};
use std::path::PathBuf;
use tokio_util::sync::CancellationToken;

fn var(name: &str) -> Result<String, String> {
    std::env::var(name).map_err(|_| format!("{name} is not set"))
}

#[tokio::main]
async fn main() -> Result<(), String> {
    let store = lathe_store::Store::open(&PathBuf::from(var("LATHE_TEST_STORE")?))
        .map_err(|e| e.to_string())?;
    let mut servers = Vec::new();
    if let Ok(spec) = var("LATHE_TEST_MCP_SERVER") {
        let (name, command) = spec
            .split_once('=')
            .ok_or("LATHE_TEST_MCP_SERVER is name=command")?;
        let mut words = command.split(' ');
        let program = words.next().unwrap_or_default();
        let args: Vec<&str> = words.collect();
        let mut config = ServerConfig::stdio(name, program, &args);
        config.startup_timeout = std::time::Duration::from_secs(60);
        servers.push(config);
    }
    let built = build(BuildOptions {
        store,
        workspace: PathBuf::from(var("LATHE_TEST_WORKSPACE")?),
        model: ModelConfig {
            base_url: Some(var("LATHE_TEST_MODEL_URL")?),
            model: Some("scripted".into()),
            max_retries: 0,
            ..ModelConfig::default()
        },
        policy: PolicyConfig::default(),
        mcp_servers: servers,
        skills: lathe_skills::SkillRoots::default(),
        commands: None,
        repo_map_cache: None,
    })
    .map_err(|e| e.to_string())?;
    built.hub.ready().await;
    let served = lathe_mcp::serve_connection(
        tokio::io::stdin(),
        tokio::io::stdout(),
        built.shared,
        CancellationToken::new(),
    )
    .await;
    built.hub.shutdown().await;
    served.map_err(|e| e.to_string())
}
