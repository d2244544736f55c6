//! Read receipts and unread counts (contract §9.3). Each side of a
//! conversation has a read point (a message position) that only moves forward;
//! moving it stamps `read_at` on the other side's messages it passes, tells the
//! other side (`read`), and tells every other connection of the reader so that
//! all its tabs and devices agree on what is unread.

use protocol::frames::{Reader, ServerFrame};
use protocol::objects::Role;

use super::frame_event;
use crate::auth::Identity;
use crate::chat::{frames, Via};
use crate::error::{Error, Result};
use crate::hub::ConnId;
use crate::store::{MessageRow, ReadSide};
use crate::time::{now_micros, rfc3339};

impl super::People {
    /// The `read` frame and `POST /api/v1/conversations/{id}/read`: the
    /// identity has read its conversation up to and including `message_id`.
    /// An unknown or foreign conversation, or a message that is not in it, is
    /// `NOT_FOUND`; a read point that would move backwards stays where it is.
    pub async fn read(
        &self,
        who: &Identity,
        session_id: &str,
        message_id: &str,
        origin: Option<ConnId>,
        via: Via,
    ) -> Result<()> {
        via.check_session_id(session_id)?;
        let conversation = self
            .store
            .conversation(&who.user_id, session_id)
            .await?
            .ok_or_else(|| Error::not_found("conversation"))?;
        let msg = self.message_in(&who.user_id, session_id, message_id).await?;
        let now = now_micros();
        let Some(out) = self
            .store
            .mark_read(&who.user_id, session_id, ReadSide::Owner, msg.pos, now)
            .await?
        else {
            return Err(Error::not_found("conversation"));
        };
        if !out.moved {
            return Ok(());
        }
        let reader = if who.role == Role::Visitor {
            Reader::Visitor
        } else {
            Reader::User
        };
        let frame = read_frame(session_id, reader, message_id, now);
        let reg = &self.hub.registry;
        reg.publish_owner(&who.user_id, frame_event(frame.clone(), "read", origin));
        let updated = frames::conversation_updated(out.conversation.to_conversation());
        reg.publish_owner(&who.user_id, frame_event(updated, "conversation_updated", None));
        if who.role == Role::Visitor {
            // The operator's side: the bot's events streams.
            self.announcer
                .to_bot_owner(&conversation.bot_id, &who.user_id, &frame, "read");
        }
        Ok(())
    }

    /// `POST /api/v1/bots/{id}/visitors/{visitor_id}/conversations/{session_id}/read`:
    /// the bot's owner has read the visitor's messages up to `message_id`.
    pub async fn operator_read(
        &self,
        who: &Identity,
        bot_id: &str,
        visitor_id: &str,
        session_id: &str,
        message_id: &str,
    ) -> Result<()> {
        self.operator_view(who, bot_id, visitor_id, session_id).await?;
        let msg = self.message_in(visitor_id, session_id, message_id).await?;
        let now = now_micros();
        let Some(out) = self
            .store
            .mark_read(visitor_id, session_id, ReadSide::Operator, msg.pos, now)
            .await?
        else {
            return Err(Error::not_found("conversation"));
        };
        if !out.moved {
            return Ok(());
        }
        let frame = read_frame(session_id, Reader::Operator, message_id, now);
        // The visitor sees "Seen"; every connection of the owner, the bot's
        // events streams included, learns the new unread count.
        self.hub
            .registry
            .publish_owner(visitor_id, frame_event(frame.clone(), "read", None));
        let for_owner = frames::with_visitor(&frame, visitor_id);
        self.hub
            .registry
            .publish_owner(&who.user_id, frame_event(for_owner, "read", None));
        Ok(())
    }

    /// A message of one conversation, or `NOT_FOUND`.
    async fn message_in(&self, owner: &str, session_id: &str, message_id: &str) -> Result<MessageRow> {
        match self.store.message(message_id).await? {
            Some(m) if m.owner_id == owner && m.conversation_id == session_id => Ok(m),
            _ => Err(Error::not_found("message")),
        }
    }
}

fn read_frame(session_id: &str, reader: Reader, message_id: &str, at: i64) -> String {
    ServerFrame::Read {
        session_id: session_id.to_string(),
        reader,
        message_id: message_id.to_string(),
        read_at: rfc3339(at),
    }
    .to_json()
}
