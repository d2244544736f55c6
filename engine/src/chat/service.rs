//! The chat's operations, as every transport calls them.

use std::net::IpAddr;
use std::sync::Arc;
use std::time::Duration;

use protocol::frames::{Ack, ActiveReply, Complete};
use protocol::objects::{FinishReason, MessageRole, MessageStatus, ReplyMetadata, Role, Usage};
use protocol::{valid_session_id, ErrorCode};

use super::frames;
use super::runner::Outcome;
use super::scheduler::{Committed, Control, Job, Stopped};
use crate::auth::Identity;
use crate::engine::Engine;
use crate::error::{Error, Result};
use crate::hub::{ConnId, Event, ReplyLog, ReplyState};
use crate::ids;
use crate::store::{BotRow, ExchangeOutcome, MessageRow, NewExchange, NewRegenerate, RegenerateOutcome};
use crate::time::{micros_until_midnight, now_micros, rfc3339};

const MAX_CLIENT_ID: usize = 128;
const TYPING_EXPIRY: Duration = Duration::from_secs(5);

/// Where a request came from, which decides the code of a malformed field:
/// `INVALID_FRAME` on the WebSocket, `VALIDATION_ERROR` on HTTP (contract §2).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Surface {
    Frame,
    Http,
}

impl Surface {
    fn invalid(self, message: impl Into<String>) -> Error {
        match self {
            Surface::Frame => Error::invalid_frame(message),
            Surface::Http => Error::validation(message),
        }
    }

    /// A `session_id`'s form (contract §2), checked the same way everywhere.
    pub(crate) fn check_session_id(self, id: &str) -> Result<()> {
        if valid_session_id(id) {
            Ok(())
        } else {
            Err(self.invalid("session_id: 1 to 128 characters of A-Z a-z 0-9 . _ : - (and not . or ..)"))
        }
    }
}

/// A `message`, from any transport.
#[derive(Clone, Debug)]
pub struct SendMessage {
    pub message: String,
    pub session_id: Option<String>,
    pub client_id: Option<String>,
    pub bot_id: Option<String>,
    /// The bot of the WebSocket path (`/api/v1/chat/ws/{bot_id}`).
    pub path_bot: Option<String>,
    /// The connection that sent it: joined to the conversation, and not sent its
    /// own `message_added`.
    pub origin_conn: Option<ConnId>,
    pub ip: Option<IpAddr>,
    pub surface: Surface,
}

/// A `regenerate`, from any transport: its idempotency key, and the new text
/// of the last user message when the user edited it.
#[derive(Clone, Debug, Default)]
pub struct Redo {
    pub client_id: Option<String>,
    pub edit: Option<String>,
}

/// A reply as a reader finds it: live in the hub, or only in storage.
pub enum ReplyView {
    Live(Arc<ReplyLog>),
    Stored {
        complete: Box<Complete>,
        status: MessageStatus,
        row: Box<MessageRow>,
    },
}

fn ack_of_user(row: &MessageRow, client_id: Option<String>) -> Ack {
    Ack {
        client_id,
        message_id: row.id.clone(),
        session_id: row.conversation_id.clone(),
        created_at: rfc3339(row.created_at),
        reply_id: row.reply_id.clone(),
    }
}

fn ack_of_reply(row: &MessageRow, client_id: Option<String>) -> Ack {
    Ack {
        client_id,
        message_id: row.in_reply_to.clone().unwrap_or_default(),
        session_id: row.conversation_id.clone(),
        created_at: rfc3339(row.created_at),
        reply_id: Some(row.id.clone()),
    }
}

