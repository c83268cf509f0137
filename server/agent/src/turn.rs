//! The turn loop: one user turn of a session, as a state machine over [`State`].
//!
//! ```text
//! Start ──► CallModel(n) ──► RunTools(n) ──► CallModel(n+1) … ──► Finished(answer)
//!                │                 │
//!                └──── error, cancel, turn limit ────────────────► Failed(code)
//! ```
//!
//! Invariants:
//! - every step's events go through one [`EventSink`] in order and are committed at once;
//!   the loop waits for a commit only before something outside the log depends on it: the
//!   assistant message and its tool calls before any tool runs, every earlier result before
//!   a call that may have effects, the approval request before anyone can answer it, the
//!   decision before the tool runs, and the run's end, with the session's final status, in
//!   one transaction. A model call is no such effect: the user message (with `RUN_STARTED`
//!   and the running session) and tool results are being committed while the next model
//!   call starts, and a commit that fails ends the run at the next boundary;
//! - a tool call always gets exactly one `TOOL_CALL_RESULT` (an error result for invalid
//!   arguments, an unknown tool, a denial or a crash), so the conversation stays valid;
//! - independent read-only calls that the policy allows run concurrently; anything else
//!   runs alone, in the order the model asked;
//! - the run ends with exactly one `RUN_FINISHED` or `RUN_ERROR`, and the session's status
//!   says which; a finished run of the `compact` skill commits, with its `RUN_FINISHED`
//!   and just before it, a `context.compacted` event that folds the whole session, that
//!   run's answer included, into the answer.

use crate::agent::{Agent, Inner, RunOutcome, RunRequest, RunUsage};
use crate::approval::{grant_key, now_ms};
use crate::error::AgentError;
use crate::history::{conversation, conversation_with_seqs};
use crate::model::{AssembledReply, Assembler, ModelError, ModelEvent, ModelRequest, ToolSpec};
use crate::policy::{Policy, ReadGuard, Verdict, action};
use crate::sink::EventSink;
use crate::tools::{Tool, ToolContext, ToolOutput};
use crate::window::{Budget, Fit, TokenCounter, fit};
use futures::StreamExt;
use lathe_protocol::event::{ContextCompacted, Usage};
use lathe_protocol::skill::RenderedSkill;
use lathe_protocol::{
    ApprovalId, ApprovalRequest, CustomEvent, Event, EventPayload, Message, MessageId, Role, RunId,
    SessionId, SessionMeta, SessionStatus, ToolCall, ToolCallId,
};
use serde_json::Value;
use std::collections::HashMap;
use std::sync::Arc;
use std::time::Instant;
use tokio_util::sync::CancellationToken;

/// The action that restores a session's checkpoint rather than running the model: each
/// surface performs it (the agent refuses it as a run, so that no model claims it did).
pub const UNDO_SKILL: &str = "undo";
/// The skill whose answer replaces the conversation (`/compact`).
const COMPACT_SKILL: &str = "compact";

/// Where a run stands.
#[derive(Debug)]
enum State {
    CallModel {
        turn: u32,
    },
    RunTools {
        turn: u32,
        calls: Vec<ToolCall>,
    },
    Finished {
        answer: String,
    },
    Failed {
        status: SessionStatus,
        code: String,
        message: String,
    },
}

impl State {
    fn cancelled() -> State {
        State::Failed {
            status: SessionStatus::Cancelled,
            code: "cancelled".into(),
            message: "the run was cancelled".into(),
        }
    }

    fn model_failed(error: &ModelError) -> State {
        State::Failed {
            status: SessionStatus::Failed,
            code: error.code().into(),
            message: error.to_string(),
        }
    }
}

/// Every event of a session, in order.
pub(crate) fn all_events(
    store: &lathe_store::Store,
    session: &SessionId,
) -> Result<Vec<Event>, AgentError> {
    const PAGE: usize = 10_000;
    let mut events = Vec::new();
    loop {
        let after = events.last().map_or(0, |e: &Event| e.seq);
        let page = store.events(session, after, PAGE)?;
        let done = page.len() < PAGE;
        events.extend(page);
        if done {
            return Ok(events);
        }
    }
}

