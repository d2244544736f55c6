//! The connection limit per identity across nodes
//! (`BROOK_MAX_CONNECTIONS_PER_IDENTITY`, contract §1 and §3.1).
//!
//! Each identity has a sorted set `{prefix}{u:<user_id>}:conns` in Redis:
//! one member per open connection (`<node_id>:<conn_id>`), scored by the
//! Redis-clock millisecond at which it stops counting. A connection is added
//! by [`Cluster::admit_connection`] (one script: drop the expired members,
//! count, add when under the limit — atomic, so two nodes admitting at once
//! cannot both take the last place), kept alive by each node's heartbeat (one
//! script per identity with connections on the node, every `ttl / 3`) and
//! removed when it closes (`ZREM`).
//!
//! Guarantee: with Redis answering, the connections of an identity counted
//! cluster-wide are those open on live nodes plus those of a node that died
//! less than `ttl` ago (`BROOK_CONNECTION_TTL_SECS`, 15 s): a dead node's
//! members are not refreshed and stop counting by themselves. When Redis does
//! not answer within 500 ms, or is known to be away, the node's own count
//! decides (fail open); such connections join the set at the node's next
//! heartbeat, as do all of a node's connections after Redis lost its data.

use std::collections::{HashMap, HashSet};
use std::time::Duration;

use super::limits::CHECK_TIMEOUT;
use super::Cluster;
use crate::hub::ConnId;

/// Drops expired members, counts, and adds `ARGV[1]` (score: now + `ARGV[3]`
/// ms) unless `ARGV[2] > 0` members already count. Returns `{admitted, count}`.
const ADMIT: &str = r#"
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now)
local n = redis.call('ZCARD', KEYS[1])
local cap = tonumber(ARGV[2])
if cap > 0 and n >= cap and not redis.call('ZSCORE', KEYS[1], ARGV[1]) then
  return {0, n}
end
redis.call('ZADD', KEYS[1], now + tonumber(ARGV[3]), ARGV[1])
redis.call('PEXPIRE', KEYS[1], tonumber(ARGV[3]))
return {1, redis.call('ZCARD', KEYS[1])}
"#;

/// The members that still count (score after now).
const COUNT: &str = r#"
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
return redis.call('ZCOUNT', KEYS[1], '(' .. now, '+inf')
"#;

/// Sets every member in `ARGV[2..]` to expire `ARGV[1]` ms from now (adding
/// those Redis lost), and the set with them.
const HEARTBEAT: &str = r#"
local t = redis.call('TIME')
local until_ms = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000) + tonumber(ARGV[1])
for i = 2, #ARGV do
  redis.call('ZADD', KEYS[1], until_ms, ARGV[i])
end
redis.call('PEXPIRE', KEYS[1], tonumber(ARGV[1]))
return 0
"#;

/// This node's connections as counted in Redis: per identity, its connection ids.
#[derive(Default)]
pub(super) struct Counted {
    by_owner: HashMap<String, HashSet<ConnId>>,
}

/// What Redis said of a new connection.
#[derive(Debug, PartialEq, Eq)]
pub enum Verdict {
    /// Counted; `count` connections of the identity count cluster-wide now.
    Admitted { count: u64 },
    /// The identity already has `count` connections cluster-wide.
    Refused { count: u64 },
    /// Redis did not answer in time (or there is no limit): the node's own
    /// count decided.
    Unknown,
}

impl Cluster {
    fn member(&self, conn: ConnId) -> String {
        format!("{}:{conn}", self.node_id)
    }

    fn counted(&self) -> std::sync::MutexGuard<'_, Counted> {
        self.counted.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Counts a connection of `owner` that this node's own limit admitted
    /// against every node's; [`Verdict::Refused`] when the identity is at
    /// `BROOK_MAX_CONNECTIONS_PER_IDENTITY` cluster-wide. One Redis round trip,
    /// at most [`CHECK_TIMEOUT`].
    #[tracing::instrument(skip(self), level = "debug")]
    pub async fn admit_connection(&self, owner: &str, conn: ConnId) -> Verdict {
        let max = self.limits.max_connections_per_identity;
        if max == 0 {
            return Verdict::Unknown;
        }
        let verdict = if self.healthy() {
            let mut cmd = redis::cmd("EVAL");
            cmd.arg(ADMIT)
                .arg(1)
                .arg(self.keys.connections(owner))
                .arg(self.member(conn))
                .arg(max)
                .arg(self.ttl_ms());
            let mut q = self.query.clone();
            match tokio::time::timeout(CHECK_TIMEOUT, cmd.query_async::<(u64, u64)>(&mut q)).await {
                Ok(Ok((1, count))) => Verdict::Admitted { count },
                Ok(Ok((_, count))) => Verdict::Refused { count },
                _ => Verdict::Unknown,
            }
        } else {
            Verdict::Unknown
        };
        if !matches!(verdict, Verdict::Refused { .. }) {
            self.counted()
                .by_owner
                .entry(owner.to_string())
                .or_default()
                .insert(conn);
        }
        verdict
    }

    /// Whether `owner` has room for one more connection cluster-wide (a look
    /// before a WebSocket upgrade; [`Self::admit_connection`] decides). `true`
    /// when Redis does not answer in time.
    pub async fn connection_room(&self, owner: &str) -> bool {
        let max = self.limits.max_connections_per_identity;
        if max == 0 || !self.healthy() {
            return true;
        }
        let mut cmd = redis::cmd("EVAL");
        cmd.arg(COUNT).arg(1).arg(self.keys.connections(owner));
        let mut q = self.query.clone();
        match tokio::time::timeout(CHECK_TIMEOUT, cmd.query_async::<u64>(&mut q)).await {
            Ok(Ok(n)) => n < max as u64,
            _ => true,
        }
    }

    /// A connection of `owner` closed: it stops counting (no answer awaited).
    pub(super) fn connection_gone(&self, owner: &str, conn: ConnId) {
        let mut counted = self.counted();
        let Some(set) = counted.by_owner.get_mut(owner) else {
            return;
        };
        if !set.remove(&conn) {
            return;
        }
        if set.is_empty() {
            counted.by_owner.remove(owner);
        }
        let mut cmd = redis::cmd("ZREM");
        cmd.arg(self.keys.connections(owner)).arg(self.member(conn));
        // Queued under the lock: a heartbeat cannot put it back after this.
        self.bus.send(cmd);
    }

    fn ttl_ms(&self) -> u64 {
        self.limits.connection_ttl.as_millis().max(1) as u64
    }

    /// Renews every connection this node counts, one script per identity, in
    /// the node's command order (after any `ZREM` queued before).
    fn heartbeat(&self) {
        let counted = self.counted();
        for (owner, conns) in &counted.by_owner {
            let mut cmd = redis::cmd("EVAL");
            cmd.arg(HEARTBEAT)
                .arg(1)
                .arg(self.keys.connections(owner))
                .arg(self.ttl_ms());
            for c in conns {
                cmd.arg(self.member(*c));
            }
            self.bus.send(cmd);
        }
    }
}

/// Renews this node's connections every third of their time to live.
pub(super) async fn heartbeat_loop(cluster: std::sync::Weak<Cluster>) {
    let every = match cluster.upgrade() {
        Some(c) => (c.limits.connection_ttl / 3).max(Duration::from_millis(100)),
        None => return,
    };
    loop {
        tokio::time::sleep(every).await;
        let Some(c) = cluster.upgrade() else {
            return;
        };
        if c.limits.max_connections_per_identity > 0 {
            c.heartbeat();
        }
    }
}
