//! REST bodies of contract §9 (people in the loop): hand-off, operator messages
//! and typing, read receipts, feedback.

use serde::{Deserialize, Serialize};

use crate::objects::{ConversationMode, Rating};

/// The longest feedback comment, in Unicode scalar values (§9.4).
pub const MAX_FEEDBACK_COMMENT_CHARS: usize = crate::feedback::MAX_COMMENT_CHARS;

/// `POST …/handoff`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct HandoffRequest {
    pub mode: ConversationMode,
}

/// `POST …/messages` by the bot's owner: an operator message.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct OperatorMessageRequest {
    pub message: String,
    #[serde(default)]
    pub client_id: Option<String>,
}

/// `POST …/typing` by the bot's owner.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct TypingRequest {
    pub is_typing: bool,
}

/// `POST …/read` (both sides).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReadRequest {
    pub message_id: String,
}

/// `PUT /api/v1/messages/{id}/feedback`. `rating` is read as text so that a value
/// outside `up`/`down` is a `422 VALIDATION_ERROR`, not a malformed body.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct FeedbackRequest {
    pub rating: String,
    #[serde(default)]
    pub comment: Option<String>,
}

impl FeedbackRequest {
    /// The rating, if it is one of the two the contract names.
    pub fn rating(&self) -> Option<Rating> {
        match self.rating.as_str() {
            "up" => Some(Rating::Up),
            "down" => Some(Rating::Down),
            _ => None,
        }
    }
}
