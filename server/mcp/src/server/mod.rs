//! Lathe as an MCP server: the agent's tools, the sessions as resources and the skills as
//! prompts, over stdio ([`serve_connection`]) and streamable HTTP ([`http_service`]), for
//! the 2025-11-25 (initialize) and 2026-07-28 (stateless, `server/discover`) revisions as
//! rmcp serves them.
//!
//! Invariants: one [`LatheServer`] per connection (per HTTP session, or per request when
//! stateless), all sharing one [`Shared`] (services and runs); no handler panics into the
//! transport — bad input is an MCP error or an `isError` result; new sessions are announced
//! with `notifications/resources/list_changed` to connected (session-mode) clients.

pub mod assemble;
mod catalog;
mod documents;
mod exec_asks;
pub mod fixtures;
mod http;
mod lines;
mod polling;
mod relay;
mod run;
pub mod services;
mod tools;
pub mod transcript;

pub use http::{HttpOptions, McpHttpService, http_service};
pub use relay::ElicitationRelay;
pub use services::{
    AgentService, CommandResult, CommandRunner, SandboxRunner, Services, TaskOutcome, TaskRequest,
};

use crate::error::McpError;
use catalog::from_json;
use lathe_agent::policy::Verdict;
use lathe_protocol::config::ApprovalMode;
use lathe_protocol::{CustomEvent, EventPayload, SessionId};
use rmcp::model::{
    CallToolRequestParams, CallToolResponse, CallToolResult, CompleteRequestParams, CompleteResult,
    ErrorData, GetPromptRequestParams, GetPromptResponse, InputRequiredResult, ListPromptsResult,
    ListResourceTemplatesResult, ListResourcesResult, ListToolsResult, PaginatedRequestParams,
    ProtocolVersion, ReadResourceRequestParams, ReadResourceResponse, ServerConfig, Tool,
};
use rmcp::service::{NotificationContext, RequestContext, RoleServer};
use rmcp::{ServerHandler, ServiceExt};
use run::{Caller, RunCall, RunReply, Runs};
use serde_json::{Map, Value, json};
use std::sync::Arc;
use std::time::Duration;
use tokio::io::{AsyncRead, AsyncWrite};
use tokio_util::sync::CancellationToken;
use tracing::Instrument;

/// What every connection shares.
pub struct Shared {
    pub(crate) services: Services,
    runs: Arc<Runs>,
    /// `sandbox_exec` approvals waiting for a 2026-07-28 client's second call.
    exec_asks: exec_asks::ExecAsks,
    /// The exec sessions of 2026-07-28 clients, by client name: their requests share no
    /// connection to keep one in.
    stateless_exec_sessions: std::sync::Mutex<std::collections::HashMap<String, SessionId>>,
    /// Parsed files kept between `code_context` calls.
    documents: documents::Documents,
    /// The conformance suite's fixture set is served too (tests only).
    fixtures: bool,
    /// Response streams a handler may end (the fixtures' SSE polling; tests only).
    response_streams: Option<Arc<polling::ResponseStreams>>,
}

impl std::fmt::Debug for Shared {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Shared")
            .field("services", &self.services)
            .field("fixtures", &self.fixtures)
            .finish()
    }
}

impl Shared {
    pub fn new(services: Services) -> Arc<Self> {
        Arc::new(Self {
            services,
            runs: Arc::default(),
            exec_asks: exec_asks::ExecAsks::default(),
            stateless_exec_sessions: std::sync::Mutex::default(),
            documents: documents::Documents::default(),
            fixtures: false,
            response_streams: None,
        })
    }

    /// What the connections serve from (e.g. its elicitation relay).
    pub fn services(&self) -> &Services {
        &self.services
    }

    /// With the conformance suite's `test_*` tools, resources and prompts registered: for
    /// the conformance test only, never in a shipped tool list.
    #[cfg(feature = "conformance-fixtures")]
    pub fn with_conformance_fixtures(services: Services) -> Arc<Self> {
        Arc::new(Self {
            services,
            runs: Arc::default(),
            exec_asks: exec_asks::ExecAsks::default(),
            stateless_exec_sessions: std::sync::Mutex::default(),
            documents: documents::Documents::default(),
            fixtures: true,
            response_streams: Some(Arc::default()),
        })
    }
}