/// The `complete` a stored reply stands for (its log is gone).
pub fn stored_complete(row: &MessageRow, default_model: &str) -> Complete {
    let meta = row.metadata_value();
    let status = row.status;
    let finish = meta
        .get("finish_reason")
        .and_then(|v| serde_json::from_value::<FinishReason>(v.clone()).ok())
        .filter(|_| status != MessageStatus::Interrupted)
        .unwrap_or(match status {
            MessageStatus::Stopped => FinishReason::Stopped,
            MessageStatus::Error => FinishReason::Error,
            MessageStatus::Interrupted | MessageStatus::Queued | MessageStatus::Streaming => FinishReason::Interrupted,
            MessageStatus::Complete => FinishReason::Stop,
        });
    let metadata = ReplyMetadata {
        agent: meta
            .get("agent")
            .and_then(|v| v.as_str())
            .unwrap_or("Assistant")
            .to_string(),
        model: meta
            .get("model")
            .and_then(|v| v.as_str())
            .unwrap_or(default_model)
            .to_string(),
        finish_reason: finish,
        usage: meta
            .get("usage")
            .and_then(|v| serde_json::from_value::<Usage>(v.clone()).ok())
            .unwrap_or_default(),
        ttft_ms: meta.get("ttft_ms").and_then(|v| v.as_u64()),
        duration_ms: meta.get("duration_ms").and_then(|v| v.as_u64()),
    };
    Complete {
        response: row.content.clone(),
        session_id: row.conversation_id.clone(),
        reply_id: row.id.clone(),
        message_id: row.id.clone(),
        metadata,
    }
}

impl Engine {
    fn check_client_id(client_id: &Option<String>, surface: Surface) -> Result<Option<String>> {
        match client_id.as_deref().map(str::trim) {
            None | Some("") => Ok(None),
            Some(c) if c.chars().count() > MAX_CLIENT_ID => {
                Err(surface.invalid("client_id: must be at most 128 characters"))
            }
            Some(c) => Ok(Some(c.to_string())),
        }
    }

    /// Rate limit and daily quota; both come before anything is stored.
    pub(crate) async fn admit(&self, who: &Identity, ip: Option<IpAddr>) -> Result<()> {
        if self.draining() {
            return Err(Error::unavailable("the server is shutting down; try again in a moment"));
        }
        // A visitor whose bot was removed a moment ago, on a connection not yet closed.
        self.admitted(who).await?;
        let limited = |wait: Duration| {
            Error::new(ErrorCode::RateLimited, "too many messages; slow down")
                .with_retry_after_ms(wait.as_millis().max(1) as u64)
        };
        self.message_limiter.check(&who.user_id).map_err(limited)?;
        if who.role != Role::User {
            if let Some(ip) = ip {
                self.message_limiter.check(&format!("ip:{ip}")).map_err(limited)?;
            }
        }
        // The same limit across every node of the deployment (issue 13).
        if let Some(c) = &self.cluster {
            let per_min = self.message_limiter.per_min();
            if let Err(wait) = c.rate_check(&who.user_id, per_min).await {
                self.message_limiter.refund(&who.user_id);
                return Err(limited(wait));
            }
            if let Some(ip) = ip.filter(|_| who.role != Role::User) {
                if let Err(wait) = c.rate_check(&format!("ip:{ip}"), per_min).await {
                    c.rate_refund(&who.user_id);
                    self.message_limiter.refund(&who.user_id);
                    self.message_limiter.refund(&format!("ip:{ip}"));
                    return Err(limited(wait));
                }
            }
        }
        // Per identity and, for guests and visitors, per IP (issue 11 §4.6).
        if let Some(scope) = self.quota_scope(who, ip) {
            if self.quota_meter(&scope).await?.spent(&self.live_usage) {
                let now = now_micros();
                return Err(Error::new(ErrorCode::QuotaExceeded, "today's token quota is used up")
                    .with_retry_after_ms((micros_until_midnight(now) / 1000) as u64));
            }
        }
        Ok(())
    }

