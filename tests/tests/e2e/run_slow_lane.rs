//! The slow lane: `lathe run` against a real OpenAI-compatible server nobody here wrote —
//! llama.cpp's server with SmolLM2-135M, started by `.ci/slow-lane.sh`, which writes
//! `target/slow-lane.env` (`LATHE_SLOW_LANE=1`, `LATHE_SLOW_LANE_BASE_URL`,
//! `LATHE_SLOW_LANE_MODEL`). Without that environment the test has nothing to talk to and
//! returns at once; with `LATHE_SLOW_LANE=1` a missing server is a failure.

use lathe_tests::daemon::LatheHome;
use serde_json::Value;

#[tokio::test(flavor = "multi_thread")]
async fn lathe_run_completes_a_chat_turn_against_llama_cpp() {
    let Ok(base_url) = std::env::var("LATHE_SLOW_LANE_BASE_URL") else {
        assert!(
            std::env::var_os("LATHE_SLOW_LANE").is_none(),
            "LATHE_SLOW_LANE is set but LATHE_SLOW_LANE_BASE_URL is not: source target/slow-lane.env"
        );
        eprintln!("slow lane off: run .ci/slow-lane.sh and source target/slow-lane.env");
        return;
    };
    let model = std::env::var("LATHE_SLOW_LANE_MODEL").unwrap_or_else(|_| "smollm2-135m".into());
    let home = LatheHome::new().unwrap();
    let workspace = tempfile::tempdir().unwrap();
    std::fs::write(workspace.path().join("README.md"), "# demo\n").unwrap();
    home.write_user_config(
        "[daemon]\nport = 0\n\n[model]\ncontext_window = 4096\nmax_output_tokens = 256\nrequest_timeout_secs = 120\nstream_idle_timeout_secs = 120\n",
    )
    .unwrap();
    let mut command = home.command();
    command
        .env("LATHE_BASE_URL", &base_url)
        .env("LATHE_MODEL", &model)
        .env("LATHE_SANDBOX", "none")
        .current_dir(workspace.path())
        .args([
            "run",
            "--json",
            "--approval",
            "read-only",
            "Say hello in one short sentence.",
        ]);
    let output = tokio::task::spawn_blocking(move || command.output())
        .await
        .unwrap()
        .unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    let events: Vec<Value> = String::from_utf8_lossy(&output.stdout)
        .lines()
        .map(|line| serde_json::from_str(line).unwrap())
        .collect();
    assert_eq!(
        output.status.code(),
        Some(0),
        "stderr: {stderr}\nevents: {events:#?}"
    );
    let last = events.last().unwrap();
    assert_eq!(last["type"], "RUN_FINISHED", "{events:#?}");
    let usage: Vec<&Value> = events
        .iter()
        .filter(|e| e["type"] == "CUSTOM" && e["name"] == "usage")
        .collect();
    assert!(!usage.is_empty());
    assert!(
        usage[0]["value"]["outputTokens"].as_u64().unwrap() > 0,
        "{usage:?}"
    );
    let deltas = events
        .iter()
        .filter(|e| e["type"] == "TEXT_MESSAGE_CONTENT")
        .count();
    assert!(deltas > 1, "the answer streamed: {events:#?}");
}
