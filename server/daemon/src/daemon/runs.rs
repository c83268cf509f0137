//! The dashboard's runs: `POST /api/runs` starts a prompt, as is or through a skill of the
//! workspace's registry (the one every surface uses), in a new session started from the
//! dashboard; `POST /api/sessions/{id}/messages` continues a session with a follow-up;
//! `POST /api/sessions/{id}/cancel` stops a run the dashboard started. Each answers at
//! once; the run's events reach the page over `/events` like any other run's.
//!
//! Invariants: the workspace is an absolute path to a directory; the skill is rendered
//! before the session exists, so a bad name or argument creates nothing; a session runs
//! one turn at a time (a follow-up to a running session is refused); the run's approvals
//! go through the one broker (any surface answers them); daemon shutdown cancels the run.

use super::state::DaemonState;
use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use lathe_agent::{Agent, RunRequest};
use lathe_protocol::skill::SkillVars;
use lathe_protocol::{SessionId, SessionStatus};
use serde::Deserialize;
use std::collections::hash_map::Entry;
use std::collections::{BTreeMap, HashMap};
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use tokio_util::sync::CancellationToken;

/// The runs the dashboard started that have not ended, by session: what cancel stops.
#[derive(Default)]
pub(crate) struct DashboardRuns {
    running: Mutex<HashMap<SessionId, CancellationToken>>,
}

impl DashboardRuns {
    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<SessionId, CancellationToken>> {
        self.running.lock().unwrap_or_else(|e| e.into_inner())
    }
}

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

/// The body of `POST /api/sessions/{id}/messages`.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct MessageBody {
    prompt: String,
}

fn refuse(status: StatusCode, message: String) -> Response {
    (status, message + "\n").into_response()
}

/// `POST /api/runs`.
pub(crate) async fn start(
    State(state): State<Arc<DaemonState>>,
    Json(body): Json<RunBody>,
) -> Response {
    let workspace = body
        .workspace
        .unwrap_or_else(|| state.default_workspace.clone());
    if !workspace.is_absolute() || !workspace.is_dir() {
        return refuse(
            StatusCode::BAD_REQUEST,
            format!(
                "the workspace must be an absolute path to a directory, got {}",
                workspace.display()
            ),
        );
    }
    if body.prompt.trim().is_empty() && body.skill.is_none() {
        return refuse(
            StatusCode::BAD_REQUEST,
            "say what to do: a prompt, a skill, or both".to_owned(),
        );
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
                Err(error) => {
                    return refuse(StatusCode::BAD_REQUEST, format!("skill {name}: {error}"));
                }
            }
        }
    };
    let agent = match state.workspaces.agent(&workspace).await {
        Ok(agent) => agent,
        Err(error) => return refuse(StatusCode::BAD_REQUEST, format!("{error:#}")),
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
            return refuse(StatusCode::INTERNAL_SERVER_ERROR, error.to_string());
        }
    };
    let mut request = RunRequest::new(body.prompt, "dashboard");
    request.skill = skill;
    spawn(&state, agent, session, request)
}

/// `POST /api/sessions/{id}/messages`: the next user turn of an existing session.
pub(crate) async fn reply(
    State(state): State<Arc<DaemonState>>,
    Path(id): Path<String>,
    Json(body): Json<MessageBody>,
) -> Response {
    let session = SessionId::from(id);
    let meta = match state.store.session(&session) {
        Ok(Some(meta)) => meta,
        Ok(None) => return refuse(StatusCode::NOT_FOUND, format!("no session {session}")),
        Err(error) => return super::http::store_error(error),
    };
    if meta.status == SessionStatus::Running {
        return refuse(
            StatusCode::CONFLICT,
            format!("session {session} is running; wait for its turn to end or cancel it"),
        );
    }
    if body.prompt.trim().is_empty() {
        return refuse(StatusCode::BAD_REQUEST, "the message is empty".to_owned());
    }
    let agent = match state
        .workspaces
        .agent(std::path::Path::new(&meta.workspace))
        .await
    {
        Ok(agent) => agent,
        Err(error) => return refuse(StatusCode::BAD_REQUEST, format!("{error:#}")),
    };
    spawn(
        &state,
        agent,
        session,
        RunRequest::new(body.prompt, "dashboard"),
    )
}

/// `POST /api/sessions/{id}/cancel`.
pub(crate) async fn cancel(
    State(state): State<Arc<DaemonState>>,
    Path(id): Path<String>,
) -> Response {
    let session = SessionId::from(id);
    match state.dashboard_runs.lock().get(&session) {
        Some(token) => {
            token.cancel();
            Json(serde_json::json!({ "sessionId": session, "cancelled": true })).into_response()
        }
        None => refuse(
            StatusCode::CONFLICT,
            format!(
                "no run the dashboard started is running in session {session}; cancel a run where it was started"
            ),
        ),
    }
}

/// Runs `request` in `session` in the background, cancellable until it ends; refused while
/// the dashboard runs another turn of the session.
fn spawn(
    state: &Arc<DaemonState>,
    agent: Agent,
    session: SessionId,
    mut request: RunRequest,
) -> Response {
    let cancel = state.shutdown.child_token();
    request.session = Some(session.clone());
    request.cancel = cancel.clone();
    match state.dashboard_runs.lock().entry(session.clone()) {
        Entry::Occupied(_) => {
            return refuse(
                StatusCode::CONFLICT,
                format!("session {session} is running; wait for its turn to end or cancel it"),
            );
        }
        Entry::Vacant(slot) => {
            slot.insert(cancel);
        }
    }
    let runs = state.clone();
    let ended = session.clone();
    tokio::spawn(async move {
        if let Err(error) = agent.run(request).await {
            tracing::warn!(%error, session = %ended, "dashboard run failed");
        }
        runs.dashboard_runs.lock().remove(&ended);
    });
    (
        StatusCode::ACCEPTED,
        Json(serde_json::json!({ "sessionId": session })),
    )
        .into_response()
}
