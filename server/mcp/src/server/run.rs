//! `run_task` and `reply`: one agent turn driven from an MCP request.
//!
//! The turn runs in its own task; a [`RunWatch`] follows the session's events (the store's
//! bus, caught up from the log when it lags, so no approval is missed) and turns them into
//! progress notifications and approval questions.
//! Approvals reach the MCP client two ways, by protocol revision:
//! - 2025-11-25 and older (a session with `initialize`): an `elicitation/create` request
//!   per approval, racing the other surfaces through the broker; an approval answered
//!   elsewhere first withdraws the question.
//! - 2026-07-28 (stateless): the call returns `input_required` with the elicitation and an
//!   opaque `requestState` handle; the run waits, parked here, until the client retries the
//!   call with the answer (or another surface, or the timeout, decides).
//!
//! Invariants: `notifications/cancelled` for the request (or the `cancel` tool) cancels the
//! run, which denies its pending approvals; a client without elicitation leaves approvals
//! to the other surfaces and the policy timeout; a parked run not resumed within
//! [`PARK_LIMIT`] is cancelled.

use super::services::{Services, TaskOutcome, TaskRequest};
use super::transcript::{changed_files, diff_summary};
use lathe_protocol::config::ApprovalMode;
use lathe_protocol::{
    ApprovalDecision, ApprovalId, ApprovalRequest, CustomEvent, EventPayload, Role, SessionId,
    SessionStatus,
};
use lathe_store::SessionEvents;
use rmcp::model::{
    CallToolResult, CancelledNotificationParam, ClientResult, ContentBlock, ElicitRequest,
    ElicitRequestParams, InputRequiredResult, ProgressToken, ServerRequest,
};
use rmcp::service::{Peer, PeerRequestOptions, RoleServer};
use serde_json::{Value, json};
use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

/// How long a run waits for a 2026-07-28 client to come back with an answer.
pub const PARK_LIMIT: Duration = Duration::from_secs(600);

const DECISIONS: [&str; 3] = ["allow_once", "allow_for_session", "deny"];

/// A turn being followed.
pub(crate) struct RunWatch {
    pub(crate) session: SessionId,
    task: JoinHandle<Result<TaskOutcome, String>>,
    events: SessionEvents,
    cancel: CancellationToken,
    /// The session's last event before the turn (the turn's changes come after it).
    start_seq: u64,
    /// Steps reported so far (the progress counter).
    steps: u32,
}

pub(crate) enum Step {
    Approval(ApprovalRequest),
    Resolved(ApprovalId),
    Progress(String),
    Done(Result<TaskOutcome, String>),
}

impl RunWatch {
    async fn next(&mut self) -> Step {
        loop {
            tokio::select! {
                biased;
                event = self.events.next() => match event {
                    Some(event) => {
                        if let Some(step) = step_of(&event.payload) {
                            return step;
                        }
                    }
                    None => return Step::Done(join(&mut self.task).await),
                },
                done = &mut self.task => {
                    return Step::Done(done.unwrap_or_else(|e| Err(format!("the run stopped: {e}"))));
                }
            }
        }
    }
}

async fn join(task: &mut JoinHandle<Result<TaskOutcome, String>>) -> Result<TaskOutcome, String> {
    task.await.map_err(|e| format!("the run stopped: {e}"))?
}

fn step_of(payload: &EventPayload) -> Option<Step> {
    match payload {
        EventPayload::Custom(CustomEvent::ApprovalRequested(request)) => {
            Some(Step::Approval(request.clone()))
        }
        EventPayload::Custom(CustomEvent::ApprovalResolved(resolved)) => {
            Some(Step::Resolved(resolved.id.clone()))
        }
        EventPayload::ToolCallStart { tool_call_name, .. } => {
            Some(Step::Progress(format!("calling {tool_call_name}")))
        }
        EventPayload::TextMessageStart {
            role: Role::Assistant,
            ..
        } => Some(Step::Progress("writing".into())),
        EventPayload::Custom(CustomEvent::FileChanged(change)) => {
            Some(Step::Progress(format!("changed {}", change.path)))
        }
        _ => None,
    }
}

/// What one MCP request asks of a run.
pub(crate) struct RunCall {
    pub(crate) session: Option<SessionId>,
    pub(crate) prompt: String,
    pub(crate) skill: Option<lathe_protocol::skill::RenderedSkill>,
    pub(crate) approval: Option<ApprovalMode>,
}

