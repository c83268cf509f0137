//! The docker backend's isolation, checked from inside a real container.

use std::time::Duration;

use lathe_sandbox::{ExecRequest, Sandbox, Termination, WorkspaceAccess};
use pretty_assertions::assert_eq;

use crate::support::{Fixture, OWNER, config, docker, host_ip, sh};

#[tokio::test]
async fn the_engine_applies_every_default_of_the_policy() {
    let fx = Fixture::new(WorkspaceAccess::WorkspaceWrite);
    let sandbox = docker(config(), &fx.daemon).await;
    sandbox.prepare(&fx.session).await.unwrap();
    let id = sandbox.session_container(&fx.session.id).await.unwrap();
    let engine = bollard::Docker::connect_with_defaults()
        .unwrap()
        .negotiate_version()
        .await
        .unwrap();
    let inspect = engine.inspect_container(&id, None).await.unwrap();
    let host = inspect.host_config.unwrap();
    let cfg = inspect.config.unwrap();
    let labels = cfg.labels.unwrap();
    let mut mounts: Vec<(String, bool)> = inspect
        .mounts
        .unwrap()
        .into_iter()
        .map(|m| (m.destination.unwrap(), m.rw.unwrap()))
        .collect();
    mounts.sort();
    let seen = format!(
        "network={:?} cap_drop={:?} security_opt={:?} pids={:?} memory={:?} swap={:?} \
         nano_cpus={:?} readonly_root={:?} tmpfs={:?} init={:?} user={:?} cmd={:?} \
         session={:?} daemon={:?} mounts={mounts:?}",
        host.network_mode.unwrap(),
        host.cap_drop.unwrap(),
        host.security_opt.unwrap(),
        host.pids_limit.unwrap(),
        host.memory.unwrap(),
        host.memory_swap.unwrap(),
        host.nano_cpus.unwrap(),
        host.readonly_rootfs.unwrap(),
        host.tmpfs.unwrap(),
        host.init.unwrap(),
        cfg.user.unwrap(),
        cfg.cmd.unwrap(),
        labels["lathe.session"] == fx.session.id,
        labels["lathe.daemon"] == fx.daemon.as_str(),
    );
    assert_eq!(
        seen,
        "network=\"none\" cap_drop=[\"ALL\"] security_opt=[\"no-new-privileges:true\"] \
         pids=256 memory=2147483648 swap=2147483648 nano_cpus=2000000000 readonly_root=true \
         tmpfs={\"/tmp\": \"rw,nosuid,nodev,exec,mode=1777,size=536870912\"} init=true \
         user=\"1000:1000\" cmd=[\"sleep\", \"infinity\"] session=true daemon=true \
         mounts=[(\"/workspace\", true), (\"/workspace/.git\", false)]"
    );
    let run = sh(
        &sandbox,
        &fx.session,
        "id -u; id -g; grep -E '^(Seccomp|NoNewPrivs|CapEff):' /proc/self/status",
    )
    .await;
    assert_eq!(
        run.stdout(),
        format!("{OWNER}\n{OWNER}\nCapEff:\t0000000000000000\nNoNewPrivs:\t1\nSeccomp:\t2\n")
    );
    sandbox.end_session(&fx.session.id).await.unwrap();
}

#[tokio::test]
async fn network_access_fails_tcp_to_the_host_and_dns() {
    let fx = Fixture::new(WorkspaceAccess::WorkspaceWrite);
    let sandbox = docker(config(), &fx.daemon).await;
    let listener = tokio::net::TcpListener::bind("0.0.0.0:0").await.unwrap();
    let target = std::net::SocketAddr::new(host_ip(), listener.local_addr().unwrap().port());
    let accept = tokio::spawn(async move { listener.accept().await.map(|_| ()) });
    // Control: the listener is reachable from the host itself.
    tokio::net::TcpStream::connect(target).await.unwrap();
    accept.await.unwrap().unwrap();
    let script = format!(
        r#"python3 - <<'PY'
import socket
for name, probe in [
    ("tcp to host", lambda: socket.create_connection(("{ip}", {port}), timeout=3)),
    ("dns", lambda: socket.getaddrinfo("deb.debian.org", 80)),
]:
    try:
        probe()
        print(name, "reachable")
    except OSError as e:
        print(name, "blocked")
PY
ls /sys/class/net"#,
        ip = target.ip(),
        port = target.port()
    );
    let run = sh(&sandbox, &fx.session, &script).await;
    assert_eq!(
        run.stdout(),
        "tcp to host blocked\ndns blocked\nlo\n",
        "{}",
        run.stderr()
    );
    sandbox.end_session(&fx.session.id).await.unwrap();
}

