//! What generating a reply records in the metrics, for the conversation runner
//! and the stateless (OpenAI-compatible) completions alike. The metrics and
//! what to alert on: `docs/operations.md`.

use std::sync::Arc;
use std::time::Duration;

use ::metrics::{counter, histogram, Counter};
use protocol::objects::{FinishReason, Usage};

use crate::metrics::Metrics;
use crate::provider::ProviderError;

/// The `kind` label of `brook_upstream_errors_total`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum UpstreamFailure {
    /// No first token within `BROOK_UPSTREAM_FIRST_TOKEN_SECS`.
    FirstTokenTimeout,
    /// No token for `BROOK_UPSTREAM_IDLE_SECS` after the first.
    IdleTimeout,
    /// The stream ended without a finish reason.
    CutOff,
    /// A transient failure (connection, 429, 5xx): retried before the first token.
    Retryable,
    /// A failure not worth retrying (bad key, unknown model, malformed stream).
    Fatal,
}

impl UpstreamFailure {
    pub(crate) fn of(e: &ProviderError) -> UpstreamFailure {
        match e {
            ProviderError::Retryable { .. } => UpstreamFailure::Retryable,
            ProviderError::Fatal(_) => UpstreamFailure::Fatal,
        }
    }

    fn as_str(self) -> &'static str {
        match self {
            UpstreamFailure::FirstTokenTimeout => "first_token_timeout",
            UpstreamFailure::IdleTimeout => "idle_timeout",
            UpstreamFailure::CutOff => "cut_off",
            UpstreamFailure::Retryable => "retryable",
            UpstreamFailure::Fatal => "fatal",
        }
    }
}

/// How one generation ended, as the metrics see it.
pub(crate) struct Generated<'a> {
    /// `chat` (a conversation's reply) or `openai` (a stateless completion).
    pub via: &'static str,
    pub finish: FinishReason,
    pub ttft: Option<Duration>,
    pub duration: Option<Duration>,
    pub usage: &'a Usage,
    pub bot: &'a str,
    pub model: &'a str,
}

/// The metrics of generating: shared by the reply runner and the stateless
/// completions; cheap to clone.
#[derive(Clone)]
pub(crate) struct GenerationMetrics {
    metrics: Arc<Metrics>,
}

impl GenerationMetrics {
    pub(crate) fn new(metrics: Arc<Metrics>) -> GenerationMetrics {
        GenerationMetrics { metrics }
    }

    /// `brook_tokens_total`, registered once per reply so that each streamed
    /// delta costs one atomic add.
    pub(crate) fn token_counter(&self) -> Counter {
        self.metrics.record(|| counter!("brook_tokens_total"))
    }

    /// From a request to the model to its first streamed event.
    pub(crate) fn observe_upstream_latency(&self, d: Duration) {
        self.metrics
            .record(|| histogram!("brook_upstream_latency_seconds").record(d.as_secs_f64()));
    }

    pub(crate) fn count_upstream_failure(&self, kind: UpstreamFailure) {
        self.metrics
            .record(|| counter!("brook_upstream_errors_total", "kind" => kind.as_str()).increment(1));
    }

    /// A reply or completion ended: its finish reason, timings and usage.
    pub(crate) fn observe_generated(&self, g: Generated<'_>) {
        self.metrics.finished(g.finish);
        self.metrics.record(|| {
            if let Some(t) = g.ttft {
                histogram!("brook_time_to_first_token_seconds", "via" => g.via).record(t.as_secs_f64());
            }
            if let Some(d) = g.duration {
                histogram!("brook_reply_duration_seconds", "finish_reason" => g.finish.as_str())
                    .record(d.as_secs_f64());
            }
            for (kind, n) in [
                ("prompt", g.usage.prompt_tokens),
                ("completion", g.usage.completion_tokens),
            ] {
                if n > 0 {
                    counter!(
                        "brook_usage_tokens_total",
                        "bot" => g.bot.to_string(),
                        "model" => g.model.to_string(),
                        "type" => kind
                    )
                    .increment(u64::from(n));
                }
            }
        });
    }
}
