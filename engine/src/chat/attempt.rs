//! The generate loop of one reply, in three steps: [`Runner::run_attempts`]
//! retries transient upstream failures before the first token,
//! [`Runner::attempt`] opens the provider's stream within the first-token
//! time-out, and [`Runner::pump`] moves its deltas into the reply's log until
//! it finishes, fails, stalls, is stopped or reaches a limit.

use std::time::Instant;

use futures::future::Either;
use futures::StreamExt;
use protocol::objects::FinishReason;

use super::frames;
use super::head_start::Opening;
use super::observe::UpstreamFailure;
use super::quota::QuotaMeter;
use super::runner::{backoff, Outcome, Runner, MAX_RETRIES};
use super::scheduler::Job;
use crate::provider::{CompletionRequest, Delta, DeltaStream, ProviderError};

/// The text is checkpointed to storage at most this often while streaming.
const CHECKPOINT_EVERY: std::time::Duration = std::time::Duration::from_secs(1);

/// One reply's generation in progress, across attempts.
pub(super) struct Generation<'a> {
    job: &'a Job,
    out: Outcome,
    meter: Option<QuotaMeter>,
    /// When the reply got its turn (time to first token counts from here).
    started: Instant,
    /// The finish reason the model gave, if it gave one yet.
    finish: Option<FinishReason>,
    last_checkpoint: Instant,
    checkpoint: Option<tokio::task::JoinHandle<()>>,
    tokens: ::metrics::Counter,
}

/// How an attempt ended.
enum AttemptEnd {
    /// The reply is over: its finish reason (and error) are in the outcome.
    Done,
    /// The provider failed: retried before the first token when retryable.
    Failed(ProviderError),
}

impl<'a> Generation<'a> {
    pub(super) fn new(job: &'a Job, out: Outcome, meter: Option<QuotaMeter>, tokens: ::metrics::Counter) -> Self {
        Generation {
            job,
            out,
            meter,
            started: Instant::now(),
            finish: None,
            last_checkpoint: Instant::now(),
            checkpoint: None,
            tokens,
        }
    }

    /// Waits for the last checkpoint and returns the outcome with its duration.
    pub(super) async fn end(mut self) -> Outcome {
        if let Some(h) = self.checkpoint.take() {
            let _ = h.await;
        }
        self.out.duration = Some(self.started.elapsed());
        self.out
    }

    /// Stopped (by `stop`, shutdown, a hand-off or a deletion).
    fn stopped(&mut self) -> AttemptEnd {
        self.out.finish = self.job.control.reason();
        AttemptEnd::Done
    }

    fn failed(&mut self, message: String) -> AttemptEnd {
        self.out.error = Some(message);
        self.out.finish = FinishReason::Error;
        AttemptEnd::Done
    }
}

impl Runner {
    /// Attempts until the reply ends; a transient failure before the first
    /// token is retried up to [`MAX_RETRIES`] times after [`backoff`]. The
    /// first attempt takes `head_start`'s stream when there is one.
    pub(super) async fn run_attempts(
        &self,
        g: &mut Generation<'_>,
        request: &CompletionRequest,
        mut head_start: Option<Opening>,
    ) {
        let cancel = g.job.control.cancel.clone();
        let mut attempt = 0u32;
        loop {
            let failure = match self.attempt(g, request, head_start.take()).await {
                AttemptEnd::Done => return,
                AttemptEnd::Failed(e) => e,
            };
            match failure {
                ProviderError::Retryable { message, retry_after } if g.out.seq == 0 && attempt < MAX_RETRIES => {
                    let wait = backoff(attempt, retry_after);
                    tracing::info!(attempt, ?wait, %message, "retrying the model");
                    attempt += 1;
                    tokio::select! {
                        _ = tokio::time::sleep(wait) => {}
                        _ = cancel.cancelled() => { g.stopped(); return; }
                    }
                }
                ProviderError::Retryable { message, .. } | ProviderError::Fatal(message) => {
                    g.failed(message);
                    return;
                }
            }
        }
    }

    /// Opens the provider's stream (or takes the one `head_start` opened)
    /// within the first-token time-out and pumps it. The time-outs count from
    /// this attempt's start even with a head start: a commit that kept the
    /// stream unread is not the model's delay. The upstream's latency is
    /// measured from the request.
    async fn attempt(
        &self,
        g: &mut Generation<'_>,
        request: &CompletionRequest,
        head_start: Option<Opening>,
    ) -> AttemptEnd {
        let attempt_start = Instant::now();
        let first_token = self.settings.first_token;
        let cancel = g.job.control.cancel.clone();
        let (requested, opening) = match head_start {
            Some(h) => (h.started, Either::Left(tokio::time::timeout(first_token, h.stream()))),
            None => (
                attempt_start,
                Either::Right(tokio::time::timeout(first_token, self.provider.stream(request.clone()))),
            ),
        };
        let opened = tokio::select! {
            r = opening => r,
            _ = cancel.cancelled() => return g.stopped(),
        };
        match opened {
            Err(_) => {
                self.observe.count_upstream_failure(UpstreamFailure::FirstTokenTimeout);
                g.failed(format!("the model did not answer within {} s", first_token.as_secs()))
            }
            Ok(Err(e)) => {
                self.observe.count_upstream_failure(UpstreamFailure::of(&e));
                AttemptEnd::Failed(e)
            }
            Ok(Ok(stream)) => self.pump(g, stream, attempt_start, requested).await,
        }
    }

