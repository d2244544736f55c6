//! The PostgreSQL store. Same schema and queries as SQLite (see `sql_common.rs`);
//! full-text search uses a GIN index on `to_tsvector('simple', content)`.

use std::time::Duration;

use async_trait::async_trait;
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use sqlx::PgPool;

use super::*;

type Db = sqlx::Postgres;
type This = PostgresStore;
const BACKEND: &str = "postgres";
const TITLE_LIKE: &str = "ILIKE";
static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("../migrations/postgres");

pub struct PostgresStore {
    pool: PgPool,
}

impl PostgresStore {
    pub async fn connect(url: &str) -> StoreResult<PostgresStore> {
        let opts: PgConnectOptions = url
            .parse()
            .map_err(|e| StoreError::Other(format!("bad postgres url: {e}")))?;
        let pool = PgPoolOptions::new()
            .max_connections(super::pool_size())
            .acquire_timeout(Duration::from_secs(10))
            .connect_with(opts)
            .await
            .map_err(|e| {
                StoreError::Unavailable(format!("cannot connect to {}: {e}", crate::config::redact_url(url)))
            })?;
        Ok(PostgresStore { pool })
    }

    fn read(&self) -> &PgPool {
        &self.pool
    }

    fn write(&self) -> &PgPool {
        &self.pool
    }

    /// Postgres needs nothing before its pool closes.
    async fn before_close(&self) {}
}

fn push_search(qb: &mut sqlx::QueryBuilder<'_, Db>, owner_id: &str, terms: &[String]) {
    qb.push("c.id IN (SELECT m.conversation_id FROM messages m WHERE m.owner_id = ");
    qb.push_bind(owner_id.to_string());
    qb.push(" AND to_tsvector('simple', m.content) @@ to_tsquery('simple', ");
    qb.push_bind(fts_query(terms));
    qb.push("))");
}

/// `word:* & word2:*`; the words are letters and digits only (see `search_terms`).
fn fts_query(terms: &[String]) -> String {
    terms.iter().map(|t| format!("{t}:*")).collect::<Vec<_>>().join(" & ")
}

include!("sql_common.rs");