/// The client side of the request, as far as a run needs it.
pub(crate) struct Caller {
    pub(crate) peer: Peer<RoleServer>,
    pub(crate) progress: Option<ProgressToken>,
    /// Cancelled by `notifications/cancelled`.
    pub(crate) cancelled: CancellationToken,
    /// The client can answer form elicitations.
    pub(crate) elicits: bool,
    /// The 2026-07-28 revision: answer approvals through `input_required`.
    pub(crate) stateless: bool,
    pub(crate) who: Option<String>,
}

struct Parked {
    watch: RunWatch,
    since: Instant,
}

/// Runs in flight (for `cancel`) and runs parked on an `input_required` answer.
#[derive(Default)]
pub(crate) struct Runs {
    active: Mutex<HashMap<SessionId, CancellationToken>>,
    parked: Mutex<HashMap<String, Parked>>,
}

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// What a run request answers.
pub(crate) enum RunReply {
    Complete(CallToolResult),
    InputRequired(InputRequiredResult),
}

impl Runs {
    /// Cancels a session's run; false when none runs.
    pub(crate) fn cancel(&self, session: &SessionId) -> bool {
        match lock(&self.active).get(session) {
            Some(token) => {
                token.cancel();
                true
            }
            None => false,
        }
    }

    /// Starts a turn and follows it.
    pub(crate) async fn start(
        self: &Arc<Self>,
        services: &Services,
        call: RunCall,
        caller: Caller,
    ) -> RunReply {
        let Some(agent) = services.agent.clone() else {
            return RunReply::Complete(CallToolResult::error(vec![ContentBlock::text(
                "no model is configured: set LATHE_BASE_URL and LATHE_MODEL (and LATHE_API_KEY), or [model] base_url and model in ~/.config/lathe/config.toml; `lathe doctor` checks the setup",
            )]));
        };
        let session = match call.session {
            Some(session) => match services.store.session(&session) {
                Ok(Some(_)) => session,
                Ok(None) => return error_reply(format!("no session {session}")),
                Err(e) => return error_reply(e.to_string()),
            },
            None => match agent.create_session(&call.prompt).await {
                Ok(session) => session,
                Err(e) => return error_reply(e),
            },
        };
        let cancel = CancellationToken::new();
        let events = match services.store.follow(&session) {
            Ok(events) => events,
            Err(e) => return error_reply(e.to_string()),
        };
        let start_seq = events.position();
        let task = tokio::spawn(agent.run(TaskRequest {
            session: session.clone(),
            prompt: call.prompt,
            skill: call.skill,
            approval: call.approval,
            cancel: cancel.clone(),
        }));
        lock(&self.active).insert(session.clone(), cancel.clone());
        let watch = RunWatch {
            session,
            task,
            events,
            cancel,
            start_seq,
            steps: 0,
        };
        self.follow(services, watch, caller).await
    }

    /// Resumes a parked run with the client's answers (`inputResponses`).
    pub(crate) async fn resume(
        self: &Arc<Self>,
        services: &Services,
        handle: &str,
        responses: &serde_json::Map<String, Value>,
        caller: Caller,
    ) -> RunReply {
        let Some(parked) = lock(&self.parked).remove(handle) else {
            return error_reply(format!(
                "requestState {handle:?} names no waiting run (it finished, was cancelled or waited longer than {} s)",
                PARK_LIMIT.as_secs()
            ));
        };
        if let Some(agent) = &services.agent {
            for (key, response) in responses {
                if let Some(id) = key.strip_prefix("approval:") {
                    let decision = decision_of_response(response).unwrap_or(ApprovalDecision::Deny);
                    if let Err(error) =
                        agent.answer(&ApprovalId::from(id), decision, caller.who.clone())
                    {
                        tracing::info!(%error, "approval answered elsewhere first");
                    }
                }
            }
        }
        self.follow(services, parked.watch, caller).await
    }

