//! The control surface: one JSON request line in, one JSON answer line out. The CLI uses
//! it (`lathe status`, stopping the daemon) and the HTTP API answers the same [`Status`].

use super::state::DaemonState;
use super::workspaces::WorkspaceHealth;
use crate::config::ConfigProblem;
use serde::{Deserialize, Serialize};
use tokio::io::{AsyncBufRead, AsyncBufReadExt, AsyncReadExt, AsyncWrite, AsyncWriteExt};

/// What a control client may ask.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "request", rename_all = "snake_case")]
pub enum ControlRequest {
    Status,
    Shutdown,
}

/// The daemon's health, as `lathe status` and `/api/status` show it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Status {
    pub pid: u32,
    pub version: String,
    pub url: String,
    pub socket: String,
    /// The directory the daemon started in: the workspace of `/mcp` and `/api/skills`
    /// without `?workspace=`, and the dashboard's default for new runs.
    #[serde(default)]
    pub workspace: String,
    pub uptime_secs: u64,
    pub sessions: u64,
    pub store_path: String,
    pub store_bytes: u64,
    pub model: ModelStatus,
    pub config_files: Vec<String>,
    pub config_problems: Vec<String>,
    /// The MCP servers of every workspace served so far.
    #[serde(default)]
    pub mcp: Vec<WorkspaceHealth>,
}

/// Which model the daemon would call.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ModelStatus {
    pub configured: bool,
    pub base_url: Option<String>,
    pub model: Option<String>,
}

impl Status {
    pub(crate) fn of(state: &DaemonState) -> Status {
        let model = &state.config.config.model;
        Status {
            pid: state.info.pid,
            version: state.info.version.clone(),
            url: state.info.url.clone(),
            socket: state.info.socket.display().to_string(),
            workspace: state.default_workspace.display().to_string(),
            uptime_secs: state.started.elapsed().as_secs(),
            sessions: state.store.session_count().unwrap_or(0),
            store_path: state.store.path().display().to_string(),
            store_bytes: state.store.size_bytes(),
            model: ModelStatus {
                configured: model.is_configured(),
                base_url: model.base_url.clone(),
                model: model.model.clone(),
            },
            config_files: state
                .config
                .files
                .iter()
                .map(|f| f.display().to_string())
                .collect(),
            config_problems: state
                .config
                .problems
                .iter()
                .map(ConfigProblem::to_string)
                .collect(),
            mcp: state.workspaces.health(),
        }
    }
}

const MAX_REQUEST: u64 = 64 * 1024;

pub(crate) async fn serve<R, W>(
    reader: &mut R,
    writer: &mut W,
    state: &DaemonState,
) -> anyhow::Result<()>
where
    R: AsyncBufRead + Unpin,
    W: AsyncWrite + Unpin,
{
    let mut line = String::new();
    reader.take(MAX_REQUEST).read_line(&mut line).await?;
    let answer = match serde_json::from_str::<ControlRequest>(line.trim()) {
        Ok(ControlRequest::Status) => serde_json::to_value(Status::of(state))?,
        Ok(ControlRequest::Shutdown) => {
            state.shutdown.cancel();
            serde_json::json!({"ok": true})
        }
        Err(error) => serde_json::json!({"error": format!("bad control request: {error}")}),
    };
    writer.write_all(format!("{answer}\n").as_bytes()).await?;
    writer.flush().await?;
    Ok(())
}