    /// The bot a new conversation gets, checking the identity may use it.
    async fn resolve_bot(&self, who: &Identity, requested: Option<&str>, surface: Surface) -> Result<BotRow> {
        if who.role == Role::Visitor {
            let own = who.bot_id.as_deref().unwrap_or_default();
            if requested.is_some_and(|b| b != own) {
                return Err(surface.invalid("bot_id: a visitor talks to its own bot only"));
            }
            return self.store.bot(own).await?.ok_or_else(|| Error::not_found("bot"));
        }
        match requested {
            Some(id) => match self.store.bot(id).await? {
                Some(b) if b.owner_id == who.user_id => Ok(b),
                _ => Err(Error::not_found("bot")),
            },
            None => crate::accounts::ensure_default_bot(self.store.as_ref(), &who.user_id, &self.config.model).await,
        }
    }

    pub(crate) fn start_job(self: &Arc<Self>, committed: Committed, owner: &str, conversation: &str) {
        if let Committed::StartWorker = committed {
            let engine = self.clone();
            let (o, c) = (owner.to_string(), conversation.to_string());
            tokio::spawn(engine.conversation_worker(o, c));
        }
    }

    /// Stores a user message and its queued reply, and puts the reply in line.
    /// Refusals come first and store nothing; a repeated `client_id` answers with
    /// the original `ack`.
    pub async fn send_message(self: &Arc<Self>, who: &Identity, req: SendMessage) -> Result<Ack> {
        let received = std::time::Instant::now();
        let transport = match req.surface {
            Surface::Frame => "websocket",
            Surface::Http => "http",
        };
        let r = self.send_message_inner(who, req).await;
        match &r {
            Ok(_) => self.metrics.record(|| {
                ::metrics::counter!("brook_messages_total").increment(1);
                ::metrics::histogram!("brook_ack_latency_seconds", "transport" => transport)
                    .record(received.elapsed().as_secs_f64());
            }),
            Err(e) => self.count_refusal(e),
        }
        r
    }

    /// A send or completion refused before ack: `brook_refusals_total`, and
    /// `brook_limit_refusals_total` when a limit refused it.
    pub(crate) fn count_refusal(&self, e: &Error) {
        self.metrics
            .record(|| ::metrics::counter!("brook_refusals_total").increment(1));
        match e.code {
            ErrorCode::RateLimited => self.count_limit_refusal("messages"),
            ErrorCode::QuotaExceeded => self.count_limit_refusal("quota"),
            _ => {}
        }
    }

    /// `EMPTY_MESSAGE` for blank text, `MESSAGE_TOO_LONG` over
    /// `BROOK_MAX_MESSAGE_CHARS` (counted in Unicode scalar values).
    fn check_message_text(&self, text: &str) -> Result<()> {
        if text.trim().is_empty() {
            return Err(Error::new(ErrorCode::EmptyMessage, "message is empty"));
        }
        let chars = text.chars().count();
        if chars > self.config.max_message_chars {
            return Err(Error::new(
                ErrorCode::MessageTooLong,
                format!(
                    "message is {chars} characters; the limit is {}",
                    self.config.max_message_chars
                ),
            ));
        }
        Ok(())
    }

    async fn send_message_inner(self: &Arc<Self>, who: &Identity, req: SendMessage) -> Result<Ack> {
        let surface = req.surface;
        self.check_message_text(&req.message)?;
        if let Some(s) = &req.session_id {
            surface.check_session_id(s)?;
        }
        let client_id = Self::check_client_id(&req.client_id, surface)?;
        if let Some(cid) = &client_id {
            if let Some(row) = self.store.message_by_client_id(&who.user_id, cid).await? {
                return self.duplicate_ack(row, client_id.clone(), req.origin_conn);
            }
        }
        self.admit(who, req.ip).await?;
        let ip = req.ip;
        let r = self.send_admitted(who, req, client_id).await;
        if r.is_err() {
            // Refused after all (a full queue, four replies generating): nothing
            // was stored, so the message does not count against the rate.
            self.message_limiter.refund(&who.user_id);
            if let Some(ip) = ip.filter(|_| who.role != Role::User) {
                self.message_limiter.refund(&format!("ip:{ip}"));
            }
            if let Some(c) = &self.cluster {
                c.rate_refund(&who.user_id);
                if let Some(ip) = ip.filter(|_| who.role != Role::User) {
                    c.rate_refund(&format!("ip:{ip}"));
                }
            }
        }
        r
    }

