//! Reading messages: a conversation's page, one message, a reply's versions,
//! the model's context and the replies still live.

use async_trait::async_trait;
use sqlx::{Encode, Executor, FromRow, IntoArguments, Type};

use super::columns::{MESSAGE_COLS, MESSAGE_COLS_BARE};
use super::{Dialect, SqlStore};
use crate::store::{ApiKeyRow, BotRow, ConversationRow, MessageRow, MessageStore, StoreResult, UserRow};

#[async_trait]
impl<D> MessageStore for SqlStore<D>
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
    async fn messages(
        &self,
        owner_id: &str,
        conversation_id: &str,
        limit: i64,
        before_pos: Option<i64>,
    ) -> StoreResult<Vec<MessageRow>> {
        let sql = format!(
            "SELECT {MESSAGE_COLS} FROM messages m WHERE m.owner_id = $1 AND m.conversation_id = $2 \
             AND m.superseded = 0 AND m.pos < $3 ORDER BY m.pos DESC LIMIT $4"
        );
        Ok(sqlx::query_as::<_, MessageRow>(&sql)
            .bind(owner_id)
            .bind(conversation_id)
            .bind(before_pos.unwrap_or(i64::MAX))
            .bind(limit)
            .fetch_all(self.read())
            .await?)
    }

    async fn message(&self, id: &str) -> StoreResult<Option<MessageRow>> {
        let sql = format!("SELECT {MESSAGE_COLS} FROM messages m WHERE m.id = $1");
        Ok(sqlx::query_as::<_, MessageRow>(&sql)
            .bind(id)
            .fetch_optional(self.read())
            .await?)
    }

    async fn message_by_client_id(&self, owner_id: &str, client_id: &str) -> StoreResult<Option<MessageRow>> {
        let sql = format!("SELECT {MESSAGE_COLS} FROM messages m WHERE m.owner_id = $1 AND m.client_id = $2");
        Ok(sqlx::query_as::<_, MessageRow>(&sql)
            .bind(owner_id)
            .bind(client_id)
            .fetch_optional(self.read())
            .await?)
    }

    async fn versions(&self, in_reply_to: &str) -> StoreResult<Vec<MessageRow>> {
        let sql = format!("SELECT {MESSAGE_COLS} FROM messages m WHERE m.in_reply_to = $1 ORDER BY m.pos");
        Ok(sqlx::query_as::<_, MessageRow>(&sql)
            .bind(in_reply_to)
            .fetch_all(self.read())
            .await?)
    }

    async fn context_messages(
        &self,
        owner_id: &str,
        conversation_id: &str,
        up_to_pos: i64,
        limit: i64,
    ) -> StoreResult<Vec<MessageRow>> {
        // The model needs no version numbers; skipping their subqueries keeps
        // this read (on the first token's path) cheap.
        let sql = format!(
            "SELECT {MESSAGE_COLS_BARE}, CAST(0 AS BIGINT) AS version, CAST(0 AS BIGINT) AS versions \
             FROM messages m WHERE m.owner_id = $1 AND m.conversation_id = $2 AND m.superseded = 0 \
             AND m.pos <= $3 ORDER BY m.pos DESC LIMIT $4"
        );
        Ok(sqlx::query_as::<_, MessageRow>(&sql)
            .bind(owner_id)
            .bind(conversation_id)
            .bind(up_to_pos)
            .bind(limit)
            .fetch_all(self.read())
            .await?)
    }

    async fn live_replies(&self) -> StoreResult<Vec<MessageRow>> {
        let sql =
            format!("SELECT {MESSAGE_COLS} FROM messages m WHERE m.status IN ('queued', 'streaming') ORDER BY m.pos");
        Ok(sqlx::query_as::<_, MessageRow>(&sql).fetch_all(self.read()).await?)
    }

    async fn live_replies_of(&self, owner_id: &str) -> StoreResult<Vec<MessageRow>> {
        let sql = format!(
            "SELECT {MESSAGE_COLS_BARE}, CAST(0 AS BIGINT) AS version, CAST(0 AS BIGINT) AS versions \
             FROM messages m WHERE m.status IN ('queued', 'streaming') AND m.owner_id = $1 ORDER BY m.pos"
        );
        Ok(sqlx::query_as::<_, MessageRow>(&sql)
            .bind(owner_id)
            .fetch_all(self.read())
            .await?)
    }
}
