//! Who generates when.
//!
//! Each conversation generates its replies one at a time, in order, so every reply
//! sees the whole history before it; up to four more wait behind the running one.
//! An identity may have replies in flight in at most four conversations at once,
//! and the node generates at most `BROOK_MAX_ACTIVE_REPLIES` replies at a time
//! (more wait in line for a permit, and admission stops at four times that).
//!
//! Admission is a two-step affair so that every refusal comes before anything is
//! stored: [`Scheduler::reserve`] checks the limits and holds a place; the caller
//! stores the exchange and then [`Reservation::commit`]s the job, or drops the
//! reservation on failure, which gives the place back.

use std::collections::{HashMap, VecDeque};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use protocol::objects::FinishReason;
use protocol::{ErrorCode, MAX_ACTIVE_REPLIES_PER_IDENTITY, MAX_QUEUED_PER_CONVERSATION};
use tokio::sync::Semaphore;
use tokio_util::sync::CancellationToken;

use crate::error::Error;
use crate::hub::ReplyLog;
use crate::store::BotRow;

type Key = (String, String);

/// How a running or waiting reply is told to stop, and why.
pub struct Control {
    pub cancel: CancellationToken,
    reason: Mutex<FinishReason>,
}

impl Control {
    pub fn new_arc() -> Arc<Control> {
        Arc::new(Control {
            cancel: CancellationToken::new(),
            reason: Mutex::new(FinishReason::Stopped),
        })
    }
    pub fn stop(&self, reason: FinishReason) {
        if let Ok(mut r) = self.reason.lock() {
            if !self.cancel.is_cancelled() {
                *r = reason;
            }
        }
        self.cancel.cancel();
    }
    pub fn reason(&self) -> FinishReason {
        self.reason.lock().map(|r| *r).unwrap_or(FinishReason::Stopped)
    }
}

/// A reply waiting for, or having, its turn.
pub struct Job {
    pub log: Arc<ReplyLog>,
    pub bot: Option<BotRow>,
    /// Position of the user message it answers (the end of its context).
    pub user_pos: i64,
    /// The reply's own position: its place in the conversation's line (a line
    /// is kept in this order, on one node and, with Redis, across nodes).
    pub reply_pos: i64,
    pub user_content: String,
    /// The send created the conversation: the user message is its whole
    /// history, so the context is built without reading it back (one read
    /// fewer before the first token; issue 16).
    pub fresh: bool,
    pub origin_conn: Option<crate::hub::ConnId>,
    pub is_visitor: bool,
    pub control: Arc<Control>,
    /// The daily quota its tokens count against (`None`: unlimited).
    pub quota: Option<Arc<super::quota::QuotaScope>>,
    /// The model's stream, opened while the exchange committed (a new
    /// conversation's first reply; [`super::head_start`]).
    pub head_start: Option<super::head_start::HeadStart>,
}

#[derive(Default)]
struct Queue {
    running: Option<(String, Arc<Control>)>,
    waiting: VecDeque<Job>,
    reserved: usize,
    worker: bool,
}

#[derive(Default)]
struct State {
    queues: HashMap<Key, Queue>,
    per_owner: HashMap<String, usize>,
}

pub struct Scheduler {
    state: Arc<Mutex<State>>,
    permits: Option<Arc<Semaphore>>,
    admission_cap: usize,
    /// Replies holding a permit, and replies waiting for one (`/metrics`).
    active: Arc<AtomicUsize>,
    awaiting_permit: Arc<AtomicUsize>,
}

/// A reply's right to generate: counted in `brook_replies_active` while held.
pub struct Permit {
    _permit: Option<tokio::sync::OwnedSemaphorePermit>,
    active: Arc<AtomicUsize>,
}

impl Drop for Permit {
    fn drop(&mut self) {
        self.active.fetch_sub(1, Ordering::Relaxed);
    }
}

/// Decrements a counter when dropped (a wait that ended or was abandoned).
struct Waiting(Arc<AtomicUsize>);

impl Drop for Waiting {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::Relaxed);
    }
}

/// A held place in a conversation's queue.
pub struct Reservation {
    key: Option<Key>,
    state: Arc<Mutex<State>>,
    /// This place opened the conversation's line on this node: nothing was
    /// running, waiting or held in it.
    opened: bool,
}

/// What the caller must do after committing: start a worker for the conversation.
#[must_use]
pub enum Committed {
    StartWorker,
    Queued,
}

fn lock(state: &Mutex<State>) -> std::sync::MutexGuard<'_, State> {
    state.lock().unwrap_or_else(|p| p.into_inner())
}

