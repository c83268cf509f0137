//! The store's metrics rollups over HTTP: `/metrics` in Prometheus' text exposition and
//! `/api/metrics` as JSON for the dashboard's charts (daily series, latency histograms with
//! estimated percentiles, tool success rate).
//!
//! Invariant: both are views of the same rollups (`Store::metrics`); nothing here counts.

use super::state::DaemonState;
use axum::Json;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, header};
use axum::response::{IntoResponse, Response};
use lathe_store::metrics::{HISTOGRAMS, LATENCY_BUCKETS_MS, is_histogram_part};
use lathe_store::{MetricKey, Metrics};
use serde::Serialize;
use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::sync::Arc;

/// The daily series the dashboard charts, one value per day.
const DAILY: [MetricKey; 8] = [
    MetricKey::Runs,
    MetricKey::ModelCalls,
    MetricKey::InputTokens,
    MetricKey::OutputTokens,
    MetricKey::CostMicroUsd,
    MetricKey::ToolCalls,
    MetricKey::ToolErrors,
    MetricKey::SandboxExecs,
];

/// How many days of series `/api/metrics` returns, counting back from today (or the last
/// day with data, if the clock is behind it).
const DAYS: u64 = 30;

const MS_PER_DAY: u64 = 86_400_000;

#[derive(Serialize)]
struct MetricsView {
    /// Every counter's total (the histograms' buckets and sums are under `histograms`).
    totals: BTreeMap<String, u64>,
    cost_usd: f64,
    /// Successful tool calls over all tool calls, `None` before the first.
    tool_success_rate: Option<f64>,
    /// Consecutive days (days since the Unix epoch) ending today (or the last day with data,
    /// if the clock is behind it); empty before any data.
    days: Vec<DayView>,
    histograms: BTreeMap<&'static str, HistogramView>,
}

#[derive(Serialize)]
struct DayView {
    day: u64,
    counters: BTreeMap<&'static str, u64>,
}

#[derive(Serialize)]
struct HistogramView {
    /// Upper bounds in milliseconds; `null` is the open last bucket.
    bounds: Vec<Option<u64>>,
    /// Calls per bucket (not cumulative).
    counts: Vec<u64>,
    count: u64,
    /// The samples' sum in milliseconds (the mean is `sum_ms / count`).
    sum_ms: u64,
    /// Percentiles as the upper bound of the bucket they fall in (`null`: none yet, or the
    /// open last bucket).
    p50: Option<u64>,
    p90: Option<u64>,
    p99: Option<u64>,
}

fn view(metrics: &Metrics, today: u64) -> MetricsView {
    let totals: BTreeMap<String, u64> = metrics
        .totals
        .iter()
        .filter(|(name, _)| !is_histogram_part(name))
        .map(|(name, value)| (name.clone(), *value))
        .collect();
    let tool_calls = metrics.total(MetricKey::ToolCalls);
    let tool_success_rate = (tool_calls > 0).then(|| {
        tool_calls.saturating_sub(metrics.total(MetricKey::ToolErrors)) as f64 / tool_calls as f64
    });
    let days = match metrics.daily.keys().next_back() {
        None => Vec::new(),
        Some(&last) => (last.max(today).saturating_sub(DAYS - 1)..=last.max(today))
            .map(|day| DayView {
                day,
                counters: DAILY
                    .iter()
                    .map(|key| {
                        let value = metrics
                            .daily
                            .get(&day)
                            .and_then(|counters| counters.get(key.name()))
                            .copied()
                            .unwrap_or(0);
                        (key.name(), value)
                    })
                    .collect(),
            })
            .collect(),
    };
    let finite = |bound: u64| (bound != u64::MAX).then_some(bound);
    let histograms = HISTOGRAMS
        .iter()
        .map(|&name| {
            let counts = Metrics::buckets(&metrics.totals, name);
            let quantile = |q| metrics.quantile(name, q).and_then(finite);
            let histogram = HistogramView {
                bounds: LATENCY_BUCKETS_MS.iter().map(|b| finite(*b)).collect(),
                count: counts.iter().sum(),
                sum_ms: metrics.sum(name),
                counts,
                p50: quantile(0.5),
                p90: quantile(0.9),
                p99: quantile(0.99),
            };
            (name, histogram)
        })
        .collect();
    MetricsView {
        cost_usd: metrics.total(MetricKey::CostMicroUsd) as f64 / 1e6,
        totals,
        tool_success_rate,
        days,
        histograms,
    }
}

/// `GET /api/metrics`.
pub(crate) async fn json(State(state): State<Arc<DaemonState>>) -> Response {
    match state.store.metrics() {
        Ok(metrics) => Json(view(&metrics, lathe_store::now_ms() / MS_PER_DAY)).into_response(),
        Err(error) => super::http::store_error(error),
    }
}

/// `GET /metrics`: Prometheus text exposition.
pub(crate) async fn prometheus(State(state): State<Arc<DaemonState>>) -> Response {
    let rollups = match state.store.metrics() {
        Ok(metrics) => metrics,
        Err(error) => return super::http::store_error(error),
    };
    let mut text = String::new();
    let _ = writeln!(
        text,
        "# TYPE lathe_uptime_seconds gauge\nlathe_uptime_seconds {}",
        state.started.elapsed().as_secs()
    );
    let _ = writeln!(
        text,
        "# TYPE lathe_sessions gauge\nlathe_sessions {}",
        state.store.sessions().map(|s| s.len()).unwrap_or(0)
    );
    let _ = writeln!(
        text,
        "# TYPE lathe_store_bytes gauge\nlathe_store_bytes {}",
        state.store.size_bytes()
    );
    for (name, value) in rollups
        .totals
        .iter()
        .filter(|(name, _)| !is_histogram_part(name))
    {
        let _ = writeln!(
            text,
            "# TYPE lathe_{name}_total counter\nlathe_{name}_total {value}"
        );
    }
    for histogram in HISTOGRAMS {
        let _ = writeln!(text, "# TYPE lathe_{histogram} histogram");
        let mut cumulative = 0;
        for (bound, calls) in LATENCY_BUCKETS_MS
            .iter()
            .zip(Metrics::buckets(&rollups.totals, histogram))
        {
            cumulative += calls;
            let le = if *bound == u64::MAX {
                "+Inf".to_owned()
            } else {
                bound.to_string()
            };
            let _ = writeln!(text, "lathe_{histogram}_bucket{{le=\"{le}\"}} {cumulative}");
        }
        let _ = writeln!(text, "lathe_{histogram}_sum {}", rollups.sum(histogram));
        let _ = writeln!(text, "lathe_{histogram}_count {cumulative}");
    }
    let mut headers = HeaderMap::new();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/plain; version=0.0.4"),
    );
    (headers, text).into_response()
}
