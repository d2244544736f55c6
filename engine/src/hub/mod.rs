//! The reply hub: where replies' numbered logs live and where live events are
//! fanned out to connections.
//!
//! A [`ReplyLog`] belongs to no connection. Every transport (WebSocket, SSE, long
//! poll, the plain JSON endpoint) is a reader of it from some offset, so resume,
//! several tabs and late joiners are one operation: read from N, then wait.
//!
//! Connections register an *inbox* (a bounded channel of [`Event`]s) under their
//! identity and the conversations they join. Publishing never waits: an inbox that
//! is full belongs to a client that stopped reading, and that connection is told
//! to close (`slow consumer`) instead of slowing the publisher or anyone else.
//!
//! This is the in-process fast path. With `REDIS_URL` the registry also hands
//! every event to the cluster bus ([`crate::cluster`]) and copies of replies
//! generated elsewhere ([`ReplyLog::mirror`]) sit here beside the local ones.
//!
//! What the rest of the engine may rely on is written on the seam's traits,
//! [`ReplyLogs`] and [`LiveEvents`], which [`Hub`] implements.

mod cluster_hook;
mod log;
mod registry;
mod seam;

pub use cluster_hook::{ClusterHook, Target};
pub use log::{Entry, EntryKind, Filter, Follower, LogRead, ReplyLog, ReplyState};
pub use registry::{ConnId, ConnWatcher, Event, Inbox, Registry, Subscription, TooManyConnections, Transport};
pub use seam::{LiveEvents, ReplyLogs};

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// Logs by reply id.
type Logs = Mutex<HashMap<String, Arc<ReplyLog>>>;

/// Every live or recently finished reply on this node, by id, and the
/// registry of connections.
pub struct Hub {
    replies: Arc<Logs>,
    pub registry: Registry,
    retention: Duration,
}

impl Hub {
    pub fn new(retention: Duration, max_connections_per_identity: usize) -> Hub {
        Hub {
            replies: Arc::default(),
            registry: Registry::new(max_connections_per_identity),
            retention,
        }
    }

    /// Registers the log of a reply that has just been acknowledged.
    pub fn insert(&self, log: Arc<ReplyLog>) {
        self.replies
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .insert(log.reply_id.clone(), log);
    }

    /// Registers `log` unless a log of the same reply is there; returns the one held.
    pub fn insert_if_absent(&self, log: Arc<ReplyLog>) -> Arc<ReplyLog> {
        self.replies
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .entry(log.reply_id.clone())
            .or_insert(log)
            .clone()
    }

    pub fn reply(&self, reply_id: &str) -> Option<Arc<ReplyLog>> {
        self.replies
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .get(reply_id)
            .cloned()
    }

    /// Drops a reply's log at once (a reply handed to another node).
    pub fn forget(&self, reply_id: &str) {
        remove(&self.replies, reply_id);
    }

    /// Keeps a finished reply's log for the retention period, then drops it; after
    /// that, `resume` answers from storage.
    pub fn retire(&self, reply_id: String) {
        if self.retention.is_zero() {
            remove(&self.replies, &reply_id);
            return;
        }
        let logs = Arc::downgrade(&self.replies);
        let after = self.retention;
        tokio::spawn(async move {
            tokio::time::sleep(after).await;
            if let Some(logs) = logs.upgrade() {
                remove(&logs, &reply_id);
            }
        });
    }

    /// Number of logs held (finished ones included), for metrics.
    pub fn held(&self) -> usize {
        self.replies.lock().map(|m| m.len()).unwrap_or(0)
    }
}

fn remove(logs: &Logs, reply_id: &str) {
    logs.lock().unwrap_or_else(|p| p.into_inner()).remove(reply_id);
}