/// Removes a queue with nothing left in it, and its owner's count.
fn prune(s: &mut State, key: &Key) {
    let empty = s
        .queues
        .get(key)
        .is_some_and(|q| q.running.is_none() && q.waiting.is_empty() && q.reserved == 0 && !q.worker);
    if empty {
        s.queues.remove(key);
        if let Some(n) = s.per_owner.get_mut(&key.0) {
            *n -= 1;
            if *n == 0 {
                s.per_owner.remove(&key.0);
            }
        }
    }
}

impl Drop for Reservation {
    fn drop(&mut self) {
        if let Some(key) = self.key.take() {
            let mut s = lock(&self.state);
            if let Some(q) = s.queues.get_mut(&key) {
                q.reserved -= 1;
            }
            prune(&mut s, &key);
        }
    }
}

impl Reservation {
    /// Whether this place opened the conversation's line on this node (no
    /// reply of it was running, waiting or being stored here).
    pub fn opened_line(&self) -> bool {
        self.opened
    }

    /// Puts the stored job in line. Returns whether a worker must be started.
    pub fn commit(mut self, job: Job) -> Committed {
        let Some(key) = self.key.take() else {
            return Committed::Queued;
        };
        let mut s = lock(&self.state);
        let q = s.queues.entry(key).or_default();
        q.reserved -= 1;
        // In position order: a reply taken over from a dead node may be older
        // than those acknowledged here.
        let at = q.waiting.partition_point(|j| j.reply_pos <= job.reply_pos);
        q.waiting.insert(at, job);
        if q.worker {
            Committed::Queued
        } else {
            q.worker = true;
            Committed::StartWorker
        }
    }
}

impl Scheduler {
    /// `max_active == 0`: no cap on generating replies.
    pub fn new(max_active: usize) -> Scheduler {
        Scheduler {
            state: Arc::new(Mutex::new(State::default())),
            permits: (max_active > 0).then(|| Arc::new(Semaphore::new(max_active))),
            admission_cap: max_active.saturating_mul(4),
            active: Arc::new(AtomicUsize::new(0)),
            awaiting_permit: Arc::new(AtomicUsize::new(0)),
        }
    }

    /// Checks the limits for one more reply in `(owner, conversation)` and holds a place.
    pub fn reserve(&self, owner: &str, conversation: &str) -> Result<Reservation, Error> {
        let key = (owner.to_string(), conversation.to_string());
        let mut s = lock(&self.state);
        // An empty line is pruned at once: one that is there holds something.
        let opened = match s.queues.get_mut(&key) {
            Some(q) => {
                if q.waiting.len() + q.reserved >= MAX_QUEUED_PER_CONVERSATION {
                    return Err(queue_full(q.running.as_ref().map(|(id, _)| id.clone())));
                }
                q.reserved += 1;
                false
            }
            None => {
                let mine = s.per_owner.get(owner).copied().unwrap_or(0);
                if mine >= MAX_ACTIVE_REPLIES_PER_IDENTITY {
                    return Err(identity_busy());
                }
                if self.admission_cap > 0 && s.queues.len() >= self.admission_cap {
                    return Err(Error::unavailable("the server is at its limit of generating replies"));
                }
                *s.per_owner.entry(owner.to_string()).or_default() += 1;
                s.queues.insert(
                    key.clone(),
                    Queue {
                        reserved: 1,
                        ..Default::default()
                    },
                );
                true
            }
        };
        Ok(Reservation {
            key: Some(key),
            state: self.state.clone(),
            opened,
        })
    }

    /// The next job of a conversation, marking it running; `None` ends the worker.
    pub fn next(&self, owner: &str, conversation: &str) -> Option<Job> {
        let key = (owner.to_string(), conversation.to_string());
        let mut s = lock(&self.state);
        let q = s.queues.get_mut(&key)?;
        q.running = None;
        match q.waiting.pop_front() {
            Some(job) => {
                q.running = Some((job.log.reply_id.clone(), job.control.clone()));
                Some(job)
            }
            None => {
                q.worker = false;
                prune(&mut s, &key);
                None
            }
        }
    }

    /// With several nodes: when a reply older than the running `job` waits in
    /// its conversation's line (one taken over from a dead node), that one runs
    /// first and `job` goes back in line; otherwise `job` is returned as it is.
    pub fn earlier_first(&self, job: Job) -> Job {
        let key = (job.log.owner_id.clone(), job.log.conversation_id.clone());
        let mut s = lock(&self.state);
        let Some(q) = s.queues.get_mut(&key) else {
            return job;
        };
        if q.waiting.front().is_none_or(|f| f.reply_pos >= job.reply_pos) {
            return job;
        }
        let Some(first) = q.waiting.pop_front() else {
            return job;
        };
        let at = q.waiting.partition_point(|j| j.reply_pos <= job.reply_pos);
        q.waiting.insert(at, job);
        q.running = Some((first.log.reply_id.clone(), first.control.clone()));
        first
    }

