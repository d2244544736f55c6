//! The PostgreSQL store. Same schema and queries as SQLite (see `sql/`);
//! full-text search uses a GIN index on `to_tsvector('simple', content)`.

use std::time::Duration;

use sqlx::postgres::{PgConnectOptions, PgPoolOptions, PgQueryResult};
use sqlx::{PgPool, Postgres};

use super::{Dialect, SqlStore, Statement, StoreError, StoreResult};

static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("../migrations/postgres");

/// The PostgreSQL store: one pool serves reads and writes.
pub type PostgresStore = SqlStore<Postgres>;

impl SqlStore<Postgres> {
    /// Connects to `url` (`postgres://…`); an unreachable server is
    /// [`StoreError::Unavailable`] (the URL is logged without its password).
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
        Ok(SqlStore::new(pool.clone(), pool, None))
    }
}

impl Dialect for Postgres {
    const BACKEND: &'static str = "postgres";
    const TITLE_LIKE: &'static str = "ILIKE";

    fn push_search(qb: &mut Statement, owner_id: &str, terms: &[String]) {
        qb.push("c.id IN (SELECT m.conversation_id FROM messages m WHERE m.owner_id = ");
        qb.push_bind(owner_id.to_string());
        qb.push(" AND to_tsvector('simple', m.content) @@ to_tsquery('simple', ");
        qb.push_bind(fts_query(terms));
        qb.push("))");
    }

    fn rows_affected(result: &PgQueryResult) -> u64 {
        result.rows_affected()
    }

    async fn migrate(write: &PgPool) -> StoreResult<()> {
        MIGRATOR.run(write).await?;
        Ok(())
    }

    /// Postgres needs nothing before its pool closes.
    async fn before_close(_write: &PgPool) {}
}

/// `word:* & word2:*`; the words are letters and digits only (see `search_terms`).
fn fts_query(terms: &[String]) -> String {
    terms.iter().map(|t| format!("{t}:*")).collect::<Vec<_>>().join(" & ")
}
