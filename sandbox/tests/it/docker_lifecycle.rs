//! The docker backend's session lifecycle: warm reuse, streaming, timeouts, output caps,
//! removal (end, idle, orphans) and the missing-image advice.

use std::time::Duration;

use lathe_sandbox::{
    CheckStatus, DockerSandbox, ExecRequest, HealthCheck, Sandbox, SandboxConfig, SandboxError,
    Termination, WorkspaceAccess, doctor,
};
use pretty_assertions::assert_eq;

use crate::support::{
    Fixture, PROCESSES, cancel_once_started, config, docker, process_names, run, sh,
    wait_for_processes,
};

/// The pid of a process that has exited.
fn dead_pid() -> u32 {
    let mut finished = std::process::Command::new("true").spawn().unwrap();
    let pid = finished.id();
    finished.wait().unwrap();
    pid
}

/// A container of the default image with `labels`, created by the docker CLI (as another
/// process would have); its id.
fn create_labelled(labels: &[String]) -> String {
    let mut create = std::process::Command::new("docker");
    create.arg("create");
    for label in labels {
        create.args(["--label", label]);
    }
    let created = create
        .args([config().image.as_str(), "true"])
        .output()
        .unwrap();
    assert!(created.status.success(), "{created:?}");
    String::from_utf8(created.stdout).unwrap().trim().to_owned()
}

async fn exists(container: &str) -> bool {
    let engine = bollard::Docker::connect_with_defaults()
        .unwrap()
        .negotiate_version()
        .await
        .unwrap();
    engine.inspect_container(container, None).await.is_ok()
}

#[tokio::test]
async fn commands_reuse_the_warm_container_and_stream_their_output() {
    let fx = Fixture::new(WorkspaceAccess::WorkspaceWrite);
    let sandbox = docker(config(), &fx.daemon).await;
    let first = sh(
        &sandbox,
        &fx.session,
        "echo one; echo two >&2; echo state > /tmp/s; mkdir sub",
    )
    .await;
    let id = sandbox.session_container(&fx.session.id).await.unwrap();
    let second = run(
        &sandbox,
        &fx.session,
        ExecRequest::argv(["sh", "-c", "cat /tmp/s; pwd; exit 7"]).with_cwd("./sub"),
    )
    .await;
    assert_eq!(
        sandbox.session_container(&fx.session.id).await.unwrap(),
        id,
        "same container"
    );
    assert_eq!(
        (first.stdout(), first.stderr(), first.outcome.termination),
        (
            "one\n".to_owned(),
            "two\n".to_owned(),
            Termination::Exited { code: 0 }
        )
    );
    assert_eq!(first.streamed_stdout, first.outcome.stdout.bytes);
    assert_eq!(first.streamed_stderr, first.outcome.stderr.bytes);
    assert_eq!(
        (second.stdout(), second.outcome.exit_code()),
        ("state\n/workspace/sub\n".to_owned(), 7)
    );
    let missing = run(
        &sandbox,
        &fx.session,
        ExecRequest::argv(["true"]).with_cwd("missing"),
    )
    .await;
    assert_eq!(
        (missing.outcome.termination, missing.stderr()),
        (
            Termination::Exited { code: 126 },
            "lathe: working directory /workspace/missing does not exist\n".to_owned()
        )
    );
    sandbox.end_session(&fx.session.id).await.unwrap();
    assert!(!exists(&id).await, "end_session removes the container");
    sandbox.end_session(&fx.session.id).await.unwrap();
}

