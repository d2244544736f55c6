//! Storage for contract §9 (people in the loop): hand-off mode, operator
//! messages, read points and feedback. A second trait so that the chat's own
//! [`super::Database`] stays readable; both SQL stores implement it in `sql/people.rs`.

use async_trait::async_trait;
use protocol::objects::ConversationMode;

use super::{ConversationRow, MessageRow, StoreResult};

/// Which side of a conversation reads.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ReadSide {
    /// The conversation's own identity (a user, guest or visitor): reads the
    /// assistant's and operator's messages.
    Owner,
    /// The bot's owner in a visitor conversation: reads the visitor's messages.
    Operator,
}

impl ReadSide {
    /// The roles this side reads (whose `read_at` it sets), as SQL.
    pub(crate) const fn roles_sql(self) -> &'static str {
        match self {
            ReadSide::Owner => "role <> 'user'",
            ReadSide::Operator => "role = 'user'",
        }
    }
    pub(crate) const fn column(self) -> &'static str {
        match self {
            ReadSide::Owner => "owner_read_pos",
            ReadSide::Operator => "operator_read_pos",
        }
    }
}

/// An operator message to store in a visitor's conversation.
#[derive(Clone, Debug)]
pub struct NewOperatorMessage {
    /// The visitor (the conversation's owner).
    pub owner_id: String,
    pub conversation_id: String,
    pub id: String,
    pub content: String,
    /// Already prefixed with [`super::OPERATOR_CLIENT_PREFIX`].
    pub client_id: Option<String>,
    /// `{"author": {"name": …}}`.
    pub metadata: String,
    pub preview: String,
    pub now: i64,
}

#[derive(Clone, Debug)]
pub enum OperatorOutcome {
    Stored {
        conversation: ConversationRow,
        message: MessageRow,
    },
    /// The `client_id` was seen before: the original message.
    Duplicate(MessageRow),
    NoConversation,
}

/// What a `read` did.
#[derive(Clone, Debug)]
pub struct ReadOutcome {
    /// `false` when the read point was already at or past the message.
    pub moved: bool,
    pub conversation: ConversationRow,
}

#[async_trait]
pub trait PeopleStore: Send + Sync {
    /// Sets a conversation's mode; `None` when it does not exist.
    async fn set_mode(&self, owner_id: &str, id: &str, mode: ConversationMode) -> StoreResult<Option<ConversationRow>>;
    /// Stores an operator message (which reads every visitor message before it).
    async fn insert_operator_message(&self, x: &NewOperatorMessage) -> StoreResult<OperatorOutcome>;
    /// Moves `side`'s read point forward to `pos` (never back) and stamps
    /// `read_at` on the messages it covers; `None` when the conversation is gone.
    async fn mark_read(
        &self,
        owner_id: &str,
        id: &str,
        side: ReadSide,
        pos: i64,
        now: i64,
    ) -> StoreResult<Option<ReadOutcome>>;
    /// Sets (`Some` JSON) or clears (`None`) a message's feedback.
    async fn set_feedback(&self, message_id: &str, feedback: Option<&str>) -> StoreResult<()>;
    /// Every message of a conversation, every reply version included, oldest first.
    async fn all_messages(&self, owner_id: &str, id: &str) -> StoreResult<Vec<MessageRow>>;
}
