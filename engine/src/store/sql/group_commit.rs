//! Group commit of exchanges (issue 16: "1,000 sends cost a few commits, not 1,000").
//!
//! Every [`crate::store::ChatStore::begin_exchange`] goes through one of
//! [`Dialect::EXCHANGE_WRITERS`] queues, each drained by its own writer task
//! (SQLite has one writer; PostgreSQL commits in parallel), chosen by the
//! exchange's conversation. A writer takes every exchange waiting in its queue,
//! up to [`MAX_BATCH`], and stores them in one transaction, each inside its own
//! savepoint, so that a refused or failed exchange rolls back alone. An exchange is
//! answered only once the transaction holding it has committed: an `ack` never
//! runs ahead of durability.
//!
//! - **Alone** (the common case on a quiet node) an exchange is one plain
//!   transaction, exactly as before; the queue adds one channel hop and never
//!   waits for company.
//! - **Together**, the batch costs one `BEGIN` and one `COMMIT` (one WAL write,
//!   and on PostgreSQL one WAL flush) plus a `SAVEPOINT` and a `RELEASE` per
//!   exchange, instead of one commit each.
//! - **Failures**: if the transaction cannot begin or commit, every exchange in
//!   it gets that error, and so does every exchange queued behind it at that
//!   moment when the error says storage is unavailable, so that during an outage
//!   the waiting sends fail together instead of each waiting out a pool time-out
//!   in turn.
//! - **Order and locks**: a conversation's exchanges always go to the same
//!   writer, which writes them in the order they were queued, one batch at a
//!   time. So two sends to one conversation keep their order, and two batches
//!   running at once never lock the same conversation's rows: batches of several
//!   conversations each, committing in parallel on PostgreSQL, cannot deadlock
//!   on each other (seen in `storage::concurrent_writers_lose_nothing` when any
//!   writer took any exchange).

use std::hash::{BuildHasher, RandomState};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, OnceLock};

use sqlx::{Encode, Executor, FromRow, IntoArguments, Type};
use tokio::sync::{mpsc, oneshot};
use tracing::Instrument;

use super::tx::{Staged, Tx};
use super::{Dialect, SqlStore};
use crate::store::{
    ApiKeyRow, BotRow, ConversationRow, ExchangeOutcome, MessageRow, NewExchange, StoreError, StoreResult, UserRow,
};

/// The most exchanges one transaction takes. It bounds how long the batch holds
/// the writer (SQLite has one) from checkpoints and finished replies: about
/// 0.1–0.3 ms per exchange, so tens of milliseconds at most.
pub(super) const MAX_BATCH: usize = 128;

/// The savepoint each exchange of a batch runs in (savepoints nest by name, and
/// each is released or rolled back before the next begins).
const SAVEPOINT: &str = "exchange";

/// A store's queue of exchanges waiting for the writer, made on first use.
pub(super) type Queue = OnceLock<ExchangeQueue>;

/// The sending end of a store's exchange queue.
pub(crate) struct ExchangeQueue {
    /// One queue per writer; a conversation's exchanges always take the same.
    senders: Vec<mpsc::UnboundedSender<Pending>>,
    hasher: RandomState,
    counts: Arc<Counts>,
}

/// What the writer has done since the store opened.
#[derive(Default)]
struct Counts {
    transactions: AtomicU64,
    exchanges: AtomicU64,
}

/// One exchange waiting, with where its answer goes.
struct Pending {
    x: NewExchange,
    done: oneshot::Sender<StoreResult<ExchangeOutcome>>,
}

impl ExchangeQueue {
    /// Queues `x` and waits until it is stored (or refused). Errors: the store's
    /// errors, and [`StoreError::Unavailable`] once the store is closed.
    pub(super) async fn submit(&self, x: NewExchange) -> StoreResult<ExchangeOutcome> {
        let (done, answer) = oneshot::channel();
        let writer = self.hasher.hash_one((&x.owner_id, &x.conversation_id)) as usize % self.senders.len();
        self.senders[writer]
            .send(Pending { x, done })
            .map_err(|_| StoreError::Unavailable("the store is closed".into()))?;
        answer
            .await
            .map_err(|_| StoreError::Unavailable("the store's writer stopped".into()))?
    }
}

fn fail_all(batch: impl IntoIterator<Item = Pending>, e: &StoreError) {
    for p in batch {
        let _ = p.done.send(Err(e.clone()));
    }
}

