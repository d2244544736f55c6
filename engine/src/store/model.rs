//! Typed rows, and the inputs and outcomes of the chat's transactions.
//!
//! Times are `i64` microseconds; roles, statuses and modes are the protocol's
//! enums and flags are `bool`, decoded once from the stored columns by
//! [`super::records`] (an unknown stored value is a decode error, never a
//! default). Conversions to the wire objects of `protocol` live here too.

use base64::Engine as _;
use protocol::objects::{
    Bot, BotWidget, Conversation, ConversationMode, Feedback, Message, MessageRole, MessageStatus, Role, Theme,
    VisitorConversation,
};

use crate::time::rfc3339;

/// A `users` row.
#[derive(Clone, Debug, PartialEq)]
pub struct UserRow {
    pub id: String,
    pub email: Option<String>,
    pub name: Option<String>,
    pub role: Role,
    pub password_hash: Option<String>,
    pub bot_id: Option<String>,
    pub created_at: i64,
}

impl UserRow {
    pub fn to_user(&self) -> protocol::objects::User {
        protocol::objects::User {
            id: self.id.clone(),
            email: self.email.clone(),
            name: self.name.clone(),
        }
    }
}

/// A `bots` row.
#[derive(Clone, Debug, PartialEq)]
pub struct BotRow {
    pub id: String,
    pub owner_id: String,
    pub name: String,
    pub system_prompt: String,
    pub model: String,
    /// NULL when unset (migration 0002).
    pub temperature: Option<f64>,
    pub greeting: String,
    pub widget_enabled: bool,
    pub public_key: String,
    /// Origins (`scheme://host[:port]`) or `*`; stored as a JSON array.
    pub allowed_origins: Vec<String>,
    /// Stored as a JSON object.
    pub theme: Theme,
    pub is_default: bool,
    pub created_at: i64,
    pub updated_at: i64,
}

impl BotRow {
    /// Whether a widget on `origin` may talk to this bot.
    pub fn allows_origin(&self, origin: &str) -> bool {
        self.widget_enabled
            && self
                .allowed_origins
                .iter()
                .any(|o| o == "*" || crate::origin::same_origin(o, origin))
    }
    pub fn to_bot(&self) -> Bot {
        Bot {
            id: self.id.clone(),
            name: self.name.clone(),
            system_prompt: self.system_prompt.clone(),
            model: self.model.clone(),
            temperature: self.temperature.map(|t| t as f32),
            greeting: self.greeting.clone(),
            widget: BotWidget {
                enabled: self.widget_enabled,
                public_key: self.public_key.clone(),
                allowed_origins: self.allowed_origins.clone(),
                theme: self.theme.clone(),
            },
        }
    }
}

/// A `conversations` row with its unread counts.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ConversationRow {
    pub owner_id: String,
    pub id: String,
    pub bot_id: String,
    pub title: String,
    pub created_at: i64,
    pub updated_at: i64,
    pub last_message_preview: Option<String>,
    /// `ai` or `human` (migration 0003, contract §9.1).
    pub mode: ConversationMode,
    /// The `pos` up to which the conversation's own identity has read.
    pub owner_read_pos: i64,
    /// The `pos` up to which the bot's owner has read (visitor conversations).
    pub operator_read_pos: i64,
    /// Computed: assistant and operator messages after `owner_read_pos`.
    pub owner_unread: i64,
    /// Computed: user (visitor) messages after `operator_read_pos`.
    pub operator_unread: i64,
}

impl ConversationRow {
    pub fn to_conversation(&self) -> Conversation {
        Conversation {
            id: self.id.clone(),
            title: self.title.clone(),
            bot_id: self.bot_id.clone(),
            created_at: rfc3339(self.created_at),
            updated_at: rfc3339(self.updated_at),
            last_message_preview: self.last_message_preview.clone(),
            unread_count: self.owner_unread.max(0) as u64,
            mode: self.mode,
        }
    }
    /// The owner's list item; presence is filled in by the caller (it lives in memory).
    pub fn to_visitor_conversation(&self) -> VisitorConversation {
        VisitorConversation {
            visitor_id: self.owner_id.clone(),
            session_id: self.id.clone(),
            title: self.title.clone(),
            updated_at: rfc3339(self.updated_at),
            last_message_preview: self.last_message_preview.clone(),
            unread_count: self.operator_unread.max(0) as u64,
            mode: self.mode,
            visitor_status: Default::default(),
            last_seen_at: None,
        }
    }
    pub fn cursor(&self) -> Cursor {
        Cursor {
            at: self.updated_at,
            id: self.id.clone(),
        }
    }
}

/// A message as stored; `version`/`versions` are computed by the query.
#[derive(Clone, Debug, PartialEq)]
pub struct MessageRow {
    pub pos: i64,
    pub id: String,
    pub owner_id: String,
    pub conversation_id: String,
    pub role: MessageRole,
    pub content: String,
    pub status: MessageStatus,
    pub client_id: Option<String>,
    pub reply_id: Option<String>,
    pub in_reply_to: Option<String>,
    /// An earlier version of a regenerated reply.
    pub superseded: bool,
    pub seq: i64,
    pub metadata: String,
    pub created_at: i64,
    pub finished_at: Option<i64>,
    /// When the other side read it (migration 0003).
    pub read_at: Option<i64>,
    /// `{rating, comment}` as JSON text, or NULL (migration 0003).
    pub feedback: Option<String>,
    pub version: i64,
    pub versions: i64,
}

