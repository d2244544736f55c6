//! Stateless completions, for the OpenAI-compatible API (contract §10).
//!
//! The caller sends the whole conversation each time and nothing is stored as a
//! conversation; everything else is as for any message: the rate limit and the
//! daily quota ([`crate::admission::Admission::admit`]), the per-identity cap of generating replies
//! and the node's cap (a [`Scheduler`](super::scheduler::Scheduler) place and
//! permit), `BROOK_MODELS`, the bot's system prompt, model and temperature, the
//! provider's time-outs and retries before the first token, and the metrics.
//! Usage is added to the identity's daily total when the completion ends.

use std::net::IpAddr;
use std::sync::Arc;
use std::time::Instant;

use futures::StreamExt;
use protocol::objects::{FinishReason, Role, Usage};
use protocol::ErrorCode;
use tokio::sync::mpsc;

use super::observe::{Generated, GenerationMetrics, UpstreamFailure};
use super::runner::{backoff, RunnerSettings, MAX_RETRIES};
use super::scheduler::Scheduler;
use crate::admission::Admission;
use crate::auth::Identity;
use crate::error::{Error, Result};
use crate::ids;
use crate::metrics::Metrics;
use crate::provider::{
    estimate_tokens, CompletionRequest, Delta, DeltaStream, Provider, ProviderError, Turn, TurnRole,
};
use crate::store::{BotRow, Database};
use crate::time::{now_micros, utc_day};

/// Most messages one request may carry.
pub const MAX_TURNS: usize = 500;
/// Most stop sequences (OpenAI's own limit).
pub const MAX_STOP: usize = 4;

/// An OpenAI-style request, its messages already read into turns.
#[derive(Clone, Debug)]
pub struct StatelessRequest {
    /// A bot's id, or its exact name.
    pub model: String,
    /// The request's messages, in order (system turns included; they follow the bot's).
    pub turns: Vec<Turn>,
    /// Overrides the bot's temperature when given; 0 to 2.
    pub temperature: Option<f32>,
    pub max_tokens: Option<u32>,
    pub max_completion_tokens: Option<u32>,
    pub stop: Vec<String>,
    /// For the per-IP rate limit of guests.
    pub ip: Option<IpAddr>,
}

/// What a running completion sends: text, then exactly one `End`.
#[derive(Clone, Debug, PartialEq)]
pub enum CompletionEvent {
    Text(String),
    End(CompletionEnd),
}

#[derive(Clone, Debug, PartialEq)]
pub struct CompletionEnd {
    /// `stop`, `length` or `error`.
    pub finish: FinishReason,
    /// The provider's usage, else estimated (about four characters per token).
    pub usage: Usage,
    /// For `error`: the sentence clients may see (never the provider's own words).
    pub error: Option<String>,
}

/// A started completion: its bot and its events.
pub struct Completion {
    pub bot: BotRow,
    pub events: mpsc::Receiver<CompletionEvent>,
}

impl StatelessRequest {
    /// Length, count and range checks (`MESSAGE_TOO_LONG`, `EMPTY_MESSAGE`, `VALIDATION_ERROR`).
    fn check(&self, max_chars: usize) -> Result<()> {
        if self.turns.is_empty() {
            return Err(Error::validation("messages: at least one message is required"));
        }
        if self.turns.len() > MAX_TURNS {
            return Err(Error::validation(format!("messages: at most {MAX_TURNS} messages")));
        }
        for t in &self.turns {
            let n = t.content.chars().count();
            if n > max_chars {
                return Err(Error::new(
                    ErrorCode::MessageTooLong,
                    format!("a message is {n} characters; the limit is {max_chars}"),
                ));
            }
        }
        if self.turns.iter().all(|t| t.content.trim().is_empty()) {
            return Err(Error::new(ErrorCode::EmptyMessage, "every message is empty"));
        }
        if let Some(t) = self.temperature {
            if !(0.0..=2.0).contains(&t) || t.is_nan() {
                return Err(Error::validation("temperature: must be between 0 and 2"));
            }
        }
        if self.stop.len() > MAX_STOP {
            return Err(Error::validation(format!("stop: at most {MAX_STOP} sequences")));
        }
        Ok(())
    }
}