impl<D> SqlStore<D>
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
    /// This store's exchange queue; the first call starts its [`Dialect::EXCHANGE_WRITERS`]
    /// writer tasks, which hold their own handles on the pools and end when the
    /// store is dropped.
    pub(super) fn exchange_queue(&self) -> &ExchangeQueue {
        self.exchanges.get_or_init(|| {
            let counts = Arc::new(Counts::default());
            let senders = (0..D::EXCHANGE_WRITERS.max(1))
                .map(|_| {
                    let (sender, receiver) = mpsc::unbounded_channel();
                    let writer = SqlStore::new(self.read().clone(), self.write().clone(), None);
                    tokio::spawn(writer.write_exchanges(receiver, counts.clone()));
                    sender
                })
                .collect();
            ExchangeQueue {
                senders,
                hasher: RandomState::new(),
                counts,
            }
        })
    }

    /// `(transactions, exchanges)`: how many transactions the exchange writers
    /// have run and how many exchanges they held, since the store opened (both
    /// 0 before the first exchange). Their ratio is the mean batch size.
    pub fn exchange_commits(&self) -> (u64, u64) {
        self.exchanges.get().map_or((0, 0), |q| {
            (
                q.counts.transactions.load(Ordering::Relaxed),
                q.counts.exchanges.load(Ordering::Relaxed),
            )
        })
    }

    /// A writer task: each turn takes what is waiting in its queue and stores it.
    async fn write_exchanges(self, mut receiver: mpsc::UnboundedReceiver<Pending>, counts: Arc<Counts>) {
        while let Some(first) = receiver.recv().await {
            let mut batch = vec![first];
            while batch.len() < MAX_BATCH {
                match receiver.try_recv() {
                    Ok(p) => batch.push(p),
                    Err(_) => break,
                }
            }
            counts.transactions.fetch_add(1, Ordering::Relaxed);
            counts.exchanges.fetch_add(batch.len() as u64, Ordering::Relaxed);
            let span = tracing::debug_span!("group_commit", exchanges = batch.len());
            if let Err(e) = self.store_batch(batch).instrument(span).await {
                // Storage is down: what queued meanwhile fails now, not in turn.
                fail_all(std::iter::from_fn(|| receiver.try_recv().ok()), &e);
            }
        }
    }

    /// Stores `batch` and answers each exchange. `Err` (after answering) when
    /// storage was unavailable, for [`Self::write_exchanges`] to fail the queue.
    async fn store_batch(&self, mut batch: Vec<Pending>) -> Result<(), StoreError> {
        if batch.len() == 1 {
            let Some(p) = batch.pop() else { return Ok(()) };
            let answer = self.store_one(&p.x).await;
            let outage = match &answer {
                Err(e @ StoreError::Unavailable(_)) => Some(e.clone()),
                _ => None,
            };
            let _ = p.done.send(answer);
            return outage.map_or(Ok(()), Err);
        }
        let mut tx = match self.write().begin().await {
            Ok(tx) => tx,
            Err(e) => {
                let e = StoreError::from(e);
                fail_all(batch, &e);
                return Err(e);
            }
        };
        let mut staged = Vec::with_capacity(batch.len());
        let mut waiting = batch.into_iter();
        while let Some(p) = waiting.next() {
            match Self::stage_in_savepoint(&mut tx, &p.x).await {
                Ok(s) => staged.push((p, s)),
                Err(e) => {
                    // The transaction itself broke: nothing of it is kept.
                    fail_all(staged.into_iter().map(|(p, _)| p).chain([p]).chain(waiting), &e);
                    return Err(e);
                }
            }
        }
        if let Err(e) = tx.commit().await {
            let e = StoreError::from(e);
            fail_all(staged.into_iter().map(|(p, _)| p), &e);
            return Err(e);
        }
        for (p, s) in staged {
            let answer = self.answer(&p.x, s).await;
            let _ = p.done.send(answer);
        }
        Ok(())
    }

    /// One exchange in one transaction of its own (the path of a quiet node).
    async fn store_one(&self, x: &NewExchange) -> StoreResult<ExchangeOutcome> {
        let mut tx = self.write().begin().await?;
        let staged = Self::exchange_in(&mut tx, x).await?;
        if matches!(staged, Staged::Written(_)) {
            tx.commit().await?;
        } else {
            drop(tx);
        }
        self.answer(x, Ok(staged)).await
    }

    /// Writes `x` inside a savepoint that is released when it is kept and rolled
    /// back otherwise. The outer `Err` means the transaction is broken; the
    /// inner one is this exchange's own failure, already rolled back.
    async fn stage_in_savepoint(tx: &mut Tx<D>, x: &NewExchange) -> StoreResult<StoreResult<Staged>> {
        Self::run(tx, &format!("SAVEPOINT {SAVEPOINT}")).await?;
        let staged = Self::exchange_in(tx, x).await;
        if !matches!(staged, Ok(Staged::Written(_))) {
            Self::run(tx, &format!("ROLLBACK TO SAVEPOINT {SAVEPOINT}")).await?;
        }
        Self::run(tx, &format!("RELEASE SAVEPOINT {SAVEPOINT}")).await?;
        Ok(staged)
    }

    async fn run(tx: &mut Tx<D>, sql: &str) -> StoreResult<()> {
        sqlx::query(sql).execute(&mut **tx).await?;
        Ok(())
    }

    /// The answer for a committed (or rolled back) exchange; a lost race is
    /// answered with the winner, as a duplicate.
    async fn answer(&self, x: &NewExchange, staged: StoreResult<Staged>) -> StoreResult<ExchangeOutcome> {
        match staged? {
            Staged::Written(outcome) | Staged::Undone(outcome) => Ok(outcome),
            Staged::Lost => {
                let user = self.race_winner(&x.owner_id, x.client_id.as_deref(), "message").await?;
                Ok(ExchangeOutcome::Duplicate { user })
            }
        }
    }
}