/// Operator messages keep their `client_id` under this prefix, so that the
/// operator's ids never meet the visitor's in the `(owner_id, client_id)` index.
pub const OPERATOR_CLIENT_PREFIX: &str = "operator:";

impl MessageRow {
    /// An empty, complete message of `role` created at `now` (µs), as built
    /// before its insert (its `pos`, 0 here, comes from the insert).
    pub fn new(id: &str, owner_id: &str, conversation_id: &str, role: MessageRole, now: i64) -> MessageRow {
        MessageRow {
            pos: 0,
            id: id.to_string(),
            owner_id: owner_id.to_string(),
            conversation_id: conversation_id.to_string(),
            role,
            content: String::new(),
            status: MessageStatus::Complete,
            client_id: None,
            reply_id: None,
            in_reply_to: None,
            superseded: false,
            seq: 0,
            metadata: "{}".into(),
            created_at: now,
            finished_at: None,
            read_at: None,
            feedback: None,
            version: 0,
            versions: 0,
        }
    }

    pub fn metadata_value(&self) -> serde_json::Value {
        Self::metadata_of(&self.metadata)
    }
    /// A `metadata` column's text as a JSON object (an empty one when the text
    /// is not an object).
    pub(crate) fn metadata_of(text: &str) -> serde_json::Value {
        match serde_json::from_str(text) {
            Ok(serde_json::Value::Object(m)) => serde_json::Value::Object(m),
            _ => serde_json::Value::Object(Default::default()),
        }
    }
    /// The wire object. A reply's metadata gains `in_reply_to`, `seq` (how far its
    /// stored text reaches), `version` and `versions`.
    pub fn to_message(&self) -> Message {
        let mut meta = self.metadata_value();
        if self.role == MessageRole::Assistant {
            if let serde_json::Value::Object(m) = &mut meta {
                if let Some(irt) = &self.in_reply_to {
                    m.insert("in_reply_to".into(), irt.clone().into());
                }
                m.insert("seq".into(), self.seq.into());
                m.insert("version".into(), self.version.max(1).into());
                m.insert("versions".into(), self.versions.max(1).into());
            }
        }
        let client_id = match self.role {
            MessageRole::Operator => self
                .client_id
                .as_deref()
                .map(|c| c.strip_prefix(OPERATOR_CLIENT_PREFIX).unwrap_or(c).to_string()),
            _ => self.client_id.clone(),
        };
        Message {
            id: self.id.clone(),
            session_id: self.conversation_id.clone(),
            role: self.role,
            content: self.content.clone(),
            status: self.status,
            client_id,
            created_at: rfc3339(self.created_at),
            reply_id: self.reply_id.clone(),
            metadata: meta,
            read_at: self.read_at.map(rfc3339),
            feedback: self.feedback(),
        }
    }

    /// The stored feedback; unreadable JSON counts as none.
    pub fn feedback(&self) -> Option<Feedback> {
        self.feedback.as_deref().and_then(|f| serde_json::from_str(f).ok())
    }
}

/// A keyset position in a newest-first list: `(updated_at, id)`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Cursor {
    pub at: i64,
    pub id: String,
}

impl Cursor {
    pub fn encode(&self) -> String {
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(format!("{}|{}", self.at, self.id))
    }
    /// `None` for anything that is not a cursor this server made.
    pub fn decode(raw: &str) -> Option<Cursor> {
        let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(raw.trim())
            .ok()?;
        let text = String::from_utf8(bytes).ok()?;
        let (at, id) = text.split_once('|')?;
        let at = at.parse().ok()?;
        if id.is_empty() {
            return None;
        }
        Some(Cursor { at, id: id.to_string() })
    }
}

/// `GET /api/v1/conversations`.
#[derive(Clone, Debug, Default)]
pub struct ConversationQuery {
    pub owner_id: String,
    pub limit: i64,
    pub after: Option<Cursor>,
    /// Search words, already split and cleaned (see [`search_terms`]).
    pub terms: Vec<String>,
    /// The raw search text, for title matching.
    pub text: Option<String>,
}

/// Splits a search box's text into words that are safe to hand to either
/// full-text engine: letters and digits only, so that FTS5's and tsquery's
/// operators (`"`, `*`, `:`, `&`, `|`, `NEAR` …) never reach the parser as syntax.
pub fn search_terms(q: &str) -> Vec<String> {
    q.split(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty())
        .take(8)
        .map(|w| w.to_lowercase())
        .collect()
}

