//! The SQL both stores share: one [`SqlStore`] generic over the sqlx database,
//! with its queries in one module per table and the few dialect differences
//! behind [`Dialect`] (implemented in `sqlite.rs` and `postgres.rs`).
//!
//! Both schemas keep the same column names and types (times as microseconds,
//! flags as 0/1, JSON as text) and every query uses `$N` placeholders, which both
//! databases accept, so each statement is written once. Every query binds its
//! parameters; none is built from input.
//!
//! Each `impl` block repeats the same `where` clause: sqlx's capabilities of a
//! database (executing on a connection, encoding a `&str`, decoding a row) are
//! bounds on other types, which Rust does not imply from a trait. For the two
//! databases Brook uses they always hold.

mod accounts;
mod bots;
mod chat;
mod columns;
mod conversations;
mod group_commit;
mod keys;
mod messages;
mod people;
mod statement;
mod tx;
mod writes;

use std::future::Future;

use async_trait::async_trait;
use sqlx::{Encode, Executor, FromRow, IntoArguments, Pool, Type};

pub(crate) use group_commit::GroupCommit;
pub use statement::Statement;

use super::{ApiKeyRow, BotRow, ConversationRow, Database, MessageRow, StoreResult, UserRow};

/// What differs between SQLite and PostgreSQL, for the shared queries.
pub trait Dialect: sqlx::Database {
    /// [`super::Database::backend`]: `sqlite` or `postgres`.
    const BACKEND: &'static str;
    /// The case-insensitive `LIKE` for title search (`LIKE` is already
    /// case-insensitive for ASCII in SQLite; PostgreSQL needs `ILIKE`).
    const TITLE_LIKE: &'static str;

    /// Pushes a condition matching conversations (alias `c`) of `owner_id` with a
    /// message containing every word of `terms` (prefix match), by full-text search.
    fn push_search(st: &mut Statement, owner_id: &str, terms: &[String]);

    /// How many rows a statement changed.
    fn rows_affected(result: &Self::QueryResult) -> u64;

    /// Applies pending migrations through the writer.
    fn migrate(write: &Pool<Self>) -> impl Future<Output = StoreResult<()>> + Send;

    /// Work before the pools close (SQLite folds its WAL into the database).
    fn before_close(write: &Pool<Self>) -> impl Future<Output = ()> + Send;
}

/// A SQL store: a reader pool and a writer pool (the same pool on PostgreSQL;
/// SQLite's writer is one connection), and an optional background task that
/// stops with the store.
pub struct SqlStore<D: Dialect> {
    read: Pool<D>,
    write: Pool<D>,
    background: Option<tokio::task::JoinHandle<()>>,
    /// SQLite's group commit of the chat's hot writes; `None` on PostgreSQL,
    /// whose writes run as their own transactions on a pool of connections.
    group: Option<GroupCommit>,
}

impl<D: Dialect> SqlStore<D> {
    pub(crate) fn new(read: Pool<D>, write: Pool<D>, background: Option<tokio::task::JoinHandle<()>>) -> Self {
        SqlStore {
            read,
            write,
            background,
            group: None,
        }
    }

    /// The same store with its hot writes going through `group`.
    pub(crate) fn with_group_commit(mut self, group: GroupCommit) -> Self {
        self.group = Some(group);
        self
    }

    fn read(&self) -> &Pool<D> {
        &self.read
    }

    fn write(&self) -> &Pool<D> {
        &self.write
    }

    async fn close_pools(&self) {
        if let Some(task) = &self.background {
            task.abort();
        }
        if let Some(g) = &self.group {
            g.close();
        }
        D::before_close(&self.write).await;
        self.write.close().await;
        self.read.close().await;
    }
}

impl<D: Dialect> Drop for SqlStore<D> {
    fn drop(&mut self) {
        if let Some(task) = &self.background {
            task.abort();
        }
    }
}

/// Keyset condition for newest-first conversation lists (alias `c`): strictly
/// after the cursor's row.
fn push_after(st: &mut Statement, c: &super::Cursor) {
    st.push(" AND (c.updated_at < ");
    st.push_bind(c.at);
    st.push(" OR (c.updated_at = ");
    st.push_bind(c.at);
    st.push(" AND c.id < ");
    st.push_bind(c.id.clone());
    st.push("))");
}

#[async_trait]
impl<D> Database for SqlStore<D>
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
    fn backend(&self) -> &'static str {
        D::BACKEND
    }

    async fn migrate(&self) -> StoreResult<()> {
        D::migrate(self.write()).await
    }

    async fn ping(&self) -> StoreResult<()> {
        sqlx::query("SELECT 1").execute(self.read()).await?;
        Ok(())
    }

    async fn close(&self) {
        self.close_pools().await;
    }
}
