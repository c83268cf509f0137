//! The `none` backend: runs on the host, asks for approval, still bounded and killable.

use std::time::Duration;

use lathe_sandbox::host::HostSandbox;
use lathe_sandbox::{BackendKind, ExecRequest, Sandbox, Termination, WorkspaceAccess};
use pretty_assertions::assert_eq;

use crate::support::{Fixture, cancel_once_started, config, run};

#[tokio::test]
async fn none_runs_on_the_host_and_requires_approval() {
    let fx = Fixture::new(WorkspaceAccess::WorkspaceWrite);
    let sandbox = HostSandbox::new(config());
    assert_eq!(
        (sandbox.kind(), sandbox.requires_approval()),
        (BackendKind::None, true)
    );
    let run1 = run(
        &sandbox,
        &fx.session,
        ExecRequest::shell("pwd; cat hello.txt; exit 4"),
    )
    .await;
    let ws = fx.workspace().canonicalize().unwrap();
    assert_eq!(
        run1.stdout(),
        format!("{}\nhello from the workspace\n", ws.display())
    );
    assert_eq!(run1.outcome.termination, Termination::Exited { code: 4 });
}

#[tokio::test]
async fn none_kills_the_process_group_at_the_timeout() {
    let fx = Fixture::new(WorkspaceAccess::WorkspaceWrite);
    let sandbox = HostSandbox::new(config());
    let request = ExecRequest::shell("trap '' TERM; sleep 1000 & echo started; wait")
        .with_timeout(Duration::from_millis(500));
    let run1 = run(&sandbox, &fx.session, request).await;
    assert_eq!(
        (run1.outcome.termination, run1.stdout()),
        (
            Termination::TimedOut { after_ms: 500 },
            "started\n".to_owned()
        )
    );
}

#[tokio::test]
async fn none_kills_the_process_group_of_a_cancelled_command() {
    let fx = Fixture::new(WorkspaceAccess::WorkspaceWrite);
    let sandbox = HostSandbox::new(config());
    let pid_file = fx.workspace().join("sleep.pid");
    let script = format!(
        "sleep 1000 & echo $! > '{}'; echo started; wait",
        pid_file.display()
    );
    cancel_once_started(&sandbox, &fx.session, &script).await;
    let pid = std::fs::read_to_string(&pid_file).unwrap();
    let stat = format!("/proc/{}/stat", pid.trim());
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    // Gone, or a zombie waiting for whoever adopted it.
    let alive = || {
        std::fs::read_to_string(&stat).is_ok_and(|s| {
            s.rsplit(')')
                .next()
                .is_some_and(|f| !f.trim_start().starts_with('Z'))
        })
    };
    while alive() && std::time::Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(
        !alive(),
        "the background sleep {} outlived its cancelled command",
        pid.trim()
    );
}