    /// Moves one stream's deltas into the reply until it ends; `requested` is
    /// when its request went out.
    async fn pump(
        &self,
        g: &mut Generation<'_>,
        mut stream: DeltaStream,
        attempt_start: Instant,
        requested: Instant,
    ) -> AttemptEnd {
        let (first_token, idle) = (self.settings.first_token, self.settings.idle);
        let cancel = g.job.control.cancel.clone();
        let mut heard = false;
        loop {
            let wait = if g.out.seq == 0 {
                first_token.saturating_sub(attempt_start.elapsed())
            } else {
                idle
            };
            let next = tokio::select! {
                n = tokio::time::timeout(wait, stream.next()) => n,
                _ = cancel.cancelled() => return g.stopped(),
            };
            if !heard && matches!(next, Ok(Some(_))) {
                heard = true;
                self.observe.observe_upstream_latency(requested.elapsed());
            }
            match next {
                Err(_) if g.out.seq == 0 => {
                    self.observe.count_upstream_failure(UpstreamFailure::FirstTokenTimeout);
                    return g.failed(format!("the model did not answer within {} s", first_token.as_secs()));
                }
                Err(_) => {
                    self.observe.count_upstream_failure(UpstreamFailure::IdleTimeout);
                    return g.failed(format!("the model stalled for {} s", idle.as_secs()));
                }
                Ok(None) => return self.stream_ended(g),
                Ok(Some(Err(e))) => {
                    self.observe.count_upstream_failure(UpstreamFailure::of(&e));
                    return AttemptEnd::Failed(e);
                }
                Ok(Some(Ok(Delta::Text(t)))) => {
                    if let Some(limit) = self.push_text(g, &t) {
                        g.out.finish = limit;
                        return AttemptEnd::Done;
                    }
                }
                Ok(Some(Ok(Delta::Finish(f)))) => g.finish = Some(f),
                Ok(Some(Ok(Delta::Usage(u)))) => g.out.usage = Some(u),
            }
        }
    }

    /// The stream ended: finished if the model said why, else cut off (retryable).
    fn stream_ended(&self, g: &mut Generation<'_>) -> AttemptEnd {
        match g.finish {
            Some(f) => {
                g.out.finish = f;
                AttemptEnd::Done
            }
            None => {
                self.observe.count_upstream_failure(UpstreamFailure::CutOff);
                AttemptEnd::Failed(ProviderError::Retryable {
                    message: "the model's stream was cut off".into(),
                    retry_after: None,
                })
            }
        }
    }

    /// Appends a text delta to the log and the outcome, charges the quota and
    /// checkpoints. Returns `Some(Length)` when the daily quota ran out or the
    /// reply reached `BROOK_MAX_REPLY_BYTES`.
    fn push_text(&self, g: &mut Generation<'_>, t: &str) -> Option<FinishReason> {
        let log = &g.job.log;
        g.tokens.increment(1);
        if g.out.ttft.is_none() {
            g.out.ttft = Some(g.started.elapsed());
        }
        g.out.seq = log.push_token(t, |seq| frames::token(t, &log.reply_id, &log.conversation_id, seq));
        g.out.text.push_str(t);
        if let Some(m) = g.meter.as_mut() {
            let spent = m.charge_text(self.quotas.live(), &g.out.text);
            g.out.charged = m.charged;
            if spent {
                tracing::info!("reply cut off: the daily token quota ran out");
                return Some(FinishReason::Length);
            }
        }
        if g.out.text.len() >= self.settings.max_reply_bytes {
            tracing::warn!(bytes = g.out.text.len(), "reply cut off at the size cap");
            return Some(FinishReason::Length);
        }
        self.checkpoint(g);
        None
    }

    /// Stores the text so far, at most once per [`CHECKPOINT_EVERY`] and never
    /// two at once, off the token path.
    fn checkpoint(&self, g: &mut Generation<'_>) {
        if g.last_checkpoint.elapsed() < CHECKPOINT_EVERY || g.checkpoint.as_ref().is_some_and(|h| !h.is_finished()) {
            return;
        }
        g.last_checkpoint = Instant::now();
        let store = self.store.clone();
        let (id, text, seq) = (g.job.log.reply_id.clone(), g.out.text.clone(), g.out.seq as i64);
        let task = async move {
            if let Err(e) = store.checkpoint_reply(&id, &text, seq).await {
                tracing::warn!(error = %e, "checkpoint failed");
            }
        };
        g.checkpoint = Some(tokio::spawn(tracing::Instrument::in_current_span(task)));
    }
}
