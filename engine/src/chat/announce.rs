//! Live announcements: the events that tell connections a message was stored
//! or a conversation changed (contract §3.4), and the copies of a visitor's
//! events that go to the bot owner's live views (contract §9).

use std::sync::Arc;

use super::frames;
use crate::hub::{ConnId, Event, LiveEvents, ReplyLog, Target};
use crate::store::{ConversationRow, MessageRow};

/// Publishes live events through the hub's [`LiveEvents`] seam, with its
/// guarantees (ordered per target, at most once, never waiting); cheap to clone.
#[derive(Clone)]
pub struct Announcer {
    events: Arc<dyn LiveEvents>,
}

impl Announcer {
    pub fn new(events: Arc<dyn LiveEvents>) -> Announcer {
        Announcer { events }
    }

    /// A reply of the conversation starts (or ended before its turn): its
    /// joined connections follow the reply's log.
    pub fn reply_started(&self, log: &Arc<ReplyLog>) {
        let to = Target::Conversation {
            owner: &log.owner_id,
            session: &log.conversation_id,
        };
        self.events.publish(to, Event::ReplyStarted(log.clone()));
    }

    /// The live events of a stored message: `message_added` to the joined
    /// connections (not `origin`, the sender's), `conversation_updated` to every
    /// connection of the identity, and both, with `visitor_id`, to the owner of
    /// the bot when the identity is one of its widget visitors (`visitor_bot`).
    pub fn message_stored(
        &self,
        conversation: &ConversationRow,
        message: &MessageRow,
        origin: Option<ConnId>,
        visitor_bot: Option<&str>,
    ) {
        let owner = &conversation.owner_id;
        let updated = frames::conversation_updated(conversation.to_conversation());
        let added = frames::message_added(&conversation.id, message.to_message());
        let to = Target::Conversation {
            owner,
            session: &conversation.id,
        };
        self.events.publish(to, frame(added.clone(), "message_added", origin));
        self.to_owner(owner, updated.clone(), "conversation_updated", None);
        if let Some(bot) = visitor_bot {
            self.to_bot_owner(bot, owner, &updated, "conversation_updated");
            self.to_bot_owner(bot, owner, &added, "message_added");
        }
    }

    /// `conversation_updated` to every connection of the conversation's owner.
    pub fn conversation_updated(&self, conversation: &ConversationRow) {
        let updated = frames::conversation_updated(conversation.to_conversation());
        self.to_owner(&conversation.owner_id, updated, "conversation_updated", None);
    }

    /// A visitor's event, with its `visitor_id`, to the bot owner's live views.
    pub fn to_bot_owner(&self, bot_id: &str, visitor_id: &str, json: &str, name: &'static str) {
        let json = frames::with_visitor(json, visitor_id);
        self.events.publish(Target::Bot(bot_id), frame(json, name, None));
    }

    /// A frame to every connection of `owner`, joined or not.
    pub fn to_owner(&self, owner: &str, json: String, name: &'static str, origin: Option<ConnId>) {
        self.events.publish(Target::Owner(owner), frame(json, name, origin));
    }

    /// A frame to the connections of `owner` joined to `conversation`, except `origin`.
    pub fn to_conversation(
        &self,
        owner: &str,
        conversation: &str,
        json: String,
        name: &'static str,
        origin: Option<ConnId>,
    ) {
        let to = Target::Conversation {
            owner,
            session: conversation,
        };
        self.events.publish(to, frame(json, name, origin));
    }
}

/// A frame as an event for a connection's inbox.
pub(crate) fn frame(json: String, name: &'static str, origin: Option<ConnId>) -> Event {
    Event::Frame {
        frame: json.into(),
        name,
        origin,
    }
}
