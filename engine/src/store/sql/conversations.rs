//! Conversations: one owner's list (with search), renames, deletes, and the
//! visitor conversations of a bot.

use async_trait::async_trait;
use sqlx::{Encode, Executor, FromRow, IntoArguments, Type};

use super::columns::CONV_COLS;
use super::{push_after, Dialect, SqlStore, Statement};
use crate::store::{
    like_pattern, ApiKeyRow, BotRow, ConversationQuery, ConversationRow, ConversationStore, Cursor, MessageRow,
    StoreResult, UserRow,
};

#[async_trait]
impl<D> ConversationStore for SqlStore<D>
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
    async fn conversation(&self, owner_id: &str, id: &str) -> StoreResult<Option<ConversationRow>> {
        let sql = format!("SELECT {CONV_COLS} FROM conversations c WHERE c.owner_id = $1 AND c.id = $2");
        Ok(sqlx::query_as::<_, ConversationRow>(&sql)
            .bind(owner_id)
            .bind(id)
            .fetch_optional(self.read())
            .await?)
    }

    async fn conversations(&self, q: &ConversationQuery) -> StoreResult<Vec<ConversationRow>> {
        let mut st = Statement::new(format!("SELECT {CONV_COLS} FROM conversations c WHERE c.owner_id = "));
        st.push_bind(q.owner_id.clone());
        if let Some(c) = &q.after {
            push_after(&mut st, c);
        }
        if let Some(text) = q.text.as_deref().map(str::trim).filter(|t| !t.is_empty()) {
            st.push(" AND (c.title ").push(D::TITLE_LIKE).push(" ");
            st.push_bind(like_pattern(text));
            st.push(" ESCAPE '\\'");
            if !q.terms.is_empty() {
                st.push(" OR ");
                D::push_search(&mut st, &q.owner_id, &q.terms);
            }
            st.push(")");
        }
        st.push(" ORDER BY c.updated_at DESC, c.id DESC LIMIT ");
        st.push_bind(q.limit);
        Ok(st.query_as::<D, ConversationRow>().fetch_all(self.read()).await?)
    }

    async fn rename_conversation(
        &self,
        owner_id: &str,
        id: &str,
        title: &str,
        now: i64,
    ) -> StoreResult<Option<ConversationRow>> {
        let mut tx = self.write().begin().await?;
        let r = sqlx::query("UPDATE conversations SET title = $3, updated_at = $4 WHERE owner_id = $1 AND id = $2")
            .bind(owner_id)
            .bind(id)
            .bind(title)
            .bind(now)
            .execute(&mut *tx)
            .await?;
        if D::rows_affected(&r) == 0 {
            return Ok(None);
        }
        let row = Self::conversation_in(&mut tx, owner_id, id).await?;
        tx.commit().await?;
        Ok(row)
    }

    async fn delete_conversation(&self, owner_id: &str, id: &str) -> StoreResult<bool> {
        let mut tx = self.write().begin().await?;
        sqlx::query("DELETE FROM messages WHERE owner_id = $1 AND conversation_id = $2")
            .bind(owner_id)
            .bind(id)
            .execute(&mut *tx)
            .await?;
        let r = sqlx::query("DELETE FROM conversations WHERE owner_id = $1 AND id = $2")
            .bind(owner_id)
            .bind(id)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(D::rows_affected(&r) > 0)
    }

    async fn visitor_conversations(
        &self,
        bot_id: &str,
        limit: i64,
        after: Option<&Cursor>,
    ) -> StoreResult<Vec<ConversationRow>> {
        let mut st = Statement::new(format!(
            "SELECT {CONV_COLS} FROM conversations c JOIN users u ON u.id = c.owner_id \
             WHERE u.role = 'visitor' AND c.bot_id = "
        ));
        st.push_bind(bot_id.to_string());
        if let Some(c) = after {
            push_after(&mut st, c);
        }
        st.push(" ORDER BY c.updated_at DESC, c.id DESC LIMIT ");
        st.push_bind(limit);
        Ok(st.query_as::<D, ConversationRow>().fetch_all(self.read()).await?)
    }
}