/// The bot's system prompt, then the request's turns, newest kept within
/// `budget` estimated tokens (the last turn always goes).
fn prompt(system_prompt: &str, turns: &[Turn], budget: usize) -> Vec<Turn> {
    let mut used = estimate_tokens(system_prompt);
    let mut keep = 0;
    for (i, t) in turns.iter().enumerate().rev() {
        let cost = estimate_tokens(&t.content);
        if i + 1 < turns.len() && used + cost > budget {
            break;
        }
        used += cost;
        keep += 1;
    }
    let mut out = Vec::with_capacity(keep + 1);
    if !system_prompt.trim().is_empty() {
        out.push(Turn {
            role: TurnRole::System,
            content: system_prompt.to_string(),
        });
    }
    out.extend_from_slice(&turns[turns.len() - keep..]);
    out
}

/// Stateless completions (the OpenAI-compatible API).
pub struct Completions {
    pub(crate) store: Arc<dyn Database>,
    pub(crate) provider: Arc<dyn Provider>,
    pub(crate) scheduler: Arc<Scheduler>,
    pub(crate) admission: Arc<Admission>,
    pub(crate) metrics: Arc<Metrics>,
    pub(crate) observe: GenerationMetrics,
    /// The runner's time-outs, budget and size cap, which completions share.
    pub(crate) settings: RunnerSettings,
    /// `BROOK_MODELS`.
    pub(crate) models: Vec<String>,
    /// `BROOK_MAX_MESSAGE_CHARS`.
    pub(crate) max_message_chars: usize,
}

impl Completions {
    /// The caller's bot named by `model`: its id, else its exact name (`NOT_FOUND`).
    pub async fn bot_by_model(&self, who: &Identity, model: &str) -> Result<BotRow> {
        if who.role == Role::Visitor {
            return Err(Error::not_found("model"));
        }
        crate::accounts::ensure_default_bot(self.store.as_ref(), &who.user_id, &self.settings.default_model).await?;
        let bots = self.store.bots_of(&who.user_id).await?;
        bots.iter()
            .find(|b| b.id == model)
            .or_else(|| bots.iter().find(|b| b.name == model))
            .cloned()
            .ok_or_else(|| Error::new(ErrorCode::NotFound, format!("The model `{model}` does not exist")))
    }

    /// Checks and admits a stateless completion and starts it. Refusals come
    /// before anything runs; once started, the completion runs until it ends or
    /// the receiver of its events is dropped (the client went away).
    pub async fn start_completion(self: &Arc<Self>, who: &Identity, req: StatelessRequest) -> Result<Completion> {
        let r = self.admit_completion(who, &req).await;
        match &r {
            Ok(_) => self
                .metrics
                .record(|| ::metrics::counter!("brook_messages_total").increment(1)),
            Err(e) => self.admission.count_refusal(e),
        }
        let (bot, reservation) = r?;
        let request = CompletionRequest {
            model: bot.model.clone(),
            temperature: req.temperature.or(bot.temperature.map(|t| t as f32)),
            turns: prompt(&bot.system_prompt, &req.turns, self.settings.context_tokens),
            max_tokens: req.max_tokens,
            max_completion_tokens: req.max_completion_tokens,
            stop: req.stop,
        };
        let (tx, events) = mpsc::channel(64);
        let engine = self.clone();
        let owner = who.user_id.clone();
        let span = tracing::info_span!("completion", user_id = %owner, bot_id = %bot.id);
        let bot_id = bot.id.clone();
        tokio::spawn(tracing::Instrument::instrument(
            async move {
                let _place = reservation;
                let _permit = engine.scheduler.permit().await;
                let model = request.model.clone();
                let started = Instant::now();
                let (end, ttft) = engine.drive(request, &tx).await;
                engine.observe.observe_generated(Generated {
                    via: "openai",
                    finish: end.finish,
                    ttft,
                    duration: Some(started.elapsed()),
                    usage: &end.usage,
                    bot: &bot_id,
                    model: &model,
                });
                engine.settle(&owner, &end).await;
                let _ = tx.send(CompletionEvent::End(end)).await;
            },
            span,
        ));
        Ok(Completion { bot, events })
    }

