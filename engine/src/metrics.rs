//! `GET /metrics`: Prometheus text format, through the `metrics` facade and
//! `metrics-exporter-prometheus` (issue 15). Every metric, what it means and
//! what to alert on: `docs/operations.md`.
//!
//! # Recording
//!
//! Any module records with the facade's macros, run inside
//! [`Metrics::record`], which points them at this engine's own recorder:
//!
//! ```ignore
//! engine.metrics.record(|| metrics::counter!("brook_feedback_total", "bot_id" => bot, "rating" => r).increment(1));
//! ```
//!
//! # One registry per engine, not one per process
//!
//! The facade's global recorder can be installed once per process, but the
//! test suite runs many Brook apps in one process, and each asserts exact
//! counts on its own `/metrics`. So every [`Engine`](crate::Engine) owns a
//! [`PrometheusRecorder`] and [`Metrics::record`] installs it as the
//! facade's *local* recorder for the duration of a synchronous closure
//! (`metrics::with_local_recorder`). A handle the closure returns (a
//! `Counter`, `Gauge` or `Histogram`) keeps pointing at this engine's
//! registry after the closure, so hot paths register once and then pay one
//! atomic add per use (the token counter of a reply).
//!
//! Names follow Prometheus's conventions: `_total` for counters, base units
//! (`_seconds`), and every histogram has the buckets of [`BUCKETS`].

use std::time::{Instant, SystemTime, UNIX_EPOCH};

use metrics::{counter, describe_counter, describe_gauge, describe_histogram, gauge, Unit};
use metrics_exporter_prometheus::{Matcher, PrometheusBuilder, PrometheusHandle, PrometheusRecorder};
use protocol::objects::FinishReason;

/// Histogram buckets, in seconds: from 5 ms (an ack, an API call) to two
/// minutes (a long reply). Prometheus's default set stops at 10 s, too short
/// for a reply's duration.
pub const BUCKETS: [f64; 15] = [
    0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 20.0, 30.0, 60.0, 120.0,
];

const REASONS: [FinishReason; 5] = [
    FinishReason::Stop,
    FinishReason::Length,
    FinishReason::Stopped,
    FinishReason::Error,
    FinishReason::Interrupted,
];

/// The gauges read from the engine's state at scrape time (never drift: they
/// are counted, not incremented and decremented).
#[derive(Debug, Default, Clone)]
pub struct Gauges {
    /// Open streams by transport (`websocket`, `sse`, `long_poll`).
    pub connections: Vec<(&'static str, usize)>,
    /// Conversations with a reply generating or waiting.
    pub conversations_in_flight: usize,
    /// Replies holding a generation permit (`BROOK_MAX_ACTIVE_REPLIES`).
    pub replies_active: usize,
    /// Replies accepted and waiting: behind another reply of their
    /// conversation, or for a permit.
    pub replies_queued: usize,
    /// Reply logs kept for `resume`.
    pub reply_logs_held: usize,
    /// With `REDIS_URL`: whether Redis answers, and cross-node messages dropped
    /// while it did not (issue 13).
    pub redis: Option<(bool, u64)>,
}

/// One engine's metrics registry.
pub struct Metrics {
    recorder: PrometheusRecorder,
    handle: PrometheusHandle,
    started: Instant,
}

impl Default for Metrics {
    fn default() -> Self {
        Self::new()
    }
}

impl Metrics {
    pub fn new() -> Metrics {
        let recorder =
            match PrometheusBuilder::new().set_buckets_for_metric(Matcher::Suffix("_seconds".into()), &BUCKETS) {
                Ok(b) => b.build_recorder(),
                // Only an empty bucket list is refused, and BUCKETS is not empty.
                Err(_) => PrometheusBuilder::new().build_recorder(),
            };
        let handle = recorder.handle();
        let m = Metrics {
            recorder,
            handle,
            started: Instant::now(),
        };
        m.record(describe_all);
        m.record(|| {
            let start = SystemTime::now()
                .duration_since(UNIX_EPOCH)
                .map(|d| d.as_secs_f64())
                .unwrap_or_default();
            gauge!("process_start_time_seconds").set(start);
            gauge!("brook_build_info", "version" => env!("CARGO_PKG_VERSION")).set(1.0);
            // Counters a dashboard plots from the first scrape, at zero.
            for name in [
                "brook_messages_total",
                "brook_duplicate_sends_total",
                "brook_refusals_total",
                "brook_tokens_total",
            ] {
                counter!(name).absolute(0);
            }
            for r in REASONS {
                counter!("brook_replies_finished_total", "finish_reason" => r.as_str()).absolute(0);
            }
        });
        m
    }

