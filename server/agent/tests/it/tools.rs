//! The built-in tools called directly: ranges and caps, gitignore, regex errors,
//! confinement, git, and edits that checkpoint so they can be undone.

use lathe_agent::policy::{Policy, ReadGuard};
use lathe_agent::sink::EventSink;
use lathe_agent::tools::{CodeContext, ToolContext, ToolOutput, ToolRegistry, WorkspaceRoot};
use lathe_protocol::config::{ApprovalMode, PolicyConfig};
use lathe_protocol::{RunId, SessionId, ToolCallId};
use lathe_store::Store;
use pretty_assertions::assert_eq;
use serde_json::{Value, json};
use std::path::Path;
use std::process::Command;
use tempfile::TempDir;
use tokio_util::sync::CancellationToken;

struct Bench {
    workspace: TempDir,
    state: TempDir,
    store: Store,
    tools: ToolRegistry,
    session: SessionId,
    reads: ReadGuard,
}

fn git(dir: &Path, args: &[&str]) {
    let status = Command::new("git")
        .args([
            "-c",
            "user.name=t",
            "-c",
            "user.email=t@t",
            "-c",
            "commit.gpgsign=false",
        ])
        .args(args)
        .current_dir(dir)
        .status()
        .unwrap();
    assert!(status.success(), "git {args:?}");
}

impl Bench {
    fn new() -> Bench {
        let workspace = tempfile::tempdir().unwrap();
        let root = workspace.path();
        std::fs::create_dir_all(root.join("src")).unwrap();
        std::fs::create_dir_all(root.join("target")).unwrap();
        let long: String = (1..=3000).map(|i| format!("line {i}\n")).collect();
        std::fs::write(root.join("src/long.txt"), long).unwrap();
        std::fs::write(
            root.join("src/main.rs"),
            "fn main() {\n    println!(\"hi\");\n}\n",
        )
        .unwrap();
        std::fs::write(root.join("target/built.rs"), "fn main() {}\n").unwrap();
        std::fs::write(root.join(".gitignore"), "target/\n").unwrap();
        git(root, &["init", "-q"]);
        git(root, &["add", "."]);
        git(root, &["commit", "-q", "-m", "first commit"]);
        let state = tempfile::tempdir().unwrap();
        let store = Store::open(&state.path().join("s.redb")).unwrap();
        let tools = ToolRegistry::builtins(
            &WorkspaceRoot::new(root.canonicalize().unwrap(), state.path()),
            None,
            lathe_sandbox::WorkspaceAccess::WorkspaceWrite,
        );
        Bench {
            workspace,
            state,
            store,
            tools,
            session: SessionId::new(),
            reads: ReadGuard::default(),
        }
    }

    async fn call(&self, name: &str, args: Value) -> ToolOutput {
        let ctx = ToolContext {
            workspace: self.workspace.path().canonicalize().unwrap(),
            session_id: self.session.clone(),
            run_id: RunId::from("run-1"),
            tool_call_id: ToolCallId::from("call-1"),
            sink: EventSink::new(self.store.clone(), self.session.clone()),
            cancel: CancellationToken::new(),
            reads: self.reads.clone(),
        };
        self.tools.get(name).unwrap().call(ctx, args).await
    }
}

#[tokio::test]
async fn read_file_numbers_lines_pages_long_files_and_stays_inside() {
    let b = Bench::new();
    let out = b
        .call(
            "read_file",
            json!({"path": "src/long.txt", "start_line": 2, "end_line": 3}),
        )
        .await;
    assert_eq!(out, ToolOutput::ok("2\tline 2\n3\tline 3\n"));
    let out = b.call("read_file", json!({"path": "src/long.txt"})).await;
    assert!(out.content.ends_with(
        "2000\tline 2000\n[showing lines 1-2000 of 3000; read more with start_line=2001]\n"
    ));
    let out = b.call("read_file", json!({"path": "../etc/passwd"})).await;
    assert_eq!(
        out,
        ToolOutput::error("path \"../etc/passwd\" contains `..`; use a path inside the workspace")
    );
    let out = b.call("read_file", json!({"path": "missing.rs"})).await;
    assert!(
        out.is_error && out.content.starts_with("cannot read missing.rs"),
        "{out:?}"
    );
}

#[tokio::test]
async fn list_files_and_search_respect_gitignore() {
    let b = Bench::new();
    let out = b.call("list_files", json!({})).await;
    assert_eq!(out, ToolOutput::ok(".gitignore\nsrc/long.txt\nsrc/main.rs"));
    let out = b.call("search", json!({"pattern": "fn main"})).await;
    assert_eq!(out, ToolOutput::ok("src/main.rs:1: fn main() {"));
    let out = b
        .call("search", json!({"pattern": "line \\d+", "max_results": 2}))
        .await;
    assert_eq!(
        out,
        ToolOutput::ok(
            "src/long.txt:1: line 1\nsrc/long.txt:2: line 2\n[stopped at 2 matches; narrow the \
             pattern or the path]"
        )
    );
    let mut guarded = Bench::new();
    guarded.reads = Policy::from_config(&PolicyConfig {
        mode: ApprovalMode::Ask,
        allow: vec![],
        ask: vec![],
        deny: vec!["Read(./src/main.rs)".into()],
        approval_timeout_secs: None,
    })
    .unwrap()
    .read_guard();
    let out = guarded
        .call("search", json!({"pattern": "fn main|hi"}))
        .await;
    assert_eq!(
        out,
        ToolOutput::ok("no matches for \"fn main|hi\" under ."),
        "a file denied to read_file is not searched"
    );
    let out = b.call("search", json!({"pattern": "("})).await;
    assert!(
        out.is_error && out.content.starts_with("invalid regex \"(\""),
        "{out:?}"
    );
}

