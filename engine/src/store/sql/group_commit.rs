//! Group commit for SQLite's hot writes (issue 16): every exchange, reply mark,
//! checkpoint and finished reply waiting in line is written by one thread in
//! one transaction, on the writer pool's one connection.
//!
//! Why: through sqlx each statement is a round trip to the connection's worker
//! thread, two thread switches at least, and a transaction holds the writer
//! across all of them while its task waits in the runtime's queue between
//! statements. An exchange is seven statements; 1,000 sends at once queued for
//! seconds. Here the writer thread takes the connection once per batch (sqlx's
//! [`sqlx::sqlite::SqliteConnection::lock_handle`], which guarantees sqlx's own
//! thread makes no call on the handle meanwhile), runs every write of the
//! batch as plain calls through rusqlite (`Connection::from_handle`, which
//! never closes the handle), commits once, and only then answers each waiter.
//!
//! Guarantees, the same as a transaction per write:
//! - **Durable before answered.** A write's answer (and so its `ack`) is sent
//!   only after the batch's `COMMIT` returned.
//! - **Each write is all or nothing.** Each runs inside its own `SAVEPOINT`; a
//!   write that fails, or decides to keep nothing (a repeated `client_id`, a
//!   conversation of another bot), is rolled back to it alone, and the others
//!   in the batch commit. A failed `COMMIT` fails every write of the batch.
//! - **Order.** Writes are applied in the order they were queued.
//! - **One writer.** The connection is the pool's only writer, so nothing else
//!   writes between a batch's statements and no second connection can meet a
//!   `SQLITE_BUSY`.
//!
//! A batch is at most [`MAX_BATCH`] writes: enough that 1,000 sends arriving
//! together take a handful of commits; few enough that the first in a batch
//! does not wait long for the last.

use std::sync::Mutex;

use rusqlite::types::ToSql;
use sqlx::SqlitePool;
use tokio::sync::{mpsc, oneshot};

use super::chat::{queued_reply, user_message};
use super::tx::Staged;
use super::writes::{
    read_advance_sql, read_stamp_sql, CHECKPOINT_REPLY, FINISH_REPLY, INSERT_MESSAGE, MESSAGE_BY_CLIENT_ID,
    MESSAGE_BY_ID, REPLY_STREAMING, TOUCH_CONVERSATION_RETURNING, UPSERT_CONVERSATION,
};
use crate::store::records::{ConversationRecord, MessageRecord};
use crate::store::{
    ConversationRow, ExchangeOutcome, FinishedReply, FinishedRows, MessageRow, NewExchange, ReadSide, StoreError,
    StoreResult,
};
use protocol::objects::ConversationMode;

/// The most writes one transaction takes.
pub(crate) const MAX_BATCH: usize = 256;

/// One queued write.
enum Write {
    Exchange(Box<NewExchange>),
    Streaming(String),
    Checkpoint {
        reply_id: String,
        content: String,
        seq: i64,
    },
    Finish(Box<FinishedReply>),
}

/// What a write did.
// One per write, moved once to its waiter; boxing the exchange's rows would only add an allocation.
#[allow(clippy::large_enum_variant)]
enum Done {
    Exchange(Staged),
    Updated,
    Finished(Option<FinishedRows>),
}

impl Done {
    /// Whether the write's changes are kept (otherwise its savepoint is rolled back).
    fn keep(&self) -> bool {
        !matches!(self, Done::Exchange(Staged::Undone(_) | Staged::Lost))
    }
}

struct Queued {
    write: Write,
    answer: oneshot::Sender<StoreResult<Done>>,
}

/// The queue in front of SQLite's writer thread. Dropping it (or [`Self::close`])
/// lets the thread finish what is queued and stop.
pub(crate) struct GroupCommit {
    queue: Mutex<Option<mpsc::UnboundedSender<Queued>>>,
}

impl GroupCommit {
    /// Starts the writer thread on `write`, the one-connection writer pool, with
    /// the current runtime (the thread drives sqlx's futures on it).
    pub(crate) fn start(write: SqlitePool) -> std::io::Result<GroupCommit> {
        let (tx, rx) = mpsc::unbounded_channel();
        let runtime = tokio::runtime::Handle::current();
        std::thread::Builder::new()
            .name("brook-sqlite-writer".into())
            .spawn(move || writer_thread(rx, write, runtime))?;
        Ok(GroupCommit {
            queue: Mutex::new(Some(tx)),
        })
    }

