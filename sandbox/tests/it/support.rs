//! Shared fixtures: a real Docker engine (from `DOCKER_HOST`, set by `.ci/dockerd.sh`), a
//! workspace owned by a normal user, a private home per test (so tests never share a daemon
//! hash), and helpers to run commands and collect their streamed output.

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::time::Duration;

use lathe_sandbox::{
    DaemonId, DockerSandbox, ExecOutcome, ExecRequest, OutputChunk, OutputStream, Sandbox,
    SandboxConfig, SessionSpec, WorkspaceAccess,
};
use tokio::sync::mpsc;

/// The uid/gid that owns test workspaces (commands must run as a normal user).
pub const OWNER: u32 = 1000;

/// A temporary tree: `root/ws` is the workspace (with a `.git`), `root/outside` is not.
pub struct Fixture {
    pub root: tempfile::TempDir,
    pub session: SessionSpec,
    pub daemon: DaemonId,
}

impl Fixture {
    pub fn new(access: WorkspaceAccess) -> Self {
        let root = tempfile::tempdir().unwrap();
        std::fs::set_permissions(root.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
        let ws = root.path().join("ws");
        std::fs::create_dir_all(ws.join(".git")).unwrap();
        std::fs::write(ws.join(".git/HEAD"), "ref: refs/heads/main\n").unwrap();
        std::fs::write(ws.join("hello.txt"), "hello from the workspace\n").unwrap();
        std::fs::create_dir_all(root.path().join("outside")).unwrap();
        std::fs::write(root.path().join("outside/secret.txt"), "top secret\n").unwrap();
        chown_tree(&ws, OWNER);
        let daemon = DaemonId::from_home(&root.path().join("home"));
        let id = format!(
            "test-{}",
            root.path().file_name().unwrap().to_string_lossy()
        );
        Self {
            session: SessionSpec {
                id,
                workspace: ws,
                access,
            },
            daemon,
            root,
        }
    }

    pub fn workspace(&self) -> &Path {
        &self.session.workspace
    }

    pub fn outside(&self) -> PathBuf {
        self.root.path().join("outside/secret.txt")
    }
}

impl Drop for Fixture {
    /// Removes this fixture's containers even when the test panicked before `end_session`, so
    /// that a failed test never leaves a fork bomb running.
    fn drop(&mut self) {
        let script = format!(
            "docker ps -aq --filter label=lathe.daemon={} | xargs -r docker rm -f >/dev/null 2>&1",
            self.daemon
        );
        let _status = std::process::Command::new("sh")
            .arg("-c")
            .arg(script)
            .status();
    }
}

/// Gives `path` and everything under it to `uid` (when running as root; otherwise the tree is
/// already the current user's).
pub fn chown_tree(path: &Path, uid: u32) {
    if std::os::unix::fs::MetadataExt::uid(&std::fs::metadata("/proc/self").unwrap()) != 0 {
        return;
    }
    let status = std::process::Command::new("chown")
        .args(["-R", &format!("{uid}:{uid}")])
        .arg(path)
        .status()
        .unwrap();
    assert!(status.success());
}

/// A config with short timeouts for tests.
pub fn config() -> SandboxConfig {
    SandboxConfig {
        kill_grace_ms: 500,
        ..SandboxConfig::default()
    }
}

/// Connects to the engine of `DOCKER_HOST`; fails the test loudly when there is none.
pub async fn docker(config: SandboxConfig, daemon: &DaemonId) -> DockerSandbox {
    match DockerSandbox::connect(config, daemon.clone()).await {
        Ok(d) => d,
        Err(e) => panic!(
            "these tests need a real Docker engine: {e}\n\
             run `source .ci/dockerd.sh` (as root) first; it starts dockerd and exports DOCKER_HOST"
        ),
    }
}

/// Output of one run: the outcome and what was streamed, per stream.
pub struct Run {
    pub outcome: ExecOutcome,
    pub streamed_stdout: Vec<u8>,
    pub streamed_stderr: Vec<u8>,
}

impl Run {
    pub fn stdout(&self) -> String {
        self.outcome.stdout.text()
    }

