//! `lathe/status`: this editor's runs, the approvals waiting on its sessions, and why no
//! agent is available when none is.

use crate::connection::Conn;
use crate::error::LspError;
use crate::ext::{RunStatus, Status};

pub async fn status(conn: &Conn) -> Result<Status, LspError> {
    let session = conn.session()?;
    let runs = conn
        .runs()
        .into_iter()
        .map(|run| RunStatus {
            session_id: run.session,
            title: run.title,
        })
        .collect();
    let (pending_approvals, agent_error) = match conn.agent().await {
        Ok(agent) => (
            agent
                .pending_approvals()
                .into_iter()
                .filter(|a| conn.is_attached(&a.session_id))
                .collect(),
            None,
        ),
        Err(error) => (Vec::new(), Some(error.to_string())),
    };
    Ok(Status {
        position_encoding: session.encoding.as_lsp().to_owned(),
        workspace: session.workspace.display().to_string(),
        runs,
        pending_approvals,
        agent_error,
    })
}
