// The body both SQL stores share, included by `sqlite.rs` and `postgres.rs`.
//
// Each includer defines `This` (its store type with `read()` and `write()` pools),
// `Db` (the sqlx database) and the dialect hooks `TITLE_LIKE`, `search_clause()`
// and `fts_query()`. Queries use `$N` placeholders, which both databases accept.

const USER_COLS: &str = "id, email, name, role, password_hash, bot_id, created_at";
const BOT_COLS: &str = "id, owner_id, name, system_prompt, model, temperature, greeting, widget_enabled, \
     public_key, allowed_origins, theme, is_default, created_at, updated_at";
/// Unqualified, for `RETURNING` (SQLite does not take the table's alias there).
/// The unread counts are 0 here: a `RETURNING` row comes from a send, which reads everything.
const CONV_COLS_BARE: &str = "owner_id, id, bot_id, title, created_at, updated_at, last_message_preview, mode, \
     owner_read_pos, operator_read_pos, CAST(0 AS BIGINT) AS owner_unread, CAST(0 AS BIGINT) AS operator_unread";
/// With the unread counts of contract §9.3 (each a range read of `messages_page`).
const CONV_COLS: &str = "c.owner_id, c.id, c.bot_id, c.title, c.created_at, c.updated_at, c.last_message_preview, \
     c.mode, c.owner_read_pos, c.operator_read_pos, \
     (SELECT COUNT(*) FROM messages um WHERE um.owner_id = c.owner_id AND um.conversation_id = c.id \
       AND um.pos > c.owner_read_pos AND um.role <> 'user' AND um.superseded = 0) AS owner_unread, \
     (SELECT COUNT(*) FROM messages um WHERE um.owner_id = c.owner_id AND um.conversation_id = c.id \
       AND um.pos > c.operator_read_pos AND um.role = 'user') AS operator_unread";
/// A message's own columns, without the version numbers.
const MESSAGE_COLS_BARE: &str = "m.pos, m.id, m.owner_id, m.conversation_id, m.role, m.content, m.status, \
     m.client_id, m.reply_id, m.in_reply_to, m.superseded, m.seq, m.metadata, m.created_at, m.finished_at, \
     m.read_at, m.feedback";
const MESSAGE_COLS: &str = "m.pos, m.id, m.owner_id, m.conversation_id, m.role, m.content, m.status, \
     m.client_id, m.reply_id, m.in_reply_to, m.superseded, m.seq, m.metadata, m.created_at, m.finished_at, \
     m.read_at, m.feedback, \
     CASE WHEN m.in_reply_to IS NULL THEN 0 ELSE \
       (SELECT COUNT(*) FROM messages v WHERE v.in_reply_to = m.in_reply_to AND v.pos <= m.pos) END AS version, \
     CASE WHEN m.in_reply_to IS NULL THEN 0 ELSE \
       (SELECT COUNT(*) FROM messages v WHERE v.in_reply_to = m.in_reply_to) END AS versions";

include!("sql_keys.rs");
include!("sql_people.rs");

type Tx<'a> = sqlx::Transaction<'a, Db>;

/// Keyset condition for newest-first lists: strictly after the cursor's row.
fn push_after(qb: &mut sqlx::QueryBuilder<'_, Db>, c: &Cursor) {
    qb.push(" AND (c.updated_at < ");
    qb.push_bind(c.at);
    qb.push(" OR (c.updated_at = ");
    qb.push_bind(c.at);
    qb.push(" AND c.id < ");
    qb.push_bind(c.id.clone());
    qb.push("))");
}

async fn message_in(tx: &mut Tx<'_>, id: &str) -> StoreResult<Option<MessageRow>> {
    let sql = format!("SELECT {MESSAGE_COLS} FROM messages m WHERE m.id = $1");
    Ok(sqlx::query_as::<_, MessageRow>(&sql)
        .bind(id)
        .fetch_optional(&mut **tx)
        .await?)
}

