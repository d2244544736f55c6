//! Feedback on answers (contract §9.4): thumbs up or down, with an optional
//! comment, on an assistant or operator message of one of the identity's
//! conversations. The bot's owner sees it in the transcript (the message's
//! `feedback`), and `/metrics` counts it by bot and rating.

use protocol::objects::{Feedback, Message, MessageRole, Role};
use protocol::people::{FeedbackRequest, MAX_FEEDBACK_COMMENT_CHARS};

use crate::auth::Identity;
use crate::chat::frames;
use crate::error::{Error, Result};
use crate::store::{ConversationRow, MessageRow};

impl super::People {
    /// `PUT /api/v1/messages/{id}/feedback`: sets the feedback and returns the
    /// message. A foreign or unknown message is `NOT_FOUND`; a user message, a
    /// rating other than `up`/`down` or a comment over 2000 characters is
    /// `VALIDATION_ERROR`.
    pub async fn set_feedback(&self, who: &Identity, message_id: &str, req: &FeedbackRequest) -> Result<Message> {
        let row = self.rated_message(who, message_id).await?;
        let rating = req
            .rating()
            .ok_or_else(|| Error::validation("rating: must be \"up\" or \"down\""))?;
        let comment = req
            .comment
            .as_deref()
            .map(str::trim)
            .filter(|c| !c.is_empty())
            .map(str::to_string);
        if comment
            .as_deref()
            .is_some_and(|c| c.chars().count() > MAX_FEEDBACK_COMMENT_CHARS)
        {
            return Err(Error::validation(format!(
                "comment: must be at most {MAX_FEEDBACK_COMMENT_CHARS} characters"
            )));
        }
        let before = row.feedback().map(|f| f.rating);
        let feedback = Feedback { rating, comment };
        let json = serde_json::to_string(&feedback).map_err(|_| Error::internal())?;
        self.store.set_feedback(&row.id, Some(&json)).await?;
        let conversation = self.store.conversation(&row.owner_id, &row.conversation_id).await?;
        if let (true, Some(c)) = (before != Some(rating), &conversation) {
            self.metrics.feedback(&c.bot_id, rating.as_str());
        }
        self.tell_bot_owner(who, conversation.as_ref());
        let row = self
            .store
            .message(&row.id)
            .await?
            .ok_or_else(|| Error::not_found("message"))?;
        Ok(row.to_message())
    }

    /// `DELETE /api/v1/messages/{id}/feedback`: clears it.
    pub async fn clear_feedback(&self, who: &Identity, message_id: &str) -> Result<()> {
        let row = self.rated_message(who, message_id).await?;
        self.store.set_feedback(&row.id, None).await?;
        let conversation = self.store.conversation(&row.owner_id, &row.conversation_id).await?;
        self.tell_bot_owner(who, conversation.as_ref());
        Ok(())
    }

    /// A visitor's feedback changed: the bot owner's live views (the bot's events
    /// stream, on every node) get `conversation_updated` with `visitor_id`, so an
    /// open transcript reloads and shows it (decisions.md, issue 14: no new frame).
    fn tell_bot_owner(&self, who: &Identity, conversation: Option<&ConversationRow>) {
        let Some(c) = conversation.filter(|_| who.role == Role::Visitor) else {
            return;
        };
        let updated = frames::conversation_updated(c.to_conversation());
        self.announcer
            .to_bot_owner(&c.bot_id, &who.user_id, &updated, "conversation_updated");
    }

    /// A message of the identity's that can carry feedback.
    async fn rated_message(&self, who: &Identity, message_id: &str) -> Result<MessageRow> {
        let row = match self.store.message(message_id).await? {
            Some(m) if m.owner_id == who.user_id => m,
            _ => return Err(Error::not_found("message")),
        };
        if row.role == MessageRole::User {
            return Err(Error::validation(
                "feedback is for assistant and operator messages, not your own",
            ));
        }
        Ok(row)
    }
}
