//! Generating one reply: its own task, belonging to no connection.
//!
//! The runner waits for its turn, announces the reply, streams the provider's
//! text into the reply's log (encoded once per token), checkpoints the text to
//! storage at most once a second (never per token), and finally stores the reply
//! and appends `complete`. Only `stop`, an upstream failure or shutdown end it
//! early; a client going away does not.

use std::sync::Arc;
use std::time::{Duration, Instant};

use futures::StreamExt;
use protocol::frames::{Complete, ErrorFrame, ProgressStep};
use protocol::objects::{FinishReason, MessageStatus, ReplyMetadata, Usage};
use protocol::ErrorCode;

use super::frames;
use super::observe::{Generated, UpstreamFailure};
use super::scheduler::Job;
use crate::engine::Engine;
use crate::hub::Event;
use crate::provider::{estimate_tokens, CompletionRequest, Delta, ProviderError};
use crate::store::FinishedReply;
use crate::time::now_micros;

const CHECKPOINT_EVERY: Duration = Duration::from_secs(1);
/// How long a finished reply's write is retried while storage is away: a
/// client told `complete` must find that reply stored (issue 13, PostgreSQL
/// down). The node keeps renewing the reply's lease meanwhile, so no other
/// node marks it `interrupted`.
const FINISH_RETRY_FOR: Duration = Duration::from_secs(60);
pub(crate) const MAX_RETRIES: u32 = 2;

/// How a generation ended.
pub(crate) struct Outcome {
    pub text: String,
    pub seq: u64,
    pub finish: FinishReason,
    pub usage: Option<Usage>,
    pub error: Option<String>,
    pub ttft: Option<Duration>,
    pub duration: Option<Duration>,
    pub started: bool,
    /// Tokens charged to the live quota while generating (released on finish).
    pub charged: u64,
}

impl Outcome {
    /// A reply that never reached the model (stopped or dropped while waiting).
    pub(crate) fn not_started(reason: FinishReason) -> Outcome {
        Outcome {
            text: String::new(),
            seq: 0,
            finish: reason,
            usage: None,
            error: None,
            ttft: None,
            duration: None,
            started: false,
            charged: 0,
        }
    }
}

pub(crate) fn backoff(attempt: u32, retry_after: Option<Duration>) -> Duration {
    if let Some(d) = retry_after {
        return d.min(Duration::from_secs(30));
    }
    let base = 250u64 << attempt.min(6);
    let jitter = rand::random::<u64>() % (base / 2 + 1);
    Duration::from_millis(base + jitter)
}

impl Engine {
    /// Runs a conversation's replies one after another until its queue is empty.
    pub(crate) async fn conversation_worker(self: Arc<Self>, owner: String, conversation: String) {
        while let Some(job) = self.scheduler.next(&owner, &conversation) {
            // The span gives the provider's own log lines (raw upstream errors) the reply's id.
            let span = tracing::info_span!("reply", reply_id = %job.log.reply_id);
            let outcome = tracing::Instrument::instrument(self.generate(&job), span).await;
            self.finalize(&job, outcome).await;
        }
    }

    fn announce_start(&self, job: &Job) {
        let log = &job.log;
        self.hub
            .registry
            .publish_conversation(&log.owner_id, &log.conversation_id, Event::ReplyStarted(log.clone()));
        log.push_preamble(frames::progress(ProgressStep::Starting));
        log.push_preamble(frames::assistant_typing(&log.conversation_id, true));
        let start = frames::stream_start(&log.reply_id, &log.conversation_id, &log.message_id);
        if let Some(bot) = job.bot.as_ref().filter(|_| job.is_visitor) {
            self.publish_to_owner_of(&bot.id, &log.owner_id, &start, "stream_start");
        }
        log.push_preamble(start);
        log.push_preamble(frames::progress(ProgressStep::Generating));
    }

