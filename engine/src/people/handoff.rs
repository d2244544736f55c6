//! Hand-off (contract §9.1): the bot's owner takes a visitor's conversation
//! over (`human`), answers as an operator, and hands it back (`ai`).

use protocol::frames::{Actor, OperatorInfo, ServerFrame};
use protocol::objects::{Conversation, ConversationMode, FinishReason, Message};

use super::frame_event;
use crate::auth::Identity;
use crate::chat::announce::Announcer;
use crate::chat::frames;
use crate::error::{Error, Result};
use crate::ids;
use crate::store::{NewOperatorMessage, OperatorOutcome, OPERATOR_CLIENT_PREFIX};
use crate::time::now_micros;

impl super::People {
    /// `POST …/handoff` `{mode}`: to `human`, the conversation's running and
    /// queued replies stop (`finish_reason: stopped`) and none starts until it
    /// is handed back; to `ai`, the next visitor message is answered again.
    /// The visitor's connections get `handoff` when the mode changes.
    pub async fn handoff(
        &self,
        who: &Identity,
        bot_id: &str,
        visitor_id: &str,
        session_id: &str,
        mode: ConversationMode,
    ) -> Result<Conversation> {
        let view = self.operator_view(who, bot_id, visitor_id, session_id).await?;
        let row = self
            .store
            .set_mode(visitor_id, session_id, mode)
            .await?
            .ok_or_else(|| Error::not_found("conversation"))?;
        if mode == ConversationMode::Human {
            for job in self
                .scheduler
                .stop_all(Some((visitor_id, session_id)), FinishReason::Stopped)
            {
                self.runner.finish_unstarted(&job, FinishReason::Stopped).await;
            }
            if let Some(c) = &self.cluster {
                c.stop_conversation(visitor_id, session_id).await;
            }
        }
        if view.conversation.mode != mode {
            let operator = match mode {
                ConversationMode::Human => Some(OperatorInfo {
                    name: self.operator_name(who).await?,
                }),
                ConversationMode::Ai => None,
            };
            tracing::info!(bot_id, visitor_id, session_id, mode = mode.as_str(), "hand-off");
            let frame = ServerFrame::Handoff {
                session_id: session_id.to_string(),
                mode,
                operator,
            }
            .to_json();
            self.hub
                .registry
                .publish_owner(visitor_id, frame_event(frame.clone(), "handoff", None));
            self.announcer.to_bot_owner(&view.bot.id, visitor_id, &frame, "handoff");
            let updated = frames::conversation_updated(row.to_conversation());
            self.hub
                .registry
                .publish_owner(visitor_id, frame_event(updated.clone(), "conversation_updated", None));
            self.announcer
                .to_bot_owner(&view.bot.id, visitor_id, &updated, "conversation_updated");
        }
        Ok(row.to_conversation())
    }

    /// `POST …/messages` `{message, client_id?}`: an operator message in a
    /// visitor's conversation, in either mode; it never starts a reply. The
    /// limits of a user message apply; a repeated `client_id` returns the
    /// original message and creates nothing. Returns the message object.
    pub async fn operator_message(
        &self,
        who: &Identity,
        bot_id: &str,
        visitor_id: &str,
        session_id: &str,
        message: &str,
        client_id: Option<String>,
    ) -> Result<Message> {
        let view = self.operator_view(who, bot_id, visitor_id, session_id).await?;
        crate::chat::validate::message_text(message, self.max_message_chars)?;
        let client_id = match client_id.as_deref().map(str::trim) {
            None | Some("") => None,
            Some(c) if c.chars().count() > 128 => {
                return Err(Error::validation("client_id: must be at most 128 characters"))
            }
            Some(c) => Some(format!("{OPERATOR_CLIENT_PREFIX}{c}")),
        };
        if let Some(cid) = &client_id {
            if let Some(row) = self.store.message_by_client_id(visitor_id, cid).await? {
                return Ok(row.to_message());
            }
        }
        self.admission.admit(who, None).await?;
        let name = self.operator_name(who).await?;
        let x = NewOperatorMessage {
            owner_id: visitor_id.to_string(),
            conversation_id: session_id.to_string(),
            id: ids::new_id(),
            content: message.to_string(),
            client_id,
            metadata: serde_json::json!({ "author": { "name": name } }).to_string(),
            preview: crate::chat::preview(message),
            now: now_micros(),
        };
        let (conversation, row) = match self.store.insert_operator_message(&x).await? {
            OperatorOutcome::Stored { conversation, message } => (conversation, message),
            OperatorOutcome::Duplicate(row) => return Ok(row.to_message()),
            OperatorOutcome::NoConversation => return Err(Error::not_found("conversation")),
        };
        self.metrics
            .record(|| ::metrics::counter!("brook_messages_total").increment(1));
        // Every connection of the visitor sees it, joined or not (§9.1), and
        // the owner's live views with `visitor_id`.
        let msg = row.to_message();
        let added = frames::message_added(session_id, msg.clone());
        let updated = frames::conversation_updated(conversation.to_conversation());
        let reg = &self.hub.registry;
        reg.publish_owner(visitor_id, frame_event(added.clone(), "message_added", None));
        reg.publish_owner(visitor_id, frame_event(updated.clone(), "conversation_updated", None));
        self.announcer
            .to_bot_owner(&view.bot.id, visitor_id, &updated, "conversation_updated");
        self.announcer
            .to_bot_owner(&view.bot.id, visitor_id, &added, "message_added");
        self.clear_operator_typing(visitor_id, session_id);
        Ok(msg)
    }

    /// `POST …/typing` `{is_typing}`: the visitor's connections get `typing`
    /// with `actor: "operator"`; `true` turns `false` by itself after 5 s
    /// unless repeated.
    pub async fn operator_typing(
        &self,
        who: &Identity,
        bot_id: &str,
        visitor_id: &str,
        session_id: &str,
        is_typing: bool,
    ) -> Result<()> {
        self.operator_view(who, bot_id, visitor_id, session_id).await?;
        send_operator_typing(&self.announcer, visitor_id, session_id, is_typing);
        let announcer = self.announcer.clone();
        let key = (visitor_id.to_string(), session_id.to_string());
        self.typing.set(key, is_typing, move |(visitor, session)| {
            send_operator_typing(&announcer, visitor, session, false)
        });
        Ok(())
    }

    /// An operator message ends the operator's typing.
    fn clear_operator_typing(&self, visitor_id: &str, session_id: &str) {
        if self.typing.clear(&(visitor_id.to_string(), session_id.to_string())) {
            send_operator_typing(&self.announcer, visitor_id, session_id, false);
        }
    }
}

/// `typing` with `actor: "operator"` to every connection of the visitor.
fn send_operator_typing(announcer: &Announcer, visitor_id: &str, session_id: &str, is_typing: bool) {
    let frame = ServerFrame::Typing {
        session_id: session_id.to_string(),
        actor: Actor::Operator,
        is_typing,
        user_id: None,
    }
    .to_json();
    announcer.to_owner(visitor_id, frame, "typing", None);
}