    /// The part of [`Self::send_message`] after the rate limit and quota.
    async fn send_admitted(
        self: &Arc<Self>,
        who: &Identity,
        req: SendMessage,
        client_id: Option<String>,
    ) -> Result<Ack> {
        let surface = req.surface;
        let started = std::time::Instant::now();
        let requested_bot = req
            .path_bot
            .as_deref()
            .or(req.bot_id.as_deref())
            .filter(|b| !b.is_empty());
        let session_id = req.session_id.clone().unwrap_or_else(ids::new_id);
        let named = if who.role == Role::Visitor {
            who.bot_id.as_deref().or(requested_bot)
        } else {
            requested_bot
        };
        let other_bot = || surface.invalid("bot_id: this conversation belongs to another bot");
        // An existing conversation's bot in one read; only a new conversation
        // (or one whose bot was deleted) needs more.
        let bot = match self.store.bot_of_conversation(&who.user_id, &session_id).await? {
            Some(b) if named.is_some_and(|n| n != b.id) => return Err(other_bot()),
            Some(b) => Some(b),
            None => match self.store.conversation(&who.user_id, &session_id).await? {
                Some(c) if named.is_some_and(|n| n != c.bot_id) => return Err(other_bot()),
                Some(_) => None,
                None => Some(self.resolve_bot(who, requested_bot, surface).await?),
            },
        };
        let bot_id = bot.as_ref().map(|b| b.id.clone()).unwrap_or_default();

        let reservation = self.scheduler.reserve(&who.user_id, &session_id)?;
        let now = now_micros();
        let x = NewExchange {
            owner_id: who.user_id.clone(),
            conversation_id: session_id.clone(),
            bot_id: bot_id.clone(),
            requested_bot_id: requested_bot.map(str::to_string),
            title: super::title_from(&req.message),
            user_message_id: ids::new_id(),
            reply_id: ids::new_id(),
            content: req.message.clone(),
            client_id: client_id.clone(),
            preview: super::preview(&req.message),
            now,
        };
        let looked_up = started.elapsed();
        let (conversation, user, reply) = match self.store.begin_exchange(&x).await? {
            ExchangeOutcome::Stored {
                conversation,
                user,
                reply,
            } => (conversation, user, reply),
            ExchangeOutcome::StoredHuman { conversation, user } => {
                // A person answers: stored and acknowledged, no reply (§9.1).
                drop(reservation);
                if let Some(conn) = req.origin_conn {
                    self.hub.registry.join(conn, &session_id);
                }
                let visitor_bot = bot
                    .as_ref()
                    .map(|b| b.id.clone())
                    .or_else(|| who.bot_id.clone())
                    .filter(|_| who.role == Role::Visitor);
                self.announce(&conversation, &user, req.origin_conn, visitor_bot.as_deref());
                return Ok(ack_of_user(&user, client_id));
            }
            ExchangeOutcome::Duplicate { user } => {
                drop(reservation);
                return self.duplicate_ack(user, client_id, req.origin_conn);
            }
            ExchangeOutcome::BotMismatch { .. } => {
                return Err(surface.invalid("bot_id: this conversation belongs to another bot"));
            }
        };
        if let Some(conn) = req.origin_conn {
            self.hub.registry.join(conn, &session_id);
        }
        // The two storage steps on the first token's path, for `make bench`.
        tracing::debug!(
            lookups_us = looked_up.as_micros() as u64,
            commit_us = (started.elapsed() - looked_up).as_micros() as u64,
            "message stored"
        );
        let log = ReplyLog::new(&reply.id, &who.user_id, &session_id, &user.id);
        self.hub.insert(log.clone());
        if let Some(c) = &self.cluster {
            c.hold(&reply.id);
        }
        let job = Job {
            log,
            bot: bot.clone(),
            user_pos: user.pos,
            user_content: user.content.clone(),
            origin_conn: req.origin_conn,
            is_visitor: who.role == Role::Visitor,
            control: Control::new_arc(),
            quota: self.quota_scope(who, req.ip),
        };
        self.start_job(reservation.commit(job), &who.user_id, &session_id);
        let visitor_bot = bot
            .as_ref()
            .filter(|_| who.role == Role::Visitor)
            .map(|b| b.id.as_str());
        self.announce(&conversation, &user, req.origin_conn, visitor_bot);
        Ok(ack_of_user(&user, client_id))
    }

