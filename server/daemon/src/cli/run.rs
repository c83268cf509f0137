//! `lathe run "<prompt>"`: one headless agent task in a workspace (default: the current
//! directory). Prints the answer, or with `--json` every event of the run as one JSON object
//! per line. Approvals follow `--approval`: on a terminal the user is asked, without one a
//! request is denied and the reason printed. Exit status: 0 finished, 1 failed (with a
//! message on stderr), 130 cancelled (Ctrl-C, SIGTERM or SIGHUP, which end the run cleanly
//! so that its sandbox is released). The workspace's MCP servers run for the
//! duration of the task and their tools are offered like the built-ins; the run's sandbox
//! (its container, for docker) is released when the task ends, however it ends.

use crate::agents;
use crate::paths::Paths;
use crate::sandboxes::Sandboxes;
use anyhow::Context;
use lathe_agent::{Agent, Approver, HeadlessOptions, RunRegistry, exit_code, run_headless};
use lathe_protocol::config::ApprovalMode;
use lathe_protocol::skill::{SkillKind, SkillVars};
use lathe_protocol::{CustomEvent, Event, EventPayload, SessionId};
use lathe_workspace::{UndoMode, WorkspaceError};
use std::io::{IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

#[derive(Debug, clap::Args)]
pub struct RunArgs {
    /// What to do (a skill's input; optional with `--skill`).
    #[arg(required_unless_present = "skill")]
    prompt: Option<String>,
    /// Print every event as one JSON object per line.
    #[arg(long)]
    json: bool,
    /// Approval mode for this run.
    #[arg(long, value_enum)]
    approval: Option<ApprovalArg>,
    /// Run a skill; the prompt becomes its input.
    #[arg(long)]
    skill: Option<String>,
    /// A named argument of the skill (repeatable), such as `--arg to="Python 3.12"`.
    #[arg(long = "arg", value_name = "NAME=VALUE", requires = "skill", value_parser = skill_argument)]
    arguments: Vec<(String, String)>,
    /// The file the skill is about: its `{{file}}` and `{{language}}`.
    #[arg(long, requires = "skill")]
    file: Option<PathBuf>,
    /// The workspace (default: the current directory).
    #[arg(long)]
    workspace: Option<PathBuf>,
    /// Continue a stored session (in its workspace, unless `--workspace` names it).
    #[arg(long)]
    session: Option<String>,
    /// With `--skill undo`: restore the checkpoint even over changes made after the run.
    #[arg(long, requires = "session")]
    force: bool,
}

/// `NAME=VALUE`, split at the first `=`.
fn skill_argument(raw: &str) -> Result<(String, String), String> {
    match raw.split_once('=') {
        Some((name, value)) if !name.trim().is_empty() => {
            Ok((name.trim().to_owned(), value.to_owned()))
        }
        _ => Err(format!("expected NAME=VALUE, got `{raw}`")),
    }
}

#[derive(Clone, Copy, Debug, clap::ValueEnum)]
enum ApprovalArg {
    ReadOnly,
    Ask,
    Auto,
}

impl From<ApprovalArg> for ApprovalMode {
    fn from(value: ApprovalArg) -> Self {
        match value {
            ApprovalArg::ReadOnly => ApprovalMode::ReadOnly,
            ApprovalArg::Ask => ApprovalMode::Ask,
            ApprovalArg::Auto => ApprovalMode::Auto,
        }
    }
}

/// Prints an event for humans (stderr progress; the answer goes to stdout at the end).
fn show(event: &Event) {
    match &event.payload {
        EventPayload::ToolCallStart { tool_call_name, .. } => {
            esay!("· {tool_call_name}");
        }
        EventPayload::ToolCallResult {
            is_error: true,
            content,
            ..
        } => {
            let first = content.lines().next().unwrap_or_default();
            esay!("  ✗ {first}");
        }
        EventPayload::Custom(CustomEvent::FileChanged(change)) => {
            esay!("  changed {}", change.path);
        }
        _ => {}
    }
}

pub async fn run(args: RunArgs, paths: Paths) -> anyhow::Result<ExitCode> {
    // Warnings (retries, MCP servers) on stderr, everything in the rolling log.
    let _logs = crate::logging::init(Some(&paths.log_dir()), true);
    paths.create().context("creating Lathe's directories")?;
    let store = lathe_store::Store::open(&paths.store_file())?;
    let workspace = match (args.workspace.clone(), &args.session) {
        (Some(dir), _) => dir,
        // A stored session continues in its own workspace.
        (None, Some(id)) => match store.session(&SessionId::from(id.as_str()))? {
            Some(meta) => PathBuf::from(meta.workspace),
            None => anyhow::bail!("no session {id} in the store"),
        },
        (None, None) => std::env::current_dir().context("reading the current directory")?,
    };
    let snapshot = lathe_skills::Registry::new(paths.skill_roots(Some(&workspace))).snapshot();
    let action = args
        .skill
        .as_deref()
        .and_then(|name| snapshot.get(name))
        .filter(|skill| skill.spec().kind == SkillKind::Action)
        .map(|skill| skill.name().to_owned());
    let is_undo = action.as_deref() == Some(lathe_agent::UNDO_SKILL);
    if action.as_deref() == Some("help")
        && args.prompt.as_deref().is_none_or(|p| p.trim().is_empty())
    {
        // `/help` without a question is the list of commands, not a question for the model.
        let listing = snapshot.listing(None);
        if args.json {
            say!("{}", serde_json::to_string(&listing)?);
        } else {
            say_raw!("{}", listing.to_text());
        }
        return Ok(ExitCode::SUCCESS);
    }
    anyhow::ensure!(
        is_undo || !args.force,
        "--force only applies to `--skill undo`"
    );
    if is_undo {
        return undo(
            &paths,
            &store,
            &workspace,
            args.session.as_deref(),
            args.json,
            args.force,
        );
    }
    let sandboxes = Sandboxes::for_process(&paths);
    let prepared = agents::prepare(
        &paths,
        &sandboxes,
        &workspace,
        &agents::Overrides::default(),
    )
    .await?;
    for warning in &prepared.warnings {
        esay!("lathe: {warning}");
    }
    let broker = agents::shared_broker(&store);
    let (hub, problems) = agents::start_hub(&paths, &prepared.config, &prepared.workspace, None);
    for problem in &problems {
        esay!("lathe: {problem}");
    }
    let runs = RunRegistry::with_locks(paths.session_locks());
    let result = match prepared.agent(store, &broker, &runs, &hub, None) {
        Ok(agent) => run_agent(args, &paths, &prepared.workspace, &agent, &hub).await,
        Err(error) => Err(error),
    };
    hub.shutdown().await;
    sandboxes.shutdown().await;
    result
}

async fn run_agent(
    args: RunArgs,
    paths: &Paths,
    workspace: &Path,
    agent: &Agent,
    hub: &lathe_mcp::Hub,
) -> anyhow::Result<ExitCode> {
    hub.ready().await;
    for server in hub.health() {
        if let Some(error) = &server.last_error {
            esay!("lathe: MCP server {}: {error}", server.name);
        }
    }
    let skill = match &args.skill {
        None => None,
        Some(name) => {
            let roots = paths.skill_roots(Some(workspace));
            let vars = SkillVars {
                input: args.prompt.clone().unwrap_or_default(),
                file: args
                    .file
                    .as_deref()
                    .map(|f| relative_to(f, workspace))
                    .unwrap_or_default(),
                language: args
                    .file
                    .as_deref()
                    .and_then(lathe_context::Language::from_path)
                    .map(|l| l.name().to_owned())
                    .unwrap_or_default(),
                arguments: args.arguments.iter().cloned().collect(),
                ..SkillVars::default()
            };
            let rendered = lathe_skills::Registry::new(roots)
                .snapshot()
                .render(name, &vars)
                .with_context(|| format!("skill {name}"))?;
            Some(rendered)
        }
    };

    let mut options = HeadlessOptions::new(
        args.prompt.unwrap_or_default(),
        Approver::for_terminal(std::io::stdin().is_terminal()),
    );
    options.session = args.session.map(SessionId::from);
    options.skill = skill;
    options.approval = args.approval.map(ApprovalMode::from);
    let cancel = options.cancel.clone();
    tokio::spawn(async move {
        stopped().await;
        cancel.cancel();
    });
    let json = args.json;
    let mut stdout = std::io::stdout().lock();
    let outcome = run_headless(agent, options, |event| {
        if json {
            if let Ok(line) = serde_json::to_string(event) {
                let _ = writeln!(stdout, "{line}");
                let _ = stdout.flush();
            }
        } else {
            show(event);
        }
    })
    .await?;
    if !json {
        if let Some((_, message)) = &outcome.error {
            esay!("lathe: {message}");
        } else {
            let _ = writeln!(stdout, "{}", outcome.answer);
        }
        esay!("session {}", outcome.session);
    }
    Ok(ExitCode::from(exit_code(&outcome)))
}

/// `--skill undo`: restores the files of the session's last checkpoint; the model is not
/// involved. Refused while a run of the session goes on (in any process), for a session
/// of another workspace, and (unless `force`) when files changed after the run.
fn undo(
    paths: &Paths,
    store: &lathe_store::Store,
    workspace: &Path,
    session: Option<&str>,
    json: bool,
    force: bool,
) -> anyhow::Result<ExitCode> {
    let Some(session) = session else {
        anyhow::bail!(
            "which session's run to undo? pass --session ID (`lathe sessions` lists them)"
        );
    };
    let id = SessionId::from(session);
    let Some(meta) = store.session(&id)? else {
        anyhow::bail!("no session {session} in the store");
    };
    let workspace = workspace
        .canonicalize()
        .unwrap_or_else(|_| workspace.to_owned());
    if Path::new(&meta.workspace) != workspace {
        anyhow::bail!(
            "session {session} belongs to the workspace {}, not {}",
            meta.workspace,
            workspace.display()
        );
    }
    if RunRegistry::with_locks(paths.session_locks()).is_held(&id) {
        anyhow::bail!("session {session} is running; undo once its turn ended, or cancel it");
    }
    let root = lathe_agent::tools::WorkspaceRoot::new(&workspace, &paths.state_dir);
    let report = root
        .open()
        .map_err(anyhow::Error::msg)?
        .undo_with(
            session,
            if force {
                UndoMode::Anyway
            } else {
                UndoMode::KeepLaterChanges
            },
        )
        .map_err(|error| match error {
            WorkspaceError::ChangedSinceRun { .. } => {
                anyhow::anyhow!("{error}; run it again with `--force` to undo anyway")
            }
            other => anyhow::Error::new(other),
        })
        .with_context(|| format!("undoing the last run of session {session}"))?;
    if json {
        let line = serde_json::json!({"sessionId": session, "report": report.to_string()});
        say!("{line}");
    } else {
        say!("{report}");
    }
    Ok(ExitCode::SUCCESS)
}

/// Resolves at Ctrl-C, SIGTERM or SIGHUP (a closed terminal).
async fn stopped() {
    use tokio::signal::unix::{SignalKind, signal};
    let (Ok(mut term), Ok(mut hangup)) = (
        signal(SignalKind::terminate()),
        signal(SignalKind::hangup()),
    ) else {
        let _ = tokio::signal::ctrl_c().await;
        return;
    };
    tokio::select! {
        _ = tokio::signal::ctrl_c() => {}
        _ = term.recv() => {}
        _ = hangup.recv() => {}
    }
}

/// `file` as the skill should name it: relative to the workspace when inside it.
fn relative_to(file: &Path, workspace: &Path) -> String {
    let absolute = file
        .canonicalize()
        .or_else(|_| std::path::absolute(file))
        .unwrap_or_else(|_| file.to_owned());
    absolute
        .strip_prefix(workspace)
        .unwrap_or(&absolute)
        .display()
        .to_string()
}
