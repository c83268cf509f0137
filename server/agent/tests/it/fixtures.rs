//! Every conversation in `fixtures/models/` loads and plays through the agent.

use crate::support::{Harness, results};
use lathe_agent::RunRequest;
use lathe_agent::tools::ToolRegistry;
use lathe_protocol::SessionStatus;
use lathe_tests::scripted_model::Script;
use pretty_assertions::assert_eq;

#[test]
fn every_fixture_is_valid() {
    let mut names: Vec<String> = std::fs::read_dir(Script::fixtures_dir())
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "json"))
        .map(|p| {
            Script::load(&p).unwrap();
            p.file_stem().unwrap().to_string_lossy().into_owned()
        })
        .collect();
    names.sort();
    assert_eq!(
        names,
        [
            "flaky_server",
            "parallel_reads",
            "read_and_answer",
            "tool_loop"
        ]
    );
}

async fn play(name: &str) -> (Harness, lathe_agent::RunOutcome) {
    let h = Harness::with(
        Script::fixture(name).unwrap(),
        |config| config.max_turns = 4,
        |_, _| ToolRegistry::with_file_tools(),
    )
    .await;
    let outcome = h.agent.run(RunRequest::new("go", "cli")).await.unwrap();
    (h, outcome)
}

#[tokio::test]
async fn read_and_answer_plays() {
    let (h, outcome) = play("read_and_answer").await;
    h.model.assert_played();
    assert_eq!(outcome.answer, "The README says hello world.");
    assert_eq!(
        (outcome.usage.input_tokens, outcome.usage.output_tokens),
        (890, 27)
    );
}

#[tokio::test]
async fn parallel_reads_play_and_keep_call_order() {
    let (h, outcome) = play("parallel_reads").await;
    h.model.assert_played();
    assert_eq!(outcome.status, SessionStatus::Finished);
    let results = results(&h.events(&outcome.session));
    assert_eq!(
        results,
        vec![
            (false, "README.md\nsrc/lib.rs".to_owned()),
            (
                false,
                "src/lib.rs:1: pub fn add(a: i32, b: i32) -> i32 {".to_owned()
            ),
            (
                false,
                "1\tpub fn add(a: i32, b: i32) -> i32 {\n2\t    a + b\n".to_owned()
            ),
        ]
    );
}

#[tokio::test]
async fn flaky_server_recovers() {
    let (h, outcome) = play("flaky_server").await;
    h.model.assert_played();
    assert_eq!(
        (outcome.status, outcome.answer.as_str()),
        (SessionStatus::Finished, "Recovered.")
    );
}

#[tokio::test]
async fn tool_loop_hits_the_turn_limit() {
    let (h, outcome) = play("tool_loop").await;
    assert_eq!(outcome.error.unwrap().0, "turn_limit");
    assert_eq!(h.model.requests().len(), 4);
}
