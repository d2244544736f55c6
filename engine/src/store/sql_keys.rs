// Personal API keys' SQL, shared by both stores (included by `sql_common.rs`, so
// `Db` is the includer's database). `$N` placeholders work on both.

const KEY_COLS: &str = "k.id, k.user_id, k.name, k.key_hash, k.created_at, k.last_used_at";

async fn key_insert(pool: &sqlx::Pool<Db>, k: &ApiKeyRow) -> StoreResult<()> {
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
    .execute(pool)
    .await?;
    Ok(())
}

async fn keys_of_user(pool: &sqlx::Pool<Db>, user_id: &str) -> StoreResult<Vec<ApiKeyRow>> {
    let sql = format!("SELECT {KEY_COLS} FROM api_keys k WHERE k.user_id = $1 ORDER BY k.created_at DESC, k.id DESC");
    Ok(sqlx::query_as::<_, ApiKeyRow>(&sql).bind(user_id).fetch_all(pool).await?)
}

async fn key_delete(pool: &sqlx::Pool<Db>, user_id: &str, id: &str) -> StoreResult<bool> {
    let r = sqlx::query("DELETE FROM api_keys WHERE user_id = $1 AND id = $2")
        .bind(user_id)
        .bind(id)
        .execute(pool)
        .await?;
    Ok(r.rows_affected() > 0)
}

/// The key with this hash whose owner is still a `user`.
async fn key_by_hash(pool: &sqlx::Pool<Db>, key_hash: &str) -> StoreResult<Option<ApiKeyRow>> {
    let sql = format!(
        "SELECT {KEY_COLS} FROM api_keys k JOIN users u ON u.id = k.user_id \
         WHERE k.key_hash = $1 AND u.role = 'user'"
    );
    Ok(sqlx::query_as::<_, ApiKeyRow>(&sql).bind(key_hash).fetch_optional(pool).await?)
}

async fn key_touch(pool: &sqlx::Pool<Db>, id: &str, now: i64, older_than: i64) -> StoreResult<()> {
    sqlx::query(
        "UPDATE api_keys SET last_used_at = $2 WHERE id = $1 AND (last_used_at IS NULL OR last_used_at < $3)",
    )
    .bind(id)
    .bind(now)
    .bind(older_than)
    .execute(pool)
    .await?;
    Ok(())
}
