//! The objects of contract §5, as they appear in REST bodies and frames.

use serde::{Deserialize, Serialize};

/// `user` in auth answers and `auth_success`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct User {
    pub id: String,
    pub email: Option<String>,
    pub name: Option<String>,
}

/// Roles of an identity (contract §2).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    User,
    Guest,
    Visitor,
}

impl Role {
    pub const fn as_str(self) -> &'static str {
        match self {
            Role::User => "user",
            Role::Guest => "guest",
            Role::Visitor => "visitor",
        }
    }

    pub fn parse(s: &str) -> Option<Role> {
        match s {
            "user" => Some(Role::User),
            "guest" => Some(Role::Guest),
            "visitor" => Some(Role::Visitor),
            _ => None,
        }
    }
}

/// `GET /api/v1/auth/me`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Me {
    pub id: String,
    pub email: Option<String>,
    pub name: Option<String>,
    pub role: Role,
}

/// A conversation (`session_id` on the wire is its `id`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Conversation {
    pub id: String,
    pub title: String,
    pub bot_id: String,
    pub created_at: String,
    pub updated_at: String,
    pub last_message_preview: Option<String>,
    /// Assistant and operator messages after this identity's last `read` (§9.3).
    #[serde(default)]
    pub unread_count: u64,
    /// Who answers: the bot, or a person (§9.1).
    #[serde(default)]
    pub mode: ConversationMode,
}

/// A conversation's hand-off mode (contract §9.1).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ConversationMode {
    /// The bot answers every visitor message (the default).
    #[default]
    Ai,
    /// The bot's owner answers; no assistant reply starts.
    Human,
}

impl ConversationMode {
    pub const fn as_str(self) -> &'static str {
        match self {
            ConversationMode::Ai => "ai",
            ConversationMode::Human => "human",
        }
    }
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "ai" => Some(Self::Ai),
            "human" => Some(Self::Human),
            _ => None,
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum MessageRole {
    User,
    Assistant,
    /// A person answering for the bot (the bot's owner, §9.1).
    Operator,
}

impl MessageRole {
    pub const fn as_str(self) -> &'static str {
        match self {
            MessageRole::User => "user",
            MessageRole::Assistant => "assistant",
            MessageRole::Operator => "operator",
        }
    }
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "user" => Some(Self::User),
            "assistant" => Some(Self::Assistant),
            "operator" => Some(Self::Operator),
            _ => None,
        }
    }
}

/// A message's lifecycle. User messages are always `complete`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum MessageStatus {
    Complete,
    Queued,
    Streaming,
    Stopped,
    Error,
    Interrupted,
}

impl MessageStatus {
    pub const fn as_str(self) -> &'static str {
        match self {
            MessageStatus::Complete => "complete",
            MessageStatus::Queued => "queued",
            MessageStatus::Streaming => "streaming",
            MessageStatus::Stopped => "stopped",
            MessageStatus::Error => "error",
            MessageStatus::Interrupted => "interrupted",
        }
    }
    pub fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "complete" => Self::Complete,
            "queued" => Self::Queued,
            "streaming" => Self::Streaming,
            "stopped" => Self::Stopped,
            "error" => Self::Error,
            "interrupted" => Self::Interrupted,
            _ => return None,
        })
    }
    /// Whether a reply in this state will still change.
    pub const fn is_live(self) -> bool {
        matches!(self, MessageStatus::Queued | MessageStatus::Streaming)
    }
}

/// A message object (contract §5). `metadata` is free-form JSON: a reply's carries
/// [`ReplyMetadata`] fields plus `in_reply_to`, `seq`, `version` and `versions`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Message {
    pub id: String,
    pub session_id: String,
    pub role: MessageRole,
    pub content: String,
    pub status: MessageStatus,
    pub client_id: Option<String>,
    pub created_at: String,
    pub reply_id: Option<String>,
    #[serde(default)]
    pub metadata: serde_json::Value,
    /// When the other side read it (RFC 3339), null until then (§9.3).
    #[serde(default)]
    pub read_at: Option<String>,
    /// The identity's rating of an assistant or operator message (§9.4).
    #[serde(default)]
    pub feedback: Option<Feedback>,
}

/// `feedback.rating` (contract §9.4).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Rating {
    Up,
    Down,
}

impl Rating {
    pub const fn as_str(self) -> &'static str {
        match self {
            Rating::Up => "up",
            Rating::Down => "down",
        }
    }
}

/// A message's feedback: `{rating, comment}`; the comment is at most 2000
/// characters (contract §9.4).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Feedback {
    pub rating: Rating,
    #[serde(default)]
    pub comment: Option<String>,
}

/// Why a reply ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum FinishReason {
    Stop,
    Length,
    Stopped,
    Error,
    Interrupted,
}

impl FinishReason {
    pub const fn as_str(self) -> &'static str {
        match self {
            FinishReason::Stop => "stop",
            FinishReason::Length => "length",
            FinishReason::Stopped => "stopped",
            FinishReason::Error => "error",
            FinishReason::Interrupted => "interrupted",
        }
    }
    /// The stored status of a reply that ended this way.
    pub const fn status(self) -> MessageStatus {
        match self {
            FinishReason::Stop | FinishReason::Length => MessageStatus::Complete,
            FinishReason::Stopped => MessageStatus::Stopped,
            FinishReason::Error => MessageStatus::Error,
            FinishReason::Interrupted => MessageStatus::Interrupted,
        }
    }
}

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Usage {
    pub prompt_tokens: u32,
    pub completion_tokens: u32,
    pub total_tokens: u32,
}

/// `complete.metadata` (contract §3.3).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ReplyMetadata {
    pub agent: String,
    pub model: String,
    pub finish_reason: FinishReason,
    pub usage: Usage,
    pub ttft_ms: Option<u64>,
    pub duration_ms: Option<u64>,
}

/// A bot's widget theme.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Theme {
    pub color: String,
    pub position: String,
    pub title: String,
}

impl Default for Theme {
    fn default() -> Self {
        Theme {
            color: "#4f46e5".into(),
            position: "right".into(),
            title: String::new(),
        }
    }
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct BotWidget {
    pub enabled: bool,
    pub public_key: String,
    pub allowed_origins: Vec<String>,
    pub theme: Theme,
}

/// A bot (contract §5).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Bot {
    pub id: String,
    pub name: String,
    pub system_prompt: String,
    pub model: String,
    /// `null` when unset: then no temperature is sent upstream.
    pub temperature: Option<f32>,
    pub greeting: String,
    pub widget: BotWidget,
}

/// A visitor conversation as its bot's owner sees it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct VisitorConversation {
    pub visitor_id: String,
    pub session_id: String,
    pub title: String,
    pub updated_at: String,
    pub last_message_preview: Option<String>,
    /// Visitor messages the owner has not read (§9.3).
    #[serde(default)]
    pub unread_count: u64,
    #[serde(default)]
    pub mode: ConversationMode,
    /// `online`, `away` or `offline` (§9.2).
    #[serde(default)]
    pub visitor_status: PresenceStatus,
    /// When the visitor was last connected (RFC 3339); null when not seen since
    /// this server started.
    #[serde(default)]
    pub last_seen_at: Option<String>,
}

/// A visitor's or an operator's presence (contract §9.2).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum PresenceStatus {
    Online,
    Away,
    #[default]
    Offline,
}

impl PresenceStatus {
    pub const fn as_str(self) -> &'static str {
        match self {
            PresenceStatus::Online => "online",
            PresenceStatus::Away => "away",
            PresenceStatus::Offline => "offline",
        }
    }
}