impl Agent {
    /// Runs one user turn: starts or continues the session, loops model and tools until a
    /// final answer, an error, cancellation or the turn limit, and records everything.
    /// `Err` only when the agent's own machinery (the store) fails.
    pub async fn run(&self, request: RunRequest) -> Result<RunOutcome, AgentError> {
        if request.skill.as_ref().is_some_and(|s| {
            s.kind == lathe_protocol::skill::SkillKind::Action && s.name == UNDO_SKILL
        }) {
            return Err(AgentError::UndoIsNotARun);
        }
        let (meta, _guard) = self.claim(&request).await?;
        let mut run = Run::start(&self.inner, meta, request).await?;
        let outcome = run.drive().await;
        if outcome.is_err() {
            // The store failed under the run; record the failure if it works again.
            run.session.status = SessionStatus::Failed;
            run.session.updated_at = now_ms();
            let _ = self.inner.store.put_session(&run.session).await;
        }
        outcome
    }
}

/// One run in progress.
struct Run<'a> {
    agent: &'a Inner,
    session: SessionMeta,
    run_id: RunId,
    sink: EventSink,
    history: Vec<Message>,
    /// Token cost of history messages, by message id.
    sizes: HashMap<MessageId, usize>,
    system_prompt: String,
    skill: Option<RenderedSkill>,
    policy: Policy,
    /// What the policy's `read_file` denials hide from the tools, made once per run.
    reads: ReadGuard,
    model_name: String,
    counter: TokenCounter,
    cancel: CancellationToken,
    usage: RunUsage,
}

/// A tool call ready to run, or already answered.
enum Prepared {
    Ready {
        call: ToolCall,
        tool: Arc<dyn Tool>,
        args: Value,
        /// May run concurrently with its read-only neighbours.
        concurrent: bool,
        /// Needs an approval first.
        ask: bool,
    },
    Answered {
        call: ToolCall,
        output: ToolOutput,
    },
}

