//! Counters for `GET /metrics` (Prometheus text format). Plain atomics: a
//! metric costs one relaxed increment where it happens.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Instant;

use protocol::objects::FinishReason;

pub struct Metrics {
    started: Instant,
    pub messages: AtomicU64,
    pub duplicates: AtomicU64,
    pub refusals: AtomicU64,
    pub tokens: AtomicU64,
    finished: [AtomicU64; 5],
    /// Feedback given (contract §9.4), by (bot id, rating).
    feedback: std::sync::Mutex<std::collections::BTreeMap<(String, &'static str), u64>>,
}

const REASONS: [FinishReason; 5] = [
    FinishReason::Stop,
    FinishReason::Length,
    FinishReason::Stopped,
    FinishReason::Error,
    FinishReason::Interrupted,
];

impl Default for Metrics {
    fn default() -> Self {
        Metrics {
            started: Instant::now(),
            messages: AtomicU64::new(0),
            duplicates: AtomicU64::new(0),
            refusals: AtomicU64::new(0),
            tokens: AtomicU64::new(0),
            finished: Default::default(),
            feedback: Default::default(),
        }
    }
}

impl Metrics {
    pub fn finished(&self, reason: FinishReason) {
        if let Some(i) = REASONS.iter().position(|r| *r == reason) {
            self.finished[i].fetch_add(1, Ordering::Relaxed);
        }
    }

    /// One rating given on a message of `bot_id` (§9.4).
    pub fn feedback(&self, bot_id: &str, rating: &'static str) {
        let mut f = self.feedback.lock().unwrap_or_else(|p| p.into_inner());
        *f.entry((bot_id.to_string(), rating)).or_insert(0) += 1;
    }

    /// The text exposition, with the gauges the caller reads at scrape time.
    pub fn render(&self, connections: usize, in_flight: usize, logs_held: usize) -> String {
        let mut out = String::with_capacity(1024);
        let mut metric = |name: &str, kind: &str, help: &str, lines: Vec<(String, u64)>| {
            out.push_str(&format!("# HELP {name} {help}\n# TYPE {name} {kind}\n"));
            for (labels, v) in lines {
                out.push_str(&format!("{name}{labels} {v}\n"));
            }
        };
        let get = |a: &AtomicU64| a.load(Ordering::Relaxed);
        metric(
            "brook_uptime_seconds",
            "gauge",
            "Seconds since start.",
            vec![(String::new(), self.started.elapsed().as_secs())],
        );
        metric(
            "brook_connections",
            "gauge",
            "Open WebSocket and SSE connections.",
            vec![(String::new(), connections as u64)],
        );
        metric(
            "brook_conversations_in_flight",
            "gauge",
            "Conversations with a reply generating or waiting.",
            vec![(String::new(), in_flight as u64)],
        );
        metric(
            "brook_reply_logs_held",
            "gauge",
            "Reply logs kept for resume.",
            vec![(String::new(), logs_held as u64)],
        );
        metric(
            "brook_messages_total",
            "counter",
            "User messages accepted.",
            vec![(String::new(), get(&self.messages))],
        );
        metric(
            "brook_duplicate_sends_total",
            "counter",
            "Sends answered with an earlier ack (repeated client_id).",
            vec![(String::new(), get(&self.duplicates))],
        );
        metric(
            "brook_refusals_total",
            "counter",
            "Sends refused before ack.",
            vec![(String::new(), get(&self.refusals))],
        );
        metric(
            "brook_tokens_total",
            "counter",
            "Token frames produced.",
            vec![(String::new(), get(&self.tokens))],
        );
        metric(
            "brook_replies_finished_total",
            "counter",
            "Replies finished, by finish reason.",
            REASONS
                .iter()
                .zip(&self.finished)
                .map(|(r, c)| (format!("{{finish_reason=\"{}\"}}", r.as_str()), get(c)))
                .collect(),
        );
        // Bot ids are Brook's own UUIDs: nothing in them needs escaping in a label.
        let feedback = self.feedback.lock().unwrap_or_else(|p| p.into_inner()).clone();
        metric(
            "brook_feedback_total",
            "counter",
            "Ratings given on answers, by bot and rating.",
            feedback
                .into_iter()
                .map(|((bot, rating), n)| (format!("{{bot_id=\"{bot}\",rating=\"{rating}\"}}"), n))
                .collect(),
        );
        out
    }
}