    async fn follow(
        self: &Arc<Self>,
        services: &Services,
        mut watch: RunWatch,
        caller: Caller,
    ) -> RunReply {
        let mut asking: HashMap<ApprovalId, CancellationToken> = HashMap::new();
        let mut cancelled = false;
        let outcome = loop {
            let step = if cancelled {
                watch.next().await
            } else {
                tokio::select! {
                    step = watch.next() => step,
                    () = caller.cancelled.cancelled() => {
                        // The run ends as cancelled; keep following it to its end.
                        watch.cancel.cancel();
                        cancelled = true;
                        continue;
                    }
                }
            };
            match step {
                Step::Progress(message) => {
                    watch.steps += 1;
                    if let Some(param) = caller.progress.as_ref().and_then(|token| {
                        progress_param(token, f64::from(watch.steps), None, Some(message))
                    }) {
                        let _ = caller.peer.notify_progress(param).await;
                    }
                }
                Step::Approval(request) if caller.stateless && caller.elicits => {
                    let handle = uuid_handle();
                    let reply = input_required(&request, &handle);
                    let mut parked = lock(&self.parked);
                    parked.retain(|_, p| {
                        let keep = p.since.elapsed() < PARK_LIMIT;
                        if !keep {
                            p.watch.cancel.cancel();
                        }
                        keep
                    });
                    parked.insert(
                        handle,
                        Parked {
                            watch,
                            since: Instant::now(),
                        },
                    );
                    return RunReply::InputRequired(reply);
                }
                Step::Approval(request) if caller.elicits => {
                    let withdrawn = CancellationToken::new();
                    tokio::spawn(elicit_approval(
                        services.agent.clone(),
                        caller.peer.clone(),
                        request.clone(),
                        caller.who.clone(),
                        withdrawn.clone(),
                    ));
                    asking.insert(request.id, withdrawn);
                }
                Step::Approval(_) => {}
                Step::Resolved(id) => {
                    if let Some(withdrawn) = asking.remove(&id) {
                        withdrawn.cancel();
                    }
                }
                Step::Done(outcome) => break outcome,
            }
        };
        for withdrawn in asking.values() {
            withdrawn.cancel();
        }
        lock(&self.active).remove(&watch.session);
        RunReply::Complete(finished(services, &watch.session, watch.start_seq, outcome))
    }
}

fn uuid_handle() -> String {
    lathe_protocol::RunId::new().to_string()
}

fn error_reply(message: String) -> RunReply {
    RunReply::Complete(CallToolResult::error(vec![ContentBlock::text(message)]))
}

/// A progress notification's parameters.
pub(crate) fn progress_param(
    token: &ProgressToken,
    progress: f64,
    total: Option<f64>,
    message: Option<String>,
) -> Option<rmcp::model::ProgressNotificationParam> {
    serde_json::from_value(json!({
        "progressToken": token, "progress": progress, "total": total, "message": message,
    }))
    .ok()
}

/// The form an approval is asked with.
pub(crate) fn approval_form(request: &ApprovalRequest) -> Value {
    json!({
        "mode": "form",
        "message": format!("Lathe asks to {}: {}", request.action, request.summary),
        "requestedSchema": {
            "type": "object",
            "properties": {
                "decision": {
                    "type": "string",
                    "title": "Decision",
                    "description": "Allow this once, allow it for the rest of the session, or deny it",
                    "enum": DECISIONS,
                    "enumNames": ["Allow once", "Allow for session", "Deny"],
                }
            },
            "required": ["decision"],
        }
    })
}

fn input_required(request: &ApprovalRequest, handle: &str) -> InputRequiredResult {
    let elicitation = json!({"method": "elicitation/create", "params": approval_form(request)});
    let requests =
        serde_json::from_value(json!({ format!("approval:{}", request.id): elicitation }))
            .unwrap_or_default();
    InputRequiredResult::new(Some(requests), Some(handle.to_owned()))
}

/// The decision in an elicitation result (`{"action": "accept", "content": {"decision": ..}}`).
pub(crate) fn decision_of_response(result: &Value) -> Option<ApprovalDecision> {
    match result.get("action").and_then(Value::as_str)? {
        "accept" => match result
            .pointer("/content/decision")
            .and_then(Value::as_str)?
        {
            "allow_once" => Some(ApprovalDecision::AllowOnce),
            "allow_for_session" => Some(ApprovalDecision::AllowForSession),
            _ => Some(ApprovalDecision::Deny),
        },
        "decline" => Some(ApprovalDecision::Deny),
        _ => None,
    }
}

