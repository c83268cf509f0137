//! The dashboard's runs: `POST /api/runs` starts a prompt, as is or through a prompt skill
//! of the workspace's registry (the one every surface uses), in a new session started from
//! the dashboard; `POST /api/sessions/{id}/messages` continues a session with a follow-up;
//! `GET /api/runs` lists the sessions with a run going on, from any surface, which
//! `POST /api/sessions/{id}/cancel` stops. Each answers at once; the run's events reach the
//! page over `/events` like any other run's.
//!
//! Invariants: the workspace is an absolute path to a directory; the skill is rendered
//! before the session exists, so a bad name or argument creates nothing; a follow-up to a
//! session with a run going on (whichever surface or process started it) is refused; a
//! run that fails before it starts leaves a `RUN_ERROR` in its session;
//! the run's approvals go through the one broker (any surface answers them); daemon
//! shutdown cancels the dashboard's runs and waits for them to record their end.

use super::state::DaemonState;
use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use lathe_agent::{Agent, RunRequest};
use lathe_protocol::skill::{SkillKind, SkillVars};
use lathe_protocol::{EventPayload, SessionId};
use serde::Deserialize;
use std::collections::{BTreeMap, HashSet};
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::sync::Notify;

/// The dashboard's run tasks, by session, while they go on: one per session, and shutdown
/// waits for them.
#[derive(Default)]
pub(crate) struct DashboardRuns {
    running: Mutex<HashSet<SessionId>>,
    /// Signalled whenever a run leaves `running`.
    ended: Notify,
}

impl DashboardRuns {
    fn lock(&self) -> std::sync::MutexGuard<'_, HashSet<SessionId>> {
        self.running.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Waits until no dashboard run is left, or `timeout`.
    pub(crate) async fn wait_idle(&self, timeout: Duration) {
        self.wait_until(HashSet::is_empty, timeout).await;
    }

    /// Waits (up to `timeout`) for `session`'s run to leave the map.
    async fn wait_for(&self, session: &SessionId, timeout: Duration) {
        self.wait_until(|running| !running.contains(session), timeout)
            .await;
    }

    async fn wait_until(&self, done: impl Fn(&HashSet<SessionId>) -> bool, timeout: Duration) {
        let waiting = async {
            loop {
                // Registered before the check, so a run ending in between still wakes it.
                let ended = self.ended.notified();
                if done(&self.lock()) {
                    return;
                }
                ended.await;
            }
        };
        let _ = tokio::time::timeout(timeout, waiting).await;
    }
}

/// Removes its run from [`DashboardRuns`] when the run's task ends, however it ends.
struct Registered {
    state: Arc<DaemonState>,
    session: SessionId,
}

impl Drop for Registered {
    fn drop(&mut self) {
        self.state.dashboard_runs.lock().remove(&self.session);
        self.state.dashboard_runs.ended.notify_waiters();
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
                Ok(rendered) if rendered.kind == SkillKind::Action => {
                    return refuse(
                        StatusCode::BAD_REQUEST,
                        format!(
                            "/{name} is an action, not a run: use it from an editor or `lathe`"
                        ),
                    );
                }
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
    // A turn that just ended only has to return and free the session.
    state
        .dashboard_runs
        .wait_for(&session, Duration::from_secs(5))
        .await;
    let free = state
        .workspaces
        .runs()
        .wait_free(&session, Duration::from_secs(2))
        .await;
    // Held here, or by another process (`lathe run`); a session stored as running that
    // nobody holds was interrupted, and its next run closes that.
    if !free || state.workspaces.runs().is_held(&session) {
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

/// `GET /api/runs`: the sessions with a run going on, from any surface (what cancel stops).
pub(crate) async fn running(State(state): State<Arc<DaemonState>>) -> Response {
    Json(state.workspaces.runs().running()).into_response()
}

/// `POST /api/sessions/{id}/cancel`.
pub(crate) async fn cancel(
    State(state): State<Arc<DaemonState>>,
    Path(id): Path<String>,
) -> Response {
    let session = SessionId::from(id);
    match state.store.session(&session) {
        Ok(Some(_)) => {}
        Ok(None) => return refuse(StatusCode::NOT_FOUND, format!("no session {session}")),
        Err(error) => return super::http::store_error(error),
    }
    if state.workspaces.runs().cancel(&session) {
        Json(serde_json::json!({ "sessionId": session, "cancelled": true })).into_response()
    } else {
        refuse(
            StatusCode::CONFLICT,
            format!("no run is going on in session {session}"),
        )
    }
}

/// Runs `request` in `session` in the background (cancelled by shutdown or through the run
/// registry); refused while the dashboard runs another turn of the session.
fn spawn(
    state: &Arc<DaemonState>,
    agent: Agent,
    session: SessionId,
    mut request: RunRequest,
) -> Response {
    request.session = Some(session.clone());
    request.cancel = state.shutdown.child_token();
    if !state.dashboard_runs.lock().insert(session.clone()) {
        return refuse(
            StatusCode::CONFLICT,
            format!("session {session} is running; wait for its turn to end or cancel it"),
        );
    }
    let registered = Registered {
        state: state.clone(),
        session: session.clone(),
    };
    tokio::spawn(async move {
        if let Err(error) = agent.run(request).await {
            let session = &registered.session;
            tracing::warn!(%error, %session, "dashboard run failed");
            let failed = EventPayload::RunError {
                message: error.to_string(),
                code: Some("run_failed".into()),
            };
            if let Err(error) = registered.state.store.append(session, vec![failed]).await {
                tracing::error!(%error, %session, "cannot record a failed dashboard run");
            }
        }
        drop(registered);
    });
    (
        StatusCode::ACCEPTED,
        Json(serde_json::json!({ "sessionId": session })),
    )
        .into_response()
}
