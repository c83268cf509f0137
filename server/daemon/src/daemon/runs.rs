//! `POST /api/runs`: the dashboard's actions. A prompt, run as is or through a skill of the
//! workspace's registry (the one every surface uses), starts a run in a new session started
//! from the dashboard; the answer comes at once with the session's id, and the run's events
//! reach the page over `/events` like any other run's.
//!
//! Invariants: the workspace is an absolute path to a directory; the skill is rendered
//! before the session exists, so a bad name or argument creates nothing; the run's
//! approvals go through the one broker (any surface answers them); daemon shutdown cancels
//! the run.

use super::state::DaemonState;
use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use lathe_agent::RunRequest;
use lathe_protocol::skill::SkillVars;
use serde::Deserialize;
use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::Arc;

/// The body of `POST /api/runs`.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RunBody {
    /// The workspace root; the daemon's directory when absent.
    workspace: Option<PathBuf>,
    /// What the user asks (a skill's `{{input}}`).
    #[serde(default)]
    prompt: String,
    /// A skill's name or alias.
    skill: Option<String>,
    /// The skill's named arguments.
    #[serde(default)]
    arguments: BTreeMap<String, String>,
    /// Workspace-relative path of the file the skill is about (its `{{file}}`).
    #[serde(default)]
    file: String,
}

pub(crate) async fn start(
    State(state): State<Arc<DaemonState>>,
    Json(body): Json<RunBody>,
) -> Response {
    let refuse = |message: String| (StatusCode::BAD_REQUEST, message + "\n").into_response();
    let workspace = body
        .workspace
        .unwrap_or_else(|| state.default_workspace.clone());
    if !workspace.is_absolute() || !workspace.is_dir() {
        return refuse(format!(
            "the workspace must be an absolute path to a directory, got {}",
            workspace.display()
        ));
    }
    if body.prompt.trim().is_empty() && body.skill.is_none() {
        return refuse("say what to do: a prompt, a skill, or both".to_owned());
    }
    let skill = match &body.skill {
        None => None,
        Some(name) => {
            let vars = SkillVars {
                input: body.prompt.clone(),
                language: lathe_context::Language::from_path(std::path::Path::new(&body.file))
                    .map(|l| l.name().to_owned())
                    .unwrap_or_default(),
                file: body.file.clone(),
                arguments: body.arguments.clone(),
                ..SkillVars::default()
            };
            let roots = state.workspaces.paths().skill_roots(Some(&workspace));
            match lathe_skills::Registry::new(roots)
                .snapshot()
                .render(name, &vars)
            {
                Ok(rendered) => Some(rendered),
                Err(error) => return refuse(format!("skill {name}: {error}")),
            }
        }
    };
    let agent = match state.workspaces.agent(&workspace).await {
        Ok(agent) => agent,
        Err(error) => return refuse(format!("{error:#}")),
    };
    let title = match (&body.skill, body.prompt.trim()) {
        (Some(name), "") => format!("/{name}"),
        (Some(name), prompt) => format!("/{name} {prompt}"),
        (None, prompt) => prompt.to_owned(),
    };
    let session = match agent.create_session(&title, "dashboard").await {
        Ok(session) => session,
        Err(error) => {
            tracing::error!(%error, "cannot create a dashboard session");
            return (StatusCode::INTERNAL_SERVER_ERROR, format!("{error}\n")).into_response();
        }
    };
    let mut request = RunRequest::new(body.prompt, "dashboard");
    request.session = Some(session.clone());
    request.skill = skill;
    request.cancel = state.shutdown.child_token();
    tokio::spawn(async move {
        if let Err(error) = agent.run(request).await {
            tracing::warn!(%error, "dashboard run failed");
        }
    });
    (
        StatusCode::ACCEPTED,
        Json(serde_json::json!({ "sessionId": session })),
    )
        .into_response()
}
