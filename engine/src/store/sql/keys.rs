//! Personal API keys (contract §10): only each key's SHA-256 is stored.

use async_trait::async_trait;
use sqlx::{Encode, Executor, FromRow, IntoArguments, Type};

use super::{Dialect, SqlStore};
use crate::store::{ApiKeyRow, ApiKeyStore, BotRow, ConversationRow, MessageRow, StoreResult, UserRow};

const KEY_COLS: &str = "k.id, k.user_id, k.name, k.key_hash, k.created_at, k.last_used_at";

#[async_trait]
impl<D> ApiKeyStore for SqlStore<D>
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
    async fn insert_api_key(&self, k: &ApiKeyRow) -> StoreResult<()> {
        sqlx::query(
            "INSERT INTO api_keys (id, user_id, name, key_hash, created_at, last_used_at) \
             VALUES ($1, $2, $3, $4, $5, $6)",
        )
        .bind(&k.id)
        .bind(&k.user_id)
        .bind(&k.name)
        .bind(&k.key_hash)
        .bind(k.created_at)
        .bind(k.last_used_at)
        .execute(self.write())
        .await?;
        Ok(())
    }

    async fn api_keys_of(&self, user_id: &str) -> StoreResult<Vec<ApiKeyRow>> {
        let sql =
            format!("SELECT {KEY_COLS} FROM api_keys k WHERE k.user_id = $1 ORDER BY k.created_at DESC, k.id DESC");
        Ok(sqlx::query_as::<_, ApiKeyRow>(&sql)
            .bind(user_id)
            .fetch_all(self.read())
            .await?)
    }

    async fn delete_api_key(&self, user_id: &str, id: &str) -> StoreResult<bool> {
        let r = sqlx::query("DELETE FROM api_keys WHERE user_id = $1 AND id = $2")
            .bind(user_id)
            .bind(id)
            .execute(self.write())
            .await?;
        Ok(D::rows_affected(&r) > 0)
    }

    async fn api_key_by_hash(&self, key_hash: &str) -> StoreResult<Option<ApiKeyRow>> {
        // Each read starts a fresh snapshot, so a committed revocation is seen
        // by the very next request.
        let sql = format!(
            "SELECT {KEY_COLS} FROM api_keys k JOIN users u ON u.id = k.user_id \
             WHERE k.key_hash = $1 AND u.role = 'user'"
        );
        Ok(sqlx::query_as::<_, ApiKeyRow>(&sql)
            .bind(key_hash)
            .fetch_optional(self.read())
            .await?)
    }

    async fn touch_api_key(&self, id: &str, now: i64, older_than: i64) -> StoreResult<()> {
        sqlx::query(
            "UPDATE api_keys SET last_used_at = $2 WHERE id = $1 AND (last_used_at IS NULL OR last_used_at < $3)",
        )
        .bind(id)
        .bind(now)
        .bind(older_than)
        .execute(self.write())
        .await?;
        Ok(())
    }
}
