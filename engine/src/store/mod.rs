//! Storage: one [`Database`] trait (a trait per kind of object under it),
//! implemented for SQLite (the embedded default) and PostgreSQL, chosen by
//! `DATABASE_URL`.
//!
//! Both schemas keep the same column names and types (times as microseconds,
//! flags as 0/1, JSON as text), so the two implementations share their queries:
//! [`SqlStore`] in `sql/` is generic over the database, with one module per
//! table, and each backend module (`sqlite.rs`, `postgres.rs`) adds its
//! connection set-up and its [`Dialect`]: migrations and full-text search.
//! Rows are decoded once into typed rows by `records.rs`. Every query binds its
//! parameters; none is built from input.

mod model;
mod people;
mod postgres;
mod records;
mod sql;
mod sqlite;

use std::sync::Arc;

use async_trait::async_trait;

pub use model::*;
pub use people::*;
pub use postgres::PostgresStore;
pub use records::UnknownValue;
pub use sql::{Dialect, SqlStore, Statement};
pub use sqlite::SqliteStore;

/// A storage failure, typed so that callers can answer with the contract's code.
#[derive(Clone, Debug, thiserror::Error)]
pub enum StoreError {
    /// A unique constraint was hit (e.g. an email already taken).
    #[error("conflict: {0}")]
    Conflict(String),
    /// The database cannot be reached or is overloaded.
    #[error("storage unavailable: {0}")]
    Unavailable(String),
    /// Stored data that cannot be read back (a bug or a hand-edited row).
    #[error("corrupt row: {0}")]
    Corrupt(String),
    #[error("storage error: {0}")]
    Other(String),
}

impl From<sqlx::Error> for StoreError {
    fn from(e: sqlx::Error) -> Self {
        match &e {
            sqlx::Error::Database(db) if db.is_unique_violation() => StoreError::Conflict(db.message().to_string()),
            sqlx::Error::PoolTimedOut
            | sqlx::Error::PoolClosed
            | sqlx::Error::Io(_)
            | sqlx::Error::Tls(_)
            | sqlx::Error::WorkerCrashed => StoreError::Unavailable(e.to_string()),
            sqlx::Error::Database(db) if db.code().as_deref().is_some_and(cannot_write_now) => {
                StoreError::Unavailable(format!("{} (code {})", db.message(), db.code().unwrap_or_default()))
            }
            sqlx::Error::ColumnDecode { .. } | sqlx::Error::Decode(_) => StoreError::Corrupt(e.to_string()),
            _ => StoreError::Other(e.to_string()),
        }
    }
}

/// Whether a database error code means the storage cannot take writes (or
/// answer) right now, rather than that the statement was wrong: the request is
/// refused with `503 UNAVAILABLE` and the server keeps running (issue 11 §6).
///
/// SQLite (extended result codes; the primary code is the low byte, see
/// <https://sqlite.org/rescode.html>): `BUSY` 5, `READONLY` 8, `IOERR` 10,
/// `FULL` 13, `CANTOPEN` 14. PostgreSQL (SQLSTATE classes, see
/// <https://www.postgresql.org/docs/current/errcodes-appendix.html>): `08`
/// connection exception, `53` insufficient resources (disk full, out of
/// memory, too many connections), `57` operator intervention (a terminated
/// backend, a shutting-down server), and `25006` read-only transaction.
pub(crate) fn cannot_write_now(code: &str) -> bool {
    // A SQLSTATE is always five characters; SQLite's extended codes are at most four digits.
    if code.len() == 5 {
        return code.starts_with("08") || code.starts_with("53") || code.starts_with("57") || code == "25006";
    }
    code.parse::<u32>()
        .is_ok_and(|n| matches!(n & 0xff, 5 | 8 | 10 | 13 | 14))
}

impl From<sqlx::migrate::MigrateError> for StoreError {
    fn from(e: sqlx::migrate::MigrateError) -> Self {
        StoreError::Other(format!("migration failed: {e}"))
    }
}

pub type StoreResult<T> = Result<T, StoreError>;

/// Everything Brook keeps: one trait per kind of object, each implemented by
/// both SQL stores in its own module of `sql/`. The chat writes
/// (`begin_exchange`, `begin_regenerate`, `finish_reply`) are single
/// transactions, because an `ack` may only be sent once the user message and
/// its queued reply are durably stored together.
#[async_trait]
pub trait Database:
    AccountStore + ApiKeyStore + BotStore + ConversationStore + MessageStore + ChatStore + PeopleStore + 'static
{
    /// `sqlite` or `postgres`.
    fn backend(&self) -> &'static str;
    /// Applies pending migrations; running it again changes nothing.
    async fn migrate(&self) -> StoreResult<()>;
    /// A cheap round trip, for `/ready`.
    async fn ping(&self) -> StoreResult<()>;
    async fn close(&self);
}