    /// Runs `f` with this engine's recorder behind the `metrics` macros.
    /// `f` must be synchronous: the local recorder is the calling thread's.
    pub fn record<T>(&self, f: impl FnOnce() -> T) -> T {
        metrics::with_local_recorder(&self.recorder, f)
    }

    /// Drains histogram samples into their buckets; run every few seconds so
    /// memory stays bounded between scrapes.
    pub fn upkeep(&self) {
        self.handle.run_upkeep();
    }

    /// A reply (or stateless completion) ended.
    pub fn finished(&self, reason: FinishReason) {
        self.record(|| counter!("brook_replies_finished_total", "finish_reason" => reason.as_str()).increment(1));
    }

    /// One rating given on a message of `bot_id` (contract §9.4):
    /// `brook_feedback_total{bot_id, rating}`. Bot ids are Brook's own UUIDs.
    pub fn feedback(&self, bot_id: &str, rating: &'static str) {
        let bot = bot_id.to_string();
        self.record(|| counter!("brook_feedback_total", "bot_id" => bot, "rating" => rating).increment(1));
    }

    /// The text exposition, with the gauges the caller read just now.
    pub fn render(&self, g: &Gauges) -> String {
        self.record(|| {
            gauge!("brook_uptime_seconds").set(self.started.elapsed().as_secs_f64());
            for (transport, n) in &g.connections {
                gauge!("brook_connections", "transport" => *transport).set(*n as f64);
            }
            gauge!("brook_conversations_in_flight").set(g.conversations_in_flight as f64);
            gauge!("brook_replies_active").set(g.replies_active as f64);
            gauge!("brook_replies_queued").set(g.replies_queued as f64);
            gauge!("brook_reply_logs_held").set(g.reply_logs_held as f64);
            if let Some((up, dropped)) = g.redis {
                gauge!("brook_redis_up").set(if up { 1.0 } else { 0.0 });
                counter!("brook_cluster_dropped_total").absolute(dropped);
            }
        });
        self.handle.render()
    }
}

/// `(name, unit, help)` of every gauge Brook records.
const GAUGES: &[(&str, Option<Unit>, &str)] = &[
    (
        "process_start_time_seconds",
        Some(Unit::Seconds),
        "Start time of the process since the Unix epoch.",
    ),
    (
        "brook_build_info",
        None,
        "Always 1; the label `version` is the running build's.",
    ),
    ("brook_uptime_seconds", Some(Unit::Seconds), "Seconds since start."),
    (
        "brook_connections",
        None,
        "Open WebSocket, SSE and long-poll streams, by transport.",
    ),
    (
        "brook_conversations_in_flight",
        None,
        "Conversations with a reply generating or waiting.",
    ),
    (
        "brook_replies_active",
        None,
        "Replies generating now (holding one of BROOK_MAX_ACTIVE_REPLIES).",
    ),
    (
        "brook_replies_queued",
        None,
        "Replies accepted and waiting for their turn or for a generation slot.",
    ),
    ("brook_reply_logs_held", None, "Reply logs kept in memory for resume."),
    (
        "brook_redis_up",
        None,
        "With REDIS_URL: 1 while Redis answers, 0 while this node runs degraded.",
    ),
];

/// `(name, help)` of every counter (counters have no unit).
const COUNTERS: &[(&str, &str)] = &[
    ("brook_cluster_dropped_total", "Redis commands (cross-node events, Stream entries, leases) dropped while Redis was unreachable."),
    ("brook_messages_total", "User messages and API completions accepted."),
    ("brook_feedback_total", "Ratings given on answers (§9.4), by bot and rating."),
    ("brook_duplicate_sends_total", "Sends answered with an earlier ack (repeated client_id)."),
    ("brook_refusals_total", "Sends and API completions refused before ack, for any reason."),
    ("brook_limit_refusals_total", "Requests refused by a limit, by limit: messages (per-minute rate and concurrency), quota (daily tokens), \
         auth (sign-in rate), connections (streams per identity)."),
    ("brook_tokens_total", "Text deltas streamed from the model (one per upstream chunk, about one token), counted as they arrive."),
    ("brook_usage_tokens_total", "Tokens the model reported (or Brook estimated) per finished reply, by bot, model and type (prompt, completion)."),
    ("brook_replies_finished_total", "Replies finished, by finish reason."),
    ("brook_upstream_errors_total", "Failed attempts to get text from the model, by kind (retried ones included)."),
    ("brook_resumes_total", "Replies resumed from a sequence number, by transport."),
    ("brook_slow_consumer_closes_total", "Streams closed because the client stopped reading, by transport."),
];

/// `(name, help)` of every histogram (all in seconds).
const HISTOGRAMS: &[(&str, &str)] = &[
    (
        "brook_time_to_first_token_seconds",
        "From a reply's turn to generate to its first text, by via (chat, openai).",
    ),
    (
        "brook_reply_duration_seconds",
        "From a reply's turn to generate to its end, by finish reason.",
    ),
    (
        "brook_upstream_latency_seconds",
        "From a request to the model to its first streamed event (per attempt).",
    ),
    (
        "brook_http_request_duration_seconds",
        "HTTP requests until the response head, by method, route template and status.",
    ),
    (
        "brook_ack_latency_seconds",
        "From a received message to its ack, by transport (websocket, http).",
    ),
];

/// `# HELP` texts and units of every metric Brook records.
fn describe_all() {
    for &(name, unit, help) in GAUGES {
        match unit {
            Some(u) => describe_gauge!(name, u, help),
            None => describe_gauge!(name, help),
        }
    }
    for &(name, help) in COUNTERS {
        describe_counter!(name, help);
    }
    for &(name, help) in HISTOGRAMS {
        describe_histogram!(name, Unit::Seconds, help);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use metrics::histogram;

    #[test]
    fn each_engine_has_its_own_registry() {
        let (a, b) = (Metrics::new(), Metrics::new());
        a.record(|| counter!("brook_messages_total").increment(2));
        a.record(|| histogram!("brook_ack_latency_seconds", "transport" => "http").record(0.02));
        let ta = a.render(&Gauges::default());
        let tb = b.render(&Gauges::default());
        assert!(ta.contains("brook_messages_total 2"), "{ta}");
        assert!(tb.contains("brook_messages_total 0"), "{tb}");
        assert!(
            ta.contains("brook_ack_latency_seconds_bucket{transport=\"http\",le=\"0.025\"} 1"),
            "{ta}"
        );
        assert!(
            ta.contains("brook_ack_latency_seconds_count{transport=\"http\"} 1"),
            "{ta}"
        );
        assert!(!tb.contains("brook_ack_latency_seconds_count"), "{tb}");
        assert!(ta.contains("# TYPE process_start_time_seconds gauge"), "{ta}");
        assert!(ta.contains("brook_build_info{version=\""), "{ta}");
    }

    #[test]
    fn a_handle_outlives_the_closure() {
        let m = Metrics::new();
        let tokens = m.record(|| counter!("brook_tokens_total"));
        tokens.increment(3);
        tokens.increment(1);
        assert!(m.render(&Gauges::default()).contains("brook_tokens_total 4"));
    }
}
