//! Metrics rollups: daily counters derived from events as they are stored.
//!
//! Latencies are kept as histogram buckets (per bucket, the calls above the previous bound
//! and at or under its own), per day and in total, so that percentiles can be estimated
//! without keeping every sample, with the samples' sum beside them. The 5, 10 and 25 ms
//! buckets and the sums came later: a store older than them counts those calls in its
//! 50 ms bucket and has no sum for them (its means read low).

use crate::StoreError;
use lathe_protocol::{CustomEvent, EventPayload, TimestampMs};
use redb::{ReadableTable, Table};
use serde::Serialize;
use std::collections::BTreeMap;

/// Upper bounds, in milliseconds, of the latency histogram buckets.
pub const LATENCY_BUCKETS_MS: [u64; 13] = [
    5,
    10,
    25,
    50,
    100,
    250,
    500,
    1_000,
    2_500,
    5_000,
    10_000,
    30_000,
    u64::MAX,
];

/// A counter the store keeps.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MetricKey {
    Events,
    Runs,
    RunErrors,
    ModelCalls,
    InputTokens,
    OutputTokens,
    /// Cost in millionths of a US dollar.
    CostMicroUsd,
    ToolCalls,
    ToolErrors,
    ApprovalsRequested,
    ApprovalsDenied,
    SandboxExecs,
    SandboxExecFailures,
}

/// The latency histograms the store keeps.
pub const HISTOGRAMS: [&str; 3] = ["model_latency_ms", "model_ttft_ms", "sandbox_exec_ms"];

impl MetricKey {
    /// The counter's stored name.
    pub fn name(self) -> &'static str {
        match self {
            MetricKey::Events => "events",
            MetricKey::Runs => "runs",
            MetricKey::RunErrors => "run_errors",
            MetricKey::ModelCalls => "model_calls",
            MetricKey::InputTokens => "input_tokens",
            MetricKey::OutputTokens => "output_tokens",
            MetricKey::CostMicroUsd => "cost_micro_usd",
            MetricKey::ToolCalls => "tool_calls",
            MetricKey::ToolErrors => "tool_errors",
            MetricKey::ApprovalsRequested => "approvals_requested",
            MetricKey::ApprovalsDenied => "approvals_denied",
            MetricKey::SandboxExecs => "sandbox_execs",
            MetricKey::SandboxExecFailures => "sandbox_exec_failures",
        }
    }
}

/// The rollups as read back: per day (days since the Unix epoch) and in total.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct Metrics {
    pub totals: BTreeMap<String, u64>,
    pub daily: BTreeMap<u64, BTreeMap<String, u64>>,
}

impl Metrics {
    /// The total of one counter.
    pub fn total(&self, key: MetricKey) -> u64 {
        self.totals.get(key.name()).copied().unwrap_or(0)
    }

    /// The calls per bucket of one histogram in `counters` (the totals or one day's), in
    /// the order of [`LATENCY_BUCKETS_MS`] (not cumulative).
    pub fn buckets(counters: &BTreeMap<String, u64>, histogram: &str) -> Vec<u64> {
        LATENCY_BUCKETS_MS
            .iter()
            .map(|bound| {
                counters
                    .get(&latency_bucket(histogram, *bound))
                    .copied()
                    .unwrap_or(0)
            })
            .collect()
    }

    /// The sum of a histogram's samples in the totals, in milliseconds.
    pub fn sum(&self, histogram: &str) -> u64 {
        self.totals
            .get(&latency_sum(histogram))
            .copied()
            .unwrap_or(0)
    }

    /// The `q`-quantile (0 < q <= 1) of a histogram's totals as the upper bound of the
    /// bucket it falls in (`u64::MAX` for the open last bucket), or `None` without calls.
    pub fn quantile(&self, histogram: &str, q: f64) -> Option<u64> {
        let buckets = Metrics::buckets(&self.totals, histogram);
        let count: u64 = buckets.iter().sum();
        if count == 0 {
            return None;
        }
        let rank = ((q.clamp(0.0, 1.0) * count as f64).ceil() as u64).max(1);
        let mut cumulative = 0;
        LATENCY_BUCKETS_MS
            .iter()
            .zip(buckets)
            .find(|(_, calls)| {
                cumulative += calls;
                cumulative >= rank
            })
            .map(|(bound, _)| *bound)
    }
}

const MS_PER_DAY: u64 = 86_400_000;

/// Counter increments gathered over one transaction, written once at its end.
#[derive(Default)]
pub(crate) struct Deltas(BTreeMap<(String, u64), u64>);

