//! Reading conversations and their messages, for the owner and, read-only, for
//! the owner of a bot whose visitors they are.

use crate::chat::Surface;
use protocol::objects::{Conversation, Message, MessageRole, Role};
use protocol::rest::{ConversationList, MessageList, VisitorConversationList};

use crate::auth::Identity;
use crate::engine::Engine;
use crate::error::{Error, Result};
use crate::store::{search_terms, ConversationQuery, Cursor};

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

impl Engine {
    pub async fn list_conversations(
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

    pub async fn get_conversation(&self, who: &Identity, id: &str) -> Result<Conversation> {
        Surface::Http.check_session_id(id)?;
        self.store
            .conversation(&who.user_id, id)
            .await?
            .map(|c| c.to_conversation())
            .ok_or_else(|| Error::not_found("conversation"))
    }

    /// A page of messages, oldest first, ending before `before` (a message id).
    pub async fn list_messages(
        &self,
        who: &Identity,
        id: &str,
        limit: i64,
        before: Option<&str>,
    ) -> Result<MessageList> {
        Surface::Http.check_session_id(id)?;
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
        let bot = self.own_bot(who, bot_id).await?;
        let after = cursor(raw_cursor)?;
        let mut rows = self
            .store
            .visitor_conversations(&bot.id, limit + 1, after.as_ref())
            .await?;
        let next_cursor = keyset_page(&mut rows, limit);
        Ok(VisitorConversationList {
            conversations: rows
                .iter()
                .map(|r| {
                    let mut item = r.to_visitor_conversation();
                    self.people.fill(&mut item);
                    item
                })
                .collect(),
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
        let bot = self.own_bot(who, bot_id).await?;
        Surface::Http.check_session_id(session_id)?;
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
}
