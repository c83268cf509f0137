//! `workspace/executeCommand`: the commands of DESIGN.md §10 (see [`crate::ext`]).
//!
//! Invariants: a command that starts a run answers with `{sessionId, progressToken}` as
//! soon as the run is spawned; a command that needs the user's choice (Run skill… without a
//! skill) answers at once and asks in the background; arguments are one JSON object,
//! checked, and a wrong shape is an `InvalidParams` error naming the command.

use crate::actions::{self, Action, ActionArgs, Outcome};
use crate::chat;
use crate::connection::Conn;
use crate::error::LspError;
use crate::ext;
use crate::from_proto;
use crate::pick::pick;
use crate::runs::{self, RunPlan};
use lathe_protocol::skill::{SkillKind, SkillVars};
use lathe_protocol::{ApprovalDecision, ApprovalId, SessionId};
use lathe_workspace::UndoMode;
use serde::Deserialize;
use serde::de::DeserializeOwned;
use serde_json::{Value, json};
use std::sync::Arc;
use std::time::Duration;
use tower_lsp_server::gen_lsp_types as lsp;

/// How long the user has to pick a skill for "Run skill…" or answer "Undo anyway?".
const PICK_TIMEOUT: Duration = Duration::from_secs(300);

fn args<T: DeserializeOwned>(command: &str, value: Value) -> Result<T, LspError> {
    let value = if value.is_null() { json!({}) } else { value };
    serde_json::from_value(value).map_err(|e| LspError::bad_arguments(command, e.to_string()))
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct UriArg {
    #[serde(default)]
    uri: Option<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct SessionArg {
    #[serde(default)]
    session_id: Option<SessionId>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct UndoArgs {
    #[serde(default)]
    session_id: Option<SessionId>,
    /// Restore the checkpoint even over changes made after the run.
    #[serde(default)]
    force: bool,
}

/// The buttons offered when an undo would lose later changes.
const UNDO_ANYWAY: &str = "Undo anyway";
const KEEP_CHANGES: &str = "Keep my changes";

#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct SkillArgs {
    #[serde(default)]
    skill: Option<String>,
    #[serde(default)]
    uri: Option<String>,
    #[serde(default)]
    range: Option<lsp::Range>,
    #[serde(default)]
    input: Option<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct AnswerArgs {
    id: ApprovalId,
    decision: ApprovalDecision,
}

pub async fn execute(
    conn: &Arc<Conn>,
    params: lsp::ExecuteCommandParams,
) -> Result<Option<Value>, LspError> {
    let command = params.command.as_str();
    let token = params.work_done_progress_params.work_done_token;
    let value = params
        .arguments
        .and_then(|a| a.into_iter().next())
        .unwrap_or(Value::Null);
    let answer = match command {
        ext::ACTION_RUN => run_action(conn, args(command, value)?, token).await?,
        ext::CHAT_SEND => chat_send(conn, args::<UriArg>(command, value)?.uri, token).await?,
        ext::SKILL_RUN => {
            let a: SkillArgs = args(command, value)?;
            let action = ActionArgs {
                action: Action::RunSkill,
                uri: a.uri.unwrap_or_default(),
                range: a.range.unwrap_or_default(),
                diagnostics: Vec::new(),
                skill: a.skill,
                input: a.input,
            };
            run_action(conn, action, token).await?
        }
        ext::RUN_CANCEL => {
            let a: SessionArg = args(command, value)?;
            let mut cancelled = conn.cancel_runs(a.session_id.as_ref());
            // A session's run that another surface (or editor) started.
            if cancelled == 0
                && let Some(session) = &a.session_id
                && let Ok(agent) = conn.agent().await
                && agent.cancel_run(session)
            {
                cancelled = 1;
            }
            json!({"cancelled": cancelled})
        }
        ext::UNDO => {
            let a: UndoArgs = args(command, value)?;
            let session = a
                .session_id
                .or_else(|| conn.last_session())
                .ok_or_else(|| {
                    LspError::bad_arguments(command, "no session to undo: this editor started none")
                })?;
            match undo(conn, &session, a.force).await? {
                Undo::Done(report) => {
                    conn.client
                        .show_message(lsp::MessageType::Info, format!("Lathe: {report}"))
                        .await;
                    json!({"sessionId": session, "undone": true, "report": report})
                }
                Undo::Kept(refusal) => {
                    json!({"sessionId": session, "undone": false, "report": refusal})
                }
            }
        }
        ext::SESSION_NEW => {
            let a: UriArg = args(command, value)?;
            let session = conn.agent().await?.create_session("chat".into()).await?;
            if let Some(uri) = a.uri {
                conn.set_chat_session(&uri, session.clone());
            }
            json!({"sessionId": session})
        }
        ext::APPROVAL_ANSWER => {
            let a: AnswerArgs = args(command, value)?;
            let who = conn.session()?.client_name.clone();
            conn.agent()
                .await?
                .answer_approval(&a.id, a.decision, Some(who))?;
            json!({"answered": a.id})
        }
        ext::DASHBOARD_OPEN => {
            let a: SessionArg = args(command, value)?;
            dashboard(conn, a.session_id.or_else(|| conn.last_session())).await?
        }
        other => return Err(LspError::UnknownCommand(other.to_owned())),
    };
    Ok(Some(answer))
}

/// Opens the dashboard on `session` (the one named, else this editor's last), or on its
/// sessions list when there is none.
async fn dashboard(conn: &Arc<Conn>, session: Option<SessionId>) -> Result<Value, LspError> {
    let base = conn.agent().await?.dashboard_url().ok_or_else(|| {
        LspError::AgentUnavailable("no dashboard is running; `lathe serve` starts one".into())
    })?;
    let url = match session {
        Some(session) => format!("{base}#/session/{session}"),
        None => base,
    };
    if conn.session()?.caps.show_document {
        let client = conn.client.clone();
        let target = url.clone();
        tokio::spawn(async move {
            let _ = client
                .show_document(lsp::ShowDocumentParams {
                    uri: lsp::Uri::from(target),
                    external: Some(true),
                    take_focus: Some(true),
                    selection: None,
                })
                .await;
        });
    }
    Ok(json!({"url": url}))
}

/// Runs a code action (or a skill on a document, or a skill alone when `uri` is empty).
async fn run_action(
    conn: &Arc<Conn>,
    args: ActionArgs,
    token: Option<lsp::ProgressToken>,
) -> Result<Value, LspError> {
    if args.action == Action::Send {
        return chat_send(conn, Some(args.uri), token).await;
    }
    let Some(skill) = args
        .skill
        .clone()
        .or_else(|| args.action.skill().map(str::to_owned))
    else {
        if !conn.session()?.caps.show_message_request {
            return Err(LspError::bad_arguments(
                ext::ACTION_RUN,
                "this editor cannot show a choice of skills: name one, e.g. \
                 {\"skill\": \"refactor\"}, or type /refactor in a chat document",
            ));
        }
        tokio::spawn(pick_skill(conn.clone(), args));
        return Ok(json!({"asked": "skill"}));
    };
    run_skill(conn, args, &skill, token).await
}

/// Runs `skill` on what `args` points at.
async fn run_skill(
    conn: &Arc<Conn>,
    args: ActionArgs,
    skill: &str,
    token: Option<lsp::ProgressToken>,
) -> Result<Value, LspError> {
    let session = conn.session()?;
    let agent = conn.agent().await?;
    let (vars, context, symbol) = if args.uri.is_empty() {
        (SkillVars::default(), String::new(), None)
    } else {
        // Parsing a large document that had no tree takes a while: not on an async worker.
        let documents = conn.documents.clone();
        let workspace = agent.workspace().to_owned();
        let (uri, range) = (args.uri.clone(), from_proto::range(args.range));
        let diagnostics = args.diagnostics.clone();
        let encoding = session.encoding;
        let focus = tokio::task::spawn_blocking(move || {
            actions::with_document(&documents, &uri, |open| {
                actions::focus(open, &workspace, range, &diagnostics, encoding)
            })
        })
        .await
        .map_err(|e| LspError::Agent(format!("computing the code context failed: {e}")))??;
        (focus.vars, focus.context, focus.symbol)
    };
    let vars = SkillVars {
        input: args.input.clone().unwrap_or_default(),
        ..vars
    };
    let mut rendered = session.skills.snapshot().render(skill, &vars)?;
    if !context.is_empty() {
        rendered.user_prompt = format!("{}\n\n## Code context\n\n{context}", rendered.user_prompt);
    }
    let label = match args.action {
        Action::RunSkill => format!("Lathe: /{}", rendered.name),
        other => other.title().to_owned(),
    };
    let title = match symbol {
        Some(symbol) => format!("{label} `{symbol}`"),
        None => label,
    };
    let outcome = match rendered.name.as_str() {
        "explain" => Outcome::Explanation,
        "review" => Outcome::Review,
        _ => args.action.outcome(),
    };
    let plan = RunPlan {
        title,
        prompt: rendered.user_prompt.clone(),
        skill: Some(rendered),
        session: None,
        outcome,
        token,
    };
    Ok(json!(runs::start(conn, plan).await?))
}

/// Asks which skill to run, then runs it.
async fn pick_skill(conn: Arc<Conn>, args: ActionArgs) {
    let Ok(session) = conn.session() else {
        return;
    };
    let names: Vec<String> = session
        .skills
        .snapshot()
        .skills()
        .iter()
        .filter(|s| s.spec().kind == SkillKind::Prompt)
        .map(|s| s.name().to_owned())
        .collect();
    let titles: Vec<&str> = names.iter().map(String::as_str).collect();
    let asked = pick(
        &conn.client,
        lsp::MessageType::Info,
        "Run which Lathe skill?".to_owned(),
        &titles,
    );
    let chosen = tokio::select! {
        answer = asked => answer,
        () = tokio::time::sleep(PICK_TIMEOUT) => return,
        () = conn.closed.cancelled() => return,
    };
    let Some(skill) = chosen else {
        return;
    };
    if let Err(error) = run_skill(&conn, args, &skill, None).await {
        conn.client
            .show_message(lsp::MessageType::Error, format!("Lathe: {error}"))
            .await;
    }
}

/// The chat document a command is about: the given one, else the only open one.
fn chat_uri(conn: &Conn, uri: Option<String>) -> Result<String, LspError> {
    if let Some(uri) = uri {
        return Ok(uri);
    }
    let open: Vec<String> = conn
        .documents
        .all()
        .iter()
        .map(|h| crate::documents::lock(h).uri.clone())
        .filter(|u| crate::documents::is_chat_uri(u))
        .collect();
    match open.as_slice() {
        [one] => Ok(one.clone()),
        [] => Err(LspError::bad_arguments(
            ext::CHAT_SEND,
            "no chat document is open; open a *.lathe.md file (e.g. .lathe/chat.lathe.md)",
        )),
        _ => Err(LspError::bad_arguments(
            ext::CHAT_SEND,
            "several chat documents are open; pass {\"uri\": …}",
        )),
    }
}

/// Sends the last user message of a chat document.
async fn chat_send(
    conn: &Arc<Conn>,
    uri: Option<String>,
    token: Option<lsp::ProgressToken>,
) -> Result<Value, LspError> {
    let uri = chat_uri(conn, uri)?;
    if let Some(streaming) = conn.chat_session(&uri)
        && conn.runs().iter().any(|run| run.session == streaming)
    {
        // A second answer heading would land inside the one still streaming.
        return Err(LspError::Agent(format!(
            "an answer is still streaming into {uri}; wait for it or cancel it ({})",
            ext::RUN_CANCEL
        )));
    }
    let session = conn.session()?;
    let text = actions::with_document(&conn.documents, &uri, |open| Ok(open.doc.text()))?;
    let turn =
        chat::last_turn(&text).map_err(|reason| LspError::bad_arguments(ext::CHAT_SEND, reason))?;
    let continued = conn.chat_session(&uri).or(turn.session.clone());
    let (prompt, skill) = match &turn.slash {
        None => (turn.prompt.clone(), None),
        Some((name, input)) => {
            let snapshot = session.skills.snapshot();
            let skill = snapshot.get(name).ok_or_else(|| {
                LspError::bad_arguments(
                    ext::CHAT_SEND,
                    format!("unknown command /{name}; type / at the start of a line for the list"),
                )
            })?;
            // `/help <question>` is answered by the model from the skill's facts and
            // `/compact` is the agent's compacting run; every other action is answered here.
            let question = skill.name() == "help" && !input.trim().is_empty();
            let run = question || skill.name() == "compact";
            if skill.spec().kind == SkillKind::Action && !run {
                return chat_action(conn, &uri, skill.name(), continued).await;
            }
            let vars = SkillVars {
                input: input.clone(),
                ..SkillVars::default()
            };
            let rendered = skill.render(&vars)?;
            (rendered.user_prompt.clone(), Some(rendered))
        }
    };
    let plan = RunPlan {
        title: "Lathe: chat".into(),
        prompt,
        skill,
        session: continued,
        outcome: Outcome::Chat { uri },
        token,
    };
    Ok(json!(runs::start(conn, plan).await?))
}

/// Built-in actions typed in a chat document (`/help` without a question, `/undo`).
async fn chat_action(
    conn: &Arc<Conn>,
    uri: &str,
    name: &str,
    session: Option<SessionId>,
) -> Result<Value, LspError> {
    let peer = conn.session()?.peer.clone();
    let text = match name {
        "help" => {
            let snapshot = conn.session()?.skills.snapshot();
            let mut lines = vec!["## Lathe\n\nSlash commands:\n".to_owned()];
            for skill in snapshot.skills() {
                lines.push(format!(
                    "- `/{}` — {}",
                    skill.name(),
                    skill.spec().description
                ));
            }
            lines.join("\n")
        }
        "undo" => {
            let session = session.ok_or_else(|| {
                LspError::bad_arguments(ext::CHAT_SEND, "this chat has no session to undo yet")
            })?;
            match undo(conn, &session, false).await {
                Ok(Undo::Done(report)) => format!("## Lathe\n\n{report}"),
                Ok(Undo::Kept(refusal)) => format!("## Lathe\n\nNothing undone: {refusal}"),
                Err(LspError::ChangedSinceRun(refusal)) => format!("## Lathe\n\n{refusal}"),
                Err(error) => return Err(error),
            }
        }
        other => {
            return Err(LspError::bad_arguments(
                ext::CHAT_SEND,
                format!("/{other} is not available in the editor"),
            ));
        }
    };
    let current = actions::with_document(&conn.documents, uri, |open| Ok(open.doc.text()))?;
    let current = &current[..chat::logical_end(&current)];
    let gap = if current.ends_with("\n\n") {
        ""
    } else if current.ends_with('\n') {
        "\n"
    } else {
        "\n\n"
    };
    chat::append(
        &peer,
        &conn.documents,
        uri,
        &format!("{gap}{text}{}", chat::NEXT_TURN),
    )
    .await?;
    Ok(json!({"answered": name}))
}

/// What an undo did.
enum Undo {
    /// The checkpoint was restored: what changed.
    Done(String),
    /// Files changed after the run and the user chose to keep them: the refusal.
    Kept(String),
}

/// Undoes the session's last run; when files changed after it, asks the user whether to
/// undo anyway (if the client shows message requests), else refuses saying how to force it.
async fn undo(conn: &Arc<Conn>, session: &SessionId, force: bool) -> Result<Undo, LspError> {
    let agent = conn.agent().await?;
    let mode = if force {
        UndoMode::Anyway
    } else {
        UndoMode::KeepLaterChanges
    };
    let refusal = match agent.undo(session, mode).await {
        Err(LspError::ChangedSinceRun(refusal)) => refusal,
        done => return done.map(Undo::Done),
    };
    if !conn.session()?.caps.show_message_request {
        return Err(LspError::ChangedSinceRun(format!(
            "{refusal}: run the command {} with {{\"sessionId\": \"{session}\", \"force\": true}}",
            ext::UNDO
        )));
    }
    let asked = pick(
        &conn.client,
        lsp::MessageType::Warning,
        format!("Lathe: {refusal}"),
        &[UNDO_ANYWAY, KEEP_CHANGES],
    );
    // No answer in time, or an editor gone, keeps the changes.
    let chosen = tokio::select! {
        answer = asked => answer,
        () = tokio::time::sleep(PICK_TIMEOUT) => None,
        () = conn.closed.cancelled() => None,
    };
    match chosen {
        Some(title) if title == UNDO_ANYWAY => {
            agent.undo(session, UndoMode::Anyway).await.map(Undo::Done)
        }
        _ => Ok(Undo::Kept(refusal)),
    }
}
