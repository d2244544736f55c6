//! Following replies: finding one (live or stored), stopping it, and joining
//! or leaving a conversation's live events (contract §3.3).

use std::sync::Arc;
use std::time::Duration;

use protocol::frames::ActiveReply;
use protocol::objects::{FinishReason, MessageRole, Role};

use super::runner::Runner;
use super::scheduler::{Scheduler, Stopped};
use super::validate::{own_conversation, Via};
use super::view::{stored_complete, ReplyView};
use crate::auth::Identity;
use crate::cluster::Cluster;
use crate::error::{Error, Result};
use crate::hub::{ConnId, LiveEvents, ReplyLogs, ReplyState};
use crate::store::Database;

/// A stored reply that is still `queued` or `streaming` with no log yet is
/// waited for this many times, this long apart (single node only).
const LOG_WAIT_TRIES: u32 = 100;
const LOG_WAIT_STEP: Duration = Duration::from_millis(20);

/// Who may read a reply (see [`Replies::find_to_follow`]).
#[derive(Clone, Copy, PartialEq, Eq)]
enum Reader {
    /// Only the identity whose conversation it is.
    Owner,
    /// That identity, or the owner of the bot whose visitor it is.
    OwnerOrBotOwner,
}

/// Finds, stops and follows replies.
pub struct Replies {
    pub(crate) store: Arc<dyn Database>,
    pub(crate) logs: Arc<dyn ReplyLogs>,
    pub(crate) events: Arc<dyn LiveEvents>,
    pub(crate) scheduler: Arc<Scheduler>,
    pub(crate) runner: Arc<Runner>,
    pub(crate) cluster: Option<Arc<Cluster>>,
    /// The model a stored reply without one in its metadata reports (`BROOK_MODEL`).
    pub(crate) default_model: String,
}

impl Replies {
    /// Finds a reply the identity owns: live in the hub (or, with Redis,
    /// mirrored from the node generating it), else as stored. A foreign or
    /// unknown reply, or a message that is not a reply, is `NOT_FOUND`.
    /// Everything that acts on a reply (`stop`, a request waiting for its
    /// own reply) uses this.
    pub async fn find(&self, who: &Identity, reply_id: &str) -> Result<ReplyView> {
        self.find_as(who, reply_id, Reader::Owner).await
    }

    /// Finds a reply the identity may follow (`resume` over every transport):
    /// its own, or a reply in a visitor conversation of a bot the identity
    /// owns, so the owner's inbox watches it token by token (contract §9:
    /// the owner "watches the AI's reply stream live"; decisions.md, issue 14).
    /// Anyone else's is `NOT_FOUND`, as with [`Replies::find`].
    pub async fn find_to_follow(&self, who: &Identity, reply_id: &str) -> Result<ReplyView> {
        self.find_as(who, reply_id, Reader::OwnerOrBotOwner).await
    }

    async fn find_as(&self, who: &Identity, reply_id: &str, reader: Reader) -> Result<ReplyView> {
        if let Some(log) = self.logs.reply(reply_id) {
            if self.may_read(who, &log.owner_id, reader).await? {
                return Ok(ReplyView::Live(log));
            }
            return Err(Error::not_found("reply"));
        }
        let row = match self.store.message(reply_id).await? {
            Some(row) if row.role == MessageRole::Assistant && self.may_read(who, &row.owner_id, reader).await? => row,
            _ => return Err(Error::not_found("reply")),
        };
        let status = row.status;
        if let (true, Some(c)) = (status.is_live(), &self.cluster) {
            // Generated (or waiting) on some node: read its Stream (issue 13).
            let message_id = row.in_reply_to.clone().unwrap_or_default();
            if let Some(log) = crate::cluster::mirror(c, &row.owner_id, &row.conversation_id, reply_id, &message_id) {
                return Ok(ReplyView::Live(log));
            }
        }
        if status.is_live() && self.cluster.is_none() {
            // Stored and acked (to another connection, e.g. a resent
            // client_id) a moment before its log is registered: wait for
            // the log instead of answering a `complete` for a reply that
            // has not run. Found by the soak test (issue 11 §6).
            for _ in 0..LOG_WAIT_TRIES {
                tokio::time::sleep(LOG_WAIT_STEP).await;
                if let Some(log) = self.logs.reply(reply_id) {
                    return Ok(ReplyView::Live(log));
                }
            }
        }
        Ok(ReplyView::Stored {
            complete: Box::new(stored_complete(&row, &self.default_model)),
            status,
            row: Box::new(row),
        })
    }

    /// Whether `who` may read a reply of the identity `owner_id`: it is theirs,
    /// or (for [`Reader::OwnerOrBotOwner`]) `owner_id` is a widget visitor of a
    /// bot that `who` owns. A visitor never owns a bot.
    async fn may_read(&self, who: &Identity, owner_id: &str, reader: Reader) -> Result<bool> {
        if owner_id == who.user_id {
            return Ok(true);
        }
        if reader == Reader::Owner || who.role == Role::Visitor {
            return Ok(false);
        }
        let Some(bot_id) = self
            .store
            .user_by_id(owner_id)
            .await?
            .filter(|u| u.role == Role::Visitor)
            .and_then(|u| u.bot_id)
        else {
            return Ok(false);
        };
        let bot = self.store.bot(&bot_id).await?;
        Ok(bot.is_some_and(|b| b.owner_id == who.user_id))
    }

    /// `stop`: a generating reply ends with `finish_reason: stopped` and keeps its
    /// text; a waiting one ends at once. Stopping a finished reply does nothing.
    pub async fn stop(&self, who: &Identity, reply_id: &str) -> Result<()> {
        let log = match self.find(who, reply_id).await? {
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
            Stopped::Dequeued(job) => self.runner.finish_unstarted(&job, FinishReason::Stopped).await,
            Stopped::Cancelled | Stopped::NotRunning => {}
        }
        Ok(())
    }

    /// `join`: the connection receives the conversation's events; a reply
    /// already generating is announced so the client can `resume` it.
    pub async fn join(&self, who: &Identity, conn: ConnId, session_id: &str, via: Via) -> Result<Option<ActiveReply>> {
        own_conversation(self.store.as_ref(), who, session_id, via).await?;
        self.events.join(conn, session_id);
        if let Some(active) = self.active(&who.user_id, session_id) {
            return Ok(Some(active));
        }
        match &self.cluster {
            // Generating on another node, perhaps (issue 13).
            Some(c) => Ok(c.active_reply(&who.user_id, session_id).await),
            None => Ok(None),
        }
    }

    /// The reply generating in a conversation on this node, with the last `seq` produced.
    pub fn active(&self, owner: &str, session_id: &str) -> Option<ActiveReply> {
        let id = self.scheduler.running(owner, session_id)?;
        let log = self.logs.reply(&id)?;
        match log.state() {
            ReplyState::Finished { .. } => None,
            _ => Some(ActiveReply {
                reply_id: id,
                seq: log.last_seq(),
            }),
        }
    }

    /// Stops a connection's live events of a conversation. Like every frame that
    /// names a conversation, an unknown or foreign one is `NOT_FOUND`.
    pub async fn leave(&self, who: &Identity, conn: ConnId, session_id: &str) -> Result<()> {
        Via::Frame.check_session_id(session_id)?;
        // Leaving always works; the answer still says whether it was known.
        self.events.leave(conn, session_id);
        own_conversation(self.store.as_ref(), who, session_id, Via::Frame).await
    }
}