    /// Every refusal of [`Self::start_completion`], in the order of a message's.
    async fn admit_completion(
        &self,
        who: &Identity,
        req: &StatelessRequest,
    ) -> Result<(BotRow, super::scheduler::Reservation)> {
        req.check(self.max_message_chars)?;
        let bot = self.bot_by_model(who, &req.model).await?;
        if !self.models.contains(&bot.model) {
            return Err(Error::validation(format!(
                "this bot's model {:?} is not offered by this server any more (BROOK_MODELS)",
                bot.model
            )));
        }
        self.admission.admit(who, req.ip).await?;
        let place = self
            .scheduler
            .reserve(&who.user_id, &format!("openai:{}", ids::new_id()));
        match place {
            Ok(p) => Ok((bot, p)),
            Err(e) => {
                // Nothing ran: the request does not count against the rate.
                self.admission.refund(who, req.ip);
                Err(e)
            }
        }
    }

    /// The daily quota, once a completion ended.
    async fn settle(&self, owner: &str, end: &CompletionEnd) {
        if end.usage.completion_tokens > 0 {
            let day = utc_day(now_micros());
            if let Err(e) = self
                .store
                .add_usage(owner, &day, end.usage.completion_tokens as i64)
                .await
            {
                tracing::warn!(error = %e, "could not record token usage");
            }
        }
        if let Some(e) = &end.error {
            tracing::warn!(error = %e, "completion failed upstream");
        }
    }

    /// Streams the provider into `tx`, with the reply runner's time-outs and
    /// retries before the first text. Returns how it ended and the time to its
    /// first text.
    async fn drive(
        &self,
        request: CompletionRequest,
        tx: &mpsc::Sender<CompletionEvent>,
    ) -> (CompletionEnd, Option<std::time::Duration>) {
        let prompt_tokens: usize = request.turns.iter().map(|t| estimate_tokens(&t.content)).sum();
        let mut t = Tally {
            text: String::new(),
            pieces: 0,
            usage: None,
            started: Instant::now(),
            ttft: None,
            tokens: self.observe.token_counter(),
        };
        let mut attempt = 0u32;
        let (finish, error) = 'attempts: loop {
            let opened = match self.open(&request, tx).await {
                Ok(opened) => opened,
                Err(stop) => break 'attempts stop.ended(),
            };
            let failure = match opened {
                Err(e) => e,
                Ok(stream) => match self.pump(stream, tx, &mut t).await {
                    Ok(finish) => break 'attempts (finish, None),
                    Err(Stop::Failed(e)) => e,
                    Err(stop) => break 'attempts stop.ended(),
                },
            };
            match failure {
                ProviderError::Retryable { retry_after, .. } if t.pieces == 0 && attempt < MAX_RETRIES => {
                    tokio::select! {
                        _ = tokio::time::sleep(backoff(attempt, retry_after)) => attempt += 1,
                        _ = tx.closed() => break 'attempts (FinishReason::Stopped, None),
                    }
                }
                ProviderError::Retryable { message, .. } | ProviderError::Fatal(message) => {
                    break 'attempts (FinishReason::Error, Some(message))
                }
            }
        };
        let usage = t.usage.unwrap_or_else(|| {
            let completion = if t.text.is_empty() {
                0
            } else {
                estimate_tokens(&t.text) as u32
            };
            Usage {
                prompt_tokens: prompt_tokens as u32,
                completion_tokens: completion,
                total_tokens: prompt_tokens as u32 + completion,
            }
        });
        (CompletionEnd { finish, usage, error }, t.ttft)
    }

    /// Opens the provider's stream within the first-token time-out.
    async fn open(
        &self,
        request: &CompletionRequest,
        tx: &mpsc::Sender<CompletionEvent>,
    ) -> std::result::Result<std::result::Result<DeltaStream, ProviderError>, Stop> {
        let first_token = self.settings.first_token;
        let opened = tokio::select! {
            r = tokio::time::timeout(first_token, self.provider.stream(request.clone())) => r.map_err(|_| {
                self.observe.count_upstream_failure(UpstreamFailure::FirstTokenTimeout);
                Stop::Error(format!("the model did not answer within {} s", first_token.as_secs()))
            }),
            _ = tx.closed() => Err(Stop::Gone),
        };
        if let Ok(Err(e)) = &opened {
            self.observe.count_upstream_failure(UpstreamFailure::of(e));
        }
        opened
    }

    /// Forwards one stream's text until it finishes, fails, stalls or the client goes.
    async fn pump(
        &self,
        mut stream: DeltaStream,
        tx: &mpsc::Sender<CompletionEvent>,
        t: &mut Tally,
    ) -> std::result::Result<FinishReason, Stop> {
        let started = Instant::now();
        let mut finish = None;
        let mut heard = false;
        loop {
            let wait = if t.pieces == 0 {
                self.settings.first_token.saturating_sub(started.elapsed())
            } else {
                self.settings.idle
            };
            let next = tokio::select! {
                n = tokio::time::timeout(wait, stream.next()) => n,
                _ = tx.closed() => return Err(Stop::Gone),
            };
            if !heard && matches!(next, Ok(Some(_))) {
                heard = true;
                self.observe.observe_upstream_latency(started.elapsed());
            }
            match next {
                Err(_) if t.pieces == 0 => {
                    self.observe.count_upstream_failure(UpstreamFailure::FirstTokenTimeout);
                    let secs = self.settings.first_token.as_secs();
                    return Err(Stop::Error(format!("the model did not answer within {secs} s")));
                }
                Err(_) => {
                    self.observe.count_upstream_failure(UpstreamFailure::IdleTimeout);
                    return Err(Stop::Error(format!("the model stalled for {} s", wait.as_secs())));
                }
                Ok(None) => {
                    if finish.is_none() {
                        self.observe.count_upstream_failure(UpstreamFailure::CutOff);
                    }
                    return finish.ok_or(Stop::Failed(ProviderError::Retryable {
                        message: "the model's stream was cut off".into(),
                        retry_after: None,
                    }));
                }
                Ok(Some(Err(e))) => {
                    self.observe.count_upstream_failure(UpstreamFailure::of(&e));
                    return Err(Stop::Failed(e));
                }
                Ok(Some(Ok(Delta::Text(piece)))) => {
                    t.pieces += 1;
                    t.tokens.increment(1);
                    if t.ttft.is_none() {
                        t.ttft = Some(t.started.elapsed());
                    }
                    t.text.push_str(&piece);
                    if tx.send(CompletionEvent::Text(piece)).await.is_err() {
                        return Err(Stop::Gone);
                    }
                    if t.text.len() >= self.settings.max_reply_bytes {
                        return Ok(FinishReason::Length);
                    }
                }
                Ok(Some(Ok(Delta::Finish(f)))) => finish = Some(f),
                Ok(Some(Ok(Delta::Usage(u)))) => t.usage = Some(u),
            }
        }
    }
}

