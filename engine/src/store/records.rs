//! Rows exactly as the columns hold them, and their one conversion into the
//! typed rows of [`super::model`].
//!
//! Both schemas store roles, statuses and modes as `TEXT`, flags as `BIGINT`
//! 0/1 and JSON as `TEXT` (migrations `0001`–`0003`), so one `FromRow` derive per
//! table serves SQLite and PostgreSQL alike. Each typed row implements `FromRow`
//! by decoding its record and converting it here, once: a value the schema does
//! not allow (a hand-edited row, a newer server's role) is a
//! [`sqlx::Error::ColumnDecode`] naming the column, which the store reports as
//! [`super::StoreError::Corrupt`], never a silent default.
//! (The pattern is atuin's `DbHistory` wrapper around its `History` model.)

use protocol::objects::{ConversationMode, MessageRole, MessageStatus, Role, Theme};

use super::model::{BotRow, ConversationRow, MessageRow, UserRow};

/// A stored value outside the set its column allows.
#[derive(Debug, thiserror::Error)]
#[error("unknown value {value:?} in column {column}")]
pub struct UnknownValue {
    pub column: &'static str,
    pub value: String,
}

fn column_error(column: &'static str, source: impl std::error::Error + Send + Sync + 'static) -> sqlx::Error {
    sqlx::Error::ColumnDecode {
        index: column.to_string(),
        source: Box::new(source),
    }
}

/// Parses a text column with the protocol's own parser; `None` is a decode error.
fn parse<T>(column: &'static str, value: String, parse: impl Fn(&str) -> Option<T>) -> Result<T, sqlx::Error> {
    parse(&value).ok_or_else(|| column_error(column, UnknownValue { column, value }))
}

/// A 0/1 flag column; any other number is a decode error.
fn flag(column: &'static str, value: i64) -> Result<bool, sqlx::Error> {
    match value {
        0 => Ok(false),
        1 => Ok(true),
        other => Err(column_error(
            column,
            UnknownValue {
                column,
                value: other.to_string(),
            },
        )),
    }
}

/// The column value of a flag.
pub(crate) const fn flag_value(on: bool) -> i64 {
    if on {
        1
    } else {
        0
    }
}

/// The column text of a JSON value (a bot's origins or theme).
pub(crate) fn json_text<T: serde::Serialize>(column: &'static str, value: &T) -> super::StoreResult<String> {
    serde_json::to_string(value).map_err(|e| super::StoreError::Other(format!("cannot encode {column}: {e}")))
}

/// A JSON text column.
fn json<T: serde::de::DeserializeOwned>(column: &'static str, value: &str) -> Result<T, sqlx::Error> {
    serde_json::from_str(value).map_err(|e| column_error(column, e))
}

/// A theme as stored: the schema's default is `{}` (migration 0001), and each
/// field the object lacks takes the default theme's.
#[derive(serde::Deserialize)]
struct StoredTheme {
    color: Option<String>,
    position: Option<String>,
    title: Option<String>,
}

fn theme(value: &str) -> Result<Theme, sqlx::Error> {
    let stored: StoredTheme = json("theme", value)?;
    let default = Theme::default();
    Ok(Theme {
        color: stored.color.unwrap_or(default.color),
        position: stored.position.unwrap_or(default.position),
        title: stored.title.unwrap_or(default.title),
    })
}

/// `users`, as stored.
#[derive(sqlx::FromRow)]
pub struct UserRecord {
    id: String,
    email: Option<String>,
    name: Option<String>,
    role: String,
    password_hash: Option<String>,
    bot_id: Option<String>,
    created_at: i64,
}

impl TryFrom<UserRecord> for UserRow {
    type Error = sqlx::Error;
    fn try_from(r: UserRecord) -> Result<Self, sqlx::Error> {
        Ok(UserRow {
            id: r.id,
            email: r.email,
            name: r.name,
            role: parse("role", r.role, Role::parse)?,
            password_hash: r.password_hash,
            bot_id: r.bot_id,
            created_at: r.created_at,
        })
    }
}

/// `bots`, as stored: `allowed_origins` a JSON array, `theme` a JSON object.
#[derive(sqlx::FromRow)]
pub struct BotRecord {
    id: String,
    owner_id: String,
    name: String,
    system_prompt: String,
    model: String,
    temperature: Option<f64>,
    greeting: String,
    widget_enabled: i64,
    public_key: String,
    allowed_origins: String,
    theme: String,
    is_default: i64,
    created_at: i64,
    updated_at: i64,
}