/// Asks the client about `request` by elicitation and passes its answer to the broker;
/// when `withdrawn` is cancelled first (another surface answered, the run ended), the
/// client is told the question is withdrawn, so its dialog closes.
pub(crate) async fn elicit_approval(
    agent: Option<Arc<dyn super::services::AgentService>>,
    peer: Peer<RoleServer>,
    request: ApprovalRequest,
    who: Option<String>,
    withdrawn: CancellationToken,
) {
    let Some(agent) = agent else { return };
    let Ok(params) = serde_json::from_value::<ElicitRequestParams>(approval_form(&request)) else {
        return;
    };
    let asked = ServerRequest::ElicitRequest(ElicitRequest::new(params));
    let handle = match peer
        .send_cancellable_request(asked, PeerRequestOptions::no_options())
        .await
    {
        Ok(handle) => handle,
        Err(error) => {
            tracing::warn!(%error, "elicitation for an approval failed");
            return;
        }
    };
    let id = handle.id.clone();
    let response = tokio::select! {
        response = handle.await_response() => response,
        () = withdrawn.cancelled() => {
            let reason = Some("answered elsewhere or no longer needed".to_owned());
            let _ = peer.notify_cancelled(CancelledNotificationParam::new(Some(id), reason)).await;
            return;
        }
    };
    let result = match response {
        Ok(ClientResult::ElicitResult(result)) => result,
        Ok(other) => {
            tracing::warn!(?other, "an elicitation for an approval got another answer");
            return;
        }
        Err(error) => {
            tracing::warn!(%error, "elicitation for an approval failed");
            return;
        }
    };
    let Some(decision) = serde_json::to_value(&result)
        .ok()
        .as_ref()
        .and_then(decision_of_response)
    else {
        return;
    };
    if let Err(error) = agent.answer(&request.id, decision, who) {
        tracing::info!(%error, "approval answered elsewhere first");
    }
}

/// The tool result of a finished turn.
fn finished(
    services: &Services,
    session: &SessionId,
    start_seq: u64,
    outcome: Result<TaskOutcome, String>,
) -> CallToolResult {
    let outcome = match outcome {
        Ok(outcome) => outcome,
        Err(error) => return CallToolResult::error(vec![ContentBlock::text(error)]),
    };
    let events = services
        .store
        .events(session, start_seq, usize::MAX)
        .unwrap_or_default();
    let files = changed_files(&events);
    let summary = diff_summary(&files);
    let status = match outcome.status {
        SessionStatus::Finished => "finished",
        SessionStatus::Failed => "failed",
        SessionStatus::Cancelled => "cancelled",
        SessionStatus::Idle => "idle",
        SessionStatus::Running => "running",
    };
    let mut structured = json!({
        "sessionId": session,
        "status": status,
        "answer": outcome.answer,
        "changedFiles": files.iter().map(|(p, k)| json!({"path": p, "kind": k})).collect::<Vec<_>>(),
        "diffSummary": summary,
    });
    let mut text = match &outcome.error {
        Some((code, message)) => {
            structured["error"] = json!({"code": code, "message": message});
            format!("The run {status} ({code}): {message}")
        }
        None => outcome.answer.clone(),
    };
    text.push_str(&format!(
        "\n\n{summary}\nSession: {session} (resource lathe://sessions/{session})"
    ));
    let mut result = CallToolResult::success(vec![ContentBlock::text(text)]);
    result.structured_content = Some(structured);
    if outcome.status != SessionStatus::Finished {
        result.is_error = Some(true);
    }
    result
}

#[cfg(test)]
mod tests {
    use super::*;
    use pretty_assertions::assert_eq;

    #[test]
    fn elicitation_answers_become_decisions() {
        let cases = [
            (
                json!({"action": "accept", "content": {"decision": "allow_once"}}),
                Some(ApprovalDecision::AllowOnce),
            ),
            (
                json!({"action": "accept", "content": {"decision": "allow_for_session"}}),
                Some(ApprovalDecision::AllowForSession),
            ),
            (
                json!({"action": "accept", "content": {"decision": "deny"}}),
                Some(ApprovalDecision::Deny),
            ),
            (json!({"action": "decline"}), Some(ApprovalDecision::Deny)),
            (json!({"action": "cancel"}), None),
        ];
        for (result, expected) in cases {
            assert_eq!(decision_of_response(&result), expected, "{result}");
        }
    }
}