/// Ends the connection's background work, and removes it from the elicitation relay, when
/// the connection's handler is dropped.
struct ConnectionScope {
    closed: CancellationToken,
    relayed: std::sync::OnceLock<relay::Registration>,
    /// The session `sandbox_exec` approvals of this connection are asked and remembered
    /// in, created on the first one.
    exec_session: tokio::sync::OnceCell<SessionId>,
}

impl Drop for ConnectionScope {
    fn drop(&mut self) {
        self.closed.cancel();
    }
}

/// The MCP handler of one connection.
#[derive(Clone)]
pub struct LatheServer {
    shared: Arc<Shared>,
    scope: Arc<ConnectionScope>,
}

impl LatheServer {
    pub fn new(shared: Arc<Shared>) -> Self {
        Self {
            shared,
            scope: Arc::new(ConnectionScope {
                closed: CancellationToken::new(),
                relayed: std::sync::OnceLock::new(),
                exec_session: tokio::sync::OnceCell::new(),
            }),
        }
    }

    fn services(&self) -> &Services {
        &self.shared.services
    }
}

/// Serves one MCP connection speaking newline-delimited JSON-RPC (stdio framing) until the
/// client closes it or `shutdown` is cancelled: the daemon's socket (after the
/// `LATHE/1 mcp` header) and `lathe mcp --in-process` on stdin/stdout. A line that is not
/// JSON is answered with a Parse error (see `lines`).
pub async fn serve_connection<R, W>(
    read: R,
    write: W,
    shared: Arc<Shared>,
    shutdown: CancellationToken,
) -> Result<(), McpError>
where
    R: AsyncRead + Send + Unpin + 'static,
    W: AsyncWrite + Send + Unpin + 'static,
{
    let guarded = lines::guard(read, write);
    let reading = guarded.reading;
    let served = async {
        let running = LatheServer::new(shared)
            .serve_with_ct((guarded.read, guarded.write), shutdown.child_token())
            .await
            .map_err(|e| McpError::Serve(e.to_string()))?;
        running
            .waiting()
            .await
            .map_err(|e| McpError::Serve(e.to_string()))?;
        Ok(())
    }
    .await;
    reading.abort();
    served
}

/// Runs a request's handler in its own `mcp` span (method and JSON-RPC id), so that
/// whatever it logs says which request it served: rmcp runs every handler in the span of
/// the connection's serve loop.
fn in_span<T>(
    method: &'static str,
    context: &RequestContext<RoleServer>,
    handler: impl Future<Output = T>,
) -> impl Future<Output = T> {
    handler.instrument(tracing::info_span!("mcp", method = %method, id = %context.id))
}

/// Whether the request speaks the stateless 2026-07-28 revision.
fn is_stateless(context: &RequestContext<RoleServer>) -> bool {
    context
        .protocol_version()
        .is_some_and(|v| v.as_str() >= ProtocolVersion::V_2026_07_28.as_str())
}

/// Whether the client can answer form elicitations (per request in 2026-07-28, from
/// `initialize` before).
fn client_elicits(context: &RequestContext<RoleServer>) -> bool {
    context
        .client_capabilities()
        .and_then(|caps| serde_json::to_value(caps).ok())
        .is_some_and(|caps| {
            let elicitation = &caps["elicitation"];
            elicitation.is_object()
                && (elicitation.get("form").is_some() || elicitation.get("url").is_none())
        })
}

fn caller(context: &RequestContext<RoleServer>) -> Caller {
    Caller {
        peer: context.peer.clone(),
        progress: context.meta.get_progress_token(),
        cancelled: context.ct.clone(),
        elicits: client_elicits(context),
        stateless: is_stateless(context),
        who: context.client_info().map(|info| info.name),
    }
}

fn text_arg<'a>(args: &'a Map<String, Value>, name: &str) -> Option<&'a str> {
    args.get(name).and_then(Value::as_str)
}