    fn duplicate_ack(&self, row: MessageRow, client_id: Option<String>, origin: Option<ConnId>) -> Result<Ack> {
        self.metrics
            .record(|| ::metrics::counter!("brook_duplicate_sends_total").increment(1));
        if let Some(conn) = origin {
            self.hub.registry.join(conn, &row.conversation_id);
        }
        Ok(match row.role {
            MessageRole::User => ack_of_user(&row, client_id),
            MessageRole::Assistant => ack_of_reply(&row, client_id),
            // Not reachable from a `message` (operator ids are prefixed), but typed.
            MessageRole::Operator => ack_of_user(&row, client_id),
        })
    }

    /// The live events of a stored message: `message_added` to the joined
    /// connections (not `origin`, the sender's), `conversation_updated` to every
    /// connection of the identity, and both, with `visitor_id`, to the owner of
    /// the bot when the identity is one of its widget visitors.
    pub(crate) fn announce(
        &self,
        conversation: &crate::store::ConversationRow,
        message: &MessageRow,
        origin: Option<ConnId>,
        visitor_bot: Option<&str>,
    ) {
        let owner = &conversation.owner_id;
        let updated = frames::conversation_updated(conversation.to_conversation());
        let added = frames::message_added(&conversation.id, message.to_message());
        self.hub.registry.publish_conversation(
            owner,
            &conversation.id,
            Event::Frame {
                frame: added.clone().into(),
                name: "message_added",
                origin,
            },
        );
        self.hub.registry.publish_owner(
            owner,
            Event::Frame {
                frame: updated.clone().into(),
                name: "conversation_updated",
                origin: None,
            },
        );
        if let Some(bot) = visitor_bot {
            self.publish_to_owner_of(bot, owner, &updated, "conversation_updated");
            self.publish_to_owner_of(bot, owner, &added, "message_added");
        }
    }

    /// A visitor's event, with its `visitor_id`, to the bot owner's live views.
    pub(crate) fn publish_to_owner_of(&self, bot_id: &str, visitor_id: &str, frame: &str, name: &'static str) {
        self.hub.registry.publish_bot(
            bot_id,
            Event::Frame {
                frame: frames::with_visitor(frame, visitor_id).into(),
                name,
                origin: None,
            },
        );
    }

