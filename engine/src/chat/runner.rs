//! Generating one reply: its own task, belonging to no connection.
//!
//! The [`Runner`] waits for the reply's turn (a new conversation's first
//! reply may come with its stream already opening: [`super::head_start`]),
//! announces it, streams the provider's text into the reply's log (encoded
//! once per token; see [`super::attempt`]), checkpoints the text to storage at most once a second
//! (never per token), and finally stores the reply and appends `complete`
//! ([`super::finalize`]). Only `stop`, an upstream failure or shutdown end it
//! early; a client going away does not. Every line a reply logs, the
//! provider's included, is inside one `reply` span carrying `reply_id`,
//! `session_id` and `bot`.

use std::sync::Arc;
use std::time::{Duration, Instant};

use protocol::frames::ProgressStep;
use protocol::objects::{FinishReason, Usage};
use tracing::Instrument;

use super::announce::Announcer;
use super::attempt::Generation;
use super::frames;
use super::head_start::HeadStart;
use super::observe::GenerationMetrics;
use super::quota::{QuotaMeter, Quotas};
use super::scheduler::{Committed, Job, Scheduler};
use crate::cluster::Cluster;
use crate::hub::Hub;
use crate::provider::{CompletionRequest, Provider, Turn, TurnRole};
use crate::store::{BotRow, Database, MessageRow};

/// Transient upstream failures retried before the first token.
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

/// Wait before retry `attempt` (0-based): the upstream's `Retry-After` (at most
/// 30 s), else 250 ms doubling per attempt plus up to half as much jitter.
pub(crate) fn backoff(attempt: u32, retry_after: Option<Duration>) -> Duration {
    if let Some(d) = retry_after {
        return d.min(Duration::from_secs(30));
    }
    let base = 250u64 << attempt.min(6);
    let jitter = rand::random::<u64>() % (base / 2 + 1);
    Duration::from_millis(base + jitter)
}

/// What the runner reads from the configuration.
#[derive(Clone, Debug)]
pub struct RunnerSettings {
    /// The model of a reply without a bot (`BROOK_MODEL`).
    pub default_model: String,
    /// Prompt budget in estimated tokens (`BROOK_CONTEXT_TOKENS`).
    pub context_tokens: usize,
    /// `BROOK_UPSTREAM_FIRST_TOKEN_SECS`.
    pub first_token: Duration,
    /// `BROOK_UPSTREAM_IDLE_SECS`.
    pub idle: Duration,
    /// A reply is cut (`length`) at this many bytes (`BROOK_MAX_REPLY_BYTES`).
    pub max_reply_bytes: usize,
}

/// Runs replies: one worker task per conversation with replies waiting, one
/// reply at a time per conversation, under the scheduler's permits. With
/// several nodes a reply also waits for the earlier replies of its
/// conversation on other nodes ([`super::shared_line`]).
pub struct Runner {
    pub(crate) store: Arc<dyn Database>,
    pub(crate) hub: Arc<Hub>,
    pub(crate) provider: Arc<dyn Provider>,
    pub(crate) scheduler: Arc<Scheduler>,
    pub(crate) quotas: Arc<Quotas>,
    pub(crate) observe: GenerationMetrics,
    pub(crate) announcer: Announcer,
    pub(crate) cluster: Option<Arc<Cluster>>,
    pub(crate) settings: RunnerSettings,
}

/// The span every line of one reply is logged in.
pub(crate) fn reply_span(job: &Job) -> tracing::Span {
    tracing::info_span!(
        "reply",
        reply_id = %job.log.reply_id,
        session_id = %job.log.conversation_id,
        bot = job.bot.as_ref().map_or("", |b| b.id.as_str()),
    )
}

impl Runner {
    /// Starts the conversation's worker when committing the job asked for one.
    pub(crate) fn start_job(self: &Arc<Self>, committed: Committed, owner: &str, conversation: &str) {
        if let Committed::StartWorker = committed {
            let (o, c) = (owner.to_string(), conversation.to_string());
            tokio::spawn(self.clone().conversation_worker(o, c));
        }
    }

    /// Runs a conversation's replies one after another until its queue is empty.
    async fn conversation_worker(self: Arc<Self>, owner: String, conversation: String) {
        while let Some(job) = self.scheduler.next(&owner, &conversation) {
            let Some(mut job) = self.take_turn(job).await else {
                continue;
            };
            let head_start = job.head_start.take();
            let span = reply_span(&job);
            async {
                let outcome = self.generate(&job, head_start).await;
                self.finalize(&job, outcome).await;
            }
            .instrument(span)
            .await;
        }
    }

    /// Ends a reply that never reached the model (stopped while waiting, or
    /// cut off by shutdown, a hand-off or a deletion), in its reply span.
    pub(crate) async fn finish_unstarted(&self, job: &Job, reason: FinishReason) {
        let span = reply_span(job);
        self.finalize(job, Outcome::not_started(reason)).instrument(span).await;
    }