/// Settings, users, revoked tokens and daily usage (`sql/accounts.rs`).
#[async_trait]
pub trait AccountStore: Send + Sync {
    /// Returns the stored value of `key`, storing `value` first if there is none.
    async fn setting_get_or_insert(&self, key: &str, value: &str) -> StoreResult<String>;
    /// Fails with [`StoreError::Conflict`] when the email is taken.
    async fn insert_user(&self, user: &UserRow) -> StoreResult<()>;
    async fn user_by_id(&self, id: &str) -> StoreResult<Option<UserRow>>;
    async fn user_by_email(&self, email: &str) -> StoreResult<Option<UserRow>>;
    async fn revoke_token(&self, jti: &str, expires_at: i64) -> StoreResult<()>;
    /// Revoked token ids that have not expired yet.
    async fn revoked_tokens(&self, now: i64) -> StoreResult<Vec<String>>;
    async fn add_usage(&self, owner_id: &str, day: &str, completion_tokens: i64) -> StoreResult<()>;
    async fn usage(&self, owner_id: &str, day: &str) -> StoreResult<i64>;
}

/// Personal API keys, contract §10 (`sql/keys.rs`).
#[async_trait]
pub trait ApiKeyStore: Send + Sync {
    async fn insert_api_key(&self, key: &ApiKeyRow) -> StoreResult<()>;
    /// A user's keys, newest first.
    async fn api_keys_of(&self, user_id: &str) -> StoreResult<Vec<ApiKeyRow>>;
    /// Revokes: `false` when the user has no such key.
    async fn delete_api_key(&self, user_id: &str, id: &str) -> StoreResult<bool>;
    /// The key with this hash, if it exists and its owner is still a `user`.
    async fn api_key_by_hash(&self, key_hash: &str) -> StoreResult<Option<ApiKeyRow>>;
    /// Sets `last_used_at = now` unless it is already at or after `older_than`.
    async fn touch_api_key(&self, id: &str, now: i64, older_than: i64) -> StoreResult<()>;
}

/// Bots (`sql/bots.rs`).
#[async_trait]
pub trait BotStore: Send + Sync {
    async fn insert_bot(&self, bot: &BotRow) -> StoreResult<()>;
    async fn update_bot(&self, bot: &BotRow) -> StoreResult<()>;
    /// Deletes a bot that is not its owner's default; `false` when none was deleted.
    async fn delete_bot(&self, owner_id: &str, id: &str) -> StoreResult<bool>;
    async fn bot(&self, id: &str) -> StoreResult<Option<BotRow>>;
    /// The bot of an existing conversation in one read (a message's common
    /// case, on the first token's path); `None` when either is missing.
    async fn bot_of_conversation(&self, owner_id: &str, conversation_id: &str) -> StoreResult<Option<BotRow>>;
    async fn bot_by_key(&self, public_key: &str) -> StoreResult<Option<BotRow>>;
    async fn default_bot(&self, owner_id: &str) -> StoreResult<Option<BotRow>>;
    async fn bots_of(&self, owner_id: &str) -> StoreResult<Vec<BotRow>>;
    /// Every bot, for `brook bot list`.
    async fn all_bots(&self) -> StoreResult<Vec<BotRow>>;
    /// Bots whose widget is enabled, for the CORS allow-list.
    async fn widget_bots(&self) -> StoreResult<Vec<BotRow>>;
}

/// Conversations (`sql/conversations.rs`).
#[async_trait]
pub trait ConversationStore: Send + Sync {
    async fn conversation(&self, owner_id: &str, id: &str) -> StoreResult<Option<ConversationRow>>;
    /// Up to `q.limit` conversations, newest activity first, after the cursor.
    async fn conversations(&self, q: &ConversationQuery) -> StoreResult<Vec<ConversationRow>>;
    async fn rename_conversation(
        &self,
        owner_id: &str,
        id: &str,
        title: &str,
        now: i64,
    ) -> StoreResult<Option<ConversationRow>>;
    async fn delete_conversation(&self, owner_id: &str, id: &str) -> StoreResult<bool>;
    /// Conversations of a bot's visitors, newest first, after the cursor.
    async fn visitor_conversations(
        &self,
        bot_id: &str,
        limit: i64,
        after: Option<&Cursor>,
    ) -> StoreResult<Vec<ConversationRow>>;
}