/// An edit of a user message (issue 17): each earlier reply to it keeps the
/// text it answered as `metadata.prompt` (set once: the first wording it saw),
/// and the message takes the new text, with `metadata.edited_at` (µs).
async fn edit_user_message_in(tx: &mut Tx<'_>, user: &MessageRow, text: &str, now: i64) -> StoreResult<()> {
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

async fn conversation_in(
    tx: &mut Tx<'_>,
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

async fn client_message_in(
    tx: &mut Tx<'_>,
    owner_id: &str,
    client_id: &str,
) -> StoreResult<Option<MessageRow>> {
    let sql = format!("SELECT {MESSAGE_COLS} FROM messages m WHERE m.owner_id = $1 AND m.client_id = $2");
    Ok(sqlx::query_as::<_, MessageRow>(&sql)
        .bind(owner_id)
        .bind(client_id)
        .fetch_optional(&mut **tx)
        .await?)
}

#[allow(clippy::too_many_arguments)]
/// A queued reply to `in_reply_to`, as stored (its `pos` comes from the insert;
/// a first version until counted).
fn queued_reply(
    id: &str,
    owner_id: &str,
    conversation_id: &str,
    in_reply_to: &str,
    client_id: Option<String>,
    now: i64,
) -> MessageRow {
    MessageRow {
        pos: 0,
        id: id.to_string(),
        reply_id: Some(id.to_string()),
        owner_id: owner_id.to_string(),
        conversation_id: conversation_id.to_string(),
        role: "assistant".into(),
        content: String::new(),
        status: "queued".into(),
        client_id,
        in_reply_to: Some(in_reply_to.to_string()),
        superseded: 0,
        seq: 0,
        metadata: serde_json::json!({ "in_reply_to": in_reply_to }).to_string(),
        created_at: now,
        finished_at: None,
        read_at: None,
        feedback: None,
        version: 1,
        versions: 1,
    }
}

/// Inserts a new message as built in memory and returns its `pos`.
async fn insert_row_in(tx: &mut Tx<'_>, m: &MessageRow) -> StoreResult<i64> {
    let (pos,): (i64,) = sqlx::query_as(
        "INSERT INTO messages (id, owner_id, conversation_id, role, content, status, client_id, reply_id, \
         in_reply_to, metadata, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11) RETURNING pos",
    )
    .bind(&m.id)
    .bind(&m.owner_id)
    .bind(&m.conversation_id)
    .bind(&m.role)
    .bind(&m.content)
    .bind(&m.status)
    .bind(&m.client_id)
    .bind(&m.reply_id)
    .bind(&m.in_reply_to)
    .bind(&m.metadata)
    .bind(m.created_at)
    .fetch_one(&mut **tx)
    .await?;
    Ok(pos)
}

async fn touch_conversation_in(
    tx: &mut Tx<'_>,
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

#[async_trait]
impl Store for This {
    fn backend(&self) -> &'static str {
        BACKEND
    }

    async fn migrate(&self) -> StoreResult<()> {
        MIGRATOR.run(self.write()).await?;
        Ok(())
    }

    async fn ping(&self) -> StoreResult<()> {
        sqlx::query("SELECT 1").execute(self.read()).await?;
        Ok(())
    }

    async fn close(&self) {
        self.before_close().await;
        self.write().close().await;
        self.read().close().await;
    }

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
        .bind(&u.role)
        .bind(&u.password_hash)
        .bind(&u.bot_id)
        .bind(u.created_at)
        .execute(self.write())
        .await?;
        Ok(())
    }

    async fn user_by_id(&self, id: &str) -> StoreResult<Option<UserRow>> {
        let sql = format!("SELECT {USER_COLS} FROM users WHERE id = $1");
        Ok(sqlx::query_as::<_, UserRow>(&sql).bind(id).fetch_optional(self.read()).await?)
    }

    async fn user_by_email(&self, email: &str) -> StoreResult<Option<UserRow>> {
        let sql = format!("SELECT {USER_COLS} FROM users WHERE email = $1");
        Ok(sqlx::query_as::<_, UserRow>(&sql).bind(email).fetch_optional(self.read()).await?)
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
        .bind(b.widget_enabled)
        .bind(&b.public_key)
        .bind(&b.allowed_origins)
        .bind(&b.theme)
        .bind(b.is_default)
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
        .bind(b.widget_enabled)
        .bind(&b.allowed_origins)
        .bind(&b.theme)
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
        Ok(r.rows_affected() > 0)
    }

    async fn bot(&self, id: &str) -> StoreResult<Option<BotRow>> {
        let sql = format!("SELECT {BOT_COLS} FROM bots WHERE id = $1");
        Ok(sqlx::query_as::<_, BotRow>(&sql).bind(id).fetch_optional(self.read()).await?)
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
        let sql = format!(
            "SELECT {BOT_COLS} FROM bots WHERE owner_id = $1 ORDER BY is_default DESC, created_at, id"
        );
        Ok(sqlx::query_as::<_, BotRow>(&sql).bind(owner_id).fetch_all(self.read()).await?)
    }

    async fn all_bots(&self) -> StoreResult<Vec<BotRow>> {
        let sql = format!("SELECT {BOT_COLS} FROM bots ORDER BY created_at, id");
        Ok(sqlx::query_as::<_, BotRow>(&sql).fetch_all(self.read()).await?)
    }

    async fn widget_bots(&self) -> StoreResult<Vec<BotRow>> {
        let sql = format!("SELECT {BOT_COLS} FROM bots WHERE widget_enabled = 1");
        Ok(sqlx::query_as::<_, BotRow>(&sql).fetch_all(self.read()).await?)
    }

    async fn conversation(&self, owner_id: &str, id: &str) -> StoreResult<Option<ConversationRow>> {
        let sql = format!("SELECT {CONV_COLS} FROM conversations c WHERE c.owner_id = $1 AND c.id = $2");
        Ok(sqlx::query_as::<_, ConversationRow>(&sql)
            .bind(owner_id)
            .bind(id)
            .fetch_optional(self.read())
            .await?)
    }

    async fn conversations(&self, q: &ConversationQuery) -> StoreResult<Vec<ConversationRow>> {
        let mut qb = sqlx::QueryBuilder::<Db>::new(format!("SELECT {CONV_COLS} FROM conversations c WHERE c.owner_id = "));
        qb.push_bind(q.owner_id.clone());
        if let Some(c) = &q.after {
            push_after(&mut qb, c);
        }
        if let Some(text) = q.text.as_deref().map(str::trim).filter(|t| !t.is_empty()) {
            qb.push(format!(" AND (c.title {TITLE_LIKE} "));
            qb.push_bind(like_pattern(text));
            qb.push(" ESCAPE '\\'");
            if !q.terms.is_empty() {
                qb.push(" OR ");
                push_search(&mut qb, &q.owner_id, &q.terms);
            }
            qb.push(")");
        }
        qb.push(" ORDER BY c.updated_at DESC, c.id DESC LIMIT ");
        qb.push_bind(q.limit);
        Ok(qb.build_query_as::<ConversationRow>().fetch_all(self.read()).await?)
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
        if r.rows_affected() == 0 {
            return Ok(None);
        }
        let row = conversation_in(&mut tx, owner_id, id).await?;
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
        Ok(r.rows_affected() > 0)
    }

    async fn visitor_conversations(
        &self,
        bot_id: &str,
        limit: i64,
        after: Option<&Cursor>,
    ) -> StoreResult<Vec<ConversationRow>> {
        let mut qb = sqlx::QueryBuilder::<Db>::new(format!(
            "SELECT {CONV_COLS} FROM conversations c JOIN users u ON u.id = c.owner_id \
             WHERE u.role = 'visitor' AND c.bot_id = "
        ));
        qb.push_bind(bot_id.to_string());
        if let Some(c) = after {
            push_after(&mut qb, c);
        }
        qb.push(" ORDER BY c.updated_at DESC, c.id DESC LIMIT ");
        qb.push_bind(limit);
        Ok(qb.build_query_as::<ConversationRow>().fetch_all(self.read()).await?)
    }

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
        Ok(sqlx::query_as::<_, MessageRow>(&sql).bind(id).fetch_optional(self.read()).await?)
    }

    async fn message_by_client_id(
        &self,
        owner_id: &str,
        client_id: &str,
    ) -> StoreResult<Option<MessageRow>> {
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
        let sql = format!(
            "SELECT {MESSAGE_COLS} FROM messages m WHERE m.status IN ('queued', 'streaming') ORDER BY m.pos"
        );
        Ok(sqlx::query_as::<_, MessageRow>(&sql).fetch_all(self.read()).await?)
    }

    /// Five round trips to the writer (the first token waits on them): the
    /// conversation is created or touched by one upsert that returns it, and the
    /// two messages come back as built here plus the `pos` their inserts return.
    async fn begin_exchange(&self, x: &NewExchange) -> StoreResult<ExchangeOutcome> {
        let mut tx = self.write().begin().await?;
        if let Some(cid) = &x.client_id {
            if let Some(user) = client_message_in(&mut tx, &x.owner_id, cid).await? {
                return Ok(ExchangeOutcome::Duplicate { user });
            }
        }
        // Another transaction may create the same conversation concurrently;
        // the upsert makes that harmless.
        let sql = format!(
            "INSERT INTO conversations AS c (owner_id, id, bot_id, title, created_at, updated_at, \
             last_message_preview) VALUES ($1, $2, $3, $4, $5, $5, $6) ON CONFLICT (owner_id, id) DO UPDATE SET \
             updated_at = CASE WHEN c.updated_at >= $5 THEN c.updated_at + 1 ELSE $5 END, \
             last_message_preview = $6 RETURNING {CONV_COLS_BARE}"
        );
        let conversation = sqlx::query_as::<_, ConversationRow>(&sql)
            .bind(&x.owner_id)
            .bind(&x.conversation_id)
            .bind(&x.bot_id)
            .bind(&x.title)
            .bind(x.now)
            .bind(&x.preview)
            .fetch_one(&mut *tx)
            .await?;
        if let Some(want) = &x.requested_bot_id {
            if *want != conversation.bot_id {
                // Dropping the transaction undoes the touch.
                return Ok(ExchangeOutcome::BotMismatch {
                    bot_id: conversation.bot_id,
                });
            }
        }
        // In `human` mode no reply is stored: a person answers (contract §9.1).
        let human = conversation.mode() == protocol::objects::ConversationMode::Human;
        let user = MessageRow {
            pos: 0,
            id: x.user_message_id.clone(),
            owner_id: x.owner_id.clone(),
            conversation_id: x.conversation_id.clone(),
            role: "user".into(),
            content: x.content.clone(),
            status: "complete".into(),
            client_id: x.client_id.clone(),
            reply_id: (!human).then(|| x.reply_id.clone()),
            in_reply_to: None,
            superseded: 0,
            seq: 0,
            metadata: "{}".into(),
            created_at: x.now,
            finished_at: None,
            read_at: None,
            feedback: None,
            version: 0,
            versions: 0,
        };
        let user_pos = insert_row_in(&mut tx, &user).await;
        if let Err(StoreError::Conflict(_)) = user_pos {
            // A concurrent send with the same client_id won the race (Postgres).
            drop(tx);
            if let Some(cid) = &x.client_id {
                if let Some(user) = self.message_by_client_id(&x.owner_id, cid).await? {
                    return Ok(ExchangeOutcome::Duplicate { user });
                }
            }
            return Err(StoreError::Conflict("message id collision".into()));
        }
        let user = MessageRow { pos: user_pos?, ..user };
        // Sending counts as reading everything before it (§9.3).
        read_up_to_in(&mut tx, &x.owner_id, &x.conversation_id, ReadSide::Owner, user.pos, x.now).await?;
        if human {
            tx.commit().await?;
            return Ok(ExchangeOutcome::StoredHuman { conversation, user });
        }
        let reply = queued_reply(&x.reply_id, &x.owner_id, &x.conversation_id, &x.user_message_id, None, x.now);
        let reply = MessageRow {
            pos: insert_row_in(&mut tx, &reply).await?,
            ..reply
        };
        tx.commit().await?;
        Ok(ExchangeOutcome::Stored {
            conversation,
            user,
            reply,
        })
    }

    async fn begin_regenerate(&self, x: &NewRegenerate) -> StoreResult<RegenerateOutcome> {
        let mut tx = self.write().begin().await?;
        if let Some(cid) = &x.client_id {
            if let Some(reply) = client_message_in(&mut tx, &x.owner_id, cid).await? {
                return Ok(RegenerateOutcome::Duplicate { reply });
            }
        }
        let Some(conversation) = conversation_in(&mut tx, &x.owner_id, &x.conversation_id).await? else {
            return Ok(RegenerateOutcome::NoConversation);
        };
        let sql = format!(
            "SELECT {MESSAGE_COLS} FROM messages m WHERE m.owner_id = $1 AND m.conversation_id = $2 \
             AND m.role = 'user' ORDER BY m.pos DESC LIMIT 1"
        );
        let Some(user) = sqlx::query_as::<_, MessageRow>(&sql)
            .bind(&x.owner_id)
            .bind(&x.conversation_id)
            .fetch_optional(&mut *tx)
            .await?
        else {
            return Ok(RegenerateOutcome::NoUserMessage);
        };
        if let Some(text) = x.edit.as_deref().filter(|t| *t != user.content) {
            edit_user_message_in(&mut tx, &user, text, x.now).await?;
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
        let inserted = insert_row_in(&mut tx, &reply).await;
        if let Err(StoreError::Conflict(_)) = inserted {
            drop(tx);
            if let Some(cid) = &x.client_id {
                if let Some(reply) = self.message_by_client_id(&x.owner_id, cid).await? {
                    return Ok(RegenerateOutcome::Duplicate { reply });
                }
            }
            return Err(StoreError::Conflict("reply id collision".into()));
        }
        inserted?;
        touch_conversation_in(&mut tx, &x.owner_id, &x.conversation_id, x.now, None).await?;
        let reply = message_in(&mut tx, &x.reply_id)
            .await?
            .ok_or_else(|| StoreError::Other("reply vanished".into()))?;
        let user = message_in(&mut tx, &user.id).await?.unwrap_or(user);
        let conversation = conversation_in(&mut tx, &x.owner_id, &x.conversation_id)
            .await?
            .unwrap_or(conversation);
        tx.commit().await?;
        Ok(RegenerateOutcome::Stored { conversation, user, reply })
    }

    async fn reply_streaming(&self, reply_id: &str) -> StoreResult<()> {
        sqlx::query("UPDATE messages SET status = 'streaming' WHERE id = $1 AND status = 'queued'")
            .bind(reply_id)
            .execute(self.write())
            .await?;
        Ok(())
    }

    async fn checkpoint_reply(&self, reply_id: &str, content: &str, seq: i64) -> StoreResult<()> {
        sqlx::query("UPDATE messages SET content = $2, seq = $3 WHERE id = $1 AND status = 'streaming'")
            .bind(reply_id)
            .bind(content)
            .bind(seq)
            .execute(self.write())
            .await?;
        Ok(())
    }

    async fn finish_reply(&self, f: &FinishedReply) -> StoreResult<Option<ConversationRow>> {
        let mut tx = self.write().begin().await?;
        let Some(current) = message_in(&mut tx, &f.reply_id).await? else {
            // Its conversation was deleted while it ran.
            return Ok(None);
        };
        let mut meta = current.metadata_value();
        if let (serde_json::Value::Object(m), serde_json::Value::Object(add)) = (&mut meta, &f.metadata) {
            for (k, v) in add {
                m.insert(k.clone(), v.clone());
            }
        }
        sqlx::query(
            "UPDATE messages SET content = $2, status = $3, metadata = $4, seq = $5, finished_at = $6 WHERE id = $1",
        )
        .bind(&f.reply_id)
        .bind(&f.content)
        .bind(f.status.as_str())
        .bind(meta.to_string())
        .bind(f.seq)
        .bind(f.now)
        .execute(&mut *tx)
        .await?;
        touch_conversation_in(&mut tx, &f.owner_id, &f.conversation_id, f.now, f.preview.as_deref()).await?;
        let conv = conversation_in(&mut tx, &f.owner_id, &f.conversation_id).await?;
        tx.commit().await?;
        Ok(conv)
    }

    async fn interrupt_live_replies(&self, now: i64) -> StoreResult<u64> {
        let r = sqlx::query(
            "UPDATE messages SET status = 'interrupted', finished_at = $1 WHERE status IN ('queued', 'streaming')",
        )
        .bind(now)
        .execute(self.write())
        .await?;
        Ok(r.rows_affected())
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
        Ok(r.rows_affected() == 1)
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

    async fn insert_api_key(&self, key: &ApiKeyRow) -> StoreResult<()> {
        key_insert(self.write(), key).await
    }

    async fn api_keys_of(&self, user_id: &str) -> StoreResult<Vec<ApiKeyRow>> {
        keys_of_user(self.read(), user_id).await
    }

    async fn delete_api_key(&self, user_id: &str, id: &str) -> StoreResult<bool> {
        key_delete(self.write(), user_id, id).await
    }

    async fn api_key_by_hash(&self, key_hash: &str) -> StoreResult<Option<ApiKeyRow>> {
        // Each read starts a fresh snapshot, so a committed revocation is seen
        // by the very next request.
        key_by_hash(self.read(), key_hash).await
    }

    async fn touch_api_key(&self, id: &str, now: i64, older_than: i64) -> StoreResult<()> {
        key_touch(self.write(), id, now, older_than).await
    }
}