    /// No more writes: later ones fail as [`StoreError::Unavailable`]; queued
    /// ones are still written.
    pub(crate) fn close(&self) {
        if let Ok(mut q) = self.queue.lock() {
            q.take();
        }
    }

    async fn submit(&self, write: Write) -> StoreResult<Done> {
        let (answer, done) = oneshot::channel();
        let sent = match self.queue.lock() {
            Ok(q) => q.as_ref().is_some_and(|q| q.send(Queued { write, answer }).is_ok()),
            Err(_) => false,
        };
        if !sent {
            return Err(StoreError::Unavailable("the store is closed".into()));
        }
        done.await
            .map_err(|_| StoreError::Unavailable("the SQLite writer stopped".into()))?
    }

    /// [`super::SqlStore`]'s `exchange_in`, committed with the batch.
    pub(super) async fn exchange(&self, x: &NewExchange) -> StoreResult<Staged> {
        match self.submit(Write::Exchange(Box::new(x.clone()))).await? {
            Done::Exchange(s) => Ok(s),
            _ => Err(StoreError::Other("group commit answered another write".into())),
        }
    }

    pub(super) async fn reply_streaming(&self, reply_id: &str) -> StoreResult<()> {
        self.submit(Write::Streaming(reply_id.to_string())).await.map(drop)
    }

    pub(super) async fn checkpoint_reply(&self, reply_id: &str, content: &str, seq: i64) -> StoreResult<()> {
        let write = Write::Checkpoint {
            reply_id: reply_id.to_string(),
            content: content.to_string(),
            seq,
        };
        self.submit(write).await.map(drop)
    }

    pub(super) async fn finish_reply(&self, f: &FinishedReply) -> StoreResult<Option<FinishedRows>> {
        match self.submit(Write::Finish(Box::new(f.clone()))).await? {
            Done::Finished(c) => Ok(c),
            _ => Err(StoreError::Other("group commit answered another write".into())),
        }
    }
}

/// Takes what is queued (up to [`MAX_BATCH`]), writes it in one transaction,
/// answers each write, and waits for more; ends when the queue is closed and empty.
fn writer_thread(mut rx: mpsc::UnboundedReceiver<Queued>, write: SqlitePool, runtime: tokio::runtime::Handle) {
    let mut batch = Vec::with_capacity(MAX_BATCH);
    while let Some(first) = rx.blocking_recv() {
        batch.push(first);
        while batch.len() < MAX_BATCH {
            match rx.try_recv() {
                Ok(q) => batch.push(q),
                Err(_) => break,
            }
        }
        // A write whose waiter is gone (its request was dropped, or the runtime
        // is shutting down) is not written, as a dropped sqlx transaction rolls back.
        batch.retain(|q| !q.answer.is_closed());
        if batch.is_empty() {
            continue;
        }
        let span = tracing::debug_span!("group_commit", writes = batch.len());
        let _entered = span.enter();
        let (writes, answers): (Vec<Write>, Vec<_>) = batch.drain(..).map(|q| (q.write, q.answer)).unzip();
        // A panic must not stop the thread: every later write would fail.
        let written = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            runtime.block_on(write_batch(&write, &writes))
        }))
        .unwrap_or_else(|_| Err(StoreError::Other("the SQLite writer panicked".into())));
        match written {
            Ok(done) => {
                for (answer, d) in answers.into_iter().zip(done) {
                    let _ = answer.send(d);
                }
            }
            Err(e) => {
                tracing::warn!(error = %e, writes = writes.len(), "group commit failed");
                for answer in answers {
                    let _ = answer.send(Err(e.clone()));
                }
            }
        }
    }
}

/// One batch on the writer connection, held for its duration.
async fn write_batch(pool: &SqlitePool, writes: &[Write]) -> StoreResult<Vec<StoreResult<Done>>> {
    let mut conn = pool.acquire().await?;
    let mut locked = conn.lock_handle().await?;
    let handle = locked.as_raw_handle();
    // SAFETY: `locked` guarantees that sqlx's worker thread makes no call on
    // this handle (or its statements) until it is dropped, after `db`: `db`
    // finalizes the statements it prepared when it is dropped, and
    // `from_handle` never closes the handle. The connection is the writer
    // pool's, so it is open for as long as `conn` is held.
    let db = unsafe { rusqlite::Connection::from_handle(handle.as_ptr()) }.map_err(store_error)?;
    let out = in_transaction(&db, writes);
    drop(db);
    drop(locked);
    out
}