    async fn generate(self: &Arc<Self>, job: &Job) -> Outcome {
        let cancel = job.control.cancel.clone();
        let _permit = tokio::select! {
            p = self.scheduler.permit() => p,
            _ = cancel.cancelled() => return Outcome::not_started(job.control.reason()),
        };
        if cancel.is_cancelled() {
            return Outcome::not_started(job.control.reason());
        }
        let log = job.log.clone();
        // Off the first token's path: a finished reply is never set back (the
        // update only applies to a `queued` row).
        {
            let store = self.store.clone();
            let id = log.reply_id.clone();
            tokio::spawn(async move {
                if let Err(e) = store.reply_streaming(&id).await {
                    tracing::warn!(reply_id = %id, error = %e, "could not mark reply streaming");
                }
            });
        }
        log.set_streaming();
        self.announce_start(job);

        let (system_prompt, model, temperature) = match &job.bot {
            Some(b) => (
                b.system_prompt.clone(),
                b.model.clone(),
                b.temperature.map(|t| t as f32),
            ),
            None => (String::new(), self.config.model.clone(), None),
        };
        let history_read = Instant::now();
        let history = match self
            .store
            .context_messages(&log.owner_id, &log.conversation_id, job.user_pos, 200)
            .await
        {
            Ok(h) => h,
            Err(e) => {
                tracing::warn!(reply_id = %log.reply_id, error = %e, "history unavailable; answering the message alone");
                Vec::new()
            }
        };
        let mut turns = super::context::build(&system_prompt, &history, self.config.context_tokens);
        if !turns.iter().any(|t| t.role == crate::provider::TurnRole::User) {
            turns.push(crate::provider::Turn {
                role: crate::provider::TurnRole::User,
                content: job.user_content.clone(),
            });
        }
        let request = CompletionRequest {
            model,
            temperature,
            turns,
            max_tokens: None,
            max_completion_tokens: None,
            stop: Vec::new(),
        };
        tracing::debug!(reply_id = %log.reply_id, history_us = history_read.elapsed().as_micros() as u64, "context built");

        let mut out = Outcome::not_started(FinishReason::Stop);
        out.started = true;
        let mut meter = match &job.quota {
            None => None,
            Some(scope) => match self.quota_meter(scope).await {
                Ok(m) => Some(m),
                Err(e) => {
                    // Storage trouble does not stop a reply already acknowledged.
                    tracing::warn!(reply_id = %log.reply_id, error = %e, "quota usage unreadable; not metering this reply");
                    None
                }
            },
        };
        if meter.as_ref().is_some_and(|m| m.spent(&self.live_usage)) {
            // Spent by other replies while this one waited its turn.
            out.finish = FinishReason::Length;
            out.duration = Some(Duration::ZERO);
            return out;
        }
        let started = Instant::now();
        let mut finish: Option<FinishReason> = None;
        let mut last_checkpoint = Instant::now();
        let mut checkpoint: Option<tokio::task::JoinHandle<()>> = None;
        let mut attempt = 0u32;
        let first_token = self.config.upstream_first_token;
        let idle = self.config.upstream_idle;
        let tokens = self.token_counter();

        'attempts: loop {
            let attempt_start = Instant::now();
            let mut heard = false;
            let opened = tokio::select! {
                r = tokio::time::timeout(first_token, self.provider.stream(request.clone())) => r,
                _ = cancel.cancelled() => { out.finish = job.control.reason(); break 'attempts; }
            };
            let failure = match opened {
                Err(_) => {
                    self.count_upstream_failure(UpstreamFailure::FirstTokenTimeout);
                    out.error = Some(format!("the model did not answer within {} s", first_token.as_secs()));
                    out.finish = FinishReason::Error;
                    break 'attempts;
                }
                Ok(Err(e)) => {
                    self.count_upstream_failure(UpstreamFailure::of(&e));
                    e
                }
                Ok(Ok(mut stream)) => loop {
                    let wait = if out.seq == 0 {
                        first_token.saturating_sub(attempt_start.elapsed())
                    } else {
                        idle
                    };
                    let next = tokio::select! {
                        n = tokio::time::timeout(wait, stream.next()) => n,
                        _ = cancel.cancelled() => { out.finish = job.control.reason(); break 'attempts; }
                    };
                    if !heard && matches!(next, Ok(Some(_))) {
                        heard = true;
                        self.observe_upstream_latency(attempt_start.elapsed());
                    }
                    match next {
                        Err(_) => {
                            self.count_upstream_failure(if out.seq == 0 {
                                UpstreamFailure::FirstTokenTimeout
                            } else {
                                UpstreamFailure::IdleTimeout
                            });
                            out.error = Some(if out.seq == 0 {
                                format!("the model did not answer within {} s", first_token.as_secs())
                            } else {
                                format!("the model stalled for {} s", idle.as_secs())
                            });
                            out.finish = FinishReason::Error;
                            break 'attempts;
                        }
                        Ok(None) => match finish {
                            Some(f) => {
                                out.finish = f;
                                break 'attempts;
                            }
                            None => {
                                self.count_upstream_failure(UpstreamFailure::CutOff);
                                break ProviderError::Retryable {
                                    message: "the model's stream was cut off".into(),
                                    retry_after: None,
                                };
                            }
                        },
                        Ok(Some(Err(e))) => {
                            self.count_upstream_failure(UpstreamFailure::of(&e));
                            break e;
                        }
                        Ok(Some(Ok(Delta::Text(t)))) => {
                            tokens.increment(1);
                            if out.ttft.is_none() {
                                out.ttft = Some(started.elapsed());
                            }
                            out.seq =
                                log.push_token(&t, |seq| frames::token(&t, &log.reply_id, &log.conversation_id, seq));
                            out.text.push_str(&t);
                            if let Some(m) = meter.as_mut() {
                                let spent = m.charge_text(&self.live_usage, &out.text);
                                out.charged = m.charged;
                                if spent {
                                    tracing::info!(reply_id = %log.reply_id, "reply cut off: the daily token quota ran out");
                                    out.finish = FinishReason::Length;
                                    break 'attempts;
                                }
                            }
                            if out.text.len() >= self.config.max_reply_bytes {
                                tracing::warn!(reply_id = %log.reply_id, bytes = out.text.len(), "reply cut off at the size cap");
                                out.finish = FinishReason::Length;
                                break 'attempts;
                            }
                            if last_checkpoint.elapsed() >= CHECKPOINT_EVERY
                                && checkpoint.as_ref().is_none_or(|h| h.is_finished())
                            {
                                last_checkpoint = Instant::now();
                                let store = self.store.clone();
                                let (id, text, seq) = (log.reply_id.clone(), out.text.clone(), out.seq as i64);
                                checkpoint = Some(tokio::spawn(async move {
                                    if let Err(e) = store.checkpoint_reply(&id, &text, seq).await {
                                        tracing::warn!(reply_id = %id, error = %e, "checkpoint failed");
                                    }
                                }));
                            }
                        }
                        Ok(Some(Ok(Delta::Finish(f)))) => finish = Some(f),
                        Ok(Some(Ok(Delta::Usage(u)))) => out.usage = Some(u),
                    }
                },
            };
            // A failure. Before the first token a transient one is retried.
            match failure {
                ProviderError::Retryable { message, retry_after } if out.seq == 0 && attempt < MAX_RETRIES => {
                    let wait = backoff(attempt, retry_after);
                    tracing::info!(reply_id = %log.reply_id, attempt, ?wait, %message, "retrying the model");
                    attempt += 1;
                    tokio::select! {
                        _ = tokio::time::sleep(wait) => continue 'attempts,
                        _ = cancel.cancelled() => { out.finish = job.control.reason(); break 'attempts; }
                    }
                }
                ProviderError::Retryable { message, .. } | ProviderError::Fatal(message) => {
                    out.error = Some(message);
                    out.finish = FinishReason::Error;
                    break 'attempts;
                }
            }
        }
        if let Some(h) = checkpoint {
            let _ = h.await;
        }
        out.duration = Some(started.elapsed());
        out
    }

    /// Stores the reply's final state, then tells everyone: `error` (if any),
    /// `complete`, the assistant's `typing` false, and the live events.
    /// Stores the finished reply, retrying while storage is away (200 ms, then
    /// growing to 2 s between attempts) for up to [`FINISH_RETRY_FOR`]; the
    /// conversation as updated, or `None` when it was not stored.
    async fn store_finished(&self, finished: &FinishedReply) -> Option<crate::store::ConversationRow> {
        let started = Instant::now();
        let mut attempt = 0u64;
        loop {
            match self.store.finish_reply(finished).await {
                Ok(conversation) => return conversation,
                Err(e) => {
                    tracing::error!(reply_id = %finished.reply_id, attempt, error = %e, "storing the finished reply failed");
                    if started.elapsed() >= FINISH_RETRY_FOR {
                        return None;
                    }
                    attempt += 1;
                    tokio::time::sleep(Duration::from_millis((200 * attempt).min(2000))).await;
                }
            }
        }
    }

    pub(crate) async fn finalize(self: &Arc<Self>, job: &Job, out: Outcome) {
        let log = &job.log;
        let now = now_micros();
        let (agent, model) = match &job.bot {
            Some(b) => (b.name.clone(), b.model.clone()),
            None => ("Assistant".to_string(), self.config.model.clone()),
        };
        let model = if self.provider.kind() == "demo" {
            crate::provider::demo::DEMO_MODEL.to_string()
        } else {
            model
        };
        let usage = out.usage.unwrap_or_else(|| {
            let completion = if out.text.is_empty() {
                0
            } else {
                estimate_tokens(&out.text) as u32
            };
            Usage {
                prompt_tokens: 0,
                completion_tokens: completion,
                total_tokens: completion,
            }
        });
        if let Some(e) = &out.error {
            tracing::warn!(reply_id = %log.reply_id, error = %e, "reply failed upstream");
        }
        self.observe_generated(Generated {
            surface: "chat",
            finish: out.finish,
            ttft: out.ttft,
            duration: out.duration,
            usage: &usage,
            bot: job.bot.as_ref().map_or("", |b| b.id.as_str()),
            model: &model,
        });
        let metadata = ReplyMetadata {
            agent,
            model,
            finish_reason: out.finish,
            usage,
            ttft_ms: out.ttft.map(|d| d.as_millis() as u64),
            duration_ms: out.duration.map(|d| d.as_millis() as u64),
        };
        let status: MessageStatus = out.finish.status();
        let finished = FinishedReply {
            reply_id: log.reply_id.clone(),
            owner_id: log.owner_id.clone(),
            conversation_id: log.conversation_id.clone(),
            content: out.text.clone(),
            status,
            metadata: serde_json::to_value(&metadata).unwrap_or_default(),
            seq: out.seq as i64,
            now,
            preview: (!out.text.trim().is_empty()).then(|| super::preview(&out.text)),
        };
        let conversation = self.store_finished(&finished).await;
        // Before `complete`: a client that sends again at once must meet its quota.
        self.record_usage(
            &log.owner_id,
            job.quota.as_ref(),
            usage.completion_tokens as u64,
            out.charged,
        )
        .await;
        if let Some(message) = &out.error {
            let mut e = ErrorFrame::new(ErrorCode::UpstreamError, message.clone());
            e.reply_id = Some(log.reply_id.clone());
            log.push_error(frames::error(e));
        }
        let complete = Complete {
            response: out.text.clone(),
            session_id: log.conversation_id.clone(),
            reply_id: log.reply_id.clone(),
            message_id: log.reply_id.clone(),
            metadata,
        };
        let complete_frame = frames::complete(&complete);
        log.finish(status, complete, complete_frame.clone());
        if out.started {
            log.push_epilogue(frames::assistant_typing(&log.conversation_id, false));
        } else {
            // Stopped (or dropped) before its turn: no connection subscribed to
            // it yet, so point the joined ones at its log, which holds just the
            // `complete` that every acked reply ends with.
            self.hub.registry.publish_conversation(
                &log.owner_id,
                &log.conversation_id,
                Event::ReplyStarted(log.clone()),
            );
        }

        let visitor_bot = job.bot.as_ref().filter(|_| job.is_visitor).map(|b| b.id.as_str());
        if let Some(bot) = visitor_bot {
            self.publish_to_owner_of(bot, &log.owner_id, &complete_frame, "complete");
        }
        if let Some(conv) = conversation {
            if let Ok(Some(row)) = self.store.message(&log.reply_id).await {
                self.announce(&conv, &row, job.origin_conn, visitor_bot);
            }
        }
        if let Some(c) = &self.cluster {
            c.release(&log.reply_id);
        }
        self.hub.retire(log.reply_id.clone());
    }
}