impl LatheServer {
    async fn run_task(
        &self,
        args: Map<String, Value>,
        request_state: Option<String>,
        responses: Map<String, Value>,
        context: &RequestContext<RoleServer>,
    ) -> RunReply {
        let runs = self.shared.runs.clone();
        if let Some(handle) = request_state {
            return runs
                .resume(self.services(), &handle, &responses, caller(context))
                .await;
        }
        let Some(prompt) = text_arg(&args, "prompt") else {
            return RunReply::Complete(tools::failure("`prompt` is required"));
        };
        if let Some(workspace) = text_arg(&args, "workspace") {
            let same = std::path::Path::new(workspace)
                .canonicalize()
                .is_ok_and(|w| w == self.services().workspace);
            if !same {
                return RunReply::Complete(tools::failure(format!(
                    "this Lathe serves the workspace {}; start `lathe mcp` in {workspace} to work there",
                    self.services().workspace.display()
                )));
            }
        }
        let approval = match text_arg(&args, "approval") {
            None => None,
            Some("read-only") => Some(ApprovalMode::ReadOnly),
            Some("ask") => Some(ApprovalMode::Ask),
            Some("auto") => Some(ApprovalMode::Auto),
            Some(other) => {
                return RunReply::Complete(tools::failure(format!(
                    "unknown approval mode {other:?}; use read-only, ask or auto"
                )));
            }
        };
        let skill = match text_arg(&args, "skill") {
            None => None,
            Some(name) => {
                let mut vars_args = args
                    .get("arguments")
                    .and_then(Value::as_object)
                    .cloned()
                    .unwrap_or_default();
                vars_args.insert("input".into(), json!(prompt));
                match self
                    .services()
                    .skills
                    .snapshot()
                    .render(name, &catalog::skill_vars(&vars_args))
                {
                    Ok(rendered) => Some(rendered),
                    Err(e) => return RunReply::Complete(tools::failure(e.to_string())),
                }
            }
        };
        let call = RunCall {
            session: None,
            prompt: prompt.to_owned(),
            skill,
            approval,
        };
        runs.start(self.services(), call, caller(context)).await
    }

    async fn reply(
        &self,
        args: Map<String, Value>,
        context: &RequestContext<RoleServer>,
    ) -> RunReply {
        let (Some(session), Some(message)) =
            (text_arg(&args, "sessionId"), text_arg(&args, "message"))
        else {
            return RunReply::Complete(tools::failure("`sessionId` and `message` are required"));
        };
        let call = RunCall {
            session: Some(SessionId::from(session)),
            prompt: message.to_owned(),
            skill: None,
            approval: None,
        };
        self.shared
            .runs
            .clone()
            .start(self.services(), call, caller(context))
            .await
    }