#[tokio::test]
async fn git_shows_status_diff_and_log() {
    let b = Bench::new();
    std::fs::write(b.workspace.path().join("src/main.rs"), "fn main() {}\n").unwrap();
    let status = b.call("git", json!({"command": "status"})).await;
    assert!(
        !status.is_error && status.content.contains("src/main.rs"),
        "{status:?}"
    );
    let diff = b.call("git", json!({"command": "diff"})).await;
    assert!(diff.content.contains("-    println!(\"hi\");"), "{diff:?}");
    let log = b.call("git", json!({"command": "log"})).await;
    assert!(log.content.contains("first commit"), "{log:?}");
    let bad = b.call("git", json!({"command": "push"})).await;
    assert_eq!(
        bad,
        ToolOutput::error("unknown git command \"push\"; use status, diff or log")
    );
}

#[tokio::test]
async fn edits_are_checkpointed_and_can_be_undone() {
    let b = Bench::new();
    let out = b
        .call(
            "edit_file",
            json!({"path": "src/main.rs", "old_string": "println!(\"hi\");", "new_string": "println!(\"bye\");"}),
        )
        .await;
    assert_eq!(out, ToolOutput::ok("edited src/main.rs: 1 hunk, +1 -1\n"));
    let main = b.workspace.path().join("src/main.rs");
    assert!(std::fs::read_to_string(&main).unwrap().contains("bye"));
    let failed = b
        .call(
            "edit_file",
            json!({"path": "src/main.rs", "old_string": "no such text", "new_string": "x"}),
        )
        .await;
    assert!(failed.is_error, "{failed:?}");
    let workspace = lathe_workspace::Workspace::open(b.workspace.path(), b.state.path()).unwrap();
    let checkpoints = workspace.checkpoints(b.session.as_str()).unwrap();
    assert_eq!(checkpoints.len(), 1);
    workspace.undo(b.session.as_str()).unwrap();
    assert!(std::fs::read_to_string(&main).unwrap().contains("hi"));
    let escape = b
        .call("write_file", json!({"path": ".git/config", "content": "x"}))
        .await;
    assert!(escape.is_error, "{escape:?}");
}

#[tokio::test]
async fn code_context_with_the_repo_index_shows_definitions_from_other_files() {
    let mut b = Bench::new();
    let root = b.workspace.path();
    std::fs::write(
        root.join("src/geometry.rs"),
        "pub fn circle_area(radius: f64) -> f64 {\n    3.14 * radius * radius\n}\n",
    )
    .unwrap();
    std::fs::write(
        root.join("src/report.rs"),
        "pub fn report() -> String {\n    format!(\"{}\", circle_area(2.0))\n}\n",
    )
    .unwrap();
    let args = json!({"path": "src/report.rs", "symbol": "report"});
    let signature = "pub fn circle_area(radius: f64) -> f64";
    let alone = b.call("code_context", args.clone()).await;
    assert!(
        !alone.is_error && !alone.content.contains(signature),
        "{alone:?}"
    );
    b.tools
        .register(std::sync::Arc::new(CodeContext::with_repo_index(
            b.state.path().join("repo-index"),
        )));
    let indexed = b.call("code_context", args).await;
    assert!(!indexed.is_error, "{indexed:?}");
    assert!(indexed.content.contains(signature), "{}", indexed.content);
}

#[tokio::test]
async fn code_context_gives_outlines_and_symbol_context() {
    let b = Bench::new();
    std::fs::write(
        b.workspace.path().join("src/shapes.rs"),
        "use std::f64::consts::PI;\n\npub struct Circle { r: f64 }\n\nimpl Circle {\n    pub fn area(&self) -> f64 {\n        PI * self.r * self.r\n    }\n}\n",
    )
    .unwrap();
    let outline = b
        .call("code_context", json!({"path": "src/shapes.rs"}))
        .await;
    assert!(!outline.is_error, "{outline:?}");
    assert!(outline.content.contains("area"), "{outline:?}");
    let symbol = b
        .call(
            "code_context",
            json!({"path": "src/shapes.rs", "symbol": "Circle::area"}),
        )
        .await;
    assert!(!symbol.is_error, "{symbol:?}");
    assert!(
        symbol.content.contains("PI * self.r * self.r"),
        "{symbol:?}"
    );
    let missing = b
        .call(
            "code_context",
            json!({"path": "src/shapes.rs", "symbol": "Square"}),
        )
        .await;
    assert!(missing.is_error && missing.content.starts_with("no definition named `Square`"));
}