impl TryFrom<BotRecord> for BotRow {
    type Error = sqlx::Error;
    fn try_from(r: BotRecord) -> Result<Self, sqlx::Error> {
        Ok(BotRow {
            widget_enabled: flag("widget_enabled", r.widget_enabled)?,
            allowed_origins: json::<Vec<String>>("allowed_origins", &r.allowed_origins)?,
            theme: theme(&r.theme)?,
            is_default: flag("is_default", r.is_default)?,
            id: r.id,
            owner_id: r.owner_id,
            name: r.name,
            system_prompt: r.system_prompt,
            model: r.model,
            temperature: r.temperature,
            greeting: r.greeting,
            public_key: r.public_key,
            created_at: r.created_at,
            updated_at: r.updated_at,
        })
    }
}

/// `conversations`, as stored, with the two computed unread counts.
#[derive(sqlx::FromRow)]
pub struct ConversationRecord {
    owner_id: String,
    id: String,
    bot_id: String,
    title: String,
    created_at: i64,
    updated_at: i64,
    last_message_preview: Option<String>,
    mode: String,
    owner_read_pos: i64,
    operator_read_pos: i64,
    owner_unread: i64,
    operator_unread: i64,
}

impl TryFrom<ConversationRecord> for ConversationRow {
    type Error = sqlx::Error;
    fn try_from(r: ConversationRecord) -> Result<Self, sqlx::Error> {
        Ok(ConversationRow {
            mode: parse("mode", r.mode, ConversationMode::parse)?,
            owner_id: r.owner_id,
            id: r.id,
            bot_id: r.bot_id,
            title: r.title,
            created_at: r.created_at,
            updated_at: r.updated_at,
            last_message_preview: r.last_message_preview,
            owner_read_pos: r.owner_read_pos,
            operator_read_pos: r.operator_read_pos,
            owner_unread: r.owner_unread,
            operator_unread: r.operator_unread,
        })
    }
}

/// `messages`, as stored, with the computed `version` and `versions`.
#[derive(sqlx::FromRow)]
pub struct MessageRecord {
    pos: i64,
    id: String,
    owner_id: String,
    conversation_id: String,
    role: String,
    content: String,
    status: String,
    client_id: Option<String>,
    reply_id: Option<String>,
    in_reply_to: Option<String>,
    superseded: i64,
    seq: i64,
    metadata: String,
    created_at: i64,
    finished_at: Option<i64>,
    read_at: Option<i64>,
    feedback: Option<String>,
    version: i64,
    versions: i64,
}

impl TryFrom<MessageRecord> for MessageRow {
    type Error = sqlx::Error;
    fn try_from(r: MessageRecord) -> Result<Self, sqlx::Error> {
        Ok(MessageRow {
            role: parse("role", r.role, MessageRole::parse)?,
            status: parse("status", r.status, MessageStatus::parse)?,
            superseded: flag("superseded", r.superseded)?,
            pos: r.pos,
            id: r.id,
            owner_id: r.owner_id,
            conversation_id: r.conversation_id,
            content: r.content,
            client_id: r.client_id,
            reply_id: r.reply_id,
            in_reply_to: r.in_reply_to,
            seq: r.seq,
            metadata: r.metadata,
            created_at: r.created_at,
            finished_at: r.finished_at,
            read_at: r.read_at,
            feedback: r.feedback,
            version: r.version,
            versions: r.versions,
        })
    }
}

/// The same records read through rusqlite, by column name (SQLite's group
/// commit, `sql/group_commit.rs`); the typed rows still come from `try_from`.
impl ConversationRecord {
    pub(crate) fn from_sqlite(row: &rusqlite::Row<'_>) -> rusqlite::Result<Self> {
        Ok(ConversationRecord {
            owner_id: row.get("owner_id")?,
            id: row.get("id")?,
            bot_id: row.get("bot_id")?,
            title: row.get("title")?,
            created_at: row.get("created_at")?,
            updated_at: row.get("updated_at")?,
            last_message_preview: row.get("last_message_preview")?,
            mode: row.get("mode")?,
            owner_read_pos: row.get("owner_read_pos")?,
            operator_read_pos: row.get("operator_read_pos")?,
            owner_unread: row.get("owner_unread")?,
            operator_unread: row.get("operator_unread")?,
        })
    }
}

impl MessageRecord {
    pub(crate) fn from_sqlite(row: &rusqlite::Row<'_>) -> rusqlite::Result<Self> {
        Ok(MessageRecord {
            pos: row.get("pos")?,
            id: row.get("id")?,
            owner_id: row.get("owner_id")?,
            conversation_id: row.get("conversation_id")?,
            role: row.get("role")?,
            content: row.get("content")?,
            status: row.get("status")?,
            client_id: row.get("client_id")?,
            reply_id: row.get("reply_id")?,
            in_reply_to: row.get("in_reply_to")?,
            superseded: row.get("superseded")?,
            seq: row.get("seq")?,
            metadata: row.get("metadata")?,
            created_at: row.get("created_at")?,
            finished_at: row.get("finished_at")?,
            read_at: row.get("read_at")?,
            feedback: row.get("feedback")?,
            version: row.get("version")?,
            versions: row.get("versions")?,
        })
    }
}