    /// A new reply to the conversation's last user message; earlier replies stay
    /// as versions.
    pub async fn regenerate(
        self: &Arc<Self>,
        who: &Identity,
        session_id: &str,
        redo: Redo,
        origin: Option<ConnId>,
        ip: Option<IpAddr>,
        surface: Surface,
    ) -> Result<Ack> {
        surface.check_session_id(session_id)?;
        let client_id = Self::check_client_id(&redo.client_id, surface)?;
        if let Some(text) = &redo.edit {
            self.check_message_text(text)?;
        }
        if let Some(cid) = &client_id {
            if let Some(row) = self.store.message_by_client_id(&who.user_id, cid).await? {
                return self.duplicate_ack(row, client_id.clone(), origin);
            }
        }
        match self.store.conversation(&who.user_id, session_id).await? {
            None => return Err(Error::not_found("conversation")),
            // No assistant reply starts while a person answers (§9.1).
            Some(c) if c.mode == protocol::objects::ConversationMode::Human => {
                return Err(surface.invalid("a person is answering this conversation; it cannot be regenerated now"))
            }
            Some(_) => {}
        }
        self.admit(who, ip).await?;
        let reservation = self.scheduler.reserve(&who.user_id, session_id)?;
        let x = NewRegenerate {
            owner_id: who.user_id.clone(),
            conversation_id: session_id.to_string(),
            reply_id: ids::new_id(),
            client_id: client_id.clone(),
            edit: redo.edit,
            now: now_micros(),
        };
        let (conversation, user, reply) = match self.store.begin_regenerate(&x).await? {
            RegenerateOutcome::Stored {
                conversation,
                user,
                reply,
            } => (conversation, user, reply),
            RegenerateOutcome::Duplicate { reply } => {
                drop(reservation);
                return self.duplicate_ack(reply, client_id, origin);
            }
            RegenerateOutcome::NoConversation => return Err(Error::not_found("conversation")),
            RegenerateOutcome::NoUserMessage => {
                return Err(surface.invalid("this conversation has no message to answer again"))
            }
        };
        if let Some(conn) = origin {
            self.hub.registry.join(conn, session_id);
        }
        let bot = self.store.bot(&conversation.bot_id).await?;
        let log = ReplyLog::new(&reply.id, &who.user_id, session_id, &user.id);
        self.hub.insert(log.clone());
        if let Some(c) = &self.cluster {
            c.hold(&reply.id);
        }
        let job = Job {
            log,
            bot,
            user_pos: user.pos,
            user_content: user.content.clone(),
            origin_conn: origin,
            is_visitor: who.role == Role::Visitor,
            control: Control::new_arc(),
            quota: self.quota_scope(who, ip),
        };
        self.start_job(reservation.commit(job), &who.user_id, session_id);
        if x.edit.is_some() {
            // The edited message, re-announced under its id: every tab shows
            // the new text (the app replaces a known id's content).
            let visitor_bot = (who.role == Role::Visitor).then_some(conversation.bot_id.as_str());
            self.announce(&conversation, &user, None, visitor_bot);
        } else {
            let updated = frames::conversation_updated(conversation.to_conversation());
            self.hub.registry.publish_owner(
                &who.user_id,
                Event::Frame {
                    frame: updated.into(),
                    name: "conversation_updated",
                    origin: None,
                },
            );
        }
        Ok(ack_of_reply(&reply, client_id))
    }

    /// Finds a reply the identity may read.
    pub async fn find_reply(&self, who: &Identity, reply_id: &str) -> Result<ReplyView> {
        if let Some(log) = self.hub.reply(reply_id) {
            if log.owner_id == who.user_id {
                return Ok(ReplyView::Live(log));
            }
            return Err(Error::not_found("reply"));
        }
        match self.store.message(reply_id).await? {
            Some(row) if row.owner_id == who.user_id && row.role == MessageRole::Assistant => {
                let status = row.status;
                if let (true, Some(c)) = (status.is_live(), &self.cluster) {
                    // Generated (or waiting) on some node: read its Stream (issue 13).
                    let message_id = row.in_reply_to.clone().unwrap_or_default();
                    if let Some(log) =
                        crate::cluster::mirror(c, &row.owner_id, &row.conversation_id, reply_id, &message_id)
                    {
                        return Ok(ReplyView::Live(log));
                    }
                }
                if status.is_live() && self.cluster.is_none() {
                    // Stored and acked (to another connection, e.g. a resent
                    // client_id) a moment before its log is registered: wait for
                    // the log instead of answering a `complete` for a reply that
                    // has not run. Found by the soak test (issue 11 §6).
                    for _ in 0..100 {
                        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
                        if let Some(log) = self.hub.reply(reply_id) {
                            return Ok(ReplyView::Live(log));
                        }
                    }
                }
                Ok(ReplyView::Stored {
                    complete: Box::new(stored_complete(&row, &self.config.model)),
                    status,
                    row: Box::new(row),
                })
            }
            _ => Err(Error::not_found("reply")),
        }
    }

