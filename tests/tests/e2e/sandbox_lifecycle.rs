//! The daemon and `lathe run` own their sandbox containers (real Docker engine from
//! `.ci/dockerd.sh`): a daemon reaps, at start, the containers a dead daemon or a killed
//! process of its home left; `lathe run` removes its session's container when the task ends.

use lathe_tests::daemon::{LatheHome, wait_until};
use lathe_tests::scripted_model::{Script, ScriptedModel, Step};
use serde_json::json;
use std::process::Command;
use std::time::Duration;

fn docker(args: &[&str]) -> String {
    let output = Command::new("docker").args(args).output().unwrap();
    assert!(
        output.status.success(),
        "docker {args:?}: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8_lossy(&output.stdout).trim().to_owned()
}

fn image() -> String {
    format!("lathe-sandbox:{}", env!("CARGO_PKG_VERSION"))
}

/// The `lathe.daemon` label of `home`'s daemon: the first 16 hex digits of the SHA-256 of
/// its state directory.
fn daemon_label(home: &LatheHome) -> String {
    let state = home.path().join("state");
    let output = Command::new("sh")
        .args(["-c", "printf %s \"$1\" | sha256sum | cut -c1-16", "sh"])
        .arg(&state)
        .output()
        .unwrap();
    String::from_utf8_lossy(&output.stdout).trim().to_owned()
}

#[test]
fn a_daemon_reaps_the_containers_dead_processes_of_its_home_left() {
    let home = LatheHome::new().unwrap();
    home.write_user_config("[daemon]\nport = 0\n\n[sandbox]\nbackend = \"docker\"\n")
        .unwrap();
    let label = format!("lathe.daemon={}", daemon_label(&home));
    let left = docker(&[
        "create",
        "--label",
        &label,
        "--label",
        "lathe.session=dead",
        &image(),
        "true",
    ]);
    let other = docker(&[
        "create",
        "--label",
        "lathe.daemon=0000000000000000",
        &image(),
        "true",
    ]);
    // What `lathe run` processes of this home left: one killed, one still running.
    let of_process = |pid: u32| {
        docker(&[
            "create",
            "--label",
            "lathe.daemon=1111111111111111",
            "--label",
            &format!("lathe.home={}", daemon_label(&home)),
            "--label",
            &format!("lathe.pid={pid}"),
            &image(),
            "true",
        ])
    };
    let mut finished = Command::new("true").spawn().unwrap();
    let dead_pid = finished.id();
    finished.wait().unwrap();
    let killed = of_process(dead_pid);
    let running = of_process(std::process::id());

    let _daemon = home.start_daemon().unwrap();
    let exists = |id: &str| {
        !docker(&["ps", "-aq", "--no-trunc", "--filter", &format!("id={id}")]).is_empty()
    };
    // Reaping runs in the background of a daemon that already answers.
    let _ = wait_until(Duration::from_secs(30), || {
        !exists(&left) && !exists(&killed)
    });
    let found = [&left, &other, &killed, &running].map(|id| exists(id));
    docker(&["rm", "-f", &other, &running]);
    assert_eq!(
        found,
        [false, true, false, true],
        "reaped: the dead daemon's and the killed process's containers; left: another \
         home's and a live process's"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn lathe_run_removes_its_container_when_the_task_ends() {
    let model = ScriptedModel::start(Script::new([
        Step::tool_calls([("run_command", json!({"command": "cat /etc/hostname"}))]),
        Step::text("Ran it."),
    ]))
    .await
    .unwrap();
    let home = LatheHome::new().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let mut command = home.command();
    command
        .env("LATHE_BASE_URL", model.base_url())
        .env("LATHE_MODEL", "gpt-4o")
        .env("LATHE_SANDBOX", "docker")
        .current_dir(dir.path())
        .args(["run", "--json", "--approval", "auto", "where am I?"]);
    let output = tokio::task::spawn_blocking(move || command.output())
        .await
        .unwrap()
        .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "{stdout}\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let events: Vec<serde_json::Value> = stdout
        .lines()
        .filter_map(|l| serde_json::from_str(l).ok())
        .collect();
    let result = events
        .iter()
        .find(|e| e["type"] == "TOOL_CALL_RESULT")
        .unwrap_or_else(|| panic!("no tool result in {stdout}"));
    let content = result["content"].as_str().unwrap();
    // The docker backend names its containers' host `lathe-sandbox`: the command ran in one.
    assert!(
        content.starts_with("exit code 0") && content.contains("lathe-sandbox"),
        "{content}"
    );
    let session = result["sessionId"].as_str().unwrap();
    let filter = format!("label=lathe.session={session}");
    assert_eq!(
        docker(&["ps", "-aq", "--filter", &filter]),
        "",
        "no container outlives the run"
    );
}
