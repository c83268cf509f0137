//! The bubblewrap backend against the same faults as docker, where they apply. Memory is limited
//! by a per-command cgroup where the host allows one (CI runs as root: it does), else by
//! `RLIMIT_DATA`, where a memory bomb fails with an allocation error instead of an OOM kill.

use std::time::Duration;

use lathe_sandbox::bwrap::BwrapSandbox;
use lathe_sandbox::{
    CheckStatus, ExecRequest, Sandbox, SandboxConfig, Termination, WorkspaceAccess,
};
use pretty_assertions::assert_eq;

use crate::support::{Fixture, OWNER, config, host_ip, run, sh};

fn bwrap(config: SandboxConfig, fx: &Fixture) -> BwrapSandbox {
    BwrapSandbox::new(config, fx.daemon.clone())
        .unwrap_or_else(|e| panic!("these tests need bubblewrap (apt-get install bubblewrap): {e}"))
}

#[tokio::test]
async fn bwrap_isolates_network_files_and_writes() {
    let fx = Fixture::new(WorkspaceAccess::WorkspaceWrite);
    let sandbox = bwrap(config(), &fx);
    assert!(!sandbox.requires_approval());
    let listener = std::net::TcpListener::bind("0.0.0.0:0").unwrap();
    let script = format!(
        r#"id -u; cat hello.txt
test -e '{outside}' && echo visible || echo invisible
python3 - <<'PY'
import socket
for name, probe in [
    ("tcp to host", lambda: socket.create_connection(("{ip}", {port}), timeout=3)),
    ("dns", lambda: socket.getaddrinfo("deb.debian.org", 80)),
]:
    try:
        probe()
        print(name, "reachable")
    except OSError:
        print(name, "blocked")
PY
for p in /x /etc/x /usr/x /root/x /workspace/.git/x /tmp/x /workspace/x; do
  if (echo hi > $p) 2>/dev/null; then echo "$p written"; else echo "$p refused"; fi
done"#,
        outside = fx.outside().display(),
        ip = host_ip(),
        port = listener.local_addr().unwrap().port(),
    );
    let run = sh(&sandbox, &fx.session, &script).await;
    assert_eq!(
        run.stdout(),
        format!(
            "{OWNER}\nhello from the workspace\ninvisible\ntcp to host blocked\ndns blocked\n\
             /x refused\n/etc/x refused\n/usr/x refused\n/root/x refused\n\
             /workspace/.git/x refused\n/tmp/x written\n/workspace/x written\n"
        ),
        "{}",
        run.stderr()
    );
    let written = std::fs::metadata(fx.workspace().join("x")).unwrap();
    assert_eq!(std::os::unix::fs::MetadataExt::uid(&written), OWNER);
}

#[tokio::test]
async fn bwrap_read_only_sessions_cannot_write() {
    let fx = Fixture::new(WorkspaceAccess::ReadOnly);
    let sandbox = bwrap(config(), &fx);
    let run = sh(&sandbox, &fx.session, "cat hello.txt; echo x > new.txt").await;
    assert_eq!(run.stdout(), "hello from the workspace\n");
    assert_eq!(run.outcome.termination, Termination::Exited { code: 2 });
    assert!(!fx.workspace().join("new.txt").exists());
}

#[tokio::test]
async fn bwrap_stops_a_fork_bomb_with_the_process_limit() {
    let fx = Fixture::new(WorkspaceAccess::WorkspaceWrite);
    let sandbox = bwrap(config(), &fx);
    let bomb = ExecRequest::argv(["bash", "-c", "bomb() { bomb | bomb; }; bomb"])
        .with_timeout(Duration::from_secs(4));
    let run1 = run(&sandbox, &fx.session, bomb).await;
    assert!(
        run1.stderr().contains("Resource temporarily unavailable"),
        "{}",
        run1.stderr()
    );
    let after = sh(&sandbox, &fx.session, "echo alive").await;
    assert_eq!(after.stdout(), "alive\n");
}