impl<'a> Run<'a> {
    async fn start(
        agent: &'a Inner,
        session: SessionMeta,
        request: RunRequest,
    ) -> Result<Run<'a>, AgentError> {
        let sink = EventSink::new(agent.store.clone(), session.id.clone());
        let history = conversation(&all_events(&agent.store, &session.id)?);
        let mut mode = request.approval.unwrap_or(agent.config.policy.mode);
        let mut system_prompt = agent.config.system_prompt.clone();
        let mut model_name = agent.config.model_name();
        let mut prompt = request.prompt.clone();
        if let Some(skill) = &request.skill {
            if !skill.system_prompt.trim().is_empty() {
                system_prompt = format!("{system_prompt}\n\n{}", skill.system_prompt);
            }
            if let Some(model) = &skill.model {
                model_name = model.clone();
            }
            if let Some(skill_mode) = skill.approval {
                mode = mode.stricter(skill_mode);
            }
            prompt = skill.user_prompt.clone();
            // The MCP servers' tools count once they connected (as the run waits for anyway).
            tokio::select! {
                () = agent.tools.ready() => {}
                () = request.cancel.cancelled() => {}
            }
            let available: Vec<String> = agent.tools.all().iter().map(|t| t.spec().name).collect();
            let missing = skill.missing_tools(&available);
            if !missing.is_empty() {
                system_prompt = format!(
                    "{system_prompt}\n\nThis skill needs tools this setup lacks: {}. Say so \
                     first, and how to add them (an MCP server under `mcpServers` in the \
                     workspace's `.mcp.json` or `[mcp_servers]` in the config), then do what \
                     you can without them.",
                    missing.join(", ")
                );
            }
        }
        let action = request
            .skill
            .as_ref()
            .is_some_and(|s| s.kind == lathe_protocol::skill::SkillKind::Action);
        if !action
            && let Some(map) =
                crate::prompt::repo_map_section(&agent.config, &agent.prompt_map).await
        {
            system_prompt = format!("{system_prompt}\n\n{map}");
        }
        let mut run = Run {
            agent,
            run_id: RunId::new(),
            sink,
            history,
            sizes: HashMap::new(),
            system_prompt,
            skill: request.skill,
            policy: agent.policy.clone().with_mode(mode),
            reads: agent.policy.read_guard(),
            counter: TokenCounter::for_model(&model_name),
            model_name,
            cancel: request.cancel,
            usage: RunUsage::default(),
            session,
        };
        let user = Message {
            id: MessageId::new(),
            role: Role::User,
            content: prompt,
            tool_calls: Vec::new(),
            tool_call_id: None,
        };
        run.sink.emit_with_session(
            &run.session,
            vec![
                EventPayload::RunStarted {
                    thread_id: run.session.id.clone(),
                    run_id: run.run_id.clone(),
                },
                EventPayload::TextMessageStart {
                    message_id: user.id.clone(),
                    role: Role::User,
                },
                EventPayload::TextMessageContent {
                    message_id: user.id.clone(),
                    delta: user.content.clone(),
                },
                EventPayload::TextMessageEnd {
                    message_id: user.id.clone(),
                },
            ],
        );
        run.history.push(user);
        Ok(run)
    }

    async fn drive(&mut self) -> Result<RunOutcome, AgentError> {
        tokio::select! {
            () = self.agent.tools.ready() => {}
            () = self.cancel.cancelled() => {}
        }
        let mut state = State::CallModel { turn: 1 };
        loop {
            state = match state {
                State::CallModel { turn } if turn > self.agent.config.max_turns => State::Failed {
                    status: SessionStatus::Failed,
                    code: "turn_limit".into(),
                    message: format!(
                        "stopped after {} model calls: the model kept calling tools without \
                         giving an answer (raise max_turns or narrow the task)",
                        self.agent.config.max_turns
                    ),
                },
                State::CallModel { turn } => self.call_model(turn).await?,
                State::RunTools { turn, calls } => {
                    self.run_tools(calls).await?;
                    if self.cancel.is_cancelled() {
                        State::cancelled()
                    } else {
                        State::CallModel { turn: turn + 1 }
                    }
                }
                State::Finished { answer } => {
                    let mut closing = Vec::new();
                    if self.compacts() && !answer.trim().is_empty() {
                        self.sink.commit(Vec::new()).await?;
                        closing.push(EventPayload::Custom(CustomEvent::ContextCompacted(
                            ContextCompacted {
                                summary: answer.clone(),
                                through_seq: self.agent.store.last_seq(&self.session.id)?,
                            },
                        )));
                    }
                    closing.push(EventPayload::RunFinished {
                        thread_id: self.session.id.clone(),
                        run_id: self.run_id.clone(),
                        result: Some(serde_json::json!({ "answer": answer })),
                    });
                    self.end(SessionStatus::Finished, closing).await?;
                    return Ok(self.outcome(SessionStatus::Finished, answer, None));
                }
                State::Failed {
                    status,
                    code,
                    message,
                } => {
                    let error = EventPayload::RunError {
                        message: message.clone(),
                        code: Some(code.clone()),
                    };
                    self.end(status, vec![error]).await?;
                    return Ok(self.outcome(status, String::new(), Some((code, message))));
                }
            };
        }
    }

    /// Commits the run's closing events together with the session's final status.
    async fn end(
        &mut self,
        status: SessionStatus,
        closing: Vec<EventPayload>,
    ) -> Result<(), AgentError> {
        self.session.status = status;
        self.session.updated_at = now_ms();
        self.sink
            .commit_with_session(&self.session, closing)
            .await
            .map(drop)
    }

    /// Whether this run is the `compact` skill: its answer, a summary of the session,
    /// replaces the whole conversation for the runs that follow.
    fn compacts(&self) -> bool {
        self.skill.as_ref().is_some_and(|s| s.name == COMPACT_SKILL)
    }

    fn outcome(
        &self,
        status: SessionStatus,
        answer: String,
        error: Option<(String, String)>,
    ) -> RunOutcome {
        RunOutcome {
            session: self.session.id.clone(),
            run: self.run_id.clone(),
            status,
            answer,
            error,
            usage: self.usage,
        }
    }

    /// The tools offered this turn (a skill restricts them).
    fn offered(&self) -> Vec<Arc<dyn Tool>> {
        self.agent
            .tools
            .all()
            .into_iter()
            .filter(|t| {
                self.skill
                    .as_ref()
                    .is_none_or(|s| s.allows_tool(&t.spec().name))
            })
            .collect()
    }

    fn size(&mut self, index: usize) -> usize {
        let message = &self.history[index];
        if let Some(size) = self.sizes.get(&message.id) {
            return *size;
        }
        let size = self.counter.message(message);
        self.sizes.insert(message.id.clone(), size);
        size
    }

    /// The prompt for the next model call, compacting old turns first when needed.
    /// Returns the messages and their estimated token count.
    async fn prompt(&mut self, specs: &[ToolSpec]) -> Result<(Vec<Message>, usize), AgentError> {
        let system = Message {
            id: MessageId::from("system"),
            role: Role::System,
            content: self.system_prompt.clone(),
            tool_calls: Vec::new(),
            tool_call_id: None,
        };
        let fixed = self.counter.message(&system) + self.counter.tools(specs);
        let budget = Budget {
            window: self.agent.config.model.context_window as usize,
            reserve: self.agent.config.model.max_output_tokens as usize,
        };
        let sizes: Vec<usize> = (0..self.history.len()).map(|i| self.size(i)).collect();
        if let Fit::Compact { keep_from, summary } =
            fit(&self.history, &sizes, fixed, budget, &self.counter)
        {
            self.compact(keep_from, summary).await?;
        }
        let total = fixed + (0..self.history.len()).map(|i| self.size(i)).sum::<usize>();
        let mut messages = Vec::with_capacity(self.history.len() + 1);
        messages.push(system);
        messages.extend(self.history.iter().cloned());
        Ok((messages, total))
    }

    /// Records a compaction of `history[..keep_from]` and rebuilds the history from the log.
    async fn compact(&mut self, keep_from: usize, summary: String) -> Result<(), AgentError> {
        self.sink.commit(Vec::new()).await?;
        let events = all_events(&self.agent.store, &self.session.id)?;
        let first_kept = &self.history[keep_from].id;
        let through_seq = conversation_with_seqs(&events)
            .into_iter()
            .find(|(_, m)| m.id == *first_kept)
            .map_or(0, |(seq, _)| seq.saturating_sub(1));
        let committed = self
            .sink
            .commit(vec![EventPayload::Custom(CustomEvent::ContextCompacted(
                ContextCompacted {
                    summary,
                    through_seq,
                },
            ))])
            .await?;
        let mut events = events;
        events.extend(committed);
        self.history = conversation(&events);
        Ok(())
    }

    async fn call_model(&mut self, turn: u32) -> Result<State, AgentError> {
        let step = format!("turn {turn}");
        self.sink.emit(EventPayload::StepStarted {
            step_name: step.clone(),
        });
        let specs: Vec<ToolSpec> = self.offered().iter().map(|t| t.spec()).collect();
        let (messages, prompt_tokens) = self.prompt(&specs).await?;
        let request = ModelRequest {
            model: self.model_name.clone(),
            messages,
            tools: specs,
            max_output_tokens: None,
        };
        let started = Instant::now();
        let mut first_token = None;
        let mut stream = self.agent.model.stream(request);
        let message_id = MessageId::new();
        let mut message_started = false;
        let mut call_ids: HashMap<u32, ToolCallId> = HashMap::new();
        let mut assembler = Assembler::new();
        let interrupt: Option<State> = loop {
            let item = tokio::select! {
                biased;
                () = self.cancel.cancelled() => break Some(State::cancelled()),
                item = stream.next() => item,
            };
            let event = match item {
                None => break None,
                Some(Err(error)) => break Some(State::model_failed(&error)),
                Some(Ok(event)) => event,
            };
            first_token.get_or_insert_with(|| started.elapsed());
            let starts_message = matches!(
                event,
                ModelEvent::TextDelta(_) | ModelEvent::ToolCallStarted { .. }
            );
            if starts_message && !message_started {
                message_started = true;
                self.sink.emit(EventPayload::TextMessageStart {
                    message_id: message_id.clone(),
                    role: Role::Assistant,
                });
            }
            match &event {
                ModelEvent::TextDelta(delta) => self.sink.emit(EventPayload::TextMessageContent {
                    message_id: message_id.clone(),
                    delta: delta.clone(),
                }),
                ModelEvent::ToolCallStarted { index, id, name } => {
                    let id = ToolCallId::from(id.as_str());
                    call_ids.insert(*index, id.clone());
                    self.sink.emit(EventPayload::ToolCallStart {
                        tool_call_id: id,
                        tool_call_name: name.clone(),
                        parent_message_id: Some(message_id.clone()),
                    });
                }
                ModelEvent::ToolCallArgs { index, delta } => {
                    if let Some(id) = call_ids.get(index) {
                        self.sink.emit(EventPayload::ToolCallArgs {
                            tool_call_id: id.clone(),
                            delta: delta.clone(),
                        });
                    }
                }
                ModelEvent::Usage(_) | ModelEvent::Finished(_) => {}
            }
            assembler.push(&event);
        };
        drop(stream);
        let reply = assembler.finish();
        let mut closing = Vec::new();
        if message_started {
            closing.push(EventPayload::TextMessageEnd {
                message_id: message_id.clone(),
            });
        }
        if interrupt.is_none() {
            closing.extend(reply.tool_calls.iter().map(|c| EventPayload::ToolCallEnd {
                tool_call_id: c.id.clone(),
            }));
        }
        let usage = self.usage_event(&reply, prompt_tokens, first_token, started.elapsed());
        closing.push(EventPayload::Custom(CustomEvent::Usage(usage)));
        closing.push(EventPayload::StepFinished { step_name: step });
        let runs_tools =
            interrupt.is_none() && reply.finish.is_some() && !reply.tool_calls.is_empty();
        if runs_tools {
            self.sink.commit(closing).await?;
        } else {
            // The run ends next; its closing commit makes these durable with it.
            for payload in closing {
                self.sink.emit(payload);
            }
        }
        if let Some(state) = interrupt {
            if message_started && !reply.content.is_empty() {
                self.history
                    .push(assistant(message_id, reply.content, Vec::new()));
            }
            return Ok(state);
        }
        if reply.finish.is_none() {
            return Ok(State::model_failed(&ModelError::Incomplete));
        }
        let calls = reply.tool_calls.clone();
        self.history.push(assistant(
            message_id,
            reply.content.clone(),
            reply.tool_calls,
        ));
        if calls.is_empty() {
            return Ok(State::Finished {
                answer: reply.content,
            });
        }
        Ok(State::RunTools { turn, calls })
    }

    fn usage_event(
        &mut self,
        reply: &AssembledReply,
        prompt_tokens: usize,
        first_token: Option<std::time::Duration>,
        latency: std::time::Duration,
    ) -> Usage {
        let (input, output, cached, estimated) = match reply.usage {
            Some(u) => (
                u.input_tokens,
                u.output_tokens,
                u.cached_input_tokens,
                false,
            ),
            // Nothing came back (unreachable, refused, failed before the first token): no
            // evidence the server spent anything, so nothing is charged.
            None if first_token.is_none() => (0, 0, 0, true),
            None => {
                let output = self.counter.count(&reply.content)
                    + reply
                        .tool_calls
                        .iter()
                        .map(|c| self.counter.count(&c.name) + self.counter.count(&c.arguments))
                        .sum::<usize>();
                (prompt_tokens as u64, output as u64, 0, true)
            }
        };
        let cost = self
            .agent
            .config
            .model
            .prices
            .get(&self.model_name)
            .map(|price| {
                let cached_price = price.cached_input.unwrap_or(price.input);
                ((input - cached.min(input)) as f64 * price.input
                    + cached.min(input) as f64 * cached_price
                    + output as f64 * price.output)
                    / 1_000_000.0
            });
        self.usage.input_tokens += input;
        self.usage.output_tokens += output;
        self.usage.cost_usd += cost.unwrap_or(0.0);
        self.usage.model_calls += 1;
        let ms = |d: std::time::Duration| u64::try_from(d.as_millis()).unwrap_or(u64::MAX);
        Usage {
            model: self.model_name.clone(),
            input_tokens: input,
            output_tokens: output,
            cached_input_tokens: cached,
            estimated,
            cost_usd: cost,
            time_to_first_token_ms: first_token.map(ms),
            latency_ms: ms(latency),
        }
    }

    /// Judges each call: parse its arguments, find the tool, ask the policy.
    fn prepare(&self, call: ToolCall, offered: &[Arc<dyn Tool>]) -> Result<Prepared, AgentError> {
        let answered = |call: ToolCall, text: String| Prepared::Answered {
            call,
            output: ToolOutput::error(text),
        };
        let Some(tool) = offered.iter().find(|t| t.spec().name == call.name).cloned() else {
            let names: Vec<String> = offered.iter().map(|t| t.spec().name).collect();
            let text = format!(
                "unknown tool `{}`; the tools you can call are: {}",
                call.name,
                names.join(", ")
            );
            return Ok(answered(call, text));
        };
        let raw = call.arguments.trim();
        let args = match serde_json::from_str::<Value>(if raw.is_empty() { "{}" } else { raw }) {
            Ok(args @ Value::Object(_)) => args,
            Ok(other) => {
                let text = format!(
                    "the arguments of `{}` must be a JSON object, got {other}; call it again \
                     with an object matching its schema",
                    call.name
                );
                return Ok(answered(call, text));
            }
            Err(error) => {
                let shown: String = raw.chars().take(500).collect();
                let text = format!(
                    "the arguments of `{}` are not valid JSON ({error}); you sent: {shown}\n\
                     Call the tool again with a JSON object matching its schema.",
                    call.name
                );
                return Ok(answered(call, text));
            }
        };
        let kind = tool.kind();
        let argument = tool.rule_argument(&args);
        let verdict = self.policy.decide(
            &call.name,
            kind,
            argument.as_deref(),
            self.agent.config.sandbox_isolated,
        );
        let ask = match verdict {
            Verdict::Deny(reason) => return Ok(answered(call, format!("denied: {reason}"))),
            Verdict::Allow => false,
            // An "allow for session" spares the question, except where the user's own ask
            // rule wants to be asked every time.
            Verdict::Ask if self.policy.asked_by_rule(&call.name, argument.as_deref()) => true,
            Verdict::Ask => {
                let key = grant_key(&self.approval_request(&call, argument.as_deref()));
                !self.agent.broker.granted(&self.session.id, &key)?
            }
        };
        Ok(Prepared::Ready {
            concurrent: kind.reads_only() && !ask,
            call,
            tool,
            args,
            ask,
        })
    }

    fn approval_request(&self, call: &ToolCall, argument: Option<&str>) -> ApprovalRequest {
        let now = now_ms();
        let timeout = u64::try_from(self.agent.broker.timeout().as_millis()).unwrap_or(u64::MAX);
        let summary = match (call.name.as_str(), argument) {
            ("run_command", Some(command)) if self.agent.config.sandbox_isolated => {
                format!("run `{command}` in the sandbox")
            }
            ("run_command", Some(command)) => format!("run `{command}` on the host (no sandbox)"),
            (tool, Some(argument)) => format!("{tool} {argument}"),
            (tool, None) => format!("call {tool}"),
        };
        ApprovalRequest {
            id: ApprovalId::new(),
            session_id: self.session.id.clone(),
            tool_call_id: Some(call.id.clone()),
            tool: call.name.clone(),
            action: action(&call.name, argument),
            summary,
            requested_at: now,
            expires_at: now.saturating_add(timeout),
        }
    }

    async fn run_tools(&mut self, calls: Vec<ToolCall>) -> Result<(), AgentError> {
        let offered = self.offered();
        let mut batch: Vec<Prepared> = Vec::new();
        for call in calls {
            let prepared = self.prepare(call, &offered)?;
            let alone = matches!(
                prepared,
                Prepared::Ready {
                    concurrent: false,
                    ..
                }
            );
            if alone {
                self.finish_batch(std::mem::take(&mut batch)).await;
                // A call with effects runs only once every earlier result is durable.
                self.sink.commit(Vec::new()).await?;
                let output = self.run_alone(prepared).await?;
                self.record(output);
            } else {
                batch.push(prepared);
            }
        }
        self.finish_batch(batch).await;
        Ok(())
    }

    /// Runs a batch of concurrent read-only calls (and already answered ones), then records
    /// their results in call order.
    async fn finish_batch(&mut self, batch: Vec<Prepared>) {
        let outputs = futures::future::join_all(batch.into_iter().map(|p| self.execute(p))).await;
        for output in outputs {
            self.record(output);
        }
    }

    /// Asks for approval when needed, then runs one call.
    async fn run_alone(&self, prepared: Prepared) -> Result<(ToolCall, ToolOutput), AgentError> {
        if let Prepared::Ready {
            call,
            tool,
            args,
            ask: true,
            ..
        } = prepared
        {
            let argument = tool.rule_argument(&args);
            let request = self.approval_request(&call, argument.as_deref());
            let shown = request.action.clone();
            let answer = self
                .agent
                .broker
                .ask(&self.sink, request, &self.cancel)
                .await?;
            if !answer.decision.allows() {
                let why = match answer.who {
                    Some(who) if answer.by == lathe_protocol::Surface::Policy => {
                        format!("denied: `{shown}` was not approved ({who})")
                    }
                    _ => format!(
                        "denied: the user refused `{shown}`; do not retry it, ask or do something else"
                    ),
                };
                return Ok((call, ToolOutput::error(why)));
            }
            return Ok(self
                .execute(Prepared::Ready {
                    call,
                    tool,
                    args,
                    ask: false,
                    concurrent: false,
                })
                .await);
        }
        Ok(self.execute(prepared).await)
    }

    /// Runs a call, isolating panics and honouring cancellation.
    async fn execute(&self, prepared: Prepared) -> (ToolCall, ToolOutput) {
        let (call, tool, args) = match prepared {
            Prepared::Answered { call, output } => return (call, output),
            Prepared::Ready {
                call, tool, args, ..
            } => (call, tool, args),
        };
        if self.cancel.is_cancelled() {
            return (call, ToolOutput::error("cancelled before the tool ran"));
        }
        let ctx = ToolContext {
            workspace: self.agent.config.workspace.clone(),
            session_id: self.session.id.clone(),
            run_id: self.run_id.clone(),
            tool_call_id: call.id.clone(),
            sink: self.sink.clone(),
            cancel: self.cancel.child_token(),
            reads: self.reads.clone(),
        };
        let task = tokio::spawn(tool.call(ctx, args));
        let output = match task.await {
            Ok(output) => output,
            Err(error) => ToolOutput::error(format!("the tool `{}` crashed: {error}", call.name)),
        };
        (call, output)
    }

    /// Queues a result (truncated for the model) and adds it to the history.
    fn record(&mut self, (call, output): (ToolCall, ToolOutput)) {
        let content = self
            .counter
            .truncate_middle(&output.content, self.agent.config.max_tool_output_tokens);
        let message_id = MessageId::new();
        self.sink.emit(EventPayload::ToolCallResult {
            message_id: message_id.clone(),
            tool_call_id: call.id.clone(),
            content: content.clone(),
            is_error: output.is_error,
        });
        self.history.push(Message {
            id: message_id,
            role: Role::Tool,
            content,
            tool_calls: Vec::new(),
            tool_call_id: Some(call.id),
        });
    }
}

fn assistant(id: MessageId, content: String, tool_calls: Vec<ToolCall>) -> Message {
    Message {
        id,
        role: Role::Assistant,
        content,
        tool_calls,
        tool_call_id: None,
    }
}
