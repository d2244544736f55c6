//! Conversations and their messages: read, renamed and deleted by their owner,
//! and read-only for the owner of a bot whose visitors they are.

use std::sync::Arc;
use std::time::Duration;

use protocol::objects::{Conversation, FinishReason, Message, MessageRole, Role};
use protocol::rest::{ConversationList, MessageList, VisitorConversationList};

use crate::auth::Identity;
use crate::bots::own_bot;
use crate::chat::announce::Announcer;
use crate::chat::runner::Runner;
use crate::chat::scheduler::Scheduler;
use crate::chat::{frames, Via};
use crate::error::{Error, Result};
use crate::hub::{Event, Hub};
use crate::people::PresenceReader;
use crate::store::{search_terms, ConversationQuery, Cursor, Database};
use crate::time::now_micros;

/// Longest title, in Unicode scalar values.
const MAX_TITLE_CHARS: usize = 200;
/// How long a deletion waits for a stopped reply to be stored.
const STOP_GRACE: Duration = Duration::from_secs(3);

const MAX_QUERY_CHARS: usize = 200;

fn cursor(raw: Option<&str>) -> Result<Option<Cursor>> {
    match raw.map(str::trim).filter(|c| !c.is_empty()) {
        None => Ok(None),
        Some(c) => Cursor::decode(c)
            .map(Some)
            .ok_or_else(|| Error::validation("cursor: not a cursor this server returned")),
    }
}

/// Lists are fetched one row longer than asked: the extra row says there is a
/// next page, whose cursor is the last row shown.
fn keyset_page(rows: &mut Vec<crate::store::ConversationRow>, limit: i64) -> Option<String> {
    let more = rows.len() as i64 > limit;
    rows.truncate(limit as usize);
    if more {
        rows.last().map(|r| r.cursor().encode())
    } else {
        None
    }
}

/// Reads, renames and deletes conversations.
pub struct Conversations {
    pub(crate) store: Arc<dyn Database>,
    pub(crate) hub: Arc<Hub>,
    pub(crate) scheduler: Arc<Scheduler>,
    pub(crate) runner: Arc<Runner>,
    pub(crate) announcer: Announcer,
    pub(crate) presence: PresenceReader,
    /// With `REDIS_URL`: stops replies that run on other nodes.
    pub(crate) cluster: Option<Arc<crate::cluster::Cluster>>,
}

impl Conversations {
    /// A page of the caller's conversations, newest first, optionally matching `q`.
    pub async fn list(
        &self,
        who: &Identity,
        limit: i64,
        raw_cursor: Option<&str>,
        q: Option<&str>,
    ) -> Result<ConversationList> {
        let after = cursor(raw_cursor)?;
        let q = q.map(str::trim).filter(|q| !q.is_empty());
        if q.is_some_and(|q| q.chars().count() > MAX_QUERY_CHARS) {
            return Err(Error::validation(format!("q: at most {MAX_QUERY_CHARS} characters")));
        }
        let query = ConversationQuery {
            owner_id: who.user_id.clone(),
            limit: limit + 1,
            after,
            terms: q.map(search_terms).unwrap_or_default(),
            text: q.map(str::to_string),
        };
        let mut rows = self.store.conversations(&query).await?;
        let next_cursor = keyset_page(&mut rows, limit);
        Ok(ConversationList {
            conversations: rows.iter().map(|r| r.to_conversation()).collect(),
            next_cursor,
        })
    }

    pub async fn get(&self, who: &Identity, id: &str) -> Result<Conversation> {
        Via::Http.check_session_id(id)?;
        self.store
            .conversation(&who.user_id, id)
            .await?
            .map(|c| c.to_conversation())
            .ok_or_else(|| Error::not_found("conversation"))
    }

    /// A page of messages, oldest first, ending before `before` (a message id).
    pub async fn messages(&self, who: &Identity, id: &str, limit: i64, before: Option<&str>) -> Result<MessageList> {
        Via::Http.check_session_id(id)?;
        if self.store.conversation(&who.user_id, id).await?.is_none() {
            return Err(Error::not_found("conversation"));
        }
        self.messages_page(&who.user_id, id, limit, before).await
    }