    /// `stop`: a generating reply ends with `finish_reason: stopped` and keeps its
    /// text; a waiting one ends at once. Stopping a finished reply does nothing.
    pub async fn stop_reply(self: &Arc<Self>, who: &Identity, reply_id: &str) -> Result<()> {
        let log = match self.find_reply(who, reply_id).await? {
            ReplyView::Live(log) => log,
            ReplyView::Stored { .. } => return Ok(()),
        };
        if let (true, Some(c)) = (log.is_remote(), &self.cluster) {
            c.publish_stop(&log.owner_id, &log.conversation_id, reply_id);
            return Ok(());
        }
        match self
            .scheduler
            .stop(&log.owner_id, &log.conversation_id, reply_id, FinishReason::Stopped)
        {
            Stopped::Dequeued(job) => self.finalize(&job, Outcome::not_started(FinishReason::Stopped)).await,
            Stopped::Cancelled | Stopped::NotRunning => {}
        }
        Ok(())
    }

    /// `join`: the connection receives the conversation's events; a reply
    /// already generating is announced so the client can `resume` it.
    pub async fn join(
        &self,
        who: &Identity,
        conn: ConnId,
        session_id: &str,
        surface: Surface,
    ) -> Result<Option<ActiveReply>> {
        self.own_conversation(who, session_id, surface).await?;
        self.hub.registry.join(conn, session_id);
        if let Some(active) = self.active_reply(&who.user_id, session_id) {
            return Ok(Some(active));
        }
        match &self.cluster {
            // Generating on another node, perhaps (issue 13).
            Some(c) => Ok(c.active_reply(&who.user_id, session_id).await),
            None => Ok(None),
        }
    }

    /// The reply generating in a conversation, with the last `seq` produced.
    pub fn active_reply(&self, owner: &str, session_id: &str) -> Option<ActiveReply> {
        let id = self.scheduler.running(owner, session_id)?;
        let log = self.hub.reply(&id)?;
        match log.state() {
            ReplyState::Finished { .. } => None,
            _ => Some(ActiveReply {
                reply_id: id,
                seq: log.last_seq(),
            }),
        }
    }

    /// A frame or request naming a conversation: well-formed and the caller's own
    /// (anything else is `NOT_FOUND`, as if it did not exist).
    async fn own_conversation(&self, who: &Identity, session_id: &str, surface: Surface) -> Result<()> {
        surface.check_session_id(session_id)?;
        match self.store.conversation(&who.user_id, session_id).await? {
            Some(_) => Ok(()),
            None => Err(Error::not_found("conversation")),
        }
    }

    /// Stops a connection's live events of a conversation. Like every frame that
    /// names a conversation, an unknown or foreign one is `NOT_FOUND`.
    pub async fn leave(&self, who: &Identity, conn: ConnId, session_id: &str) -> Result<()> {
        Surface::Frame.check_session_id(session_id)?;
        // Leaving always works; the answer still says whether it was known.
        self.hub.registry.leave(conn, session_id);
        self.own_conversation(who, session_id, Surface::Frame).await
    }

