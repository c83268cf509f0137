//! Exec latency figures of issue 6, in one run (`cargo bench -p lathe-sandbox`):
//! warm exec of `true` in a session container (docker) vs a cold `docker run --rm` of the same
//! image (CLI, and the same create/start/wait/remove through the API), vs the bwrap backend,
//! vs the host; and the cold start of a session container. Needs the engine of `DOCKER_HOST`
//! (`source .ci/dockerd.sh`) and bubblewrap.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::print_stdout)]

use std::future::Future;
use std::time::Instant;

use bollard::models::ContainerCreateBody;
use bollard::query_parameters::{RemoveContainerOptionsBuilder, WaitContainerOptions};
use futures::StreamExt;
use hdrhistogram::Histogram;
use lathe_sandbox::bwrap::BwrapSandbox;
use lathe_sandbox::host::HostSandbox;
use lathe_sandbox::{
    DaemonId, DockerSandbox, ExecRequest, Sandbox, SandboxConfig, SessionSpec, WorkspaceAccess,
};

const WARM_RUNS: usize = 200;
const COLD_RUNS: usize = 30;

async fn measure<F, Fut>(runs: usize, mut f: F) -> Histogram<u64>
where
    F: FnMut(usize) -> Fut,
    Fut: Future<Output = ()>,
{
    let mut h = Histogram::<u64>::new(3).unwrap();
    for i in 0..runs {
        let t = Instant::now();
        f(i).await;
        h.record(u64::try_from(t.elapsed().as_micros()).unwrap())
            .unwrap();
    }
    h
}

fn ms(us: u64) -> f64 {
    us as f64 / 1000.0
}

fn report(name: &str, h: &Histogram<u64>) -> f64 {
    let p50 = ms(h.value_at_quantile(0.5));
    println!(
        "{name:<44} n={:<4} p50={p50:>8.2} ms  p99={:>8.2} ms  max={:>8.2} ms",
        h.len(),
        ms(h.value_at_quantile(0.99)),
        ms(h.max())
    );
    p50
}

async fn run_true(sandbox: &dyn Sandbox, session: &SessionSpec) {
    let outcome = sandbox
        .exec(session, ExecRequest::argv(["true"]), None)
        .await
        .unwrap();
    assert!(outcome.success(), "{outcome:?}");
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let root = tempfile::tempdir().unwrap();
    let ws = root.path().join("ws");
    std::fs::create_dir_all(&ws).unwrap();
    let chown = std::process::Command::new("chown")
        .arg("1000:1000")
        .arg(&ws)
        .status();
    assert!(chown.is_ok());
    let daemon = DaemonId::from_home(&root.path().join("home"));
    let config = SandboxConfig::default();
    let session = |id: &str| SessionSpec {
        id: id.to_owned(),
        workspace: ws.clone(),
        access: WorkspaceAccess::WorkspaceWrite,
    };
    let docker = DockerSandbox::connect(config.clone(), daemon.clone())
        .await
        .unwrap_or_else(|e| {
            panic!("the benchmark needs a Docker engine (source .ci/dockerd.sh): {e}")
        });
    assert!(
        docker.image_present().await.unwrap(),
        "build the image: sandbox/image/build.sh"
    );

    let cold_start = {
        let mut h = Histogram::<u64>::new(3).unwrap();
        for i in 0..10 {
            let s = session(&format!("bench-prep-{i}"));
            let t = Instant::now();
            docker.prepare(&s).await.unwrap();
            h.record(u64::try_from(t.elapsed().as_micros()).unwrap())
                .unwrap();
            docker.end_session(&s.id).await.unwrap();
        }
        h
    };

    let warm = session("bench-warm");
    for _ in 0..10 {
        run_true(&docker, &warm).await;
    }
    let warm_h = measure(WARM_RUNS, |_| run_true(&docker, &warm)).await;
    docker.end_session(&warm.id).await.unwrap();

    let cold_cli = measure(COLD_RUNS, |_| async {
        let status = tokio::process::Command::new("docker")
            .args(["run", "--rm", "--network", "none", &config.image, "true"])
            .status()
            .await
            .unwrap();
        assert!(status.success());
    })
    .await;

    let engine = bollard::Docker::connect_with_defaults()
        .unwrap()
        .negotiate_version()
        .await
        .unwrap();
    let cold_api = measure(COLD_RUNS, |_| {
        let engine = &engine;
        let image = config.image.clone();
        async move {
            let body = ContainerCreateBody {
                image: Some(image),
                cmd: Some(vec!["true".to_owned()]),
                network_disabled: Some(true),
                host_config: Some(bollard::models::HostConfig {
                    network_mode: Some("none".to_owned()),
                    ..Default::default()
                }),
                ..Default::default()
            };
            let id = engine.create_container(None, body).await.unwrap().id;
            engine.start_container(&id, None).await.unwrap();
            let mut wait = engine.wait_container(&id, None::<WaitContainerOptions>);
            while let Some(r) = wait.next().await {
                r.unwrap();
            }
            let rm = RemoveContainerOptionsBuilder::default().force(true).build();
            engine.remove_container(&id, Some(rm)).await.unwrap();
        }
    })
    .await;

    let bwrap = BwrapSandbox::new(config.clone(), daemon.clone())
        .unwrap_or_else(|e| panic!("the benchmark needs bubblewrap: {e}"));
    let bw = session("bench-bwrap");
    let bwrap_h = measure(WARM_RUNS, |_| run_true(&bwrap, &bw)).await;
    let host = HostSandbox::new(config.clone());
    let host_h = measure(WARM_RUNS, |_| run_true(&host, &bw)).await;

    println!("lathe-sandbox exec latency (command: true)");
    let warm_p50 = report("docker warm exec (session container)", &warm_h);
    let cli_p50 = report("docker run --rm (CLI, cold)", &cold_cli);
    let api_p50 = report("docker create/start/wait/rm (API, cold)", &cold_api);
    report("bwrap exec", &bwrap_h);
    report("none (host) exec", &host_h);
    report("session container cold start (prepare)", &cold_start);
    println!(
        "warm p50 {warm_p50:.2} ms: {:.1}x faster than docker run --rm, {:.1}x faster than cold via API (aim: < 60 ms, >= 5x)",
        cli_p50 / warm_p50,
        api_p50 / warm_p50
    );
}
