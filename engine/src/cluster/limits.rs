//! Rate limits that hold across nodes: a counter per key and minute window in
//! Redis (`INCR` + `EXPIRE`, key `{prefix}{u:<id>}:rate:<minute>`), checked
//! after the node's own token bucket. When Redis does not answer within
//! [`CHECK_TIMEOUT`], or is already known to be away, the node's own bucket is
//! the limit (fail open: a node keeps serving while Redis is down).

use std::time::Duration;

use super::Cluster;

/// How long one check of a cluster-wide limit may wait for Redis before the
/// node's own limit decides (the rate limit, the connection limit, the quota).
pub(super) const CHECK_TIMEOUT: Duration = Duration::from_millis(500);

impl Cluster {
    fn window(&self, key: &str, now_secs: u64) -> String {
        self.keys.rate(key, now_secs / 60)
    }

    /// Counts one message of `key` in this minute, cluster-wide; `Err(wait)`
    /// (until the next window) when the count is over `per_min`.
    pub async fn rate_check(&self, key: &str, per_min: u32) -> Result<(), Duration> {
        // Known to be away: no wait for an answer that will not come.
        if per_min == 0 || !self.healthy() {
            return Ok(());
        }
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap_or_default()
            .as_secs();
        let mut pipe = redis::pipe();
        let k = self.window(key, now);
        pipe.cmd("INCR").arg(&k).cmd("EXPIRE").arg(&k).arg(61).ignore();
        let mut conn = self.query.clone();
        match tokio::time::timeout(CHECK_TIMEOUT, pipe.query_async::<(u64,)>(&mut conn)).await {
            Ok(Ok((n,))) if n > per_min as u64 => {
                // Not counted: a refused message does not use up the next one.
                let mut undo = redis::cmd("DECR");
                undo.arg(&k);
                self.bus.send(undo);
                Err(Duration::from_secs(60 - now % 60))
            }
            Ok(Ok(_)) => Ok(()),
            _ => Ok(()),
        }
    }

    /// Gives back a message counted by [`Self::rate_check`] that was refused
    /// later for another reason.
    pub fn rate_refund(&self, key: &str) {
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap_or_default()
            .as_secs();
        let mut cmd = redis::cmd("DECR");
        cmd.arg(self.window(key, now));
        self.bus.send(cmd);
    }
}