    async fn sandbox_exec(
        &self,
        args: Map<String, Value>,
        request_state: Option<String>,
        responses: Map<String, Value>,
        context: &RequestContext<RoleServer>,
    ) -> Result<CallToolResponse, ErrorData> {
        let Some(command) = text_arg(&args, "command") else {
            return Ok(tools::failure("`command` is required").into());
        };
        let timeout = args
            .get("timeoutSec")
            .and_then(Value::as_f64)
            .filter(|s| *s > 0.0)
            .and_then(|s| Duration::try_from_secs_f64(s).ok());
        let isolated = self
            .services()
            .commands
            .as_ref()
            .is_some_and(|runner| runner.isolated());
        match tools::exec_verdict(self.services(), command, isolated) {
            Verdict::Allow => {}
            Verdict::Deny(reason) => return Ok(tools::failure(reason).into()),
            Verdict::Ask => {
                let who = caller(context);
                let agent = self.services().agent.clone();
                let asks = &self.shared.exec_asks;
                let answer = if who.stateless && asks.is_parked(request_state.as_deref(), command) {
                    let state = request_state.as_deref().unwrap_or_default();
                    let response = responses.get("approval:exec");
                    match asks
                        .answer(agent.as_ref(), state, command, response, who.who.clone())
                        .await
                    {
                        Ok(decision) => Some(decision),
                        Err(e) => return Ok(tools::failure(e).into()),
                    }
                } else if who.elicits && who.stateless {
                    let (request, kept_for) = match &agent {
                        Some(agent) => {
                            let session = match self.exec_session(agent, &who).await {
                                Ok(session) => session,
                                Err(e) => {
                                    return Ok(tools::failure(format!(
                                        "asking for approval failed: {e}"
                                    ))
                                    .into());
                                }
                            };
                            let timeout = agent.approval_timeout();
                            (exec_approval(command, session, timeout), timeout)
                        }
                        None => (
                            exec_approval(command, SessionId::from("mcp"), Duration::ZERO),
                            Duration::from_secs(300),
                        ),
                    };
                    if agent.as_ref().is_some_and(|agent| agent.granted(&request)) {
                        Some(lathe_protocol::ApprovalDecision::AllowForSession)
                    } else {
                        let form = json!({"method": "elicitation/create", "params": run::approval_form(&request)});
                        let requests = from_json(json!({ "approval:exec": form }))?;
                        let state = asks.park(agent, command, request, kept_for);
                        return Ok(InputRequiredResult::new(Some(requests), Some(state)).into());
                    }
                } else if let Some(agent) = agent {
                    match self.ask_surfaces(agent, command, &who).await {
                        Ok(decision) => Some(decision),
                        Err(e) => {
                            return Ok(
                                tools::failure(format!("asking for approval failed: {e}")).into()
                            );
                        }
                    }
                } else if who.elicits {
                    let request = exec_approval(command, SessionId::from("mcp"), Duration::ZERO);
                    let params = from_json(run::approval_form(&request))?;
                    match context.peer.create_elicitation(params).await {
                        Ok(result) => serde_json::to_value(&result)
                            .ok()
                            .and_then(|r| run::decision_of_response(&r)),
                        Err(e) => {
                            return Ok(
                                tools::failure(format!("asking for approval failed: {e}")).into()
                            );
                        }
                    }
                } else {
                    return Ok(tools::failure(format!(
                        "the policy asks before running `{command}`, and this MCP client cannot answer (it does not support elicitation); allow it with a rule such as `run_command({command}:*)` in [policy] allow"
                    ))
                    .into());
                };
                if !answer.is_some_and(|d| d.allows()) {
                    return Ok(tools::failure(format!("running `{command}` was denied")).into());
                }
            }
        }
        let (lines, mut received) = tokio::sync::mpsc::channel::<String>(64);
        let progress = context.meta.get_progress_token();
        let peer = context.peer.clone();
        let forward = tokio::spawn(async move {
            let mut n = 0u32;
            while let Some(text) = received.recv().await {
                n += 1;
                if let Some(param) = progress
                    .as_ref()
                    .and_then(|token| run::progress_param(token, f64::from(n), None, Some(text)))
                {
                    let _ = peer.notify_progress(param).await;
                }
            }
        });
        let result = tools::run_command(self.services(), command, timeout, lines).await;
        let _ = forward.await;
        Ok(result.into())
    }

    /// The session this connection's `sandbox_exec` approvals are asked and remembered in.
    async fn exec_session(
        &self,
        agent: &Arc<dyn AgentService>,
        who: &Caller,
    ) -> Result<SessionId, String> {
        let title = match &who.who {
            Some(client) => format!("sandbox_exec from {client}"),
            None => "sandbox_exec".to_owned(),
        };
        if !who.stateless {
            return self
                .scope
                .exec_session
                .get_or_try_init(|| agent.create_session(&title))
                .await
                .cloned();
        }
        let sessions = &self.shared.stateless_exec_sessions;
        let key = who.who.clone().unwrap_or_default();
        let known = sessions
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .get(&key)
            .cloned();
        if let Some(session) = known {
            return Ok(session);
        }
        let session = agent.create_session(&title).await?;
        Ok(sessions
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .entry(key)
            .or_insert(session)
            .clone())
    }

