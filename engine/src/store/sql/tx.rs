//! Statements run inside the writes' transactions, shared by several tables'
//! writes; one exchange's writes ([`Staged`]); and the look-up after a lost
//! insert race.

use protocol::objects::ConversationMode;
use sqlx::{Encode, Executor, FromRow, IntoArguments, Type};

use super::chat::{queued_reply, user_message};
use super::columns::{CONV_COLS, MESSAGE_COLS};
use super::writes::{
    read_advance_sql, read_stamp_sql, INSERT_MESSAGE, MESSAGE_BY_CLIENT_ID, MESSAGE_BY_ID,
    TOUCH_CONVERSATION_RETURNING, UPSERT_CONVERSATION,
};
use super::{Dialect, SqlStore};
use crate::store::{
    ApiKeyRow, BotRow, ConversationRow, ExchangeOutcome, MessageRow, MessageStore, NewExchange, ReadSide, StoreError,
    StoreResult, UserRow,
};

/// A transaction on the writer.
pub(super) type Tx<D> = sqlx::Transaction<'static, D>;

/// One exchange written inside a transaction, before its commit.
// Built once per message; boxing the rows would only add an allocation.
#[allow(clippy::large_enum_variant)]
pub(super) enum Staged {
    /// Written: the answer once the transaction commits.
    Written(ExchangeOutcome),
    /// The answer, with nothing to keep: what was written for it is rolled back
    /// (a `client_id` seen before, or a conversation of another bot).
    Undone(ExchangeOutcome),
    /// The user message's insert lost a race on its `client_id` to another
    /// transaction: roll back, then read the winner.
    Lost,
}

