//! Settings, users, revoked tokens and daily usage.

use async_trait::async_trait;
use sqlx::{Encode, Executor, FromRow, IntoArguments, Type};

use super::{Dialect, SqlStore};
use crate::store::{AccountStore, ApiKeyRow, BotRow, ConversationRow, MessageRow, StoreResult, UserRow};

const USER_COLS: &str = "id, email, name, role, password_hash, bot_id, created_at";

#[async_trait]
impl<D> AccountStore for SqlStore<D>
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
    async fn setting_get_or_insert(&self, key: &str, value: &str) -> StoreResult<String> {
        // Read first: a database that is read-only (a read-only volume, a full
        // disk) still starts and serves what it holds.
        let existing: Option<(String,)> = sqlx::query_as("SELECT value FROM settings WHERE key = $1")
            .bind(key)
            .fetch_optional(self.read())
            .await?;
        if let Some((v,)) = existing {
            return Ok(v);
        }
        sqlx::query("INSERT INTO settings (key, value) VALUES ($1, $2) ON CONFLICT (key) DO NOTHING")
            .bind(key)
            .bind(value)
            .execute(self.write())
            .await?;
        let (v,): (String,) = sqlx::query_as("SELECT value FROM settings WHERE key = $1")
            .bind(key)
            .fetch_one(self.write())
            .await?;
        Ok(v)
    }

    async fn insert_user(&self, u: &UserRow) -> StoreResult<()> {
        sqlx::query(
            "INSERT INTO users (id, email, name, role, password_hash, bot_id, created_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7)",
        )
        .bind(&u.id)
        .bind(&u.email)
        .bind(&u.name)
        .bind(u.role.as_str())
        .bind(&u.password_hash)
        .bind(&u.bot_id)
        .bind(u.created_at)
        .execute(self.write())
        .await?;
        Ok(())
    }

    async fn user_by_id(&self, id: &str) -> StoreResult<Option<UserRow>> {
        let sql = format!("SELECT {USER_COLS} FROM users WHERE id = $1");
        Ok(sqlx::query_as::<_, UserRow>(&sql)
            .bind(id)
            .fetch_optional(self.read())
            .await?)
    }

    async fn user_by_email(&self, email: &str) -> StoreResult<Option<UserRow>> {
        let sql = format!("SELECT {USER_COLS} FROM users WHERE email = $1");
        Ok(sqlx::query_as::<_, UserRow>(&sql)
            .bind(email)
            .fetch_optional(self.read())
            .await?)
    }

    async fn revoke_token(&self, jti: &str, expires_at: i64) -> StoreResult<()> {
        sqlx::query("INSERT INTO revoked_tokens (jti, expires_at) VALUES ($1, $2) ON CONFLICT (jti) DO NOTHING")
            .bind(jti)
            .bind(expires_at)
            .execute(self.write())
            .await?;
        Ok(())
    }

    async fn revoked_tokens(&self, now: i64) -> StoreResult<Vec<String>> {
        let rows: Vec<(String,)> = sqlx::query_as("SELECT jti FROM revoked_tokens WHERE expires_at > $1")
            .bind(now)
            .fetch_all(self.read())
            .await?;
        Ok(rows.into_iter().map(|(j,)| j).collect())
    }

    async fn add_usage(&self, owner_id: &str, day: &str, completion_tokens: i64) -> StoreResult<()> {
        sqlx::query(
            "INSERT INTO usage_daily (owner_id, day, completion_tokens) VALUES ($1, $2, $3) \
             ON CONFLICT (owner_id, day) DO UPDATE SET completion_tokens = usage_daily.completion_tokens + $3",
        )
        .bind(owner_id)
        .bind(day)
        .bind(completion_tokens)
        .execute(self.write())
        .await?;
        Ok(())
    }

    async fn usage(&self, owner_id: &str, day: &str) -> StoreResult<i64> {
        let row: Option<(i64,)> =
            sqlx::query_as("SELECT completion_tokens FROM usage_daily WHERE owner_id = $1 AND day = $2")
                .bind(owner_id)
                .bind(day)
                .fetch_optional(self.read())
                .await?;
        Ok(row.map(|(n,)| n).unwrap_or(0))
    }
}
