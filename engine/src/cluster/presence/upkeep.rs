//! What keeps shared presence true when nodes die and Redis forgets: the node's
//! heartbeat, the sweep of grace periods that ran out, and the sweep of dead
//! nodes' shares.
//!
//! Timings (decisions.md, presence across nodes): a node's key lives
//! [`NODE_TTL`] and is renewed every [`HEARTBEAT`]; dead nodes are looked for
//! every [`DEAD_EVERY`], so a dead node's visitors lose its share within about
//! 12 s and go offline the grace period after that. Grace periods are swept
//! every quarter of the grace (between 100 ms and 1 s).

use std::sync::atomic::Ordering;
use std::sync::Weak;
use std::time::{Duration, Instant};

use protocol::objects::PresenceStatus;

use super::{subject_of, SharedPresence};
use crate::time::now_micros;

pub const NODE_TTL: Duration = Duration::from_secs(10);
pub const HEARTBEAT: Duration = Duration::from_secs(3);
pub const DEAD_EVERY: Duration = Duration::from_secs(2);
/// Most grace periods ended per sweep.
const BATCH: usize = 200;

fn sweep_every(grace: Duration) -> Duration {
    (grace / 4).clamp(Duration::from_millis(100), Duration::from_secs(1))
}

pub(super) async fn run(shared: Weak<SharedPresence>) {
    let Some(grace) = shared.upgrade().map(|s| s.grace) else {
        return;
    };
    let tick = sweep_every(grace);
    let mut last_beat: Option<Instant> = None;
    let mut last_dead = Instant::now();
    let mut healthy_since: Option<Instant> = None;
    loop {
        let Some(s) = shared.upgrade() else {
            return;
        };
        if last_beat.is_none_or(|t| t.elapsed() >= HEARTBEAT) {
            last_beat = Some(Instant::now());
            if let Err(e) = s.heartbeat().await {
                tracing::warn!(error = %e, "presence heartbeat failed");
            }
        }
        if let Err(e) = s.sweep_due().await {
            tracing::debug!(error = %e, "presence sweep failed");
        }
        if !s.cluster.healthy() {
            healthy_since = None;
        } else if healthy_since.get_or_insert_with(Instant::now).elapsed() >= NODE_TTL
            && last_dead.elapsed() >= DEAD_EVERY
        {
            // Only once Redis answered for a whole TTL: keys that expired during
            // an outage belong to nodes that could not renew, not to dead ones.
            last_dead = Instant::now();
            if let Err(e) = s.sweep_dead().await {
                tracing::warn!(error = %e, "presence: sweeping dead nodes failed");
            }
        }
        drop(s);
        tokio::time::sleep(tick).await;
    }
}

impl SharedPresence {
    fn node_key(&self, node: &str) -> String {
        self.key("pnode", node)
    }

    fn nodes_key(&self) -> String {
        self.cluster.keys.presence("pnodes", "")
    }

    /// Renews the node's key. When it was gone (Redis restarted, or the others
    /// took this node for dead) or an update failed, writes every share again.
    async fn heartbeat(&self) -> redis::RedisResult<()> {
        let node = self.cluster.node_id.clone();
        let mut conn = self.cluster.query.clone();
        let (_, before): (i64, Option<String>) = redis::pipe()
            .cmd("SADD")
            .arg(self.nodes_key())
            .arg(&node)
            .cmd("PEXPIRE")
            .arg(self.nodes_key())
            .arg(super::KEEP.as_millis() as u64)
            .ignore()
            .cmd("SET")
            .arg(self.node_key(&node))
            .arg(1)
            .arg("PX")
            .arg(NODE_TTL.as_millis() as u64)
            .arg("GET")
            .query_async(&mut conn)
            .await?;
        let stale = self.stale.swap(false, Ordering::Relaxed);
        if before.is_none() || stale {
            for subject in self.local.subjects() {
                self.touch(subject);
            }
        }
        Ok(())
    }

    /// Ends the grace periods that ran out, whichever node started them.
    async fn sweep_due(&self) -> redis::RedisResult<()> {
        let now_ms = now_micros() / 1000;
        let mut conn = self.cluster.query.clone();
        let due: Vec<String> = redis::cmd("ZRANGEBYSCORE")
            .arg(self.due_key())
            .arg("-inf")
            .arg(now_ms)
            .arg("LIMIT")
            .arg(0)
            .arg(BATCH)
            .query_async(&mut conn)
            .await?;
        for member in due {
            self.expire(&member, now_ms).await?;
        }
        Ok(())
    }

    /// Drops the shares of nodes whose key expired.
    async fn sweep_dead(&self) -> redis::RedisResult<()> {
        let mut conn = self.cluster.query.clone();
        let nodes: Vec<String> = redis::cmd("SMEMBERS")
            .arg(self.nodes_key())
            .query_async(&mut conn)
            .await?;
        let others: Vec<String> = nodes.into_iter().filter(|n| *n != self.cluster.node_id).collect();
        if others.is_empty() {
            return Ok(());
        }
        let mut pipe = redis::pipe();
        for n in &others {
            pipe.cmd("EXISTS").arg(self.node_key(n));
        }
        let alive: Vec<bool> = pipe.query_async(&mut conn).await?;
        for (node, alive) in others.iter().zip(alive) {
            if alive {
                continue;
            }
            let held: Vec<String> = redis::cmd("SMEMBERS")
                .arg(self.key("pn", node))
                .query_async(&mut conn)
                .await?;
            tracing::warn!(node = %node, subjects = held.len(), "presence of a node that is gone dropped");
            for member in held {
                if let Some(subject) = subject_of(&member, "") {
                    self.sync(&subject, node, PresenceStatus::Offline).await?;
                }
            }
            redis::pipe()
                .cmd("DEL")
                .arg(self.key("pn", node))
                .cmd("SREM")
                .arg(self.nodes_key())
                .arg(node)
                .query_async::<()>(&mut conn)
                .await?;
        }
        Ok(())
    }
}
