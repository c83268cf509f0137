//! The Docker engine restarting mid-session: the session's next command fails with a clear
//! error, and the one after gets a fresh container. Each test runs its own private dockerd
//! (root, private socket, data-root and exec-root) so that restarting it disturbs no other test:
//! once with the default image (commands through the exec agent), once with a busybox image
//! (one docker exec per command).

use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use lathe_sandbox::{
    DockerSandbox, ExecRequest, Sandbox, SandboxConfig, SandboxError, WorkspaceAccess,
};
use pretty_assertions::assert_eq;

use crate::support::{Fixture, config, import_busybox, run, sh, shared_host};

struct PrivateEngine {
    dir: tempfile::TempDir,
    child: Option<Child>,
}

impl PrivateEngine {
    fn host(&self) -> String {
        format!("unix://{}/d.sock", self.dir.path().display())
    }

    fn start(&mut self) {
        let d = self.dir.path();
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(d.join("dockerd.log"))
            .unwrap();
        let child = Command::new("dockerd")
            .arg("--host")
            .arg(self.host())
            .arg("--data-root")
            .arg(d.join("data"))
            .arg("--exec-root")
            .arg(d.join("x"))
            .arg("--pidfile")
            .arg(d.join("dockerd.pid"))
            .args(["--bridge", "none", "--iptables=false", "--ip6tables=false"])
            .stdin(Stdio::null())
            .stdout(log.try_clone().unwrap())
            .stderr(log)
            .spawn()
            .unwrap_or_else(|e| panic!("dockerd must be installed (source .ci/dockerd.sh): {e}"));
        self.child = Some(child);
    }

    async fn ready(&self) -> bollard::Docker {
        let started = Instant::now();
        loop {
            if let Ok(d) = bollard::Docker::connect_with_host(&self.host())
                && let Ok(d) = d.negotiate_version().await
            {
                return d;
            }
            assert!(
                started.elapsed() < Duration::from_secs(60),
                "private dockerd did not answer: {}",
                std::fs::read_to_string(self.dir.path().join("dockerd.log")).unwrap_or_default()
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let status = Command::new("kill")
                .args(["-TERM", &child.id().to_string()])
                .status()
                .unwrap();
            assert!(status.success());
            child.wait().unwrap();
        }
    }
}

impl Drop for PrivateEngine {
    fn drop(&mut self) {
        self.stop();
    }
}

fn assert_clear(err: &SandboxError) {
    let text = err.to_string();
    assert!(
        matches!(
            err,
            SandboxError::ContainerLost { .. } | SandboxError::EngineUnavailable { .. }
        ),
        "expected a lost-container or engine error, got {text}"
    );
    assert!(
        text.contains("the next command starts a fresh one") || text.contains("is not reachable"),
        "{text}"
    );
}

#[tokio::test]
async fn an_engine_restart_gives_a_clear_error_then_a_fresh_container() {
    restart_scenario(|engine| {
        // The default image (exec agent path), copied offline from the shared engine.
        let copy = Command::new("sh")
            .arg("-c")
            .arg(format!(
                "docker -H '{}' save '{image}' | docker -H '{}' load -q",
                shared_host(),
                engine.host(),
                image = lathe_sandbox::default_image()
            ))
            .output()
            .unwrap();
        assert!(
            copy.status.success(),
            "{}",
            String::from_utf8_lossy(&copy.stderr)
        );
        lathe_sandbox::default_image()
    })
    .await;
}

#[tokio::test]
async fn an_engine_restart_is_handled_with_plain_execs_too() {
    restart_scenario(|engine| {
        import_busybox(&engine.host(), "lathe-busybox:test");
        "lathe-busybox:test".to_owned()
    })
    .await;
}

async fn restart_scenario(load_image: impl FnOnce(&PrivateEngine) -> String) {
    let mut engine = PrivateEngine {
        dir: tempfile::Builder::new()
            .prefix("ld")
            .tempdir_in("/tmp")
            .unwrap(),
        child: None,
    };
    engine.start();
    engine.ready().await;
    let image = load_image(&engine);
    let fx = Fixture::new(WorkspaceAccess::WorkspaceWrite);
    let config = SandboxConfig {
        docker_host: Some(engine.host()),
        image,
        ..config()
    };
    let sandbox = DockerSandbox::connect(config, fx.daemon.clone())
        .await
        .unwrap();
    assert_eq!(
        sh(&sandbox, &fx.session, "echo before").await.stdout(),
        "before\n"
    );
    let old = sandbox.session_container(&fx.session.id).await.unwrap();

    let (tx, mut rx) = tokio::sync::mpsc::channel(4);
    let in_flight = {
        let (sandbox, session) = (sandbox.clone(), fx.session.clone());
        tokio::spawn(async move {
            sandbox
                .exec(
                    &session,
                    ExecRequest::shell("echo running; sleep 30"),
                    Some(tx),
                )
                .await
        })
    };
    assert_eq!(&rx.recv().await.unwrap().bytes[..], b"running\n");
    engine.stop();
    let interrupted = in_flight.await.unwrap().unwrap_err();
    assert_clear(&interrupted);
    engine.start();
    let docker = engine.ready().await;
    let after = run(&sandbox, &fx.session, ExecRequest::shell("echo after")).await;
    assert_eq!(after.stdout(), "after\n");
    let second = sandbox.session_container(&fx.session.id).await.unwrap();
    assert_ne!(old, second, "a fresh container");
    assert!(
        docker.inspect_container(&old, None).await.is_err(),
        "the dead container was removed"
    );

    // Restarted between two commands: the next one fails clearly, the one after works.
    engine.stop();
    engine.start();
    let docker = engine.ready().await;
    let err = sandbox
        .exec(&fx.session, ExecRequest::argv(["true"]), None)
        .await
        .unwrap_err();
    assert_clear(&err);
    assert_eq!(
        sh(&sandbox, &fx.session, "echo again").await.stdout(),
        "again\n"
    );
    let third = sandbox.session_container(&fx.session.id).await.unwrap();
    assert_ne!(second, third, "a fresh container");
    assert!(
        docker.inspect_container(&second, None).await.is_err(),
        "the dead container was removed"
    );
    sandbox.end_session(&fx.session.id).await.unwrap();
}