/// A completion's text so far, across attempts.
struct Tally {
    text: String,
    /// Text deltas forwarded.
    pieces: u64,
    usage: Option<Usage>,
    /// When the completion got its turn to generate.
    started: Instant,
    ttft: Option<std::time::Duration>,
    tokens: ::metrics::Counter,
}

/// Why streaming stopped early.
enum Stop {
    /// The receiver was dropped: nobody is listening.
    Gone,
    /// A time-out: not retried.
    Error(String),
    /// The provider failed: retried before the first text when retryable.
    Failed(ProviderError),
}

impl Stop {
    /// How the completion ends when it stops this way.
    fn ended(self) -> (FinishReason, Option<String>) {
        match self {
            Stop::Gone => (FinishReason::Stopped, None),
            Stop::Error(e) => (FinishReason::Error, Some(e)),
            Stop::Failed(ProviderError::Retryable { message, .. } | ProviderError::Fatal(message)) => {
                (FinishReason::Error, Some(message))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn turn(role: TurnRole, content: &str) -> Turn {
        Turn {
            role,
            content: content.into(),
        }
    }

    #[test]
    fn prompt_puts_the_bot_first_and_keeps_the_newest() {
        let turns = vec![
            turn(TurnRole::User, &"old ".repeat(100)),
            turn(TurnRole::Assistant, "short answer"),
            turn(TurnRole::User, "newest question"),
        ];
        let p = prompt("Be brief.", &turns, 50);
        assert_eq!(p[0], turn(TurnRole::System, "Be brief."));
        assert_eq!(&p[1..], &turns[1..], "the long old turn is over budget");
        let all = prompt("", &turns, 10_000);
        assert_eq!(all, turns, "no system turn for a blank prompt");
        let last_only = prompt("", &turns, 1);
        assert_eq!(last_only, turns[2..].to_vec(), "the last turn always goes");
    }
}