    /// Asks about running `command` through the daemon's broker, in this connection's exec
    /// session: every surface sees the request (the dashboard, editors), this client by
    /// elicitation when it can answer; the first answer wins.
    async fn ask_surfaces(
        &self,
        agent: Arc<dyn AgentService>,
        command: &str,
        who: &Caller,
    ) -> Result<lathe_protocol::ApprovalDecision, String> {
        let session = self.exec_session(&agent, who).await?;
        let request = exec_approval(command, session, agent.approval_timeout());
        let withdrawn = CancellationToken::new();
        let _withdraw_when_decided = withdrawn.clone().drop_guard();
        if who.elicits {
            // Asked once the broker has the request pending (its event is on the bus).
            let mut bus = self.services().store.subscribe();
            let (agent, peer, request, who, withdrawn) = (
                agent.clone(),
                who.peer.clone(),
                request.clone(),
                who.who.clone(),
                withdrawn.clone(),
            );
            tokio::spawn(async move {
                loop {
                    let received = tokio::select! {
                        received = bus.recv() => received,
                        () = withdrawn.cancelled() => return,
                    };
                    let event = match received {
                        Ok(event) => event,
                        Err(tokio::sync::broadcast::error::RecvError::Lagged(_)) => continue,
                        Err(tokio::sync::broadcast::error::RecvError::Closed) => return,
                    };
                    if let EventPayload::Custom(CustomEvent::ApprovalRequested(asked)) =
                        &event.payload
                        && asked.id == request.id
                    {
                        run::elicit_approval(Some(agent), peer, request, who, withdrawn).await;
                        return;
                    }
                }
            });
        }
        agent.ask(request, who.cancelled.clone()).await
    }
}

fn exec_approval(
    command: &str,
    session_id: SessionId,
    timeout: Duration,
) -> lathe_protocol::ApprovalRequest {
    let now = lathe_store::now_ms();
    lathe_protocol::ApprovalRequest {
        id: lathe_protocol::ApprovalId::new(),
        session_id,
        tool_call_id: None,
        tool: "run_command".into(),
        action: format!("run_command({command})"),
        summary: format!("run `{command}` in the sandbox"),
        requested_at: now,
        expires_at: now.saturating_add(u64::try_from(timeout.as_millis()).unwrap_or(u64::MAX)),
    }
}

/// Marks a result that could also have been `input_required` as complete (2026-07-28
/// clients tell the two apart by `resultType`; rmcp strips it for older ones).
fn complete_result(mut value: Value) -> Value {
    value["resultType"] = json!("complete");
    value
}

fn reply_response(reply: RunReply) -> CallToolResponse {
    match reply {
        RunReply::Complete(result) => result.into(),
        RunReply::InputRequired(input) => input.into(),
    }
}

impl ServerHandler for LatheServer {
    fn get_info(&self) -> ServerConfig {
        let mut capabilities = json!({
            "tools": {"listChanged": false},
            "resources": {"listChanged": true, "subscribe": false},
            "prompts": {"listChanged": false},
            "completions": {},
            "logging": {},
        });
        if self.shared.fixtures {
            capabilities["resources"]["subscribe"] = json!(true);
        }
        let info = json!({
            "protocolVersion": ProtocolVersion::V_2025_11_25,
            "capabilities": capabilities,
            "serverInfo": {"name": "lathe", "title": "Lathe", "version": env!("CARGO_PKG_VERSION")},
            "instructions": "Lathe is a coding agent for this workspace. Use `run_task` to have it do a task (it edits files and runs commands in a sandbox, asking for approval when the policy says so), `reply` to continue a session, `code_context` and `repo_map` to read code the way it does, and the resources lathe://sessions/{id} for transcripts.",
        });
        serde_json::from_value(info).unwrap_or_default()
    }

    async fn on_initialized(&self, context: NotificationContext<RoleServer>) {
        if let Some(registration) = self.services().elicitation.register(&context.peer) {
            let _ = self.scope.relayed.set(registration);
        }
        let mut events = self.services().store.subscribe();
        let peer = context.peer.clone();
        let closed = self.scope.closed.clone();
        tokio::spawn(async move {
            loop {
                let event = tokio::select! {
                    () = closed.cancelled() => break,
                    event = events.recv() => event,
                };
                match event {
                    Ok(event)
                        if event.seq == 1
                            || matches!(event.payload, EventPayload::RunStarted { .. }) =>
                    {
                        if peer.notify_resource_list_changed().await.is_err() {
                            break;
                        }
                    }
                    Ok(_) | Err(tokio::sync::broadcast::error::RecvError::Lagged(_)) => {}
                    Err(tokio::sync::broadcast::error::RecvError::Closed) => break,
                }
            }
        });
    }

