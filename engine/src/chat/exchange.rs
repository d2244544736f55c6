//! The exchange: a user message and the reply it asks for, or a new reply to
//! the last message (`regenerate`). Both store first, acknowledge, and put the
//! reply in its conversation's line through one [`Exchange::enqueue_reply`].
//! Refusals come before anything is stored; a repeated `client_id` answers
//! with the original `ack` (contract §3.2).

use std::net::IpAddr;
use std::sync::Arc;

use protocol::frames::Ack;
use protocol::objects::{ConversationMode, MessageRole, Role};

use super::announce::Announcer;
use super::head_start::{HeadStart, SendsInFlight};
use super::quota::Quotas;
use super::runner::Runner;
use super::scheduler::{Control, Job, Reservation, Scheduler};
use super::validate::{self, Via};
use super::view::{ack_of_reply, ack_of_user};
use crate::admission::Admission;
use crate::auth::Identity;
use crate::cluster::Cluster;
use crate::error::{Error, Result};
use crate::hub::{ConnId, LiveEvents, ReplyLog, ReplyLogs};
use crate::ids;
use crate::metrics::Metrics;
use crate::store::{BotRow, Database, ExchangeOutcome, MessageRow, NewExchange, NewRegenerate, RegenerateOutcome};
use crate::time::now_micros;

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
    pub via: Via,
}

/// A `regenerate`, from any transport: its idempotency key, and the new text
/// of the last user message when the user edited it.
#[derive(Clone, Debug, Default)]
pub struct Redo {
    pub client_id: Option<String>,
    pub edit: Option<String>,
}

/// A stored reply about to be put in line: what [`Exchange::enqueue_reply`] needs.
struct Stored<'a> {
    who: &'a Identity,
    /// The send created the conversation ([`Job::fresh`](super::scheduler::Job)).
    fresh: bool,
    reservation: Reservation,
    /// Kept only when `fresh`: a conversation another send created in
    /// between has a history the head start's request lacks.
    head_start: Option<HeadStart>,
    bot: Option<BotRow>,
    user: &'a MessageRow,
    reply: &'a MessageRow,
    origin: Option<ConnId>,
    ip: Option<IpAddr>,
}

/// Sends messages and regenerates replies.
pub struct Exchange {
    pub(crate) store: Arc<dyn Database>,
    /// Where replies' logs are kept ([`ReplyLogs`]'s guarantees).
    pub(crate) logs: Arc<dyn ReplyLogs>,
    /// Connections and their conversations ([`LiveEvents`]'s guarantees).
    pub(crate) events: Arc<dyn LiveEvents>,
    pub(crate) scheduler: Arc<Scheduler>,
    pub(crate) runner: Arc<Runner>,
    pub(crate) admission: Arc<Admission>,
    pub(crate) quotas: Arc<Quotas>,
    pub(crate) metrics: Arc<Metrics>,
    pub(crate) announcer: Announcer,
    pub(crate) cluster: Option<Arc<Cluster>>,
    /// The model of a new default bot (`BROOK_MODEL`).
    pub(crate) default_model: String,
    /// `BROOK_MAX_MESSAGE_CHARS`.
    pub(crate) max_message_chars: usize,
    /// The `client_id`s being stored here: a racing retry waits for the first.
    pub(crate) sends_in_flight: SendsInFlight,
}

impl Exchange {
    /// Stores a user message and its queued reply, and puts the reply in line.
    /// Refusals come first and store nothing; a repeated `client_id` answers with
    /// the original `ack`.
    pub async fn send_message(&self, who: &Identity, req: SendMessage) -> Result<Ack> {
        let received = std::time::Instant::now();
        let transport = req.via.transport();
        let r = self.send_checked(who, req).await;
        match &r {
            Ok(_) => self.metrics.record(|| {
                ::metrics::counter!("brook_messages_total").increment(1);
                ::metrics::histogram!("brook_ack_latency_seconds", "transport" => transport)
                    .record(received.elapsed().as_secs_f64());
            }),
            Err(e) => self.admission.count_refusal(e),
        }
        r
    }

    async fn send_checked(&self, who: &Identity, req: SendMessage) -> Result<Ack> {
        let via = req.via;
        validate::message_text(&req.message, self.max_message_chars)?;
        if let Some(s) = &req.session_id {
            via.check_session_id(s)?;
        }
        let client_id = validate::client_id(&req.client_id, via)?;
        // Held from before the look-up below until this send is answered: a
        // retry racing it waits, then finds its message (one node; across
        // nodes the database's unique index settles the race).
        let claim = match client_id.as_deref() {
            Some(cid) => Some(self.sends_in_flight.claim(&who.user_id, cid).await),
            None => None,
        };
        if let Some(cid) = &client_id {
            if let Some(row) = self.store.message_by_client_id(&who.user_id, cid).await? {
                return self.duplicate_ack(row, client_id.clone(), req.origin_conn);
            }
        }
        self.admission.admit(who, req.ip).await?;
        let ip = req.ip;
        let r = self.send_admitted(who, req, client_id).await;
        drop(claim);
        if r.is_err() {
            // Refused after all (a full queue, four replies generating): nothing
            // was stored, so the message does not count against the rate.
            self.admission.refund(who, ip);
        }
        r
    }