    /// The reply's turn, from waiting for a permit (or taking its head start's)
    /// to the model's last delta.
    async fn generate(&self, job: &Job, head_start: Option<HeadStart>) -> Outcome {
        let cancel = job.control.cancel.clone();
        let (_permit, ahead) = match head_start.map(HeadStart::into_parts) {
            Some((permit, request, opening)) => (permit, Some((request, opening))),
            None => tokio::select! {
                p = self.scheduler.permit() => (p, None),
                _ = cancel.cancelled() => return Outcome::not_started(job.control.reason()),
            },
        };
        if cancel.is_cancelled() {
            return Outcome::not_started(job.control.reason());
        }
        self.set_streaming(job);
        let (request, meter, opening) = match ahead {
            // The request the head start sent: a fresh job's, built before the commit.
            Some((request, opening)) => (request, self.meter(job).await, Some(opening)),
            None => {
                // Two independent reads before the model is asked (the history,
                // the quota's usage): at once, so the first token waits for one.
                let (request, meter) = tokio::join!(self.request(job), self.meter(job));
                (request, meter, None)
            }
        };
        let mut out = Outcome::not_started(FinishReason::Stop);
        out.started = true;
        if meter.as_ref().is_some_and(|m| m.spent(self.quotas.live())) {
            // Spent by other replies while this one waited its turn.
            out.finish = FinishReason::Length;
            out.duration = Some(Duration::ZERO);
            return out;
        }
        let mut g = Generation::new(job, out, meter, self.observe.token_counter());
        self.run_attempts(&mut g, &request, opening).await;
        g.end().await
    }

    /// Marks the reply `streaming` (in storage off the first token's path; a
    /// finished reply is never set back) and announces its start.
    fn set_streaming(&self, job: &Job) {
        let log = &job.log;
        let store = self.store.clone();
        let id = log.reply_id.clone();
        tokio::spawn(
            async move {
                if let Err(e) = store.reply_streaming(&id).await {
                    tracing::warn!(error = %e, "could not mark reply streaming");
                }
            }
            .in_current_span(),
        );
        log.set_streaming();
        self.announcer.reply_started(log);
        log.push_preamble(frames::progress(ProgressStep::Starting));
        log.push_preamble(frames::assistant_typing(&log.conversation_id, true));
        let start = frames::stream_start(&log.reply_id, &log.conversation_id, &log.message_id);
        if let Some(bot) = job.bot.as_ref().filter(|_| job.is_visitor) {
            self.announcer
                .to_bot_owner(&bot.id, &log.owner_id, &start, "stream_start");
        }
        log.push_preamble(start);
        log.push_preamble(frames::progress(ProgressStep::Generating));
    }

    /// The model request: the bot's prompt and settings, and as much of the
    /// conversation as fits the context budget.
    async fn request(&self, job: &Job) -> CompletionRequest {
        let log = &job.log;
        let history_read = Instant::now();
        // A fresh conversation holds only the message: it is added below.
        let history = match job.fresh {
            true => Vec::new(),
            false => match self
                .store
                .context_messages(&log.owner_id, &log.conversation_id, job.user_pos, 200)
                .await
            {
                Ok(h) => h,
                Err(e) => {
                    tracing::warn!(error = %e, "history unavailable; answering the message alone");
                    Vec::new()
                }
            },
        };
        tracing::debug!(history_us = history_read.elapsed().as_micros() as u64, "context built");
        self.compose(job.bot.as_ref(), &history, &job.user_content)
    }

    /// The request for `bot` (`None`: the default model, no prompt) with
    /// `history` (oldest first) cut to the context budget, and `user_content`
    /// as the last turn when the history does not hold it.
    fn compose(&self, bot: Option<&BotRow>, history: &[MessageRow], user_content: &str) -> CompletionRequest {
        let (system_prompt, model, temperature) = match bot {
            Some(b) => (
                b.system_prompt.as_str(),
                b.model.clone(),
                b.temperature.map(|t| t as f32),
            ),
            None => ("", self.settings.default_model.clone(), None),
        };
        let mut turns = super::context::build(system_prompt, history, self.settings.context_tokens);
        if !turns.iter().any(|t| t.role == TurnRole::User) {
            turns.push(Turn {
                role: TurnRole::User,
                content: user_content.to_string(),
            });
        }
        CompletionRequest {
            model,
            temperature,
            turns,
            max_tokens: None,
            max_completion_tokens: None,
            stop: Vec::new(),
        }
    }

    /// Starts opening the model's stream for the first reply of a new
    /// conversation, before its exchange is stored ([`super::head_start`]):
    /// `bot`'s prompt and `message`, all a new conversation holds; the reply
    /// uses this request, its retries included. `None` when no permit is free now.
    pub(crate) fn head_start(&self, bot: Option<&BotRow>, message: &str) -> Option<HeadStart> {
        let permit = self.scheduler.try_permit()?;
        let request = self.compose(bot, &[], message);
        let (provider, sent) = (self.provider.clone(), request.clone());
        let opening = tokio::spawn(async move { provider.stream(sent).await }.in_current_span());
        Some(HeadStart::new(permit, request, opening))
    }

    /// The reply's quota meter; storage trouble does not stop a reply already
    /// acknowledged (it goes unmetered).
    async fn meter(&self, job: &Job) -> Option<QuotaMeter> {
        let scope = job.quota.as_ref()?;
        match self.quotas.meter(scope).await {
            Ok(m) => Some(m),
            Err(e) => {
                tracing::warn!(error = %e, "quota usage unreadable; not metering this reply");
                None
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_with_jitter_and_honours_retry_after_up_to_30_s() {
        for _ in 0..50 {
            let first = backoff(0, None).as_millis();
            assert!((250..=375).contains(&first), "{first}");
            let second = backoff(1, None).as_millis();
            assert!((500..=750).contains(&second), "{second}");
        }
        assert_eq!(backoff(3, Some(Duration::from_secs(2))), Duration::from_secs(2));
        assert_eq!(backoff(0, Some(Duration::from_secs(90))), Duration::from_secs(30));
    }
}