    /// Relays the user's typing state to the conversation's other connections;
    /// `true` expires after 5 s without a refresh.
    pub async fn typing(
        self: &Arc<Self>,
        who: &Identity,
        conn: ConnId,
        session_id: &str,
        is_typing: bool,
    ) -> Result<()> {
        self.own_conversation(who, session_id, Surface::Frame).await?;
        let key = (who.user_id.clone(), session_id.to_string(), conn);
        let generation = {
            let mut t = self.typing.lock().unwrap_or_else(|p| p.into_inner());
            if is_typing {
                let g = t.entry(key.clone()).or_insert(0);
                *g += 1;
                Some(*g)
            } else {
                t.remove(&key);
                None
            }
        };
        let frame = frames::user_typing(session_id, &who.user_id, is_typing);
        self.hub.registry.publish_conversation(
            &who.user_id,
            session_id,
            Event::Frame {
                frame: frame.into(),
                name: "typing",
                origin: Some(conn),
            },
        );
        if let Some(g) = generation {
            let engine = Arc::downgrade(self);
            tokio::spawn(async move {
                tokio::time::sleep(TYPING_EXPIRY).await;
                let Some(engine) = engine.upgrade() else {
                    return;
                };
                let expired = {
                    let mut t = engine.typing.lock().unwrap_or_else(|p| p.into_inner());
                    if t.get(&key) == Some(&g) {
                        t.remove(&key);
                        true
                    } else {
                        false
                    }
                };
                if expired {
                    let frame = frames::user_typing(&key.1, &key.0, false);
                    engine.hub.registry.publish_conversation(
                        &key.0,
                        &key.1,
                        Event::Frame {
                            frame: frame.into(),
                            name: "typing",
                            origin: Some(key.2),
                        },
                    );
                }
            });
        }
        Ok(())
    }

    /// Stops the conversation's replies (`finish_reason: stopped`), then deletes
    /// it with its messages.
    pub async fn delete_conversation(self: &Arc<Self>, who: &Identity, session_id: &str) -> Result<()> {
        if self.store.conversation(&who.user_id, session_id).await?.is_none() {
            return Err(Error::not_found("conversation"));
        }
        let running = self
            .scheduler
            .running(&who.user_id, session_id)
            .and_then(|id| self.hub.reply(&id));
        for job in self
            .scheduler
            .stop_all(Some((&who.user_id, session_id)), FinishReason::Stopped)
        {
            self.finalize(&job, Outcome::not_started(FinishReason::Stopped)).await;
        }
        if let Some(log) = running {
            // Give the runner a moment to store the stopped reply and say `complete`.
            let mut f = log.follow(crate::hub::Filter::After(u64::MAX));
            let _ = tokio::time::timeout(Duration::from_secs(3), async {
                while f.next_batch().await.is_some() {}
            })
            .await;
        }
        self.store.delete_conversation(&who.user_id, session_id).await?;
        self.hub.registry.forget_conversation(&who.user_id, session_id);
        let frame = frames::conversation_deleted(session_id);
        self.hub.registry.publish_owner(
            &who.user_id,
            Event::Deleted {
                session_id: session_id.to_string(),
                frame: frame.clone().into(),
            },
        );
        if let Some(bot) = who.bot_id.as_deref().filter(|_| who.role == Role::Visitor) {
            self.publish_to_owner_of(bot, &who.user_id, &frame, "conversation_deleted");
        }
        Ok(())
    }

    pub async fn rename_conversation(
        &self,
        who: &Identity,
        session_id: &str,
        title: &str,
    ) -> Result<protocol::objects::Conversation> {
        let title = title.trim();
        if title.is_empty() {
            return Err(Error::validation("title: must not be empty"));
        }
        if title.chars().count() > 200 {
            return Err(Error::validation("title: must be at most 200 characters"));
        }
        let row = self
            .store
            .rename_conversation(&who.user_id, session_id, title, now_micros())
            .await?
            .ok_or_else(|| Error::not_found("conversation"))?;
        let c = row.to_conversation();
        self.hub.registry.publish_owner(
            &who.user_id,
            Event::Frame {
                frame: frames::conversation_updated(c.clone()).into(),
                name: "conversation_updated",
                origin: None,
            },
        );
        Ok(c)
    }
}
