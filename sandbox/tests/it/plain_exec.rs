//! The docker backend on an image without python3 (busybox): no exec agent, one docker exec
//! per command under the shell supervisor. Same contract: streaming, exit codes, timeouts that
//! kill everything and keep the container, leftovers cleaned up, fork bombs survived.

use std::time::Duration;

use lathe_sandbox::{ExecRequest, Sandbox, SandboxConfig, Termination, WorkspaceAccess};
use pretty_assertions::assert_eq;

use crate::support::{
    Fixture, ImageGuard, PROCESSES, cancel_once_started, config, docker, import_busybox,
    process_names, run, sh, shared_host, wait_for_processes,
};

fn busybox(fx: &Fixture) -> (SandboxConfig, ImageGuard) {
    let tag = format!("lathe-busybox:{}", fx.daemon);
    import_busybox(&shared_host(), &tag);
    let guard = ImageGuard {
        host: shared_host(),
        tag: tag.clone(),
    };
    (
        SandboxConfig {
            image: tag,
            ..config()
        },
        guard,
    )
}

#[tokio::test]
async fn plain_execs_stream_exit_and_clean_up_leftovers() {
    let fx = Fixture::new(WorkspaceAccess::WorkspaceWrite);
    let (config, _image) = busybox(&fx);
    let sandbox = docker(config, &fx.daemon).await;
    let first = sh(
        &sandbox,
        &fx.session,
        "id -u; echo err >&2; sleep 1000 & exit 3",
    )
    .await;
    assert_eq!(
        (first.stdout(), first.stderr(), first.outcome.termination),
        (
            "1000\n".to_owned(),
            "err\n".to_owned(),
            Termination::Exited { code: 3 }
        )
    );
    assert_eq!(first.streamed_stdout, first.outcome.stdout.bytes);
    let after = sh(&sandbox, &fx.session, PROCESSES).await;
    // init, the keep-alive sleep, and this command's supervisor and shell.
    assert_eq!(
        process_names(&after.stdout()),
        ["docker-init", "sh", "sh", "sleep"]
    );
    sandbox.end_session(&fx.session.id).await.unwrap();
}

#[tokio::test]
async fn plain_execs_kill_sigterm_ignoring_commands_at_the_timeout() {
    let fx = Fixture::new(WorkspaceAccess::WorkspaceWrite);
    let (config, _image) = busybox(&fx);
    let sandbox = docker(config, &fx.daemon).await;
    sandbox.prepare(&fx.session).await.unwrap();
    let id = sandbox.session_container(&fx.session.id).await.unwrap();
    let stubborn = ExecRequest::shell(
        "trap '' TERM; sh -c 'trap \"\" TERM; sleep 1000' & echo started; while :; do sleep 1; done",
    )
    .with_timeout(Duration::from_secs(2));
    let run1 = run(&sandbox, &fx.session, stubborn).await;
    assert_eq!(
        (run1.outcome.termination, run1.stdout()),
        (
            Termination::TimedOut { after_ms: 2000 },
            "started\n".to_owned()
        )
    );
    let after = sh(&sandbox, &fx.session, PROCESSES).await;
    assert_eq!(
        process_names(&after.stdout()),
        ["docker-init", "sh", "sh", "sleep"]
    );
    assert_eq!(sandbox.session_container(&fx.session.id).await.unwrap(), id);
    sandbox.end_session(&fx.session.id).await.unwrap();
}

#[tokio::test]
async fn a_cancelled_plain_exec_is_killed_with_everything_it_started() {
    let fx = Fixture::new(WorkspaceAccess::WorkspaceWrite);
    let (config, _image) = busybox(&fx);
    let sandbox = docker(config, &fx.daemon).await;
    cancel_once_started(
        &sandbox,
        &fx.session,
        "sh -c 'sleep 1000' & sleep 1000 & echo started; wait",
    )
    .await;
    // Left: init, the keep-alive `sleep infinity`, and the listing under its supervisor.
    assert_eq!(
        wait_for_processes(&sandbox, &fx.session, &["docker-init", "sh", "sh", "sleep"]).await,
        ["docker-init", "sh", "sh", "sleep"]
    );
    sandbox.end_session(&fx.session.id).await.unwrap();
}

#[tokio::test]
async fn plain_execs_survive_a_fork_bomb() {
    let fx = Fixture::new(WorkspaceAccess::WorkspaceWrite);
    let (config, _image) = busybox(&fx);
    let sandbox = docker(config, &fx.daemon).await;
    let bomb =
        ExecRequest::shell("bomb() { bomb | bomb; }; bomb").with_timeout(Duration::from_secs(4));
    let run1 = run(&sandbox, &fx.session, bomb).await;
    assert!(
        run1.stderr().contains("can't fork"),
        "{:?} {}",
        run1.outcome.termination,
        run1.stderr()
    );
    let after = sh(&sandbox, &fx.session, "echo alive").await;
    assert_eq!(after.stdout(), "alive\n");
    sandbox.end_session(&fx.session.id).await.unwrap();
}
