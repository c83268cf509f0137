//! A test host for real editors and LSP clients: serves lathe-lsp on stdio with a real
//! agent, store and skills against the testkit's scripted model, playing the script given
//! on the command line. The pytest-lsp suite and the headless Neovim tests launch it as
//! their language server (`tests/peers/`); `lathe lsp --in-process` is the same server with
//! the configured model instead.
//!
//! ```text
//! lsp_host --workspace DIR --state DIR --script SCRIPT.json [--report REPORT.json]
//! ```
//!
//! When the client exits, the model's unmet expectations and unplayed steps are written to
//! the report (and to stderr), so a test can tell a wrong turn from a wrong edit.
#![allow(clippy::print_stdout)]

use anyhow::{Context, bail};
use lathe_agent::model::{OpenAiClient, RetryPolicy};
use lathe_agent::tools::{ToolRegistry, WorkspaceRoot};
use lathe_agent::{Agent, AgentConfig};
use lathe_lsp::{AgentBackend, EditorHub, FixedAgent, LspServices, register_editor_tools};
use lathe_protocol::config::ModelConfig;
use lathe_skills::SkillRoots;
use lathe_store::Store;
use lathe_tests::scripted_model::{Script, ScriptedModel};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

struct Args {
    workspace: PathBuf,
    state: PathBuf,
    script: PathBuf,
    report: Option<PathBuf>,
}

fn args() -> anyhow::Result<Args> {
    let mut values = std::collections::HashMap::new();
    let mut raw = std::env::args().skip(1);
    while let Some(flag) = raw.next() {
        let value = raw
            .next()
            .with_context(|| format!("{flag} needs a value"))?;
        values.insert(flag, PathBuf::from(value));
    }
    let mut take = |flag: &str| values.remove(flag);
    let args = Args {
        workspace: take("--workspace").context("--workspace DIR is required")?,
        state: take("--state").context("--state DIR is required")?,
        script: take("--script").context("--script FILE is required")?,
        report: take("--report"),
    };
    if let Some(flag) = values.keys().next() {
        bail!("unknown flag {flag}");
    }
    Ok(args)
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args = args()?;
    let script: Script = serde_json::from_str(&std::fs::read_to_string(&args.script)?)
        .with_context(|| format!("parsing {}", args.script.display()))?;
    let model = ScriptedModel::start(script).await?;
    std::fs::create_dir_all(&args.state)?;
    let store = Store::open(&args.state.join("lathe.redb"))?;
    let client = OpenAiClient::new(
        &model.base_url(),
        Some("sk-test"),
        RetryPolicy {
            max_retries: 0,
            base_delay: Duration::from_millis(1),
            max_delay: Duration::from_millis(5),
            max_retry_after: Duration::from_secs(1),
            request_timeout: Duration::from_secs(30),
        },
        Duration::from_secs(30),
    )?;
    let model_config = ModelConfig {
        base_url: Some(model.base_url()),
        model: Some("scripted".into()),
        ..ModelConfig::default()
    };
    let root = WorkspaceRoot::new(&args.workspace, &args.state);
    let hub = EditorHub::new();
    let mut tools = ToolRegistry::with_file_tools();
    register_editor_tools(&mut tools, &root, &hub);
    let agent = Agent::new(
        store,
        Arc::new(client),
        tools,
        AgentConfig::new(args.workspace.clone(), model_config),
    )?;
    let backend = AgentBackend::new(agent).with_checkpoints(root);
    let mut services = LspServices::new(
        Arc::new(FixedAgent(Arc::new(backend))),
        SkillRoots::default(),
        args.state.clone(),
    );
    services.hub = hub;
    lathe_lsp::serve_connection(tokio::io::stdin(), tokio::io::stdout(), services).await;
    let report = serde_json::json!({
        "mismatches": model.mismatches(),
        "remaining": model.remaining_steps(),
    });
    eprintln!("lsp_host: scripted model report {report}");
    if let Some(path) = args.report {
        std::fs::write(path, report.to_string())?;
    }
    Ok(())
}