#[tokio::test]
async fn output_arrives_while_the_command_runs() {
    let fx = Fixture::new(WorkspaceAccess::WorkspaceWrite);
    let sandbox = docker(config(), &fx.daemon).await;
    let (tx, mut rx) = tokio::sync::mpsc::channel(16);
    let request =
        ExecRequest::shell("echo first; while [ ! -e /tmp/go ]; do sleep 0.05; done; echo last");
    let session = fx.session.clone();
    let exec = {
        let sandbox = sandbox.clone();
        tokio::spawn(async move { sandbox.exec(&session, request, Some(tx)).await })
    };
    let chunk = rx.recv().await.unwrap();
    assert_eq!(
        &chunk.bytes[..],
        b"first\n",
        "the first line is streamed before the command ends"
    );
    sh(&sandbox, &fx.session, "touch /tmp/go").await;
    let outcome = exec.await.unwrap().unwrap();
    assert_eq!(outcome.stdout.text(), "first\nlast\n");
    sandbox.end_session(&fx.session.id).await.unwrap();
}

#[tokio::test]
async fn a_command_ignoring_sigterm_is_killed_at_the_timeout_and_the_container_stays() {
    let fx = Fixture::new(WorkspaceAccess::WorkspaceWrite);
    let sandbox = docker(config(), &fx.daemon).await;
    let stubborn = ExecRequest::shell(
        "trap '' TERM; setsid sh -c 'trap \"\" TERM; sleep 1000' & echo started; while :; do sleep 1; done",
    )
    .with_timeout(Duration::from_secs(2));
    let id = {
        sandbox.prepare(&fx.session).await.unwrap();
        sandbox.session_container(&fx.session.id).await.unwrap()
    };
    let run1 = run(&sandbox, &fx.session, stubborn).await;
    assert_eq!(
        run1.outcome.termination,
        Termination::TimedOut { after_ms: 2000 }
    );
    assert_eq!(run1.outcome.exit_code(), 124);
    assert_eq!(run1.stdout(), "started\n");
    assert!(
        run1.outcome.duration_ms < 30_000,
        "killed long before the sleep ends: {}",
        run1.outcome.duration_ms
    );
    let after = sh(&sandbox, &fx.session, PROCESSES).await;
    // Left: init, the keep-alive `sleep infinity`, the exec agent and this command.
    assert_eq!(
        process_names(&after.stdout()),
        ["docker-init", "python3", "sh", "sleep"]
    );
    assert_eq!(
        sandbox.session_container(&fx.session.id).await.unwrap(),
        id,
        "same container"
    );
    sandbox.end_session(&fx.session.id).await.unwrap();
}

#[tokio::test]
async fn a_cancelled_command_is_killed_with_everything_it_started() {
    let fx = Fixture::new(WorkspaceAccess::WorkspaceWrite);
    let sandbox = docker(config(), &fx.daemon).await;
    cancel_once_started(
        &sandbox,
        &fx.session,
        "setsid sh -c 'sleep 1000' & sleep 1000 & echo started; wait",
    )
    .await;
    // Left: init, the keep-alive `sleep infinity`, the exec agent and the listing's shell.
    assert_eq!(
        wait_for_processes(
            &sandbox,
            &fx.session,
            &["docker-init", "python3", "sh", "sleep"]
        )
        .await,
        ["docker-init", "python3", "sh", "sleep"]
    );
    sandbox.end_session(&fx.session.id).await.unwrap();
}

#[tokio::test]
async fn a_command_ends_when_it_does_even_if_a_child_left_its_session_holding_the_output() {
    let fx = Fixture::new(WorkspaceAccess::WorkspaceWrite);
    let sandbox = docker(config(), &fx.daemon).await;
    let request = ExecRequest::shell("setsid sh -c 'sleep 1000' & echo done")
        .with_timeout(Duration::from_secs(30));
    let run1 = run(&sandbox, &fx.session, request).await;
    assert_eq!(run1.outcome.termination, Termination::Exited { code: 0 });
    assert_eq!(run1.stdout(), "done\n");
    assert!(
        run1.outcome.duration_ms < 10_000,
        "waited for the orphan: {} ms",
        run1.outcome.duration_ms
    );
    sandbox.end_session(&fx.session.id).await.unwrap();
}

