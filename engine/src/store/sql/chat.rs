//! The chat's writes: a user message with its queued reply, a regenerated
//! reply, and a reply's progress to its final state. Each is one transaction,
//! because an `ack` may only be sent once what it acknowledges is stored.

use async_trait::async_trait;
use protocol::objects::{MessageRole, MessageStatus};
use sqlx::{Encode, Executor, FromRow, IntoArguments, Type};

use super::tx::Staged;
use super::writes::{CHECKPOINT_REPLY, FINISH_REPLY, REPLY_STREAMING};
use super::{Dialect, SqlStore};
use crate::store::{
    ApiKeyRow, BotRow, ChatStore, ConversationRow, ExchangeOutcome, FinishedReply, FinishedRows, MessageRow,
    NewExchange, NewRegenerate, RegenerateOutcome, StoreError, StoreResult, UserRow,
};

/// A queued reply to `in_reply_to` (a first version until counted).
pub(super) fn queued_reply(
    id: &str,
    owner_id: &str,
    conversation_id: &str,
    in_reply_to: &str,
    client_id: Option<String>,
    now: i64,
) -> MessageRow {
    MessageRow {
        reply_id: Some(id.to_string()),
        status: MessageStatus::Queued,
        client_id,
        in_reply_to: Some(in_reply_to.to_string()),
        metadata: serde_json::json!({ "in_reply_to": in_reply_to }).to_string(),
        version: 1,
        versions: 1,
        ..MessageRow::new(id, owner_id, conversation_id, MessageRole::Assistant, now)
    }
}

/// The user message of an exchange; in `human` mode it names no reply.
pub(super) fn user_message(x: &NewExchange, human: bool) -> MessageRow {
    MessageRow {
        content: x.content.clone(),
        client_id: x.client_id.clone(),
        reply_id: (!human).then(|| x.reply_id.clone()),
        ..MessageRow::new(
            &x.user_message_id,
            &x.owner_id,
            &x.conversation_id,
            MessageRole::User,
            x.now,
        )
    }
}