impl<D> SqlStore<D>
where
    D: Dialect,
    for<'c> &'c mut D::Connection: Executor<'c, Database = D>,
    for<'q> D::Arguments<'q>: IntoArguments<'q, D>,
    for<'q> &'q str: Encode<'q, D> + Type<D>,
    for<'q> String: Encode<'q, D> + Type<D>,
    for<'q> i64: Encode<'q, D> + Type<D>,
    for<'q> f64: Encode<'q, D> + Type<D>,
    for<'q> Option<&'q str>: Encode<'q, D>,
    for<'q> Option<String>: Encode<'q, D>,
    for<'q> Option<i64>: Encode<'q, D>,
    for<'q> Option<f64>: Encode<'q, D>,
    for<'r> (i64,): FromRow<'r, D::Row>,
    for<'r> (String,): FromRow<'r, D::Row>,
    for<'r> UserRow: FromRow<'r, D::Row>,
    for<'r> BotRow: FromRow<'r, D::Row>,
    for<'r> ConversationRow: FromRow<'r, D::Row>,
    for<'r> MessageRow: FromRow<'r, D::Row>,
    for<'r> ApiKeyRow: FromRow<'r, D::Row>,
{
    pub(super) async fn message_in(tx: &mut Tx<D>, id: &str) -> StoreResult<Option<MessageRow>> {
        Ok(sqlx::query_as::<_, MessageRow>(MESSAGE_BY_ID.as_str())
            .bind(id)
            .fetch_optional(&mut **tx)
            .await?)
    }

    pub(super) async fn client_message_in(
        tx: &mut Tx<D>,
        owner_id: &str,
        client_id: &str,
    ) -> StoreResult<Option<MessageRow>> {
        Ok(sqlx::query_as::<_, MessageRow>(MESSAGE_BY_CLIENT_ID.as_str())
            .bind(owner_id)
            .bind(client_id)
            .fetch_optional(&mut **tx)
            .await?)
    }

    pub(super) async fn conversation_in(
        tx: &mut Tx<D>,
        owner_id: &str,
        id: &str,
    ) -> StoreResult<Option<ConversationRow>> {
        let sql = format!("SELECT {CONV_COLS} FROM conversations c WHERE c.owner_id = $1 AND c.id = $2");
        Ok(sqlx::query_as::<_, ConversationRow>(&sql)
            .bind(owner_id)
            .bind(id)
            .fetch_optional(&mut **tx)
            .await?)
    }

    /// Inserts a new message as built in memory and returns its `pos`.
    pub(super) async fn insert_message_in(tx: &mut Tx<D>, m: &MessageRow) -> StoreResult<i64> {
        let (pos,): (i64,) = sqlx::query_as(INSERT_MESSAGE)
            .bind(&m.id)
            .bind(&m.owner_id)
            .bind(&m.conversation_id)
            .bind(m.role.as_str())
            .bind(&m.content)
            .bind(m.status.as_str())
            .bind(&m.client_id)
            .bind(&m.reply_id)
            .bind(&m.in_reply_to)
            .bind(&m.metadata)
            .bind(m.created_at)
            .fetch_one(&mut **tx)
            .await?;
        Ok(pos)
    }

    /// Moves the conversation's `updated_at` to `now` (or one past its current
    /// value, so that it always moves) and sets its preview when given.
    pub(super) async fn touch_conversation_in(
        tx: &mut Tx<D>,
        owner_id: &str,
        id: &str,
        now: i64,
        preview: Option<&str>,
    ) -> StoreResult<()> {
        sqlx::query(
            "UPDATE conversations SET updated_at = CASE WHEN updated_at >= $3 THEN updated_at + 1 ELSE $3 END, \
             last_message_preview = COALESCE($4, last_message_preview) WHERE owner_id = $1 AND id = $2",
        )
        .bind(owner_id)
        .bind(id)
        .bind(now)
        .bind(preview)
        .execute(&mut **tx)
        .await?;
        Ok(())
    }

    /// [`Self::touch_conversation_in`] that returns the conversation as it is
    /// then, unread counts included, in the same round trip (`None`: it was
    /// deleted).
    pub(super) async fn touch_conversation_returning_in(
        tx: &mut Tx<D>,
        owner_id: &str,
        id: &str,
        now: i64,
        preview: Option<&str>,
    ) -> StoreResult<Option<ConversationRow>> {
        Ok(
            sqlx::query_as::<_, ConversationRow>(TOUCH_CONVERSATION_RETURNING.as_str())
                .bind(owner_id)
                .bind(id)
                .bind(now)
                .bind(preview)
                .fetch_optional(&mut **tx)
                .await?,
        )
    }

    /// Moves `side`'s read point of a conversation forward to `pos` and stamps
    /// `read_at` on the messages between the old point and `pos` that this side
    /// reads. Returns whether the point moved (it never goes back).
    pub(super) async fn read_up_to_in(
        tx: &mut Tx<D>,
        owner_id: &str,
        conversation_id: &str,
        side: ReadSide,
        pos: i64,
        now: i64,
    ) -> StoreResult<bool> {
        // Stamp first: the range starts at the old point, which the next statement moves.
        sqlx::query(read_stamp_sql(side))
            .bind(owner_id)
            .bind(conversation_id)
            .bind(pos)
            .bind(now)
            .execute(&mut **tx)
            .await?;
        let r = sqlx::query(read_advance_sql(side))
            .bind(owner_id)
            .bind(conversation_id)
            .bind(pos)
            .execute(&mut **tx)
            .await?;
        Ok(D::rows_affected(&r) > 0)
    }

    /// Creates the exchange's conversation or touches it (its preview and
    /// `updated_at`) and returns it. Another transaction may create the same
    /// conversation concurrently; the upsert makes that harmless.
    pub(super) async fn upsert_conversation_in(tx: &mut Tx<D>, x: &NewExchange) -> StoreResult<ConversationRow> {
        Ok(sqlx::query_as::<_, ConversationRow>(UPSERT_CONVERSATION.as_str())
            .bind(&x.owner_id)
            .bind(&x.conversation_id)
            .bind(&x.bot_id)
            .bind(&x.title)
            .bind(x.now)
            .bind(&x.preview)
            .fetch_one(&mut **tx)
            .await?)
    }

    /// The conversation's newest user message.
    pub(super) async fn last_user_message_in(
        tx: &mut Tx<D>,
        owner_id: &str,
        conversation_id: &str,
    ) -> StoreResult<Option<MessageRow>> {
        let sql = format!(
            "SELECT {MESSAGE_COLS} FROM messages m WHERE m.owner_id = $1 AND m.conversation_id = $2 \
             AND m.role = 'user' ORDER BY m.pos DESC LIMIT 1"
        );
        Ok(sqlx::query_as::<_, MessageRow>(&sql)
            .bind(owner_id)
            .bind(conversation_id)
            .fetch_optional(&mut **tx)
            .await?)
    }

    /// An edit of a user message (issue 17): each earlier reply to it keeps the
    /// text it answered as `metadata.prompt` (set once: the first wording it saw),
    /// and the message takes the new text, with `metadata.edited_at` (µs).
    pub(super) async fn edit_user_message_in(
        tx: &mut Tx<D>,
        user: &MessageRow,
        text: &str,
        now: i64,
    ) -> StoreResult<()> {
        let sql = format!("SELECT {MESSAGE_COLS} FROM messages m WHERE m.in_reply_to = $1");
        let replies = sqlx::query_as::<_, MessageRow>(&sql)
            .bind(&user.id)
            .fetch_all(&mut **tx)
            .await?;
        for r in replies {
            let mut meta = r.metadata_value();
            if let serde_json::Value::Object(m) = &mut meta {
                if m.contains_key("prompt") {
                    continue;
                }
                m.insert("prompt".into(), user.content.clone().into());
            }
            sqlx::query("UPDATE messages SET metadata = $2 WHERE id = $1")
                .bind(&r.id)
                .bind(meta.to_string())
                .execute(&mut **tx)
                .await?;
        }
        let mut meta = user.metadata_value();
        if let serde_json::Value::Object(m) = &mut meta {
            m.insert("edited_at".into(), now.into());
        }
        sqlx::query("UPDATE messages SET content = $2, metadata = $3 WHERE id = $1")
            .bind(&user.id)
            .bind(text)
            .bind(meta.to_string())
            .execute(&mut **tx)
            .await?;
        Ok(())
    }

    /// Five round trips to the writer (the first token waits on them): the
    /// conversation is created or touched by one upsert that returns it, and the
    /// two messages come back as built here plus the `pos` their inserts return.
    pub(super) async fn exchange_in(tx: &mut Tx<D>, x: &NewExchange) -> StoreResult<Staged> {
        if let Some(cid) = &x.client_id {
            if let Some(user) = Self::client_message_in(tx, &x.owner_id, cid).await? {
                return Ok(Staged::Undone(ExchangeOutcome::Duplicate { user }));
            }
        }
        let conversation = Self::upsert_conversation_in(tx, x).await?;
        if let Some(want) = &x.requested_bot_id {
            if *want != conversation.bot_id {
                // Rolling back undoes the touch.
                return Ok(Staged::Undone(ExchangeOutcome::BotMismatch {
                    bot_id: conversation.bot_id,
                }));
            }
        }
        // In `human` mode no reply is stored: a person answers (contract §9.1).
        let human = conversation.mode == ConversationMode::Human;
        let user = user_message(x, human);
        let user_pos = match Self::insert_message_in(tx, &user).await {
            Err(StoreError::Conflict(_)) => return Ok(Staged::Lost),
            other => other?,
        };
        let user = MessageRow { pos: user_pos, ..user };
        // Sending counts as reading everything before it (§9.3).
        Self::read_up_to_in(tx, &x.owner_id, &x.conversation_id, ReadSide::Owner, user.pos, x.now).await?;
        if human {
            return Ok(Staged::Written(ExchangeOutcome::StoredHuman { conversation, user }));
        }
        let reply = queued_reply(
            &x.reply_id,
            &x.owner_id,
            &x.conversation_id,
            &x.user_message_id,
            None,
            x.now,
        );
        let reply = MessageRow {
            pos: Self::insert_message_in(tx, &reply).await?,
            ..reply
        };
        Ok(Staged::Written(ExchangeOutcome::Stored {
            conversation,
            user,
            reply,
        }))
    }

    /// After an insert that lost a race (a concurrent send with the same
    /// `client_id` committed first, on PostgreSQL): that send's message. Without
    /// a `client_id` the conflict was an id collision (`what` names the id).
    pub(super) async fn race_winner(
        &self,
        owner_id: &str,
        client_id: Option<&str>,
        what: &str,
    ) -> StoreResult<MessageRow> {
        let found = match client_id {
            Some(cid) => self.message_by_client_id(owner_id, cid).await?,
            None => None,
        };
        found.ok_or_else(|| StoreError::Conflict(format!("{what} id collision")))
    }
}