    pub fn stderr(&self) -> String {
        self.outcome.stderr.text()
    }
}

pub async fn run(sandbox: &dyn Sandbox, session: &SessionSpec, request: ExecRequest) -> Run {
    let (tx, mut rx) = mpsc::channel(16);
    let collect = tokio::spawn(async move {
        let (mut out, mut err) = (Vec::new(), Vec::new());
        while let Some(OutputChunk { stream, bytes }) = rx.recv().await {
            match stream {
                OutputStream::Stdout => out.extend_from_slice(&bytes),
                OutputStream::Stderr => err.extend_from_slice(&bytes),
            }
        }
        (out, err)
    });
    let outcome = sandbox.exec(session, request, Some(tx)).await.unwrap();
    let (streamed_stdout, streamed_stderr) = collect.await.unwrap();
    Run {
        outcome,
        streamed_stdout,
        streamed_stderr,
    }
}

pub async fn sh(sandbox: &dyn Sandbox, session: &SessionSpec, script: &str) -> Run {
    run(
        sandbox,
        session,
        ExecRequest::shell(script).with_timeout(Duration::from_secs(60)),
    )
    .await
}

/// The host's primary non-loopback address (no packet is sent).
pub fn host_ip() -> std::net::IpAddr {
    let socket = std::net::UdpSocket::bind("0.0.0.0:0").unwrap();
    socket.connect("8.8.8.8:53").unwrap();
    socket.local_addr().unwrap().ip()
}

/// Imports a tiny busybox image (no python3, so every command is its own docker exec) into the
/// engine at `host` as `tag`, offline, from the host's static busybox.
pub fn import_busybox(host: &str, tag: &str) {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    std::fs::create_dir_all(root.join("bin")).unwrap();
    for d in ["tmp", "workspace", "proc", "sys", "dev", "etc"] {
        std::fs::create_dir_all(root.join(d)).unwrap();
    }
    std::fs::copy("/bin/busybox", root.join("bin/busybox"))
        .expect("busybox-static must be installed (source .ci/dockerd.sh installs it)");
    for applet in [
        "sh", "sleep", "cat", "grep", "kill", "echo", "true", "ls", "sort", "uniq", "sed", "id",
    ] {
        std::os::unix::fs::symlink("busybox", root.join("bin").join(applet)).unwrap();
    }
    let import = std::process::Command::new("sh")
        .arg("-c")
        .arg(format!(
            "tar -C '{}' -c . | docker -H '{host}' import -c 'ENV PATH=/bin' - '{tag}'",
            root.display()
        ))
        .output()
        .unwrap();
    assert!(
        import.status.success(),
        "{}",
        String::from_utf8_lossy(&import.stderr)
    );
}

/// Removes an image when dropped.
pub struct ImageGuard {
    pub host: String,
    pub tag: String,
}

impl Drop for ImageGuard {
    fn drop(&mut self) {
        let _status = std::process::Command::new("docker")
            .args(["-H", &self.host, "rmi", "-f", &self.tag])
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .status();
    }
}

/// The engine address the tests use.
pub fn shared_host() -> String {
    std::env::var("DOCKER_HOST").unwrap_or_else(|_| "unix:///var/run/docker.sock".to_owned())
}

/// Lists the container's processes (by name, sorted) with shell builtins only, so that the
/// listing itself adds no process but the shell running it.
pub const PROCESSES: &str =
    "for p in /proc/[0-9]*; do read c < $p/comm && echo $c; done 2>/dev/null";

/// The sorted process names printed by [`PROCESSES`].
pub fn process_names(stdout: &str) -> Vec<String> {
    let mut names: Vec<String> = stdout.lines().map(str::to_owned).collect();
    names.sort();
    names
}

/// Starts `script` (which prints before it waits), and once its first output arrived drops
/// the exec, as a cancelled run does.
pub async fn cancel_once_started(sandbox: &dyn Sandbox, session: &SessionSpec, script: &str) {
    let (tx, mut rx) = mpsc::channel(16);
    let request = ExecRequest::shell(script).with_timeout(Duration::from_secs(600));
    let exec = sandbox.exec(session, request, Some(tx));
    tokio::select! {
        outcome = exec => panic!("the command ended by itself: {outcome:?}"),
        chunk = rx.recv() => assert!(chunk.is_some(), "the command printed nothing"),
    }
}

/// Waits (up to 20 s) until the container's processes are `expected`; the last listing.
pub async fn wait_for_processes(
    sandbox: &dyn Sandbox,
    session: &SessionSpec,
    expected: &[&str],
) -> Vec<String> {
    let deadline = std::time::Instant::now() + Duration::from_secs(20);
    loop {
        let names = process_names(&sh(sandbox, session, PROCESSES).await.stdout());
        if names == expected || std::time::Instant::now() > deadline {
            return names;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}
