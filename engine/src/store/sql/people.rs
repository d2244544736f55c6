//! Contract §9's storage (hand-off mode, operator messages, read points,
//! feedback).

use async_trait::async_trait;
use protocol::objects::{ConversationMode, MessageRole};
use sqlx::{Encode, Executor, FromRow, IntoArguments, Type};

use super::columns::MESSAGE_COLS;
use super::{Dialect, SqlStore};
use crate::store::{
    ApiKeyRow, BotRow, ConversationRow, MessageRow, NewOperatorMessage, OperatorOutcome, PeopleStore, ReadOutcome,
    ReadSide, StoreError, StoreResult, UserRow,
};

/// The operator message as built before its insert (its `pos` comes from the insert).
fn operator_message(x: &NewOperatorMessage) -> MessageRow {
    MessageRow {
        pos: 0,
        id: x.id.clone(),
        owner_id: x.owner_id.clone(),
        conversation_id: x.conversation_id.clone(),
        role: MessageRole::Operator,
        content: x.content.clone(),
        status: protocol::objects::MessageStatus::Complete,
        client_id: x.client_id.clone(),
        reply_id: None,
        in_reply_to: None,
        superseded: false,
        seq: 0,
        metadata: x.metadata.clone(),
        created_at: x.now,
        finished_at: Some(x.now),
        read_at: None,
        feedback: None,
        version: 0,
        versions: 0,
    }
}

#[async_trait]
impl<D> PeopleStore for SqlStore<D>
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
    async fn set_mode(&self, owner_id: &str, id: &str, mode: ConversationMode) -> StoreResult<Option<ConversationRow>> {
        let mut tx = self.write().begin().await?;
        let r = sqlx::query("UPDATE conversations SET mode = $3 WHERE owner_id = $1 AND id = $2")
            .bind(owner_id)
            .bind(id)
            .bind(mode.as_str())
            .execute(&mut *tx)
            .await?;
        if D::rows_affected(&r) == 0 {
            return Ok(None);
        }
        let row = Self::conversation_in(&mut tx, owner_id, id).await?;
        tx.commit().await?;
        Ok(row)
    }

    async fn insert_operator_message(&self, x: &NewOperatorMessage) -> StoreResult<OperatorOutcome> {
        let mut tx = self.write().begin().await?;
        if let Some(cid) = &x.client_id {
            if let Some(m) = Self::client_message_in(&mut tx, &x.owner_id, cid).await? {
                return Ok(OperatorOutcome::Duplicate(m));
            }
        }
        if Self::conversation_in(&mut tx, &x.owner_id, &x.conversation_id)
            .await?
            .is_none()
        {
            return Ok(OperatorOutcome::NoConversation);
        }
        let row = operator_message(x);
        let pos = match Self::insert_message_in(&mut tx, &row).await {
            Err(StoreError::Conflict(_)) => {
                drop(tx);
                let m = self.race_winner(&x.owner_id, x.client_id.as_deref(), "message").await?;
                return Ok(OperatorOutcome::Duplicate(m));
            }
            other => other?,
        };
        Self::read_up_to_in(&mut tx, &x.owner_id, &x.conversation_id, ReadSide::Operator, pos, x.now).await?;
        let conversation =
            Self::touch_conversation_returning_in(&mut tx, &x.owner_id, &x.conversation_id, x.now, Some(&x.preview))
                .await?
                .ok_or_else(|| StoreError::Other("conversation vanished".into()))?;
        tx.commit().await?;
        Ok(OperatorOutcome::Stored {
            conversation,
            message: MessageRow { pos, ..row },
        })
    }

    async fn mark_read(
        &self,
        owner_id: &str,
        id: &str,
        side: ReadSide,
        pos: i64,
        now: i64,
    ) -> StoreResult<Option<ReadOutcome>> {
        let mut tx = self.write().begin().await?;
        let moved = Self::read_up_to_in(&mut tx, owner_id, id, side, pos, now).await?;
        let Some(conversation) = Self::conversation_in(&mut tx, owner_id, id).await? else {
            return Ok(None);
        };
        tx.commit().await?;
        Ok(Some(ReadOutcome { moved, conversation }))
    }

    async fn set_feedback(&self, message_id: &str, feedback: Option<&str>) -> StoreResult<()> {
        sqlx::query("UPDATE messages SET feedback = $2 WHERE id = $1")
            .bind(message_id)
            .bind(feedback)
            .execute(self.write())
            .await?;
        Ok(())
    }

    async fn all_messages(&self, owner_id: &str, id: &str) -> StoreResult<Vec<MessageRow>> {
        let sql = format!(
            "SELECT {MESSAGE_COLS} FROM messages m WHERE m.owner_id = $1 AND m.conversation_id = $2 ORDER BY m.pos"
        );
        Ok(sqlx::query_as::<_, MessageRow>(&sql)
            .bind(owner_id)
            .bind(id)
            .fetch_all(self.read())
            .await?)
    }
}
