//! Daily quotas across nodes (contract §1 `BROOK_DAILY_TOKENS_*`).
//!
//! Each quota key (a user id, or `ip:<role>:<address>`) has a hash
//! `{prefix}{u:<user_id>}:quota:<day>` in Redis with two counts: `live`, the
//! tokens of replies generating now on any node, and `settled`, the tokens of
//! replies that finished today on any node since the key was made. Every
//! [`SYNC_EVERY`] a node adds what changed on it ([`LiveUsage::take_unshared`]:
//! `HINCRBY`, one pipeline for all its keys) and reads the totals back; less
//! its own share, that is the other nodes' usage its meters count
//! ([`LiveUsage::set_cluster`]). A meter also reads its keys once when it
//! starts ([`Cluster::quota_usage`]). No Redis round trip per token.
//!
//! Bound: a reply stops once stored usage + every node's settled usage since
//! its start + every node's live usage reaches the limit, where the other
//! nodes' part is at most [`SYNC_EVERY`] (plus one round trip) old on each
//! side: the overshoot is at most what the identity's other replies generate
//! in about two sync intervals, plus the one delta that crossed the limit.
//! When Redis does not answer, the last view stands (and, from a fresh node,
//! only its own usage counts: fail open). A node that dies leaves its live
//! tokens counted for the rest of the day, standing in for the usage its
//! interrupted replies never recorded.
//!
//! [`LiveUsage::take_unshared`]: crate::chat::quota::LiveUsage::take_unshared
//! [`LiveUsage::set_cluster`]: crate::chat::quota::LiveUsage::set_cluster

use std::sync::Weak;
use std::time::Duration;

use super::limits::CHECK_TIMEOUT;
use super::Cluster;
use crate::chat::quota::LiveUsage;
use crate::chat::runner::Runner;

/// How often a node tells Redis its quota usage and reads the others'.
pub const SYNC_EVERY: Duration = Duration::from_millis(500);
/// A day's usage hash outlives its day by a day (clocks of nodes differ).
const KEEP_SECS: u64 = 2 * 24 * 3600;

impl Cluster {
    /// Every node's `(live, settled)` usage of a quota key on `day`, or `None`
    /// when Redis does not answer within the check's time-out.
    pub async fn quota_usage(&self, key: &str, day: &str) -> Option<(i64, i64)> {
        if !self.healthy() {
            return None;
        }
        let mut cmd = redis::cmd("HMGET");
        cmd.arg(self.keys.quota(key, day)).arg("live").arg("settled");
        let mut q = self.query.clone();
        match tokio::time::timeout(CHECK_TIMEOUT, cmd.query_async::<(Option<i64>, Option<i64>)>(&mut q)).await {
            Ok(Ok((live, settled))) => Some((live.unwrap_or(0), settled.unwrap_or(0))),
            _ => None,
        }
    }

    /// Adds this node's changes and reads every node's totals, in one pipeline.
    async fn sync_quotas(&self, usage: &LiveUsage) {
        let (day, changes) = usage.take_unshared();
        if changes.is_empty() {
            return;
        }
        let mut pipe = redis::pipe();
        for u in &changes {
            let key = self.keys.quota(&u.key, &day);
            if u.live != 0 {
                pipe.cmd("HINCRBY").arg(&key).arg("live").arg(u.live).ignore();
            }
            if u.settled != 0 {
                pipe.cmd("HINCRBY").arg(&key).arg("settled").arg(u.settled).ignore();
            }
            if u.live != 0 || u.settled != 0 {
                pipe.cmd("EXPIRE").arg(&key).arg(KEEP_SECS).ignore();
            }
            pipe.cmd("HMGET").arg(&key).arg("live").arg("settled");
        }
        let mut q = self.query.clone();
        let answer = if self.healthy() {
            tokio::time::timeout(
                CHECK_TIMEOUT,
                pipe.query_async::<Vec<(Option<i64>, Option<i64>)>>(&mut q),
            )
            .await
            .ok()
            .and_then(Result::ok)
        } else {
            None
        };
        let Some(totals) = answer else {
            // Counted again next time (at worst twice, which stops replies early).
            usage.restore_unshared(&day, &changes);
            return;
        };
        for (u, (live, settled)) in changes.iter().zip(totals) {
            usage.set_cluster(&day, &u.key, live.unwrap_or(0), settled.unwrap_or(0));
        }
    }
}

/// Shares this node's quota usage every [`SYNC_EVERY`] while the engine lives.
pub(super) async fn sync_loop(cluster: Weak<Cluster>, engine: Weak<Runner>) {
    loop {
        tokio::time::sleep(SYNC_EVERY).await;
        let (Some(c), Some(engine)) = (cluster.upgrade(), engine.upgrade()) else {
            return;
        };
        c.sync_quotas(engine.quotas.live()).await;
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::*;
    use crate::chat::quota::{QuotaMeter, QuotaScope, Unshared};

    /// The changes a sync would send.
    fn pending(usage: &LiveUsage) -> Vec<Unshared> {
        usage.take_unshared().1
    }

    fn scope() -> Arc<QuotaScope> {
        Arc::new(QuotaScope {
            limit: 10,
            keys: vec!["u1".into()],
        })
    }

    #[test]
    fn a_node_sends_what_changed_and_counts_the_others() {
        let usage = LiveUsage::default();
        let s = scope();
        usage.charge(&s, 3);
        let sent = pending(&usage);
        assert_eq!(sent.len(), 1);
        assert_eq!((sent[0].live, sent[0].settled, sent[0].total), (3, 0, (3, 0)));
        let day = crate::time::utc_day(crate::time::now_micros());
        // Redis says 7 live in all: 4 of them another node's.
        usage.set_cluster(&day, "u1", 7, 0);
        assert_eq!(usage.of("u1"), (7, 0));
        // The reply settles with 3 tokens: live goes back, settled goes up.
        usage.settle(&s, 3, 3);
        let sent = pending(&usage);
        assert_eq!((sent[0].live, sent[0].settled), (-3, 3));
        usage.set_cluster(&day, "u1", 4, 3);
        assert_eq!(usage.of("u1"), (4, 3), "the other node's 4 still count");
        // Nothing changed and nothing generates here: nothing to send.
        assert!(pending(&usage).is_empty());
    }

    #[test]
    fn a_failed_sync_is_sent_again() {
        let usage = LiveUsage::default();
        usage.charge(&scope(), 5);
        let (day, sent) = usage.take_unshared();
        usage.restore_unshared(&day, &sent);
        let again = pending(&usage);
        assert_eq!((again[0].live, again[0].total), (5, (5, 0)));
    }

    #[test]
    fn a_meter_stops_on_another_nodes_replies() {
        let usage = LiveUsage::default();
        let s = scope();
        let mut meter = QuotaMeter::new(s.clone(), vec![(0, 0)]);
        assert!(!meter.charge_text(&usage, "12345678")); // 2 tokens here
        let day = crate::time::utc_day(crate::time::now_micros());
        pending(&usage);
        usage.set_cluster(&day, "u1", 2 + 8, 0); // 8 generating elsewhere
        assert!(meter.spent(&usage));
    }
}
