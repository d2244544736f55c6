//! Leases on replies (contract §8): a node holds `{prefix}{r:<reply_id>}:lease`
//! from the reply's acknowledgement until it is finished, renewing it while it
//! lives; every node sweeps storage for `queued`/`streaming` replies whose lease
//! is gone, marks them `interrupted` (keeping the checkpointed text) and appends
//! their `complete` to the reply's Stream, where every listener reads it.
//!
//! Timings (decisions.md, issue 13): a lease lives [`LEASE_TTL`] and is renewed
//! every [`RENEW_EVERY`]; the sweep runs every [`SWEEP_EVERY`]; so a reply of a
//! node that died is marked within `LEASE_TTL + SWEEP_EVERY` (≤ 12 s), inside the
//! issue's 15 s.

use std::sync::{Arc, Weak};
use std::time::{Duration, Instant};

use protocol::objects::MessageStatus;
use redis::Value;

use super::bus::Bus;
use super::Cluster;
use crate::chat::runner::Runner;
use crate::time::now_micros;

pub const LEASE_TTL: Duration = Duration::from_secs(10);
pub const RENEW_EVERY: Duration = Duration::from_secs(3);
pub const SWEEP_EVERY: Duration = Duration::from_secs(2);
/// A reply younger than this is not swept: its lease may be on its way.
const YOUNG: Duration = Duration::from_secs(3);

impl Cluster {
    pub(super) fn lease_key(&self, reply_id: &str) -> String {
        self.keys.lease(reply_id)
    }

    fn set_lease(&self, reply_id: &str) {
        let mut cmd = redis::cmd("SET");
        cmd.arg(self.lease_key(reply_id))
            .arg(&self.node_id)
            .arg("PX")
            .arg(LEASE_TTL.as_millis() as u64);
        self.bus.send(cmd);
    }

    /// Takes the lease of a reply this node acknowledged.
    pub fn hold(&self, reply_id: &str) {
        self.held
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .insert(reply_id.to_string());
        self.set_lease(reply_id);
    }

    /// Gives the lease back: the reply is stored finished.
    pub fn release(&self, reply_id: &str) {
        self.held.lock().unwrap_or_else(|p| p.into_inner()).remove(reply_id);
        let mut cmd = redis::cmd("DEL");
        cmd.arg(self.lease_key(reply_id));
        self.bus.send(cmd);
    }

    /// Hands a reply this node has not started to another node: the lease is
    /// released and the other nodes are told at once (`{prefix}stop`, after
    /// the `DEL` on the same connection), so one of them claims it now rather
    /// than after [`LEASE_TTL`]; if that message is lost, the next sweep of
    /// another node finds the reply without a lease (within [`SWEEP_EVERY`]).
    pub fn hand_over(&self, reply_id: &str) {
        self.release(reply_id);
        self.bus.publish(
            &super::bus::Topic::Stop,
            super::bus::Body::HandOver {
                reply_id: reply_id.to_string(),
            },
        );
    }

    /// The node drains (SIGTERM): from now on its sweep takes over nothing.
    pub fn start_draining(&self) {
        self.draining.store(true, std::sync::atomic::Ordering::Relaxed);
    }

    pub fn draining(&self) -> bool {
        self.draining.load(std::sync::atomic::Ordering::Relaxed)
    }

    /// Replies whose lease is held here now.
    pub fn held(&self) -> usize {
        self.held.lock().map(|h| h.len()).unwrap_or(0)
    }
}

pub(super) async fn renew_loop(cluster: Weak<Cluster>) {
    loop {
        tokio::time::sleep(RENEW_EVERY).await;
        let Some(c) = cluster.upgrade() else {
            return;
        };
        let ids: Vec<String> = c.held.lock().map(|h| h.iter().cloned().collect()).unwrap_or_default();
        for id in ids {
            c.set_lease(&id);
        }
    }
}

/// Every node sweeps; the database's conditional update lets one of them win.
/// A node sweeps only after Redis answered for a whole lease period, so that
/// leases not renewed during an outage are not taken for dead nodes.
pub(super) async fn sweep_loop(cluster: Weak<Cluster>, engine: Weak<Runner>) {
    let mut healthy_since: Option<Instant> = None;
    loop {
        tokio::time::sleep(SWEEP_EVERY).await;
        let (Some(c), Some(engine)) = (cluster.upgrade(), engine.upgrade()) else {
            return;
        };
        if !c.healthy() {
            healthy_since = None;
            continue;
        }
        if c.draining() {
            // Another node takes over what this one hands over, not itself.
            continue;
        }
        let since = *healthy_since.get_or_insert_with(Instant::now);
        if since.elapsed() < LEASE_TTL {
            continue;
        }
        if let Err(e) = sweep(&c, &engine).await {
            tracing::warn!(error = %e, "lease sweep failed");
        }
    }
}

async fn sweep(c: &Arc<Cluster>, engine: &Arc<Runner>) -> Result<(), String> {
    let young = now_micros() - YOUNG.as_micros() as i64;
    let live = c.store.live_replies().await.map_err(|e| e.to_string())?;
    let candidates: Vec<_> = live.into_iter().filter(|r| r.created_at < young).collect();
    if candidates.is_empty() {
        return Ok(());
    }
    let mut pipe = redis::pipe();
    for r in &candidates {
        pipe.cmd("EXISTS").arg(c.lease_key(&r.id));
    }
    let mut conn = c.query.clone();
    let exists: Vec<Value> = pipe.query_async(&mut conn).await.map_err(|e| e.to_string())?;
    for (row, held) in candidates.iter().zip(exists) {
        if matches!(held, Value::Int(1)) {
            continue;
        }
        // Held by this very node without a lease (Redis lost it): renew instead.
        if c.held.lock().map(|h| h.contains(&row.id)).unwrap_or(false) {
            c.set_lease(&row.id);
            continue;
        }
        // A queued reply of a dead node is generated here instead (§8).
        if row.status == MessageStatus::Queued && super::takeover::claim(c, &row.id).await {
            if super::takeover::adopt(c, engine, row).await {
                continue;
            }
            c.release(&row.id);
        }
        let interrupted = c
            .store
            .interrupt_reply(&row.id, now_micros())
            .await
            .map_err(|e| e.to_string())?;
        if !interrupted {
            continue;
        }
        tracing::warn!(reply_id = %row.id, "reply of a node that is gone marked interrupted");
        let Ok(Some(stored)) = c.store.message(&row.id).await else {
            continue;
        };
        let complete = crate::chat::stored_complete(&stored, &c.model);
        let frame = crate::chat::frames::complete(&complete);
        c.bus.send(super::replies::complete_entry(
            &c.stream_key(&row.id),
            &frame,
            stored.status,
            &complete,
        ));
        c.expire_finished(&row.id);
        if let Some(log) = engine.hub.reply(&row.id).filter(|l| l.is_remote()) {
            log.finish(stored.status, complete, frame);
        }
    }
    Ok(())
}