/// `BEGIN IMMEDIATE`, each write in its savepoint, `COMMIT`; on any failure of
/// the transaction itself, `ROLLBACK` (the connection goes back to sqlx idle).
fn in_transaction(db: &rusqlite::Connection, writes: &[Write]) -> StoreResult<Vec<StoreResult<Done>>> {
    let run = || -> rusqlite::Result<Vec<StoreResult<Done>>> {
        db.execute_batch("BEGIN IMMEDIATE")?;
        let mut out = Vec::with_capacity(writes.len());
        for w in writes {
            db.prepare_cached("SAVEPOINT brook_write")?.execute([])?;
            let done = apply(db, w);
            if !done.as_ref().is_ok_and(Done::keep) {
                db.prepare_cached("ROLLBACK TO brook_write")?.execute([])?;
            }
            db.prepare_cached("RELEASE brook_write")?.execute([])?;
            out.push(done);
        }
        db.execute_batch("COMMIT")?;
        Ok(out)
    };
    run().map_err(|e| {
        if !db.is_autocommit() {
            let _ = db.execute_batch("ROLLBACK");
        }
        store_error(e)
    })
}

fn apply(db: &rusqlite::Connection, w: &Write) -> StoreResult<Done> {
    match w {
        Write::Exchange(x) => exchange(db, x).map(Done::Exchange),
        Write::Streaming(id) => execute(db, REPLY_STREAMING, &[id]).map(|_| Done::Updated),
        Write::Checkpoint { reply_id, content, seq } => {
            execute(db, CHECKPOINT_REPLY, &[reply_id, content, seq]).map(|_| Done::Updated)
        }
        Write::Finish(f) => finish(db, f).map(Done::Finished),
    }
}

/// The port of `SqlStore::exchange_in` (`tx.rs`): the same statements, the
/// same outcomes.
fn exchange(db: &rusqlite::Connection, x: &NewExchange) -> StoreResult<Staged> {
    if let Some(cid) = &x.client_id {
        if let Some(user) = query_row(db, &MESSAGE_BY_CLIENT_ID, &[&x.owner_id, cid], message_row)? {
            return Ok(Staged::Undone(ExchangeOutcome::Duplicate { user }));
        }
    }
    let conversation = query_row(
        db,
        &UPSERT_CONVERSATION,
        &[&x.owner_id, &x.conversation_id, &x.bot_id, &x.title, &x.now, &x.preview],
        conversation_row,
    )?
    .ok_or_else(|| StoreError::Other("the conversation upsert returned no row".into()))?;
    if let Some(want) = &x.requested_bot_id {
        if *want != conversation.bot_id {
            return Ok(Staged::Undone(ExchangeOutcome::BotMismatch {
                bot_id: conversation.bot_id,
            }));
        }
    }
    let human = conversation.mode == ConversationMode::Human;
    let user = user_message(x, human);
    let user = match insert_message(db, &user) {
        Err(StoreError::Conflict(_)) => return Ok(Staged::Lost),
        other => MessageRow { pos: other?, ..user },
    };
    let side = ReadSide::Owner;
    let read = [&x.owner_id as &dyn ToSql, &x.conversation_id, &user.pos, &x.now];
    execute(db, read_stamp_sql(side), &read)?;
    execute(db, read_advance_sql(side), &read[..3])?;
    if human {
        return Ok(Staged::Written(ExchangeOutcome::StoredHuman { conversation, user }));
    }
    let reply = queued_reply(
        &x.reply_id,
        &x.owner_id,
        &x.conversation_id,
        &x.user_message_id,
        None,
        x.now,
    );
    let reply = MessageRow {
        pos: insert_message(db, &reply)?,
        ..reply
    };
    Ok(Staged::Written(ExchangeOutcome::Stored {
        conversation,
        user,
        reply,
    }))
}

/// The port of `finish_reply` (`chat.rs`).
fn finish(db: &rusqlite::Connection, f: &FinishedReply) -> StoreResult<Option<FinishedRows>> {
    let Some(stored) = query_row(db, &MESSAGE_BY_ID, &[&f.reply_id], message_row)? else {
        // Its conversation was deleted while it ran.
        return Ok(None);
    };
    let meta = f.merged_metadata(stored.metadata_value());
    execute(
        db,
        FINISH_REPLY,
        &[&f.reply_id, &f.content, &f.status.as_str(), &meta, &f.seq, &f.now],
    )?;
    let conversation = query_row(
        db,
        &TOUCH_CONVERSATION_RETURNING,
        &[&f.owner_id, &f.conversation_id, &f.now, &f.preview],
        conversation_row,
    )?;
    Ok(conversation.map(|conversation| FinishedRows {
        reply: f.applied_to(stored, meta),
        conversation,
    }))
}