    /// Takes every reply waiting in line on this node out of it (a draining
    /// node hands them to another; none of them has started).
    pub fn take_waiting(&self) -> Vec<Job> {
        let mut s = lock(&self.state);
        s.queues.values_mut().flat_map(|q| q.waiting.drain(..)).collect()
    }

    /// A permit to generate (waits while the node is at `BROOK_MAX_ACTIVE_REPLIES`).
    pub async fn permit(&self) -> Permit {
        self.awaiting_permit.fetch_add(1, Ordering::Relaxed);
        let waiting = Waiting(self.awaiting_permit.clone());
        let permit = match &self.permits {
            None => None,
            Some(p) => p.clone().acquire_owned().await.ok(),
        };
        drop(waiting);
        self.active.fetch_add(1, Ordering::Relaxed);
        Permit {
            _permit: permit,
            active: self.active.clone(),
        }
    }

    /// A permit now, or `None` when the node is at `BROOK_MAX_ACTIVE_REPLIES`
    /// (or replies are waiting for one: they go first).
    pub fn try_permit(&self) -> Option<Permit> {
        let permit = match &self.permits {
            None => None,
            Some(p) => Some(p.clone().try_acquire_owned().ok()?),
        };
        self.active.fetch_add(1, Ordering::Relaxed);
        Some(Permit {
            _permit: permit,
            active: self.active.clone(),
        })
    }

    /// Replies generating now, and replies accepted but waiting (behind
    /// another reply of their conversation, or for a permit).
    pub fn replies(&self) -> (usize, usize) {
        let in_line: usize = lock(&self.state).queues.values().map(|q| q.waiting.len()).sum();
        (
            self.active.load(Ordering::Relaxed),
            in_line + self.awaiting_permit.load(Ordering::Relaxed),
        )
    }

    /// The reply generating in a conversation.
    pub fn running(&self, owner: &str, conversation: &str) -> Option<String> {
        let s = lock(&self.state);
        s.queues
            .get(&(owner.to_string(), conversation.to_string()))
            .and_then(|q| q.running.as_ref().map(|(id, _)| id.clone()))
    }

    /// Stops one reply: a running one is cancelled (its runner finishes it); a
    /// waiting one is taken out of line and returned for the caller to finish.
    pub fn stop(&self, owner: &str, conversation: &str, reply_id: &str, reason: FinishReason) -> Stopped {
        let key = (owner.to_string(), conversation.to_string());
        let mut s = lock(&self.state);
        let Some(q) = s.queues.get_mut(&key) else {
            return Stopped::NotRunning;
        };
        if let Some((id, control)) = &q.running {
            if id == reply_id {
                control.stop(reason);
                return Stopped::Cancelled;
            }
        }
        if let Some(i) = q.waiting.iter().position(|j| j.log.reply_id == reply_id) {
            let job = q.waiting.remove(i);
            return job.map_or(Stopped::NotRunning, |j| Stopped::Dequeued(Box::new(j)));
        }
        Stopped::NotRunning
    }

    /// Stops everything in a conversation (it is being deleted) or on the node
    /// (shutdown). Waiting jobs are returned for the caller to finish.
    pub fn stop_all(&self, filter: Option<(&str, &str)>, reason: FinishReason) -> Vec<Job> {
        let mut s = lock(&self.state);
        let mut out = Vec::new();
        for (key, q) in s.queues.iter_mut() {
            if let Some((o, c)) = filter {
                if key.0 != o || key.1 != c {
                    continue;
                }
            }
            if let Some((_, control)) = &q.running {
                control.stop(reason);
            }
            out.extend(q.waiting.drain(..));
        }
        out
    }

    /// Conversations with replies in flight on this node.
    pub fn in_flight(&self) -> usize {
        lock(&self.state).queues.len()
    }
}

/// `REPLY_IN_PROGRESS`: a reply generating and 4 more waiting (§3.2), with
/// the generating reply's id when known.
pub(crate) fn queue_full(running: Option<String>) -> Error {
    let mut e = Error::new(
        ErrorCode::ReplyInProgress,
        "this conversation already has a reply generating and 4 messages waiting",
    );
    if let Some(id) = running {
        e = e.with_reply(id);
    }
    e
}

/// `RATE_LIMITED`: replies already generating or queued in 4 conversations of
/// the identity (§3.2, `MAX_ACTIVE_REPLIES_PER_IDENTITY`).
pub(crate) fn identity_busy() -> Error {
    Error::new(
        ErrorCode::RateLimited,
        "4 replies are already generating for you; wait for one to finish",
    )
    .with_retry_after_ms(1000)
}

pub enum Stopped {
    Cancelled,
    Dequeued(Box<Job>),
    NotRunning,
}

#[cfg(test)]
#[path = "scheduler_tests.rs"]
mod tests;