impl Deltas {
    fn add(&mut self, name: &str, day: u64, amount: u64) {
        if amount > 0 {
            *self.0.entry((name.to_owned(), day)).or_default() += amount;
        }
    }

    /// Adds what one stored event contributes to the counters.
    pub(crate) fn record(&mut self, payload: &EventPayload, at: TimestampMs) {
        let day = at / MS_PER_DAY;
        self.add(MetricKey::Events.name(), day, 1);
        match payload {
            EventPayload::RunStarted { .. } => self.add(MetricKey::Runs.name(), day, 1),
            EventPayload::RunError { .. } => self.add(MetricKey::RunErrors.name(), day, 1),
            EventPayload::ToolCallResult { is_error, .. } => {
                self.add(MetricKey::ToolCalls.name(), day, 1);
                self.add(MetricKey::ToolErrors.name(), day, u64::from(*is_error));
            }
            EventPayload::Custom(CustomEvent::Usage(usage)) => {
                self.add(MetricKey::ModelCalls.name(), day, 1);
                self.add(MetricKey::InputTokens.name(), day, usage.input_tokens);
                self.add(MetricKey::OutputTokens.name(), day, usage.output_tokens);
                if let Some(micro_usd) = usage.cost_micro_usd() {
                    self.add(MetricKey::CostMicroUsd.name(), day, micro_usd);
                }
                self.observe("model_latency_ms", day, usage.latency_ms);
                if let Some(ttft) = usage.time_to_first_token_ms {
                    self.observe("model_ttft_ms", day, ttft);
                }
            }
            EventPayload::Custom(CustomEvent::SandboxExited(exited)) => {
                self.add(MetricKey::SandboxExecs.name(), day, 1);
                self.add(
                    MetricKey::SandboxExecFailures.name(),
                    day,
                    u64::from(exited.exit_code != 0),
                );
                self.observe("sandbox_exec_ms", day, exited.duration_ms);
            }
            EventPayload::Custom(CustomEvent::ApprovalRequested(_)) => {
                self.add(MetricKey::ApprovalsRequested.name(), day, 1)
            }
            EventPayload::Custom(CustomEvent::ApprovalResolved(resolved))
                if !resolved.decision.allows() =>
            {
                self.add(MetricKey::ApprovalsDenied.name(), day, 1)
            }
            _ => {}
        }
    }

    /// One sample of a histogram: its bucket and its sum.
    fn observe(&mut self, histogram: &str, day: u64, latency_ms: u64) {
        self.add(&latency_bucket(histogram, latency_ms), day, 1);
        self.add(&latency_sum(histogram), day, latency_ms);
    }

    /// Adds the gathered increments to the stored counters.
    pub(crate) fn flush(self, table: &mut Table<(&str, u64), u64>) -> Result<(), StoreError> {
        for ((name, day), amount) in self.0 {
            let current = table
                .get((name.as_str(), day))
                .map_err(StoreError::db)?
                .map(|v| v.value())
                .unwrap_or(0);
            table
                .insert((name.as_str(), day), current.saturating_add(amount))
                .map_err(StoreError::db)?;
        }
        Ok(())
    }
}

/// The counter holding the sum of a histogram's samples, in milliseconds.
pub fn latency_sum(histogram: &str) -> String {
    format!("{histogram}_sum")
}

/// Whether a stored counter is part of a histogram (a bucket or the sum) rather than a
/// plain counter.
pub fn is_histogram_part(counter: &str) -> bool {
    HISTOGRAMS.iter().any(|histogram| {
        counter
            .strip_prefix(histogram)
            .is_some_and(|rest| rest.starts_with('_'))
    })
}

/// The counter name of the histogram bucket a latency falls in, e.g. `model_latency_ms_le_250`.
pub fn latency_bucket(histogram: &str, latency_ms: u64) -> String {
    let bound = LATENCY_BUCKETS_MS
        .iter()
        .copied()
        .find(|bound| latency_ms <= *bound)
        .unwrap_or(u64::MAX);
    if bound == u64::MAX {
        format!("{histogram}_le_inf")
    } else {
        format!("{histogram}_le_{bound}")
    }
}

pub(crate) fn read(
    table: &impl ReadableTable<(&'static str, u64), u64>,
) -> Result<Metrics, StoreError> {
    let mut metrics = Metrics::default();
    for entry in table.iter().map_err(StoreError::db)? {
        let (key, value) = entry.map_err(StoreError::db)?;
        let (name, day) = key.value();
        let value = value.value();
        *metrics.totals.entry(name.to_owned()).or_default() += value;
        *metrics
            .daily
            .entry(day)
            .or_default()
            .entry(name.to_owned())
            .or_default() += value;
    }
    Ok(metrics)
}