    async fn messages_page(
        &self,
        owner: &str,
        conversation: &str,
        limit: i64,
        before: Option<&str>,
    ) -> Result<MessageList> {
        let before_pos = match before.map(str::trim).filter(|b| !b.is_empty()) {
            None => None,
            Some(b) => match self.store.message(b).await? {
                Some(m) if m.owner_id == owner && m.conversation_id == conversation => Some(m.pos),
                _ => return Err(Error::not_found("message (before)")),
            },
        };
        let mut rows = self.store.messages(owner, conversation, limit + 1, before_pos).await?;
        let has_more = rows.len() as i64 > limit;
        rows.truncate(limit as usize);
        rows.reverse();
        Ok(MessageList {
            messages: rows.iter().map(|m| m.to_message()).collect(),
            has_more,
        })
    }

    /// Every version of a reply (`id` may be any version, or the user message).
    pub async fn versions(&self, who: &Identity, id: &str) -> Result<Vec<Message>> {
        let row = match self.store.message(id).await? {
            Some(m) if m.owner_id == who.user_id => m,
            _ => return Err(Error::not_found("message")),
        };
        let anchor = match row.role {
            MessageRole::User => row.id.clone(),
            MessageRole::Assistant | MessageRole::Operator => row.in_reply_to.clone().unwrap_or(row.id.clone()),
        };
        let rows = self.store.versions(&anchor).await?;
        if rows.is_empty() {
            return Ok(vec![row.to_message()]);
        }
        Ok(rows.iter().map(|m| m.to_message()).collect())
    }

    /// The bot's visitor conversations, for its owner.
    pub async fn visitor_conversations(
        &self,
        who: &Identity,
        bot_id: &str,
        limit: i64,
        raw_cursor: Option<&str>,
    ) -> Result<VisitorConversationList> {
        let bot = own_bot(self.store.as_ref(), who, bot_id).await?;
        let after = cursor(raw_cursor)?;
        let mut rows = self
            .store
            .visitor_conversations(&bot.id, limit + 1, after.as_ref())
            .await?;
        let next_cursor = keyset_page(&mut rows, limit);
        let mut conversations: Vec<_> = rows.iter().map(|r| r.to_visitor_conversation()).collect();
        self.presence.fill(&mut conversations).await;
        Ok(VisitorConversationList {
            conversations,
            next_cursor,
        })
    }

    /// One visitor conversation's transcript, for the bot's owner.
    pub async fn visitor_transcript(
        &self,
        who: &Identity,
        bot_id: &str,
        visitor_id: &str,
        session_id: &str,
        limit: i64,
        before: Option<&str>,
    ) -> Result<MessageList> {
        let bot = own_bot(self.store.as_ref(), who, bot_id).await?;
        Via::Http.check_session_id(session_id)?;
        let visitor = self.store.user_by_id(visitor_id).await?;
        let ok = visitor.is_some_and(|v| v.role == Role::Visitor && v.bot_id.as_deref() == Some(bot.id.as_str()));
        if !ok {
            return Err(Error::not_found("conversation"));
        }
        match self.store.conversation(visitor_id, session_id).await? {
            Some(c) if c.bot_id == bot.id => {}
            _ => return Err(Error::not_found("conversation")),
        }
        self.messages_page(visitor_id, session_id, limit, before).await
    }

    /// Renames a conversation; a blank title or one over 200 characters is
    /// `VALIDATION_ERROR`, an unknown or foreign conversation `NOT_FOUND`.
    pub async fn rename(&self, who: &Identity, session_id: &str, title: &str) -> Result<Conversation> {
        let title = title.trim();
        if title.is_empty() {
            return Err(Error::validation("title: must not be empty"));
        }
        if title.chars().count() > MAX_TITLE_CHARS {
            return Err(Error::validation("title: must be at most 200 characters"));
        }
        let row = self
            .store
            .rename_conversation(&who.user_id, session_id, title, now_micros())
            .await?
            .ok_or_else(|| Error::not_found("conversation"))?;
        self.announcer.conversation_updated(&row);
        Ok(row.to_conversation())
    }

    /// Stops the conversation's replies (`finish_reason: stopped`), then deletes
    /// it with its messages.
    pub async fn delete(&self, who: &Identity, session_id: &str) -> Result<()> {
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
            self.runner.finish_unstarted(&job, FinishReason::Stopped).await;
        }
        if let Some(c) = &self.cluster {
            c.stop_conversation(&who.user_id, session_id).await;
        }
        if let Some(log) = running {
            // Give the runner a moment to store the stopped reply and say `complete`.
            let mut f = log.follow(crate::hub::Filter::After(u64::MAX));
            let _ = tokio::time::timeout(STOP_GRACE, async { while f.next_batch().await.is_some() {} }).await;
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
            self.announcer
                .to_bot_owner(bot, &who.user_id, &frame, "conversation_deleted");
        }
        Ok(())
    }
}