    /// The part of [`Self::send_message`] after the rate limit and quota.
    async fn send_admitted(&self, who: &Identity, req: SendMessage, client_id: Option<String>) -> Result<Ack> {
        let via = req.via;
        let started = std::time::Instant::now();
        let requested_bot = req
            .path_bot
            .as_deref()
            .or(req.bot_id.as_deref())
            .filter(|b| !b.is_empty());
        // A conversation id made here names no stored conversation: its bot is
        // resolved without looking the conversation up (two reads fewer before
        // the first token of a new chat; issue 16).
        let (session_id, (bot, found)) = match &req.session_id {
            Some(s) => (s.clone(), self.conversation_bot(who, requested_bot, s, via).await?),
            None => (
                ids::new_id(),
                (Some(self.resolve_bot(who, requested_bot, via).await?), false),
            ),
        };
        if self.cluster.is_some() {
            super::shared_line::admit(self.store.as_ref(), &who.user_id, &session_id).await?;
        }
        let reservation = self.scheduler.reserve(&who.user_id, &session_id)?;
        // A new conversation's context is this message: its reply's stream
        // opens while the exchange commits (dropped, and aborted, on any answer
        // but a stored reply; issue 16). An id made here is new and no other
        // send can name it. A client's own id (the AI SDK's chat id) is new
        // when no conversation was found and no other send to it is in line
        // on this node; with several nodes another one could be, so none there.
        let new = match req.session_id {
            None => true,
            Some(_) => !found && reservation.opened_line() && self.cluster.is_none(),
        };
        let head_start = match new {
            true => self.runner.head_start(bot.as_ref(), &req.message),
            false => None,
        };
        let x = NewExchange {
            owner_id: who.user_id.clone(),
            conversation_id: session_id.clone(),
            bot_id: bot.as_ref().map(|b| b.id.clone()).unwrap_or_default(),
            requested_bot_id: requested_bot.map(str::to_string),
            title: super::title_from(&req.message),
            user_message_id: ids::new_id(),
            reply_id: ids::new_id(),
            content: req.message.clone(),
            client_id: client_id.clone(),
            preview: super::preview(&req.message),
            now: now_micros(),
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
                self.join_origin(req.origin_conn, &session_id);
                let visitor_bot = bot
                    .as_ref()
                    .map(|b| b.id.clone())
                    .or_else(|| who.bot_id.clone())
                    .filter(|_| who.role == Role::Visitor);
                self.announcer
                    .message_stored(&conversation, &user, req.origin_conn, visitor_bot.as_deref());
                return Ok(ack_of_user(&user, client_id));
            }
            ExchangeOutcome::Duplicate { user } => {
                drop(reservation);
                return self.duplicate_ack(user, client_id, req.origin_conn);
            }
            ExchangeOutcome::BotMismatch { .. } => {
                return Err(via.invalid("bot_id: this conversation belongs to another bot"));
            }
        };
        // The two storage steps on the first token's path, for `make bench`.
        tracing::debug!(
            lookups_us = looked_up.as_micros() as u64,
            commit_us = (started.elapsed() - looked_up).as_micros() as u64,
            "message stored"
        );
        let visitor_bot = bot.as_ref().filter(|_| who.role == Role::Visitor).map(|b| b.id.clone());
        // Created by this send: the upsert set both times to `now`. A send
        // that found the conversation moved `updated_at` past its older
        // `created_at` (or one past `now`), so it never looks fresh.
        let fresh = conversation.created_at == x.now && conversation.updated_at == x.now;
        self.enqueue_reply(Stored {
            who,
            fresh,
            reservation,
            head_start,
            bot,
            user: &user,
            reply: &reply,
            origin: req.origin_conn,
            ip: req.ip,
        });
        self.announcer
            .message_stored(&conversation, &user, req.origin_conn, visitor_bot.as_deref());
        Ok(ack_of_user(&user, client_id))
    }

    /// The bot of the conversation a message goes to: an existing
    /// conversation's (in one read), or for a new one the bot asked for (or the
    /// default one), and whether the conversation was found. `None`: the
    /// conversation exists but its bot was deleted. A bot named that is not
    /// the conversation's is a malformed field.
    async fn conversation_bot(
        &self,
        who: &Identity,
        requested_bot: Option<&str>,
        session_id: &str,
        via: Via,
    ) -> Result<(Option<BotRow>, bool)> {
        let named = if who.role == Role::Visitor {
            who.bot_id.as_deref().or(requested_bot)
        } else {
            requested_bot
        };
        let other_bot = || via.invalid("bot_id: this conversation belongs to another bot");
        Ok(match self.store.bot_of_conversation(&who.user_id, session_id).await? {
            Some(b) if named.is_some_and(|n| n != b.id) => return Err(other_bot()),
            Some(b) => (Some(b), true),
            None => match self.store.conversation(&who.user_id, session_id).await? {
                Some(c) if named.is_some_and(|n| n != c.bot_id) => return Err(other_bot()),
                Some(_) => (None, true),
                None => (Some(self.resolve_bot(who, requested_bot, via).await?), false),
            },
        })
    }

    /// The bot a new conversation gets, checking the identity may use it.
    async fn resolve_bot(&self, who: &Identity, requested: Option<&str>, via: Via) -> Result<BotRow> {
        if who.role == Role::Visitor {
            let own = who.bot_id.as_deref().unwrap_or_default();
            if requested.is_some_and(|b| b != own) {
                return Err(via.invalid("bot_id: a visitor talks to its own bot only"));
            }
            return self.store.bot(own).await?.ok_or_else(|| Error::not_found("bot"));
        }
        match requested {
            Some(id) => match self.store.bot(id).await? {
                Some(b) if b.owner_id == who.user_id => Ok(b),
                _ => Err(Error::not_found("bot")),
            },
            None => crate::accounts::ensure_default_bot(self.store.as_ref(), &who.user_id, &self.default_model).await,
        }
    }

    /// Puts a stored reply in its conversation's line: the sender's connection
    /// joins the conversation, the reply's log is registered (and, with Redis,
    /// held by this node), and the runner gets the job.
    fn enqueue_reply(&self, s: Stored<'_>) {
        let (owner, session_id) = (&s.who.user_id, &s.user.conversation_id);
        self.join_origin(s.origin, session_id);
        let log = ReplyLog::new(&s.reply.id, owner, session_id, &s.user.id);
        self.logs.insert(log.clone());
        if let Some(c) = &self.cluster {
            c.hold(&s.reply.id);
        }
        let job = Job {
            log,
            bot: s.bot,
            user_pos: s.user.pos,
            reply_pos: s.reply.pos,
            user_content: s.user.content.clone(),
            fresh: s.fresh,
            origin_conn: s.origin,
            is_visitor: s.who.role == Role::Visitor,
            control: Control::new_arc(),
            quota: self.quotas.scope(s.who, s.ip),
            head_start: s.head_start.filter(|_| s.fresh),
        };
        self.runner.start_job(s.reservation.commit(job), owner, session_id);
    }

    fn join_origin(&self, origin: Option<ConnId>, session_id: &str) {
        if let Some(conn) = origin {
            self.events.join(conn, session_id);
        }
    }

    /// The `ack` of a message stored before under the same `client_id`.
    fn duplicate_ack(&self, row: MessageRow, client_id: Option<String>, origin: Option<ConnId>) -> Result<Ack> {
        self.metrics
            .record(|| ::metrics::counter!("brook_duplicate_sends_total").increment(1));
        self.join_origin(origin, &row.conversation_id);
        Ok(match row.role {
            MessageRole::User => ack_of_user(&row, client_id),
            MessageRole::Assistant => ack_of_reply(&row, client_id),
            // Not reachable from a `message` (operator ids are prefixed), but typed.
            MessageRole::Operator => ack_of_user(&row, client_id),
        })
    }

    /// A new reply to the conversation's last user message; earlier replies stay
    /// as versions. With `redo.edit`, the user message's text is replaced first.
    pub async fn regenerate(
        &self,
        who: &Identity,
        session_id: &str,
        redo: Redo,
        origin: Option<ConnId>,
        ip: Option<IpAddr>,
        via: Via,
    ) -> Result<Ack> {
        via.check_session_id(session_id)?;
        let client_id = validate::client_id(&redo.client_id, via)?;
        if let Some(text) = &redo.edit {
            validate::message_text(text, self.max_message_chars)?;
        }
        if let Some(cid) = &client_id {
            if let Some(row) = self.store.message_by_client_id(&who.user_id, cid).await? {
                return self.duplicate_ack(row, client_id.clone(), origin);
            }
        }
        match self.store.conversation(&who.user_id, session_id).await? {
            None => return Err(Error::not_found("conversation")),
            // No assistant reply starts while a person answers (§9.1).
            Some(c) if c.mode == ConversationMode::Human => {
                return Err(via.invalid("a person is answering this conversation; it cannot be regenerated now"))
            }
            Some(_) => {}
        }
        self.admission.admit(who, ip).await?;
        if self.cluster.is_some() {
            super::shared_line::admit(self.store.as_ref(), &who.user_id, session_id).await?;
        }
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
                return Err(via.invalid("this conversation has no message to answer again"))
            }
        };
        let bot = self.store.bot(&conversation.bot_id).await?;
        self.enqueue_reply(Stored {
            who,
            fresh: false,
            reservation,
            head_start: None,
            bot,
            user: &user,
            reply: &reply,
            origin,
            ip,
        });
        if x.edit.is_some() {
            // The edited message, re-announced under its id: every tab shows
            // the new text (the app replaces a known id's content).
            let visitor_bot = (who.role == Role::Visitor).then_some(conversation.bot_id.as_str());
            self.announcer.message_stored(&conversation, &user, None, visitor_bot);
        } else {
            self.announcer.conversation_updated(&conversation);
        }
        Ok(ack_of_reply(&reply, client_id))
    }
}