fn insert_message(db: &rusqlite::Connection, m: &MessageRow) -> StoreResult<i64> {
    let values: [&dyn ToSql; 11] = [
        &m.id,
        &m.owner_id,
        &m.conversation_id,
        &m.role.as_str(),
        &m.content,
        &m.status.as_str(),
        &m.client_id,
        &m.reply_id,
        &m.in_reply_to,
        &m.metadata,
        &m.created_at,
    ];
    query_row(db, INSERT_MESSAGE, &values, |r| r.get::<_, i64>(0).map_err(store_error))?
        .ok_or_else(|| StoreError::Other("the message insert returned no pos".into()))
}

fn conversation_row(r: &rusqlite::Row<'_>) -> StoreResult<ConversationRow> {
    let record = ConversationRecord::from_sqlite(r).map_err(store_error)?;
    Ok(ConversationRow::try_from(record)?)
}

fn message_row(r: &rusqlite::Row<'_>) -> StoreResult<MessageRow> {
    let record = MessageRecord::from_sqlite(r).map_err(store_error)?;
    Ok(MessageRow::try_from(record)?)
}

/// A prepared (and cached for the batch) statement with `values` bound to its
/// `$N` placeholders by number, as sqlx binds them: SQLite numbers named
/// parameters by first appearance, which is not always `N`.
fn prepared<'c>(
    db: &'c rusqlite::Connection,
    sql: &str,
    values: &[&dyn ToSql],
) -> rusqlite::Result<rusqlite::CachedStatement<'c>> {
    let mut st = db.prepare_cached(sql)?;
    for i in 1..=st.parameter_count() {
        let n = st
            .parameter_name(i)
            .and_then(|name| name.strip_prefix('$'))
            .and_then(|n| n.parse::<usize>().ok())
            .filter(|n| (1..=values.len()).contains(n))
            .ok_or(rusqlite::Error::InvalidParameterCount(i, values.len()))?;
        st.raw_bind_parameter(i, values[n - 1])?;
    }
    Ok(st)
}

fn execute(db: &rusqlite::Connection, sql: &str, values: &[&dyn ToSql]) -> StoreResult<usize> {
    prepared(db, sql, values)
        .and_then(|mut st| st.raw_execute())
        .map_err(store_error)
}

