//! `run_command`: a shell command in the session's sandbox (lathe-sandbox), its output
//! streamed as `sandbox.output` events while it runs and returned (bounded head+tail by the
//! sandbox) with the exit code; a `sandbox.exited` event records how a command that ran
//! to its end (or its timeout) ended and how long it ran: one cancelled or that could not
//! start records none.
//!
//! Invariants: the command runs only through the [`Sandbox`] trait (the `none` backend runs
//! on the host, which the policy turns into an approval for every command); cancelling the
//! run drops the exec, which ends the command; a failing command is an error result with
//! its output, not a failed run.

use super::{Tool, ToolContext, ToolKind, ToolOutput, string_arg, usize_arg};
use crate::model::ToolSpec;
use futures::FutureExt;
use futures::future::BoxFuture;
use lathe_protocol::event::{OutputStream as EventStream, SandboxExited, SandboxOutput};
use lathe_protocol::{CustomEvent, EventPayload};
use lathe_sandbox::{
    ExecOutcome, ExecRequest, OutputStream, Sandbox, SessionSpec, Utf8Chunks, WorkspaceAccess,
};
use serde_json::{Value, json};
use std::sync::Arc;
use std::time::Duration;

/// `run_command`.
pub struct RunCommand {
    sandbox: Arc<dyn Sandbox>,
    access: WorkspaceAccess,
}

impl std::fmt::Debug for RunCommand {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RunCommand")
            .field("sandbox", &self.sandbox.kind())
            .finish()
    }
}

impl RunCommand {
    /// Runs commands in `sandbox` with the workspace mounted with `access`.
    pub fn new(sandbox: Arc<dyn Sandbox>, access: WorkspaceAccess) -> Self {
        Self { sandbox, access }
    }
}

fn render(outcome: &ExecOutcome) -> String {
    let mut out = format!("exit code {}", outcome.exit_code());
    if let Some(note) = outcome.note() {
        out.push_str(&format!(" ({note})"));
    }
    out.push_str(&format!(", {} ms\n", outcome.duration_ms));
    for (name, captured) in [("stdout", &outcome.stdout), ("stderr", &outcome.stderr)] {
        if captured.total_bytes > 0 {
            out.push_str(&format!("--- {name} ---\n{}", captured.text()));
            if !out.ends_with('\n') {
                out.push('\n');
            }
        }
    }
    out
}

impl Tool for RunCommand {
    fn spec(&self) -> ToolSpec {
        ToolSpec {
            name: "run_command".into(),
            description: "Run a shell command (`/bin/sh -c`) in the workspace's sandbox: the \
                 workspace is at the working directory, there is no network. Returns the exit \
                 code and the output (long output keeps its head and tail). Use it to build, \
                 test and inspect; prefer the file tools to read and change files."
                .into(),
            parameters: json!({
                "type": "object",
                "properties": {
                    "command": {"type": "string", "description": "The command line."},
                    "cwd": {"type": "string", "description": "Working directory, workspace-relative."},
                    "timeout_secs": {"type": "integer", "minimum": 1}
                },
                "required": ["command"],
                "additionalProperties": false
            }),
        }
    }

    fn kind(&self) -> ToolKind {
        ToolKind::Command
    }

    fn rule_argument(&self, args: &Value) -> Option<String> {
        args.get("command")
            .and_then(Value::as_str)
            .map(|c| c.trim().to_owned())
    }

    fn call(&self, ctx: ToolContext, args: Value) -> BoxFuture<'static, ToolOutput> {
        let sandbox = self.sandbox.clone();
        let access = self.access;
        async move {
            let command = match string_arg(&args, "command") {
                Ok(command) => command.to_owned(),
                Err(error) => return ToolOutput::error(error),
            };
            let mut request = ExecRequest::shell(command);
            if let Some(cwd) = args.get("cwd").and_then(Value::as_str) {
                request = request.with_cwd(cwd);
            }
            match usize_arg(&args, "timeout_secs") {
                Ok(Some(secs)) => {
                    request = request.with_timeout(Duration::from_secs(secs as u64));
                }
                Ok(None) => {}
                Err(error) => return ToolOutput::error(error),
            }
            let session = SessionSpec {
                id: ctx.session_id.to_string(),
                workspace: ctx.workspace.clone(),
                access,
            };
            let (tx, mut rx) = tokio::sync::mpsc::channel::<lathe_sandbox::OutputChunk>(64);
            let sink = ctx.sink.clone();
            let call_id = ctx.tool_call_id.clone();
            let forward = tokio::spawn(async move {
                let emit = |stream, text: String| {
                    if !text.is_empty() {
                        sink.emit(EventPayload::Custom(CustomEvent::SandboxOutput(
                            SandboxOutput {
                                tool_call_id: Some(call_id.clone()),
                                stream,
                                text,
                            },
                        )));
                    }
                };
                let (mut stdout, mut stderr) = (Utf8Chunks::default(), Utf8Chunks::default());
                while let Some(chunk) = rx.recv().await {
                    match chunk.stream {
                        OutputStream::Stdout => {
                            emit(EventStream::Stdout, stdout.decode(&chunk.bytes));
                        }
                        OutputStream::Stderr => {
                            emit(EventStream::Stderr, stderr.decode(&chunk.bytes));
                        }
                    }
                }
                emit(EventStream::Stdout, stdout.finish());
                emit(EventStream::Stderr, stderr.finish());
            });
            let outcome = tokio::select! {
                outcome = sandbox.exec(&session, request, Some(tx)) => Some(outcome),
                () = ctx.cancel.cancelled() => None,
            };
            let _ = forward.await;
            if let Some(Ok(outcome)) = &outcome {
                ctx.sink
                    .emit(EventPayload::Custom(CustomEvent::SandboxExited(
                        SandboxExited {
                            tool_call_id: Some(ctx.tool_call_id.clone()),
                            backend: sandbox.kind().name().to_owned(),
                            exit_code: outcome.exit_code(),
                            duration_ms: outcome.duration_ms,
                        },
                    )));
            }
            match outcome {
                None => ToolOutput::error("cancelled: the command was stopped"),
                Some(Err(error)) => {
                    ToolOutput::error(format!("the sandbox could not run it: {error}"))
                }
                Some(Ok(outcome)) if outcome.success() => ToolOutput::ok(render(&outcome)),
                Some(Ok(outcome)) => ToolOutput::error(render(&outcome)),
            }
        }
        .boxed()
    }
}