#[tokio::test]
async fn fifty_megabytes_of_output_are_truncated_head_and_tail() {
    let fx = Fixture::new(WorkspaceAccess::WorkspaceWrite);
    let sandbox = docker(
        SandboxConfig {
            max_output_bytes: 64 * 1024,
            ..config()
        },
        &fx.daemon,
    )
    .await;
    let script = "echo BEGIN; head -c 52428800 /dev/zero | tr '\\0' x; echo; echo END";
    let run = sh(&sandbox, &fx.session, script).await;
    let out = &run.outcome.stdout;
    assert_eq!((out.total_bytes, out.truncated), (52_428_800 + 11, true));
    assert!(out.bytes.len() <= 64 * 1024 + 100, "{}", out.bytes.len());
    let text = out.text();
    assert!(text.starts_with("BEGIN\nxxxx"), "{}", &text[..20]);
    assert!(text.ends_with("xxxx\nEND\n"));
    assert!(text.contains(&format!(
        "[... lathe: {} bytes of output omitted ...]",
        52_428_811 - 64 * 1024
    )));
    assert_eq!(
        run.streamed_stdout, out.bytes,
        "streamed bytes are the captured bytes"
    );
    assert!(run.outcome.success());
    sandbox.end_session(&fx.session.id).await.unwrap();
}

#[tokio::test]
async fn idle_sessions_lose_their_container_and_get_a_fresh_one() {
    let fx = Fixture::new(WorkspaceAccess::WorkspaceWrite);
    let sandbox = docker(config(), &fx.daemon).await;
    sandbox.prepare(&fx.session).await.unwrap();
    let old = sandbox.session_container(&fx.session.id).await.unwrap();
    assert_eq!(
        sandbox.remove_idle(Duration::from_secs(3600)).await,
        Vec::<String>::new()
    );
    assert_eq!(
        sandbox.remove_idle(Duration::ZERO).await,
        vec![fx.session.id.clone()]
    );
    assert!(!exists(&old).await);
    assert!(sh(&sandbox, &fx.session, "true").await.outcome.success());
    let new = sandbox.session_container(&fx.session.id).await.unwrap();
    assert_ne!(old, new);
    sandbox.end_session(&fx.session.id).await.unwrap();
}

#[tokio::test]
async fn containers_left_by_a_dead_daemon_are_reaped_at_start() {
    let fx = Fixture::new(WorkspaceAccess::WorkspaceWrite);
    // What a daemon of this home left when it died: its label, its (now gone) pid.
    let left = create_labelled(&[
        format!("lathe.daemon={}", fx.daemon.as_str()),
        format!("lathe.home={}", fx.daemon.home()),
        format!("lathe.pid={}", dead_pid()),
    ]);
    let other = Fixture::new(WorkspaceAccess::WorkspaceWrite);
    let unrelated = docker(config(), &other.daemon).await;
    unrelated.prepare(&other.session).await.unwrap();

    let restarted = lathe_sandbox::select(
        &SandboxConfig {
            backend: lathe_sandbox::BackendChoice::Docker,
            ..config()
        },
        &fx.daemon,
    )
    .await
    .unwrap()
    .sandbox;
    assert_eq!(restarted.reap_orphans().await.unwrap(), vec![left.clone()]);
    assert!(!exists(&left).await);
    let kept = unrelated
        .session_container(&other.session.id)
        .await
        .unwrap();
    assert!(
        exists(&kept).await,
        "another daemon's containers are left alone"
    );
    assert_eq!(
        unrelated.reap_orphans().await.unwrap(),
        Vec::<String>::new(),
        "own containers are kept"
    );
    unrelated.end_session(&other.session.id).await.unwrap();
}