#[async_trait]
impl<D> ChatStore for SqlStore<D>
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
    /// One transaction of five round trips to the writer (the first token
    /// waits on them), written by [`SqlStore::exchange_in`].
    async fn begin_exchange(&self, x: &NewExchange) -> StoreResult<ExchangeOutcome> {
        if let Some(group) = &self.group {
            return match group.exchange(x).await? {
                Staged::Written(outcome) | Staged::Undone(outcome) => Ok(outcome),
                Staged::Lost => {
                    let user = self.race_winner(&x.owner_id, x.client_id.as_deref(), "message").await?;
                    Ok(ExchangeOutcome::Duplicate { user })
                }
            };
        }
        let mut tx = self.write().begin().await?;
        match Self::exchange_in(&mut tx, x).await? {
            Staged::Written(outcome) => {
                tx.commit().await?;
                Ok(outcome)
            }
            // Dropping the transaction rolls back what it wrote.
            Staged::Undone(outcome) => Ok(outcome),
            Staged::Lost => {
                drop(tx);
                let user = self.race_winner(&x.owner_id, x.client_id.as_deref(), "message").await?;
                Ok(ExchangeOutcome::Duplicate { user })
            }
        }
    }

    async fn begin_regenerate(&self, x: &NewRegenerate) -> StoreResult<RegenerateOutcome> {
        let mut tx = self.write().begin().await?;
        if let Some(cid) = &x.client_id {
            if let Some(reply) = Self::client_message_in(&mut tx, &x.owner_id, cid).await? {
                return Ok(RegenerateOutcome::Duplicate { reply });
            }
        }
        let Some(conversation) = Self::conversation_in(&mut tx, &x.owner_id, &x.conversation_id).await? else {
            return Ok(RegenerateOutcome::NoConversation);
        };
        // Touched (row-locked) before the reply takes its `pos`, as a send does:
        // concurrent writes to one conversation commit in `pos` order, which the
        // line of replies across nodes relies on (`chat::shared_line`).
        Self::touch_conversation_in(&mut tx, &x.owner_id, &x.conversation_id, x.now, None).await?;
        let Some(user) = Self::last_user_message_in(&mut tx, &x.owner_id, &x.conversation_id).await? else {
            return Ok(RegenerateOutcome::NoUserMessage);
        };
        if let Some(text) = x.edit.as_deref().filter(|t| *t != user.content) {
            Self::edit_user_message_in(&mut tx, &user, text, x.now).await?;
        }
        sqlx::query("UPDATE messages SET superseded = 1 WHERE in_reply_to = $1")
            .bind(&user.id)
            .execute(&mut *tx)
            .await?;
        let reply = queued_reply(
            &x.reply_id,
            &x.owner_id,
            &x.conversation_id,
            &user.id,
            x.client_id.clone(),
            x.now,
        );
        match Self::insert_message_in(&mut tx, &reply).await {
            Err(StoreError::Conflict(_)) => {
                drop(tx);
                let reply = self.race_winner(&x.owner_id, x.client_id.as_deref(), "reply").await?;
                return Ok(RegenerateOutcome::Duplicate { reply });
            }
            other => {
                other?;
            }
        }
        let reply = Self::message_in(&mut tx, &x.reply_id)
            .await?
            .ok_or_else(|| StoreError::Other("reply vanished".into()))?;
        let user = Self::message_in(&mut tx, &user.id).await?.unwrap_or(user);
        let conversation = Self::conversation_in(&mut tx, &x.owner_id, &x.conversation_id)
            .await?
            .unwrap_or(conversation);
        tx.commit().await?;
        Ok(RegenerateOutcome::Stored {
            conversation,
            user,
            reply,
        })
    }

    async fn reply_streaming(&self, reply_id: &str) -> StoreResult<()> {
        if let Some(group) = &self.group {
            return group.reply_streaming(reply_id).await;
        }
        sqlx::query(REPLY_STREAMING)
            .bind(reply_id)
            .execute(self.write())
            .await?;
        Ok(())
    }

    async fn checkpoint_reply(&self, reply_id: &str, content: &str, seq: i64) -> StoreResult<()> {
        if let Some(group) = &self.group {
            return group.checkpoint_reply(reply_id, content, seq).await;
        }
        sqlx::query(CHECKPOINT_REPLY)
            .bind(reply_id)
            .bind(content)
            .bind(seq)
            .execute(self.write())
            .await?;
        Ok(())
    }

    async fn finish_reply(&self, f: &FinishedReply) -> StoreResult<Option<FinishedRows>> {
        if let Some(group) = &self.group {
            return group.finish_reply(f).await;
        }
        let mut tx = self.write().begin().await?;
        let Some(current) = Self::message_in(&mut tx, &f.reply_id).await? else {
            // Its conversation was deleted while it ran.
            return Ok(None);
        };
        let metadata = f.merged_metadata(current.metadata_value());
        sqlx::query(FINISH_REPLY)
            .bind(&f.reply_id)
            .bind(&f.content)
            .bind(f.status.as_str())
            .bind(&metadata)
            .bind(f.seq)
            .bind(f.now)
            .execute(&mut *tx)
            .await?;
        let conv = Self::touch_conversation_returning_in(
            &mut tx,
            &f.owner_id,
            &f.conversation_id,
            f.now,
            f.preview.as_deref(),
        )
        .await?;
        // Read again after the update (its row lock held): on PostgreSQL a
        // regenerate may have committed since the first read, and the row
        // must be what a read after the commit returns. SQLite's group commit
        // has no such gap and builds it from the first read.
        let reply = match Self::message_in(&mut tx, &f.reply_id).await? {
            Some(r) => r,
            None => f.applied_to(current, metadata),
        };
        tx.commit().await?;
        Ok(conv.map(|conversation| FinishedRows { reply, conversation }))
    }

    async fn interrupt_live_replies(&self, now: i64) -> StoreResult<u64> {
        let r = sqlx::query(
            "UPDATE messages SET status = 'interrupted', finished_at = $1 WHERE status IN ('queued', 'streaming')",
        )
        .bind(now)
        .execute(self.write())
        .await?;
        Ok(D::rows_affected(&r))
    }

    async fn interrupt_reply(&self, reply_id: &str, now: i64) -> StoreResult<bool> {
        let r = sqlx::query(
            "UPDATE messages SET status = 'interrupted', finished_at = $2 \
             WHERE id = $1 AND status IN ('queued', 'streaming')",
        )
        .bind(reply_id)
        .bind(now)
        .execute(self.write())
        .await?;
        Ok(D::rows_affected(&r) == 1)
    }
}