/// The first row a statement returns, if any, read by `row`.
fn query_row<T>(
    db: &rusqlite::Connection,
    sql: &str,
    values: &[&dyn ToSql],
    row: impl FnOnce(&rusqlite::Row<'_>) -> StoreResult<T>,
) -> StoreResult<Option<T>> {
    let mut st = prepared(db, sql, values).map_err(store_error)?;
    let mut rows = st.raw_query();
    let first = match rows.next().map_err(store_error)? {
        Some(r) => Some(row(r)?),
        None => None,
    };
    // Step to the end: an `INSERT … RETURNING` or `UPDATE … RETURNING` is done
    // only once its statement has run to completion.
    while rows.next().map_err(store_error)?.is_some() {}
    Ok(first)
}

/// A rusqlite error as the store reports sqlx's (`StoreError::from`): a unique
/// violation is a conflict, a storage that cannot write now is unavailable,
/// a value the row cannot hold is corrupt.
fn store_error(e: rusqlite::Error) -> StoreError {
    use rusqlite::ffi;
    match &e {
        rusqlite::Error::SqliteFailure(f, _)
            if matches!(
                f.extended_code,
                ffi::SQLITE_CONSTRAINT_UNIQUE | ffi::SQLITE_CONSTRAINT_PRIMARYKEY
            ) =>
        {
            StoreError::Conflict(e.to_string())
        }
        rusqlite::Error::SqliteFailure(f, _) if crate::store::cannot_write_now(&f.extended_code.to_string()) => {
            StoreError::Unavailable(format!("{e} (code {})", f.extended_code))
        }
        rusqlite::Error::FromSqlConversionFailure(..)
        | rusqlite::Error::InvalidColumnType(..)
        | rusqlite::Error::IntegralValueOutOfRange(..) => StoreError::Corrupt(e.to_string()),
        _ => StoreError::Other(e.to_string()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn text(r: &rusqlite::Row<'_>) -> StoreResult<String> {
        r.get::<_, String>(0).map_err(store_error)
    }

    /// SQLite numbers `$N` by first appearance; the writes bind by `N`, as sqlx does.
    #[test]
    fn placeholders_bind_by_number_not_by_appearance() {
        let db = rusqlite::Connection::open_in_memory().unwrap();
        let got = query_row(
            &db,
            "SELECT $3 || $1 || $2 || $1",
            &[&"a" as &dyn ToSql, &"b", &"c"],
            text,
        )
        .unwrap();
        assert_eq!(got.as_deref(), Some("caba"));
        let missing = query_row(&db, "SELECT $2", &[&"a" as &dyn ToSql], text);
        assert!(matches!(missing, Err(StoreError::Other(_))), "{missing:?}");
    }

    /// `in_transaction` itself: a write that fails after its first statement
    /// is rolled back alone (its savepoint), the batch's other writes commit,
    /// each answer stays in its write's place, and the connection is left
    /// outside any transaction.
    #[test]
    fn a_failed_write_is_undone_alone() {
        let db = rusqlite::Connection::open_in_memory().unwrap();
        // The columns a finish reads and touches; the CHECK fails a finish's last statement.
        db.execute_batch(
            "CREATE TABLE messages (pos INTEGER PRIMARY KEY, id TEXT UNIQUE, owner_id TEXT, \
             conversation_id TEXT, role TEXT, status TEXT, seq INTEGER, content TEXT, metadata TEXT, \
             finished_at INTEGER, superseded INTEGER DEFAULT 0, client_id TEXT, reply_id TEXT, \
             in_reply_to TEXT, created_at INTEGER DEFAULT 0, read_at INTEGER, feedback TEXT); \
             CREATE TABLE conversations (owner_id TEXT, id TEXT, bot_id TEXT, title TEXT, created_at INTEGER, \
             updated_at INTEGER, last_message_preview TEXT CHECK (last_message_preview <> 'boom'), \
             mode TEXT, owner_read_pos INTEGER, operator_read_pos INTEGER); \
             INSERT INTO conversations VALUES ('u', 'c', 'b', 't', 0, 0, NULL, 'ai', 0, 0); \
             INSERT INTO messages (id, owner_id, conversation_id, role, status, seq, content, metadata) VALUES \
             ('a', 'u', 'c', 'assistant', 'streaming', 0, '', '{}'), \
             ('b', 'u', 'c', 'assistant', 'streaming', 0, '', '{}')",
        )
        .unwrap();
        let finish = |id: &str, preview: &str| {
            Write::Finish(Box::new(FinishedReply {
                reply_id: id.into(),
                owner_id: "u".into(),
                conversation_id: "c".into(),
                content: format!("{id} done"),
                status: protocol::objects::MessageStatus::Complete,
                metadata: serde_json::json!({}),
                seq: 1,
                now: 10,
                preview: Some(preview.into()),
            }))
        };
        let writes = [finish("a", "fine"), finish("b", "boom")];
        let done = in_transaction(&db, &writes).unwrap();
        match &done[0] {
            Ok(Done::Finished(Some(rows))) => {
                assert_eq!(
                    (rows.reply.content.as_str(), rows.reply.finished_at),
                    ("a done", Some(10))
                );
                assert_eq!(rows.conversation.last_message_preview.as_deref(), Some("fine"));
            }
            _ => panic!("the first finish is stored"),
        }
        assert!(done[1].is_err(), "the second finish's touch fails");
        assert!(db.is_autocommit(), "the batch's transaction is over");
        let rows = query_row(
            &db,
            "SELECT group_concat(id || ':' || status, ' ') FROM messages",
            &[],
            text,
        );
        assert_eq!(
            rows.unwrap().as_deref(),
            Some("a:complete b:streaming"),
            "b's update is undone with its failed touch; a's is kept"
        );
    }

    /// A unique violation is a conflict, as sqlx reports it.
    #[test]
    fn a_unique_violation_is_a_conflict() {
        let db = rusqlite::Connection::open_in_memory().unwrap();
        db.execute_batch("CREATE TABLE t (id TEXT PRIMARY KEY); INSERT INTO t VALUES ('x')")
            .unwrap();
        let clash = execute(&db, "INSERT INTO t VALUES ($1)", &[&"x" as &dyn ToSql]);
        assert!(matches!(clash, Err(StoreError::Conflict(_))), "{clash:?}");
    }
}
