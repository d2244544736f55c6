// Contract §9's storage (hand-off mode, operator messages, read points,
// feedback), shared by both SQL stores: included by `sql_common.rs`.

/// Moves `side`'s read point of a conversation forward to `pos` and stamps
/// `read_at` on the messages between the old point and `pos` that this side
/// reads. Returns whether the point moved (it never goes back).
async fn read_up_to_in(
    tx: &mut Tx<'_>,
    owner_id: &str,
    conversation_id: &str,
    side: ReadSide,
    pos: i64,
    now: i64,
) -> StoreResult<bool> {
    let col = side.column();
    let roles = side.roles_sql();
    // Stamp first: the range starts at the old point, which the next statement moves.
    let stamp = format!(
        "UPDATE messages SET read_at = $4 WHERE owner_id = $1 AND conversation_id = $2 AND pos <= $3 \
         AND pos > (SELECT {col} FROM conversations WHERE owner_id = $1 AND id = $2) \
         AND read_at IS NULL AND {roles}"
    );
    sqlx::query(&stamp)
        .bind(owner_id)
        .bind(conversation_id)
        .bind(pos)
        .bind(now)
        .execute(&mut **tx)
        .await?;
    let advance = format!("UPDATE conversations SET {col} = $3 WHERE owner_id = $1 AND id = $2 AND {col} < $3");
    let r = sqlx::query(&advance)
        .bind(owner_id)
        .bind(conversation_id)
        .bind(pos)
        .execute(&mut **tx)
        .await?;
    Ok(r.rows_affected() > 0)
}

#[async_trait]
impl PeopleStore for This {
    async fn set_mode(&self, owner_id: &str, id: &str, mode: &str) -> StoreResult<Option<ConversationRow>> {
        let mut tx = self.write().begin().await?;
        let r = sqlx::query("UPDATE conversations SET mode = $3 WHERE owner_id = $1 AND id = $2")
            .bind(owner_id)
            .bind(id)
            .bind(mode)
            .execute(&mut *tx)
            .await?;
        if r.rows_affected() == 0 {
            return Ok(None);
        }
        let row = conversation_in(&mut tx, owner_id, id).await?;
        tx.commit().await?;
        Ok(row)
    }

    async fn insert_operator_message(&self, x: &NewOperatorMessage) -> StoreResult<OperatorOutcome> {
        let mut tx = self.write().begin().await?;
        if let Some(cid) = &x.client_id {
            if let Some(m) = client_message_in(&mut tx, &x.owner_id, cid).await? {
                return Ok(OperatorOutcome::Duplicate(m));
            }
        }
        if conversation_in(&mut tx, &x.owner_id, &x.conversation_id).await?.is_none() {
            return Ok(OperatorOutcome::NoConversation);
        }
        let row = MessageRow {
            pos: 0,
            id: x.id.clone(),
            owner_id: x.owner_id.clone(),
            conversation_id: x.conversation_id.clone(),
            role: "operator".into(),
            content: x.content.clone(),
            status: "complete".into(),
            client_id: x.client_id.clone(),
            reply_id: None,
            in_reply_to: None,
            superseded: 0,
            seq: 0,
            metadata: x.metadata.clone(),
            created_at: x.now,
            finished_at: Some(x.now),
            read_at: None,
            feedback: None,
            version: 0,
            versions: 0,
        };
        let pos = match insert_row_in(&mut tx, &row).await {
            Err(StoreError::Conflict(_)) => {
                // A concurrent send with the same client_id won the race.
                drop(tx);
                if let Some(cid) = &x.client_id {
                    if let Some(m) = self.message_by_client_id(&x.owner_id, cid).await? {
                        return Ok(OperatorOutcome::Duplicate(m));
                    }
                }
                return Err(StoreError::Conflict("message id collision".into()));
            }
            other => other?,
        };
        read_up_to_in(&mut tx, &x.owner_id, &x.conversation_id, ReadSide::Operator, pos, x.now).await?;
        touch_conversation_in(&mut tx, &x.owner_id, &x.conversation_id, x.now, Some(&x.preview)).await?;
        let conversation = conversation_in(&mut tx, &x.owner_id, &x.conversation_id)
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
        let moved = read_up_to_in(&mut tx, owner_id, id, side, pos, now).await?;
        let Some(conversation) = conversation_in(&mut tx, owner_id, id).await? else {
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
