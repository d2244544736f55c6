//! Bodies of the HTTP API (contract §4).

use serde::{Deserialize, Serialize};

use crate::codes::ErrorCode;
use crate::frames::Complete;
use crate::objects::{Bot, Conversation, Message, ReplyMetadata, Theme, User, VisitorConversation};

/// Every error answer: `{"error": "…", "code": "…"}`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ApiError {
    pub error: String,
    pub code: ErrorCode,
    /// The reply the error is about: the running one for `REPLY_IN_PROGRESS`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reply_id: Option<String>,
    /// The request's id, as in its `x-request-id` response header, so a user's
    /// report can be matched to the server's log (docs/decisions.md).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub request_id: Option<String>,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct RegisterRequest {
    pub email: String,
    pub password: String,
    #[serde(default)]
    pub name: Option<String>,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct LoginRequest {
    pub email: String,
    pub password: String,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuthResponse {
    pub token: String,
    pub user: User,
}

/// `POST /api/v1/chat`, `/chat/messages` and Brook's body of `/chat/stream`.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct ChatRequest {
    pub message: String,
    #[serde(default)]
    pub session_id: Option<String>,
    #[serde(default)]
    pub client_id: Option<String>,
    #[serde(default)]
    pub bot_id: Option<String>,
}

/// `POST /api/v1/chat`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ChatResponse {
    pub response: String,
    pub session_id: String,
    pub message_id: String,
    pub reply_id: String,
    pub metadata: ReplyMetadata,
}

/// `POST /api/v1/chat/messages` → `202`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Accepted {
    pub message_id: String,
    /// Null when the conversation is in `human` mode: a person answers (§9.1).
    pub reply_id: Option<String>,
    pub session_id: String,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct RegenerateRequest {
    pub session_id: String,
    #[serde(default)]
    pub client_id: Option<String>,
    /// An edit of the last user message; see `RegenerateFrame::content`.
    #[serde(default)]
    pub content: Option<String>,
}

/// `POST /api/v1/chat/regenerate` → `202`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct RegenerateAccepted {
    pub reply_id: String,
    pub session_id: String,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PolledToken {
    pub seq: u64,
    pub token: String,
}

/// `GET …/replies/{id}/poll`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct PollResponse {
    pub tokens: Vec<PolledToken>,
    pub status: crate::objects::MessageStatus,
    pub complete: Option<Complete>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ConversationList {
    pub conversations: Vec<Conversation>,
    pub next_cursor: Option<String>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct MessageList {
    pub messages: Vec<Message>,
    pub has_more: bool,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct VersionList {
    pub versions: Vec<Message>,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct RenameConversation {
    pub title: String,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct BotList {
    pub bots: Vec<Bot>,
}

/// Widget settings as sent by `POST`/`PATCH /api/v1/bots`; every field optional.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct BotWidgetPatch {
    #[serde(default)]
    pub enabled: Option<bool>,
    #[serde(default)]
    pub allowed_origins: Option<Vec<String>>,
    #[serde(default)]
    pub theme: Option<ThemePatch>,
}

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct ThemePatch {
    #[serde(default)]
    pub color: Option<String>,
    #[serde(default)]
    pub position: Option<String>,
    #[serde(default)]
    pub title: Option<String>,
}

/// `POST /api/v1/bots` (name required) and `PATCH /api/v1/bots/{id}` (all optional).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct BotPatch {
    #[serde(default)]
    pub name: Option<String>,
    #[serde(default)]
    pub system_prompt: Option<String>,
    #[serde(default)]
    pub model: Option<String>,
    /// Absent: unchanged. `null`: unset (nothing is sent upstream, the model's own
    /// default applies; gpt-5 and o-series models refuse any other). A number: 0 to 2.
    #[serde(default, deserialize_with = "present", skip_serializing_if = "Option::is_none")]
    pub temperature: Option<Option<f32>>,
    #[serde(default)]
    pub greeting: Option<String>,
    #[serde(default)]
    pub widget: Option<BotWidgetPatch>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct VisitorConversationList {
    pub conversations: Vec<VisitorConversation>,
    pub next_cursor: Option<String>,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct WidgetSessionRequest {
    pub bot_key: String,
    #[serde(default)]
    pub token: Option<String>,
}

/// The bot as a visitor sees it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct WidgetBot {
    pub name: String,
    pub greeting: String,
    pub theme: Theme,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct WidgetSessionResponse {
    pub token: String,
    pub visitor_id: String,
    pub bot: WidgetBot,
}

/// `GET /health`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Health {
    pub status: String,
}

/// What the UI learns about the server at start (demo note, limits).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ServerInfo {
    pub provider: String,
    pub model: String,
    pub models: Vec<String>,
    pub max_message_chars: usize,
    pub guests: bool,
}

/// Reads a field that is present (`null` included) as `Some(..)`, so that with
/// `#[serde(default)]` an absent field (`None`) differs from `null` (`Some(None)`).
fn present<'de, T, D>(d: D) -> Result<Option<T>, D::Error>
where
    T: Deserialize<'de>,
    D: serde::Deserializer<'de>,
{
    T::deserialize(d).map(Some)
}
