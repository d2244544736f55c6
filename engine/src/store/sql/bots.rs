//! Bots: an owner's assistants and their widget settings.

use async_trait::async_trait;
use sqlx::{Encode, Executor, FromRow, IntoArguments, Type};

use super::{Dialect, SqlStore};
use crate::store::records::{flag_value, json_text};
use crate::store::{ApiKeyRow, BotRow, BotStore, ConversationRow, MessageRow, StoreResult, UserRow};

const BOT_COLS: &str = "id, owner_id, name, system_prompt, model, temperature, greeting, widget_enabled, \
     public_key, allowed_origins, theme, is_default, created_at, updated_at";

#[async_trait]
impl<D> BotStore for SqlStore<D>
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
    async fn insert_bot(&self, b: &BotRow) -> StoreResult<()> {
        sqlx::query(
            "INSERT INTO bots (id, owner_id, name, system_prompt, model, temperature, greeting, widget_enabled, \
             public_key, allowed_origins, theme, is_default, created_at, updated_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14)",
        )
        .bind(&b.id)
        .bind(&b.owner_id)
        .bind(&b.name)
        .bind(&b.system_prompt)
        .bind(&b.model)
        .bind(b.temperature)
        .bind(&b.greeting)
        .bind(flag_value(b.widget_enabled))
        .bind(&b.public_key)
        .bind(json_text("allowed_origins", &b.allowed_origins)?)
        .bind(json_text("theme", &b.theme)?)
        .bind(flag_value(b.is_default))
        .bind(b.created_at)
        .bind(b.updated_at)
        .execute(self.write())
        .await?;
        Ok(())
    }

    async fn update_bot(&self, b: &BotRow) -> StoreResult<()> {
        sqlx::query(
            "UPDATE bots SET name = $3, system_prompt = $4, model = $5, temperature = $6, greeting = $7, \
             widget_enabled = $8, allowed_origins = $9, theme = $10, updated_at = $11 \
             WHERE id = $1 AND owner_id = $2",
        )
        .bind(&b.id)
        .bind(&b.owner_id)
        .bind(&b.name)
        .bind(&b.system_prompt)
        .bind(&b.model)
        .bind(b.temperature)
        .bind(&b.greeting)
        .bind(flag_value(b.widget_enabled))
        .bind(json_text("allowed_origins", &b.allowed_origins)?)
        .bind(json_text("theme", &b.theme)?)
        .bind(b.updated_at)
        .execute(self.write())
        .await?;
        Ok(())
    }

    async fn delete_bot(&self, owner_id: &str, id: &str) -> StoreResult<bool> {
        let r = sqlx::query("DELETE FROM bots WHERE id = $1 AND owner_id = $2 AND is_default = 0")
            .bind(id)
            .bind(owner_id)
            .execute(self.write())
            .await?;
        Ok(D::rows_affected(&r) > 0)
    }

    async fn bot(&self, id: &str) -> StoreResult<Option<BotRow>> {
        let sql = format!("SELECT {BOT_COLS} FROM bots WHERE id = $1");
        Ok(sqlx::query_as::<_, BotRow>(&sql)
            .bind(id)
            .fetch_optional(self.read())
            .await?)
    }

    async fn bot_of_conversation(&self, owner_id: &str, conversation_id: &str) -> StoreResult<Option<BotRow>> {
        let sql = format!(
            "SELECT {BOT_COLS} FROM bots WHERE id = \
             (SELECT bot_id FROM conversations WHERE owner_id = $1 AND id = $2)"
        );
        Ok(sqlx::query_as::<_, BotRow>(&sql)
            .bind(owner_id)
            .bind(conversation_id)
            .fetch_optional(self.read())
            .await?)
    }

    async fn bot_by_key(&self, public_key: &str) -> StoreResult<Option<BotRow>> {
        let sql = format!("SELECT {BOT_COLS} FROM bots WHERE public_key = $1");
        Ok(sqlx::query_as::<_, BotRow>(&sql)
            .bind(public_key)
            .fetch_optional(self.read())
            .await?)
    }

    async fn default_bot(&self, owner_id: &str) -> StoreResult<Option<BotRow>> {
        let sql = format!("SELECT {BOT_COLS} FROM bots WHERE owner_id = $1 AND is_default = 1");
        Ok(sqlx::query_as::<_, BotRow>(&sql)
            .bind(owner_id)
            .fetch_optional(self.read())
            .await?)
    }

    async fn bots_of(&self, owner_id: &str) -> StoreResult<Vec<BotRow>> {
        let sql = format!("SELECT {BOT_COLS} FROM bots WHERE owner_id = $1 ORDER BY is_default DESC, created_at, id");
        Ok(sqlx::query_as::<_, BotRow>(&sql)
            .bind(owner_id)
            .fetch_all(self.read())
            .await?)
    }

    async fn all_bots(&self) -> StoreResult<Vec<BotRow>> {
        let sql = format!("SELECT {BOT_COLS} FROM bots ORDER BY created_at, id");
        Ok(sqlx::query_as::<_, BotRow>(&sql).fetch_all(self.read()).await?)
    }

    async fn widget_bots(&self) -> StoreResult<Vec<BotRow>> {
        let sql = format!("SELECT {BOT_COLS} FROM bots WHERE widget_enabled = 1");
        Ok(sqlx::query_as::<_, BotRow>(&sql).fetch_all(self.read()).await?)
    }
}
