//! The SQLite store: the embedded default.
//!
//! WAL mode so readers never wait for the writer, foreign keys on, a busy timeout,
//! and `synchronous = NORMAL`, which keeps every committed transaction across a
//! crash of the process (`kill -9`); only a power cut can lose the last commits.
//! All writes go through a pool of one connection: SQLite has one writer anyway,
//! and a single writer means a transaction that reads and then writes can never
//! fail on a lock upgrade, which `busy_timeout` does not cover.
//!
//! The writer never checkpoints the WAL itself (`wal_autocheckpoint = 0`): an
//! automatic checkpoint runs inside whichever commit crosses 1000 pages and
//! fsyncs the database there, which put several milliseconds on one message in
//! forty. A background task checkpoints passively once a second from a read
//! connection instead, off every request's path; `close` truncates the WAL.
//!
//! The chat's hot writes (an exchange, a reply's `streaming` mark, its
//! checkpoints and its end) go through group commit on that same connection
//! ([`super::sql::GroupCommit`]): one thread writes everything waiting in line
//! in one transaction, without a thread switch per statement.

use std::str::FromStr;
use std::time::Duration;

use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteQueryResult, SqliteSynchronous};
use sqlx::{Sqlite, SqlitePool};

use super::{Dialect, SqlStore, Statement, StoreError, StoreResult};

static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("../migrations/sqlite");

/// How often the background task moves the WAL into the database file.
const CHECKPOINT_EVERY: Duration = Duration::from_secs(1);

/// The SQLite store.
pub type SqliteStore = SqlStore<Sqlite>;

impl SqlStore<Sqlite> {
    /// Opens (creating if needed) the database at `url` (`sqlite:…`); a file
    /// that cannot be opened is [`StoreError::Unavailable`].
    pub async fn connect(url: &str) -> StoreResult<SqliteStore> {
        let opts = SqliteConnectOptions::from_str(url)
            .map_err(|e| StoreError::Other(format!("bad sqlite url: {e}")))?
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            .synchronous(SqliteSynchronous::Normal)
            .foreign_keys(true)
            .busy_timeout(Duration::from_secs(5))
            .pragma("temp_store", "memory")
            .optimize_on_close(true, None);
        // No ping before each acquire (sqlx's default): a SQLite connection is
        // a local file that cannot go stale, and the ping is a round trip to
        // the connection's thread, one per statement outside a transaction
        // (issue 16's profile of the 1,000-message burst: 6.5 % of the
        // runtime's samples were those pings).
        let write = SqlitePoolOptions::new()
            .max_connections(1)
            .test_before_acquire(false)
            .acquire_timeout(Duration::from_secs(10))
            .connect_with(opts.clone().pragma("wal_autocheckpoint", "0"))
            .await
            .map_err(|e| StoreError::Unavailable(format!("cannot open {url}: {e}")))?;
        let read = SqlitePoolOptions::new()
            .max_connections(super::pool_size())
            .test_before_acquire(false)
            .acquire_timeout(Duration::from_secs(10))
            .connect_with(opts)
            .await
            .map_err(|e| StoreError::Unavailable(format!("cannot open {url}: {e}")))?;
        let checkpointer = tokio::spawn(checkpoint_loop(read.clone()));
        let group = super::sql::GroupCommit::start(write.clone())
            .map_err(|e| StoreError::Unavailable(format!("cannot start the SQLite writer thread: {e}")))?;
        Ok(SqlStore::new(read, write, Some(checkpointer)).with_group_commit(group))
    }
}

impl Dialect for Sqlite {
    const BACKEND: &'static str = "sqlite";
    const TITLE_LIKE: &'static str = "LIKE";

    /// Message ids whose text matches every search word (prefix match), via FTS5.
    fn push_search(qb: &mut Statement, owner_id: &str, terms: &[String]) {
        qb.push(
            "c.id IN (SELECT m.conversation_id FROM messages_fts f JOIN messages m ON m.pos = f.rowid \
             WHERE messages_fts MATCH ",
        );
        qb.push_bind(fts_query(terms));
        qb.push(" AND m.owner_id = ");
        qb.push_bind(owner_id.to_string());
        qb.push(")");
    }

    fn rows_affected(result: &SqliteQueryResult) -> u64 {
        result.rows_affected()
    }

    async fn migrate(write: &SqlitePool) -> StoreResult<()> {
        MIGRATOR.run(write).await?;
        Ok(())
    }

    /// Folds the whole WAL into the database (the background checkpoints have
    /// stopped), so a stopped Brook leaves one self-contained file.
    async fn before_close(write: &SqlitePool) {
        if let Err(e) = sqlx::query("PRAGMA wal_checkpoint(TRUNCATE)").execute(write).await {
            tracing::warn!(error = %e, "final WAL checkpoint failed");
        }
    }
}

/// A passive checkpoint never blocks the writer or readers; pages a reader
/// still needs simply wait for the next round.
async fn checkpoint_loop(pool: SqlitePool) {
    let mut tick = tokio::time::interval(CHECKPOINT_EVERY);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tick.tick().await;
        if let Err(e) = sqlx::query("PRAGMA wal_checkpoint(PASSIVE)").execute(&pool).await {
            tracing::debug!(error = %e, "WAL checkpoint skipped");
        }
    }
}

/// Each word quoted (so nothing in it is FTS5 syntax) and prefix-matched.
fn fts_query(terms: &[String]) -> String {
    terms
        .iter()
        .map(|t| format!("\"{}\"*", t.replace('"', "\"\"")))
        .collect::<Vec<_>>()
        .join(" ")
}