#[tokio::test]
async fn files_outside_the_workspace_are_invisible() {
    let fx = Fixture::new(WorkspaceAccess::WorkspaceWrite);
    let sandbox = docker(config(), &fx.daemon).await;
    let outside = fx.outside();
    let script = format!(
        "cat hello.txt; test -e '{}' && echo visible || echo invisible; \
         test -e '{}' && echo visible || echo invisible; \
         find /home /root /mnt /media /srv /opt -mindepth 1 2>/dev/null | wc -l",
        outside.display(),
        fx.root.path().display()
    );
    let run = sh(&sandbox, &fx.session, &script).await;
    assert_eq!(
        run.stdout(),
        "hello from the workspace\ninvisible\ninvisible\n0\n",
        "{}",
        run.stderr()
    );
    sandbox.end_session(&fx.session.id).await.unwrap();
}

#[tokio::test]
async fn writes_outside_workspace_and_tmp_fail() {
    let fx = Fixture::new(WorkspaceAccess::WorkspaceWrite);
    let sandbox = docker(config(), &fx.daemon).await;
    let script = "for p in /x /etc/x /usr/x /var/tmp/x /root/x /home/x /workspace/.git/x \
                  /tmp/x /workspace/x; do \
                  if (echo hi > $p) 2>/dev/null; then echo \"$p written\"; else echo \"$p refused\"; fi; done";
    let run = sh(&sandbox, &fx.session, script).await;
    assert_eq!(
        run.stdout(),
        "/x refused\n/etc/x refused\n/usr/x refused\n/var/tmp/x refused\n/root/x refused\n\
         /home/x refused\n/workspace/.git/x refused\n/tmp/x written\n/workspace/x written\n"
    );
    let written = std::fs::metadata(fx.workspace().join("x")).unwrap();
    assert_eq!(
        std::os::unix::fs::MetadataExt::uid(&written),
        OWNER,
        "files written are the user's"
    );
    sandbox.end_session(&fx.session.id).await.unwrap();
}

#[tokio::test]
async fn read_only_sessions_cannot_write_the_workspace() {
    let fx = Fixture::new(WorkspaceAccess::ReadOnly);
    let sandbox = docker(config(), &fx.daemon).await;
    let run = sh(&sandbox, &fx.session, "cat hello.txt; echo x > new.txt").await;
    assert_eq!(run.stdout(), "hello from the workspace\n");
    assert!(
        run.stderr().contains("Read-only file system"),
        "{}",
        run.stderr()
    );
    assert_eq!(run.outcome.termination, Termination::Exited { code: 2 });
    assert!(!fx.workspace().join("new.txt").exists());
    sandbox.end_session(&fx.session.id).await.unwrap();
}

#[tokio::test]
async fn a_fork_bomb_is_stopped_by_the_pids_limit_and_the_container_recovers() {
    let fx = Fixture::new(WorkspaceAccess::WorkspaceWrite);
    let sandbox = docker(config(), &fx.daemon).await;
    let bomb = ExecRequest::argv(["bash", "-c", "bomb() { bomb | bomb; }; bomb"])
        .with_timeout(Duration::from_secs(4));
    let run = crate::support::run(&sandbox, &fx.session, bomb).await;
    assert!(
        run.stderr().contains("Resource temporarily unavailable"),
        "the pids limit must refuse forks: {:?} {} {}",
        run.outcome.termination,
        run.stdout(),
        run.stderr()
    );
    let after = sh(
        &sandbox,
        &fx.session,
        "cat /sys/fs/cgroup/pids/pids.max /sys/fs/cgroup/pids.max 2>/dev/null; echo alive",
    )
    .await;
    assert_eq!(after.stdout(), "256\nalive\n");
    assert!(after.outcome.success());
    sandbox.end_session(&fx.session.id).await.unwrap();
}

#[tokio::test]
async fn a_memory_bomb_is_oom_killed_and_reported() {
    let fx = Fixture::new(WorkspaceAccess::WorkspaceWrite);
    let sandbox = docker(config(), &fx.daemon).await;
    let bomb = "python3 -c 'b = bytearray(3 * 1024 ** 3); print(len(b))'";
    let run = sh(&sandbox, &fx.session, bomb).await;
    assert_eq!(
        run.outcome.termination,
        Termination::OutOfMemory { code: 137 }
    );
    assert_eq!(
        run.outcome.note().unwrap(),
        "command was killed by the out-of-memory killer (sandbox memory limit reached)"
    );
    let after = sh(&sandbox, &fx.session, "echo alive; exit 3").await;
    assert_eq!(
        after.outcome.termination,
        Termination::Exited { code: 3 },
        "a plain failure is not an OOM"
    );
    assert_eq!(after.stdout(), "alive\n");
    sandbox.end_session(&fx.session.id).await.unwrap();
}
