//! Store figures: durable commit latency (one boundary event per append, p50/p99) and
//! batched append throughput (many events per append and many appenders at once).
//!
//! Run with `cargo bench -p lathe-store`. Prints numbers; asserts nothing about speed.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::print_stdout)]

use hdrhistogram::Histogram;
use lathe_protocol::{EventPayload, MessageId, SessionId};
use lathe_store::Store;
use std::time::Instant;

fn delta(i: usize) -> EventPayload {
    EventPayload::TextMessageContent {
        message_id: MessageId::from("m"),
        delta: format!("token {i} "),
    }
}

fn main() {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let dir = tempfile::tempdir_in(std::env::var("LATHE_BENCH_DIR").unwrap_or_else(|_| ".".into()))
        .unwrap();
    let store = Store::open(&dir.path().join("bench.redb")).unwrap();
    runtime.block_on(async {
        let session = SessionId::from("durable");
        let mut latency = Histogram::<u64>::new(3).unwrap();
        for i in 0..2_000 {
            let started = Instant::now();
            store
                .append(&session, vec![EventPayload::TextMessageEnd { message_id: MessageId::from(format!("m{i}")) }])
                .await
                .unwrap();
            latency.record(started.elapsed().as_micros() as u64).unwrap();
        }
        println!(
            "durable commit (1 event, sequential, 2000 appends): p50 {:.2} ms, p99 {:.2} ms, max {:.2} ms",
            latency.value_at_quantile(0.5) as f64 / 1000.0,
            latency.value_at_quantile(0.99) as f64 / 1000.0,
            latency.max() as f64 / 1000.0
        );

        let batch = 1_000;
        let batches = 200;
        let session = SessionId::from("batched");
        let started = Instant::now();
        for b in 0..batches {
            store
                .append(&session, (0..batch).map(|i| delta(b * batch + i)).collect())
                .await
                .unwrap();
        }
        let total = (batch * batches) as f64;
        println!(
            "batched appends ({batch} events per append, durable): {:.0} events/s",
            total / started.elapsed().as_secs_f64()
        );

        let tasks = 64;
        let per_task = 500;
        let started = Instant::now();
        let handles: Vec<_> = (0..tasks)
            .map(|t| {
                let store = store.clone();
                tokio::spawn(async move {
                    let session = SessionId::from(format!("concurrent-{}", t % 20));
                    for i in 0..per_task {
                        store.append(&session, vec![delta(i)]).await.unwrap();
                    }
                })
            })
            .collect();
        for handle in handles {
            handle.await.unwrap();
        }
        let total = (tasks * per_task) as f64;
        println!(
            "group commit ({tasks} tasks x {per_task} single-event appends over 20 sessions): {:.0} events/s",
            total / started.elapsed().as_secs_f64()
        );
    });
}