/// Escapes `%`, `_` and `\` for a `LIKE … ESCAPE '\'` pattern.
pub fn like_pattern(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + 2);
    out.push('%');
    for c in text.chars() {
        if matches!(c, '%' | '_' | '\\') {
            out.push('\\');
        }
        out.push(c);
    }
    out.push('%');
    out
}

/// A user message and its queued reply, stored together before `ack`.
#[derive(Clone, Debug)]
pub struct NewExchange {
    pub owner_id: String,
    pub conversation_id: String,
    /// The bot a new conversation gets.
    pub bot_id: String,
    /// A bot the client named explicitly; an existing conversation of another bot is refused.
    pub requested_bot_id: Option<String>,
    pub title: String,
    pub user_message_id: String,
    pub reply_id: String,
    pub content: String,
    pub client_id: Option<String>,
    pub preview: String,
    pub now: i64,
}

// Built once per message; boxing the rows would only add an allocation.
#[allow(clippy::large_enum_variant)]
#[derive(Clone, Debug)]
pub enum ExchangeOutcome {
    Stored {
        conversation: ConversationRow,
        user: MessageRow,
        reply: MessageRow,
    },
    /// Stored in a conversation in `human` mode: no reply (contract §9.1).
    StoredHuman {
        conversation: ConversationRow,
        user: MessageRow,
    },
    /// The `client_id` was seen before: the original user message.
    Duplicate { user: MessageRow },
    /// The conversation exists with another bot.
    BotMismatch { bot_id: String },
}

#[derive(Clone, Debug)]
pub struct NewRegenerate {
    pub owner_id: String,
    pub conversation_id: String,
    pub reply_id: String,
    pub client_id: Option<String>,
    /// New text for the last user message (an edit), checked by the caller.
    /// Its earlier replies get `metadata.prompt`: the text they answered.
    pub edit: Option<String>,
    pub now: i64,
}

#[allow(clippy::large_enum_variant)]
#[derive(Clone, Debug)]
pub enum RegenerateOutcome {
    Stored {
        conversation: ConversationRow,
        user: MessageRow,
        reply: MessageRow,
    },
    /// The `client_id` was seen before: the reply it made.
    Duplicate {
        reply: MessageRow,
    },
    NoConversation,
    NoUserMessage,
}

/// A reply's final state.
#[derive(Clone, Debug)]
pub struct FinishedReply {
    pub reply_id: String,
    pub owner_id: String,
    pub conversation_id: String,
    pub content: String,
    pub status: MessageStatus,
    pub metadata: serde_json::Value,
    pub seq: i64,
    pub now: i64,
    pub preview: Option<String>,
}

impl FinishedReply {
    /// The reply's stored metadata (an object) with this finish's keys set over
    /// it, as the JSON text the column holds.
    pub(crate) fn merged_metadata(&self, mut stored: serde_json::Value) -> String {
        if let (serde_json::Value::Object(m), serde_json::Value::Object(add)) = (&mut stored, &self.metadata) {
            for (k, v) in add {
                m.insert(k.clone(), v.clone());
            }
        }
        stored.to_string()
    }

    /// The reply's row as this finish leaves it: `stored` (its row read in the
    /// finish's transaction) with the content, status, `metadata` (the merged
    /// JSON text written), `seq` and `finished_at` (µs) the finish wrote.
    pub(crate) fn applied_to(&self, stored: MessageRow, metadata: String) -> MessageRow {
        MessageRow {
            content: self.content.clone(),
            status: self.status,
            metadata,
            seq: self.seq,
            finished_at: Some(self.now),
            ..stored
        }
    }
}

/// What [`super::ChatStore::finish_reply`] stored, read in its transaction: the
/// reply as it now is (for `message_added`, with no read after the commit) and
/// its conversation, touched.
#[derive(Clone, Debug)]
pub struct FinishedRows {
    pub reply: MessageRow,
    pub conversation: ConversationRow,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cursor_round_trip_and_garbage() {
        let c = Cursor {
            at: 1_700_000_000_000_000,
            id: "a|b".into(),
        };
        assert_eq!(Cursor::decode(&c.encode()), Some(c));
        assert_eq!(Cursor::decode("!!!"), None);
        assert_eq!(Cursor::decode(""), None);
        assert_eq!(Cursor::decode("bm9waXBl"), None);
    }

    #[test]
    fn search_terms_strip_syntax() {
        assert_eq!(
            search_terms("\"hello\" OR wor*ld: NEAR(x)"),
            vec!["hello", "or", "wor", "ld", "near", "x"]
        );
        assert!(search_terms("***").is_empty());
    }

    #[test]
    fn like_escapes() {
        assert_eq!(like_pattern("50%_a\\"), "%50\\%\\_a\\\\%");
    }
}

/// A personal API key (contract §10): only its SHA-256 is stored.
#[derive(Clone, Debug, PartialEq, Eq, sqlx::FromRow)]
pub struct ApiKeyRow {
    pub id: String,
    pub user_id: String,
    pub name: String,
    /// Lower-case hex SHA-256 of the whole key, `brk_` included.
    pub key_hash: String,
    pub created_at: i64,
    pub last_used_at: Option<i64>,
}