#[tokio::test]
async fn containers_of_processes_that_died_meanwhile_are_reaped_while_running() {
    let fx = Fixture::new(WorkspaceAccess::WorkspaceWrite);
    let left = create_labelled(&[
        "lathe.daemon=1111111111111111".to_owned(),
        format!("lathe.home={}", fx.daemon.home()),
        format!("lathe.pid={}", dead_pid()),
    ]);
    // No start-up reaping is asked of this backend: only its idle reaper's round can.
    let _running = docker(
        SandboxConfig {
            idle_timeout_secs: 1,
            ..config()
        },
        &fx.daemon,
    )
    .await;
    let deadline = std::time::Instant::now() + Duration::from_secs(20);
    while exists(&left).await {
        assert!(
            std::time::Instant::now() < deadline,
            "the dead process's container is still there"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[tokio::test]
async fn a_missing_image_gives_the_doctor_advice() {
    let fx = Fixture::new(WorkspaceAccess::WorkspaceWrite);
    let config = SandboxConfig {
        image: "lathe-sandbox:missing".into(),
        ..config()
    };
    let sandbox = docker(config.clone(), &fx.daemon).await;
    let err = sandbox
        .exec(&fx.session, ExecRequest::argv(["true"]), None)
        .await
        .unwrap_err();
    assert!(matches!(err, SandboxError::ImageMissing { .. }), "{err}");
    assert_eq!(
        err.to_string(),
        format!(
            "sandbox image lathe-sandbox:missing is missing: {}",
            lathe_sandbox::docker::IMAGE_ADVICE
        )
    );
    let checks = doctor(&config, &fx.daemon).await;
    let image: Vec<&HealthCheck> = checks
        .iter()
        .filter(|c| c.name == "sandbox image")
        .collect();
    assert_eq!(
        image,
        vec![&HealthCheck {
            name: "sandbox image".into(),
            status: CheckStatus::Error,
            detail: "lathe-sandbox:missing is missing".into(),
            advice: Some(lathe_sandbox::docker::IMAGE_ADVICE.into()),
        }]
    );
    assert!(lathe_sandbox::docker::IMAGE_ADVICE.contains("sandbox/image/build.sh"));
    let explicit = SandboxConfig {
        backend: lathe_sandbox::BackendChoice::Docker,
        ..config
    };
    let err = lathe_sandbox::select(&explicit, &fx.daemon)
        .await
        .unwrap_err();
    assert!(matches!(err, SandboxError::ImageMissing { .. }), "{err}");
}

#[tokio::test]
async fn the_default_image_passes_the_doctor() {
    let fx = Fixture::new(WorkspaceAccess::WorkspaceWrite);
    let sandbox: DockerSandbox = docker(config(), &fx.daemon).await;
    let checks = sandbox.doctor().await;
    let statuses: Vec<(&str, CheckStatus)> =
        checks.iter().map(|c| (c.name.as_str(), c.status)).collect();
    assert_eq!(
        statuses,
        vec![
            ("docker engine", CheckStatus::Ok),
            ("sandbox image", CheckStatus::Ok),
            ("seccomp", CheckStatus::Ok)
        ]
    );
}

#[tokio::test]
async fn cli_exec_returns_the_exit_code_and_removes_its_container() {
    let fx = Fixture::new(WorkspaceAccess::WorkspaceWrite);
    let home = fx.root.path().join("home");
    let config = SandboxConfig {
        backend: lathe_sandbox::BackendChoice::Docker,
        ..config()
    };
    let exec = lathe_sandbox::cli::CliExec {
        workspace: fx.workspace().to_owned(),
        argv: vec![
            "sh".into(),
            "-c".into(),
            "test -f hello.txt && exit 5".into(),
        ],
        access: WorkspaceAccess::ReadOnly,
        timeout: None,
    };
    let code = lathe_sandbox::cli::run_exec_cli(&config, &home, exec)
        .await
        .unwrap();
    assert_eq!(code, 5);
    let cli_daemon = lathe_sandbox::DaemonId::from_home(&home.join("cli"));
    let engine = bollard::Docker::connect_with_defaults()
        .unwrap()
        .negotiate_version()
        .await
        .unwrap();
    let filters = std::collections::HashMap::from([(
        "label".to_owned(),
        vec![format!("lathe.daemon={cli_daemon}")],
    )]);
    let options = bollard::query_parameters::ListContainersOptionsBuilder::default()
        .all(true)
        .filters(&filters)
        .build();
    assert_eq!(
        engine.list_containers(Some(options)).await.unwrap().len(),
        0
    );
}