/// Reading messages (`sql/messages.rs`).
#[async_trait]
pub trait MessageStore: Send + Sync {
    /// The newest `limit` visible messages before `before_pos`, newest first.
    async fn messages(
        &self,
        owner_id: &str,
        conversation_id: &str,
        limit: i64,
        before_pos: Option<i64>,
    ) -> StoreResult<Vec<MessageRow>>;
    /// A message by id, whoever owns it (callers check ownership).
    async fn message(&self, id: &str) -> StoreResult<Option<MessageRow>>;
    async fn message_by_client_id(&self, owner_id: &str, client_id: &str) -> StoreResult<Option<MessageRow>>;
    /// Every reply to `in_reply_to`, oldest first.
    async fn versions(&self, in_reply_to: &str) -> StoreResult<Vec<MessageRow>>;
    /// History for the model: visible messages up to `up_to_pos`, newest first.
    async fn context_messages(
        &self,
        owner_id: &str,
        conversation_id: &str,
        up_to_pos: i64,
        limit: i64,
    ) -> StoreResult<Vec<MessageRow>>;
    /// Replies still `queued` or `streaming`, oldest first (the cluster's lease sweeper).
    async fn live_replies(&self) -> StoreResult<Vec<MessageRow>>;
    /// One identity's replies still `queued` or `streaming`, in every
    /// conversation, oldest first (`pos`): the reply line shared by several
    /// nodes (`chat::shared_line`). Read through the partial index `messages_live`.
    async fn live_replies_of(&self, owner_id: &str) -> StoreResult<Vec<MessageRow>>;
}

/// The chat's writes (`sql/chat.rs`).
#[async_trait]
pub trait ChatStore: Send + Sync {
    /// Stores a user message and its queued reply in one transaction, creating the
    /// conversation if needed. A repeated `client_id` stores nothing.
    async fn begin_exchange(&self, x: &NewExchange) -> StoreResult<ExchangeOutcome>;
    /// Stores a new queued reply to the conversation's last user message.
    async fn begin_regenerate(&self, x: &NewRegenerate) -> StoreResult<RegenerateOutcome>;
    async fn reply_streaming(&self, reply_id: &str) -> StoreResult<()>;
    async fn checkpoint_reply(&self, reply_id: &str, content: &str, seq: i64) -> StoreResult<()>;
    /// Finalizes a reply and touches its conversation; returns both as they now
    /// are, read in the same transaction (`None`: the conversation was deleted
    /// while the reply ran).
    async fn finish_reply(&self, f: &FinishedReply) -> StoreResult<Option<FinishedRows>>;
    /// Marks every `queued` or `streaming` reply `interrupted` (start-up of a single node).
    async fn interrupt_live_replies(&self, now: i64) -> StoreResult<u64>;
    /// Marks one reply `interrupted` if it is still `queued` or `streaming`,
    /// keeping its checkpointed text; `false` when it was not live (another node
    /// got there first, or it finished). For the lease sweeper (issue 13).
    async fn interrupt_reply(&self, reply_id: &str, now: i64) -> StoreResult<bool>;
}

/// Opens the store named by `database_url` and applies migrations.
pub async fn connect(database_url: &str) -> StoreResult<Arc<dyn Database>> {
    let store: Arc<dyn Database> = if database_url.starts_with("sqlite:") {
        Arc::new(SqliteStore::connect(database_url).await?)
    } else if database_url.starts_with("postgres://") || database_url.starts_with("postgresql://") {
        Arc::new(PostgresStore::connect(database_url).await?)
    } else {
        return Err(StoreError::Other(format!(
            "unsupported DATABASE_URL scheme in {:?}",
            crate::config::redact_url(database_url)
        )));
    };
    store.migrate().await?;
    Ok(store)
}

/// Connection pool size for this machine: enough to keep every core busy while
/// some connections wait on I/O, without swamping the database.
pub(crate) fn pool_size() -> u32 {
    let cpus = std::thread::available_parallelism().map(|n| n.get()).unwrap_or(2) as u32;
    (cpus * 4).clamp(4, 64)
}

#[cfg(test)]
mod tests {
    #[test]
    fn codes_that_mean_storage_cannot_write_now() {
        for yes in [
            "5", "517", "8", "1032", "13", "10", "3338", "14", "57P01", "08006", "53100", "25006",
        ] {
            assert!(super::cannot_write_now(yes), "{yes}");
        }
        for no in ["19", "2067", "1", "23505", "42P01", "22001", ""] {
            assert!(!super::cannot_write_now(no), "{no}");
        }
    }
}
