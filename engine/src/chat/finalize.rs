//! The end of every reply, however it ended: its final state is stored, its
//! tokens counted against the quota, and then everyone is told: `error` (if
//! any), `complete`, the assistant's `typing` false, and the live events.

use std::time::Duration;

use protocol::frames::{Complete, ErrorFrame};
use protocol::objects::{MessageStatus, ReplyMetadata, Usage};
use protocol::ErrorCode;

use super::frames;
use super::observe::Generated;
use super::runner::{Outcome, Runner};
use super::scheduler::Job;
use crate::provider::estimate_tokens;
use crate::store::{FinishedReply, FinishedRows};
use crate::time::now_micros;

/// How long a finished reply's write is retried while storage is away: a
/// client told `complete` must find that reply stored (issue 13, PostgreSQL
/// down). The node keeps renewing the reply's lease meanwhile, so no other
/// node marks it `interrupted`.
const FINISH_RETRY_FOR: Duration = Duration::from_secs(60);

/// The usage a reply reports: the provider's, else estimated from the text.
fn usage_of(out: &Outcome) -> Usage {
    out.usage.unwrap_or_else(|| {
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
    })
}

impl Runner {
    /// Stores the reply's final state, then tells everyone (see the module).
    pub(crate) async fn finalize(&self, job: &Job, out: Outcome) {
        let log = &job.log;
        let metadata = self.metadata(job, &out);
        if let Some(e) = &out.error {
            tracing::warn!(error = %e, "reply failed upstream");
        }
        let status: MessageStatus = out.finish.status();
        let finished = FinishedReply {
            reply_id: log.reply_id.clone(),
            owner_id: log.owner_id.clone(),
            conversation_id: log.conversation_id.clone(),
            content: out.text.clone(),
            status,
            metadata: serde_json::to_value(&metadata).unwrap_or_default(),
            seq: out.seq as i64,
            now: now_micros(),
            preview: (!out.text.trim().is_empty()).then(|| super::preview(&out.text)),
        };
        let stored = self.store_finished(&finished).await;
        // Before `complete`: a client that sends again at once must meet its quota.
        self.quotas
            .record_usage(
                &log.owner_id,
                job.quota.as_ref(),
                metadata.usage.completion_tokens as u64,
                out.charged,
            )
            .await;
        if let Some(message) = &out.error {
            let mut e = ErrorFrame::new(ErrorCode::UpstreamError, message.clone());
            e.reply_id = Some(log.reply_id.clone());
            log.push_error(frames::error(e));
        }
        let complete = Complete {
            response: out.text,
            session_id: log.conversation_id.clone(),
            reply_id: log.reply_id.clone(),
            message_id: log.reply_id.clone(),
            metadata,
        };
        let complete_frame = frames::complete(&complete);
        log.finish(status, complete, complete_frame.clone());
        self.announce_end(job, out.started, &complete_frame, stored);
    }

    /// The reply's metadata, recorded in the metrics on the way: the bot's name
    /// and the model the provider says answered ([`crate::provider::Provider::model_for`]).
    fn metadata(&self, job: &Job, out: &Outcome) -> ReplyMetadata {
        let (agent, requested) = match &job.bot {
            Some(b) => (b.name.clone(), b.model.as_str()),
            None => ("Assistant".to_string(), self.settings.default_model.as_str()),
        };
        let model = self.provider.model_for(requested);
        let usage = usage_of(out);
        self.observe.observe_generated(Generated {
            via: "chat",
            finish: out.finish,
            ttft: out.ttft,
            duration: out.duration,
            usage: &usage,
            bot: job.bot.as_ref().map_or("", |b| b.id.as_str()),
            model: &model,
        });
        ReplyMetadata {
            agent,
            model,
            finish_reason: out.finish,
            usage,
            ttft_ms: out.ttft.map(|d| d.as_millis() as u64),
            duration_ms: out.duration.map(|d| d.as_millis() as u64),
        }
    }

    /// Stores the finished reply, retrying while storage is away (200 ms, then
    /// growing to 2 s between attempts) for up to [`FINISH_RETRY_FOR`]; the
    /// reply and its conversation as they now are, or `None` when it could not
    /// be stored (or the conversation was deleted).
    async fn store_finished(&self, finished: &FinishedReply) -> Option<FinishedRows> {
        let started = std::time::Instant::now();
        let mut attempt = 0u64;
        loop {
            match self.store.finish_reply(finished).await {
                Ok(c) => return c,
                Err(e) => {
                    tracing::error!(attempt, error = %e, "storing the finished reply failed");
                    if started.elapsed() >= FINISH_RETRY_FOR {
                        return None;
                    }
                    attempt += 1;
                    tokio::time::sleep(Duration::from_millis((200 * attempt).min(2000))).await;
                }
            }
        }
    }

    /// After `complete`: the assistant's `typing` false, the live events, and
    /// the log handed to the hub's retention.
    fn announce_end(&self, job: &Job, started: bool, complete_frame: &str, stored: Option<FinishedRows>) {
        let log = &job.log;
        if started {
            log.push_epilogue(frames::assistant_typing(&log.conversation_id, false));
        } else {
            // Stopped (or dropped) before its turn: no connection subscribed to
            // it yet, so point the joined ones at its log, which holds just the
            // `complete` that every acked reply ends with.
            self.announcer.reply_started(log);
        }
        let visitor_bot = job.bot.as_ref().filter(|_| job.is_visitor).map(|b| b.id.as_str());
        if let Some(bot) = visitor_bot {
            self.announcer
                .to_bot_owner(bot, &log.owner_id, complete_frame, "complete");
        }
        // The finish read both rows in its transaction: no read here, so
        // `message_added` follows `complete` at once.
        if let Some(rows) = stored {
            self.announcer
                .message_stored(&rows.conversation, &rows.reply, job.origin_conn, visitor_bot);
        }
        if let Some(c) = &self.cluster {
            c.release(&log.reply_id);
        }
        self.hub.retire(log.reply_id.clone());
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use protocol::objects::FinishReason;

    #[test]
    fn usage_is_the_providers_else_estimated_from_the_text() {
        let mut out = Outcome::not_started(FinishReason::Stop);
        assert_eq!(usage_of(&out).total_tokens, 0, "no text, no tokens");
        out.text = "x".repeat(10);
        let estimated = usage_of(&out);
        assert_eq!((estimated.prompt_tokens, estimated.completion_tokens), (0, 3));
        let reported = Usage {
            prompt_tokens: 7,
            completion_tokens: 5,
            total_tokens: 12,
        };
        out.usage = Some(reported);
        assert_eq!(usage_of(&out), reported);
    }
}