    async fn list_tools(
        &self,
        _request: Option<PaginatedRequestParams>,
        context: RequestContext<RoleServer>,
    ) -> Result<ListToolsResult, ErrorData> {
        in_span("tools/list", &context, async {
            let mut tools = tools::definitions();
            if self.shared.fixtures {
                tools.extend(fixtures::tools());
            }
            Ok(ListToolsResult::with_all_items(tools))
        })
        .await
    }

    fn get_tool(&self, name: &str) -> Option<Tool> {
        let mut tools = tools::definitions();
        if self.shared.fixtures {
            tools.extend(fixtures::tools());
        }
        tools.into_iter().find(|t| t.name == name)
    }

    async fn call_tool(
        &self,
        request: CallToolRequestParams,
        context: RequestContext<RoleServer>,
    ) -> Result<CallToolResponse, ErrorData> {
        in_span("tools/call", &context, async {
            tracing::info!(tool = %request.name, "call");
            let args = request.arguments.clone().unwrap_or_default();
            let responses: Map<String, Value> = request
                .input_responses
                .clone()
                .map(|r| r.into_iter().collect())
                .unwrap_or_default();
            let services = self.services();
            let result: CallToolResult = match request.name.as_ref() {
                "run_task" => {
                    return Ok(reply_response(
                        self.run_task(args, request.request_state.clone(), responses, &context)
                            .await,
                    ));
                }
                "reply" => {
                    return Ok(match request.request_state.clone() {
                        Some(handle) => reply_response(
                            self.shared
                                .runs
                                .clone()
                                .resume(services, &handle, &responses, caller(&context))
                                .await,
                        ),
                        None => reply_response(self.reply(args, &context).await),
                    });
                }
                "cancel" => match text_arg(&args, "sessionId") {
                    Some(session) => {
                        let id = SessionId::from(session);
                        // This connection's run, else one any other surface started.
                        let cancelled = self.shared.runs.cancel(&id)
                            || self
                                .shared
                                .services
                                .agent
                                .as_ref()
                                .is_some_and(|agent| agent.cancel_run(&id));
                        tools::structured(
                            if cancelled {
                                format!("Cancelled the run in session {session}.")
                            } else {
                                format!("No run in progress in session {session}.")
                            },
                            json!({"sessionId": session, "cancelled": cancelled}),
                        )
                    }
                    None => tools::failure("`sessionId` is required"),
                },
                "code_context" => {
                    let shared = self.shared.clone();
                    tokio::task::spawn_blocking(move || {
                        tools::code_context(&shared.services, &shared.documents, &args)
                    })
                    .await
                    .unwrap_or_else(|e| tools::failure(format!("code_context failed: {e}")))
                }
                "repo_map" => tools::repo_map(services, &args).await,
                "list_sessions" => tools::list_sessions(services, &args),
                "sandbox_exec" => {
                    let state = request.request_state.clone();
                    return self.sandbox_exec(args, state, responses, &context).await;
                }
                name if self.shared.fixtures && name.starts_with("test_") => {
                    let streams = self.shared.response_streams.as_deref();
                    return fixtures::call_tool(name, &args, &context, streams).await;
                }
                name => {
                    return Err(ErrorData::invalid_params(format!("no tool {name:?}"), None));
                }
            };
            Ok(result.into())
        })
        .await
    }

    async fn list_resources(
        &self,
        request: Option<PaginatedRequestParams>,
        context: RequestContext<RoleServer>,
    ) -> Result<ListResourcesResult, ErrorData> {
        in_span("resources/list", &context, async {
            let cursor = request.as_ref().and_then(|r| r.cursor.as_deref());
            let mut value = catalog::list_resources(self.services(), cursor)?;
            if self.shared.fixtures && cursor.is_none() {
                fixtures::add_resources(&mut value);
            }
            from_json(complete_result(value))
        })
        .await
    }

    async fn list_resource_templates(
        &self,
        _request: Option<PaginatedRequestParams>,
        context: RequestContext<RoleServer>,
    ) -> Result<ListResourceTemplatesResult, ErrorData> {
        in_span("resources/templates/list", &context, async {
            let mut value = catalog::resource_templates();
            if self.shared.fixtures {
                fixtures::add_templates(&mut value);
            }
            from_json(complete_result(value))
        })
        .await
    }