#[tokio::test]
async fn bwrap_kills_a_sigterm_ignoring_command_at_the_timeout() {
    let fx = Fixture::new(WorkspaceAccess::WorkspaceWrite);
    let sandbox = bwrap(config(), &fx);
    let stubborn = ExecRequest::shell(
        "trap '' TERM; setsid sh -c 'trap \"\" TERM; sleep 1000' & echo started; while :; do sleep 1; done",
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
    assert!(
        run1.outcome.duration_ms < 30_000,
        "killed long before the sleep ends: {}",
        run1.outcome.duration_ms
    );
}

#[tokio::test]
async fn bwrap_truncates_fifty_megabytes_of_output() {
    let fx = Fixture::new(WorkspaceAccess::WorkspaceWrite);
    let sandbox = bwrap(
        SandboxConfig {
            max_output_bytes: 64 * 1024,
            ..config()
        },
        &fx,
    );
    let run = sh(
        &sandbox,
        &fx.session,
        "head -c 52428800 /dev/zero | tr '\\0' x",
    )
    .await;
    let out = &run.outcome.stdout;
    assert_eq!((out.total_bytes, out.truncated), (52_428_800, true));
    assert!(out.bytes.len() <= 64 * 1024 + 100);
    assert_eq!(run.streamed_stdout, out.bytes);
}

#[tokio::test]
async fn bwrap_limits_memory_and_reports_oom_kills_where_cgroups_exist() {
    let fx = Fixture::new(WorkspaceAccess::WorkspaceWrite);
    let sandbox = bwrap(config(), &fx);
    let cgroups = sandbox
        .doctor()
        .await
        .iter()
        .any(|c| c.name == "bwrap cgroups" && c.status == CheckStatus::Ok);
    let run = sh(
        &sandbox,
        &fx.session,
        "python3 -c 'b = bytearray(3 * 1024 ** 3)'",
    )
    .await;
    if cgroups {
        assert_eq!(
            run.outcome.termination,
            Termination::OutOfMemory { code: 137 }
        );
    } else {
        assert_eq!(run.outcome.termination, Termination::Exited { code: 1 });
        assert!(run.stderr().contains("MemoryError"), "{}", run.stderr());
    }
    let after = sh(&sandbox, &fx.session, "exit 3").await;
    assert_eq!(after.outcome.termination, Termination::Exited { code: 3 });
}

#[tokio::test]
async fn bwrap_limits_cpu_where_the_cpu_controller_exists() {
    let fx = Fixture::new(WorkspaceAccess::WorkspaceWrite);
    let sandbox = bwrap(
        SandboxConfig {
            cpus: 0.2,
            ..config()
        },
        &fx,
    );
    let checks = sandbox.doctor().await;
    let cpu = checks
        .iter()
        .find(|c| c.name == "bwrap cpu")
        .unwrap_or_else(|| panic!("the doctor reports the CPU limit: {checks:?}"));
    if cpu.status != CheckStatus::Ok {
        // No cpu controller here: the warning says so and what to do.
        assert!(cpu.detail.contains("not limited"), "{cpu:?}");
        return;
    }
    // A second of busy loop on a fifth of a CPU gets about a fifth of a second of CPU.
    let run = sh(
        &sandbox,
        &fx.session,
        r#"bash -c 'TIMEFORMAT="%R %U"; time (timeout 1 sh -c "while :; do :; done")' 2>&1"#,
    )
    .await;
    let out = run.stdout();
    let times: Vec<f64> = out
        .split_whitespace()
        .map(|t| t.parse().unwrap_or_else(|_| panic!("bash times: {out:?}")))
        .collect();
    let [real, user] = times[..] else {
        panic!("bash times: {out:?}");
    };
    assert!(real >= 0.9, "{out:?}");
    assert!(user < 0.5 * real, "CPU is not limited to 0.2 CPUs: {out:?}");
}