/// `FromRow` for a typed row: decode its record, then convert it.
macro_rules! from_record {
    ($row:ty, $record:ty) => {
        impl<'r, R: sqlx::Row> sqlx::FromRow<'r, R> for $row
        where
            $record: sqlx::FromRow<'r, R>,
        {
            fn from_row(row: &'r R) -> Result<Self, sqlx::Error> {
                <$record as sqlx::FromRow<'r, R>>::from_row(row)?.try_into()
            }
        }
    };
}

from_record!(UserRow, UserRecord);
from_record!(BotRow, BotRecord);
from_record!(ConversationRow, ConversationRecord);
from_record!(MessageRow, MessageRecord);

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::StoreError;

    fn message(role: &str, status: &str, superseded: i64) -> MessageRecord {
        MessageRecord {
            pos: 1,
            id: "m".into(),
            owner_id: "o".into(),
            conversation_id: "c".into(),
            role: role.into(),
            content: String::new(),
            status: status.into(),
            client_id: None,
            reply_id: None,
            in_reply_to: None,
            superseded,
            seq: 0,
            metadata: "{}".into(),
            created_at: 0,
            finished_at: None,
            read_at: None,
            feedback: None,
            version: 0,
            versions: 0,
        }
    }

    /// The column a decode error names, after the store's own conversion.
    fn corrupt_column(e: sqlx::Error) -> String {
        let column = match &e {
            sqlx::Error::ColumnDecode { index, .. } => index.clone(),
            other => panic!("not a column decode error: {other:?}"),
        };
        assert!(matches!(StoreError::from(e), StoreError::Corrupt(_)));
        column
    }

    #[test]
    fn known_values_decode_to_enums() {
        let m = MessageRow::try_from(message("operator", "streaming", 1)).expect("valid row");
        assert_eq!(m.role, MessageRole::Operator);
        assert_eq!(m.status, MessageStatus::Streaming);
        assert!(m.superseded);
    }

    #[test]
    fn unknown_values_are_decode_errors_not_defaults() {
        let e = MessageRow::try_from(message("robot", "complete", 0)).expect_err("unknown role");
        assert_eq!(corrupt_column(e), "role");
        let e = MessageRow::try_from(message("user", "done", 0)).expect_err("unknown status");
        assert_eq!(corrupt_column(e), "status");
        let e = MessageRow::try_from(message("user", "complete", 2)).expect_err("flag out of range");
        assert_eq!(corrupt_column(e), "superseded");
    }

    #[test]
    fn bot_json_columns_decode_once_or_fail() {
        let record = |theme: &str| BotRecord {
            id: "b".into(),
            owner_id: "o".into(),
            name: "n".into(),
            system_prompt: String::new(),
            model: "m".into(),
            temperature: None,
            greeting: String::new(),
            widget_enabled: 1,
            public_key: "k".into(),
            allowed_origins: r#"["https://a.example"]"#.into(),
            theme: theme.into(),
            is_default: 0,
            created_at: 0,
            updated_at: 0,
        };
        let ok = BotRow::try_from(record(r##"{"color":"#000000","position":"left","title":"t"}"##)).expect("valid");
        assert_eq!(ok.allowed_origins, vec!["https://a.example".to_string()]);
        assert_eq!(ok.theme.position, "left");
        assert!(ok.widget_enabled && !ok.is_default);
        let e = BotRow::try_from(record("not json")).expect_err("bad theme");
        assert_eq!(corrupt_column(e), "theme");
        let e = BotRow::try_from(record("42")).expect_err("not an object");
        assert_eq!(corrupt_column(e), "theme");
        // The schema's default: the default theme.
        assert_eq!(BotRow::try_from(record("{}")).expect("default").theme, Theme::default());
    }

    #[test]
    fn user_role_and_conversation_mode() {
        let user = |role: &str| UserRecord {
            id: "u".into(),
            email: None,
            name: None,
            role: role.into(),
            password_hash: None,
            bot_id: None,
            created_at: 0,
        };
        assert_eq!(UserRow::try_from(user("visitor")).expect("valid").role, Role::Visitor);
        assert_eq!(
            corrupt_column(UserRow::try_from(user("admin")).expect_err("unknown")),
            "role"
        );
        let conv = |mode: &str| ConversationRecord {
            owner_id: "o".into(),
            id: "c".into(),
            bot_id: "b".into(),
            title: String::new(),
            created_at: 0,
            updated_at: 0,
            last_message_preview: None,
            mode: mode.into(),
            owner_read_pos: 0,
            operator_read_pos: 0,
            owner_unread: 0,
            operator_unread: 0,
        };
        assert_eq!(
            ConversationRow::try_from(conv("human")).expect("valid").mode,
            ConversationMode::Human
        );
        assert_eq!(
            corrupt_column(ConversationRow::try_from(conv("")).expect_err("empty")),
            "mode"
        );
    }
}