    async fn read_resource(
        &self,
        request: ReadResourceRequestParams,
        context: RequestContext<RoleServer>,
    ) -> Result<ReadResourceResponse, ErrorData> {
        in_span("resources/read", &context, async {
            if let Some(value) = catalog::read_resource(self.services(), &request.uri)? {
                return Ok(ReadResourceResponse::Complete(from_json(complete_result(
                    value,
                ))?));
            }
            if self.shared.fixtures
                && let Some(value) = fixtures::read_resource(&request.uri)
            {
                return Ok(ReadResourceResponse::Complete(from_json(complete_result(
                    value,
                ))?));
            }
            Err(ErrorData::resource_not_found(
                format!("no resource {}", request.uri),
                Some(json!({"uri": request.uri})),
            ))
        })
        .await
    }

    async fn subscribe(
        &self,
        _request: rmcp::model::SubscribeRequestParams,
        context: RequestContext<RoleServer>,
    ) -> Result<(), ErrorData> {
        in_span("resources/subscribe", &context, async {
            if self.shared.fixtures {
                Ok(())
            } else {
                Err(ErrorData::method_not_found::<
                    rmcp::model::SubscribeRequestMethod,
                >())
            }
        })
        .await
    }

    async fn unsubscribe(
        &self,
        _request: rmcp::model::UnsubscribeRequestParams,
        context: RequestContext<RoleServer>,
    ) -> Result<(), ErrorData> {
        in_span("resources/unsubscribe", &context, async {
            if self.shared.fixtures {
                Ok(())
            } else {
                Err(ErrorData::method_not_found::<
                    rmcp::model::UnsubscribeRequestMethod,
                >())
            }
        })
        .await
    }

    async fn list_prompts(
        &self,
        request: Option<PaginatedRequestParams>,
        context: RequestContext<RoleServer>,
    ) -> Result<ListPromptsResult, ErrorData> {
        in_span("prompts/list", &context, async {
            let cursor = request.as_ref().and_then(|r| r.cursor.as_deref());
            let mut value = catalog::list_prompts(self.services(), cursor)?;
            if self.shared.fixtures && cursor.is_none() {
                fixtures::add_prompts(&mut value);
            }
            from_json(complete_result(value))
        })
        .await
    }

    async fn get_prompt(
        &self,
        request: GetPromptRequestParams,
        context: RequestContext<RoleServer>,
    ) -> Result<GetPromptResponse, ErrorData> {
        in_span("prompts/get", &context, async {
            let arguments = request.arguments.clone().unwrap_or_default();
            if self.shared.fixtures
                && let Some(value) = fixtures::get_prompt(&request.name, &arguments)
            {
                return Ok(GetPromptResponse::Complete(from_json(complete_result(
                    value,
                ))?));
            }
            let value = catalog::get_prompt(self.services(), &request.name, &arguments)?;
            Ok(GetPromptResponse::Complete(from_json(complete_result(
                value,
            ))?))
        })
        .await
    }

    async fn complete(
        &self,
        request: CompleteRequestParams,
        context: RequestContext<RoleServer>,
    ) -> Result<CompleteResult, ErrorData> {
        in_span("completion/complete", &context, async {
            let value = serde_json::to_value(&request).unwrap_or_default();
            let reference = &value["ref"];
            let argument = value["argument"]["name"].as_str().unwrap_or_default();
            let prefix = value["argument"]["value"].as_str().unwrap_or_default();
            let values = if self.shared.fixtures
                && reference["name"]
                    .as_str()
                    .is_some_and(|n| n.starts_with("test_"))
            {
                fixtures::complete(argument, prefix)
            } else {
                catalog::complete(self.services(), reference, argument, prefix)
            };
            let total = values.len();
            from_json(complete_result(
                json!({"completion": {"values": values, "total": total, "hasMore": false}}),
            ))
        })
        .await
    }

    #[allow(deprecated)]
    async fn set_level(
        &self,
        _request: rmcp::model::SetLevelRequestParams,
        context: RequestContext<RoleServer>,
    ) -> Result<(), ErrorData> {
        in_span("logging/setLevel", &context, async { Ok(()) }).await
    }
}
