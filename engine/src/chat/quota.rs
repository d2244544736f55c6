//! Daily completion-token quotas (contract §1 `BROOK_DAILY_TOKENS_*`, issue 11 §4.6).
//!
//! A quota is counted per identity and, for guests and visitors (who cost nothing
//! to make), per client IP as well, behind the trusted-proxy rule: three fresh
//! guests from one address share one guest quota. Finished replies are counted in
//! storage (`usage_daily`, one row per key and UTC day); replies generating right
//! now are charged in memory as their text grows ([`LiveUsage`]), so neither one
//! long reply nor several at once run past the quota. A reply that reaches it
//! stops with `finish_reason` `length` (the contract's reason for a reply cut at
//! a limit), overshooting by at most the one upstream delta that crossed it.
//!
//! With `REDIS_URL` each node also shares its live and settled usage per key
//! and day in Redis, and reads the other nodes' ([`crate::cluster::quota`]):
//! a meter then counts every node's replies, up to the sync interval behind.

use std::collections::{HashMap, HashSet};
use std::net::IpAddr;
use std::sync::{Arc, Mutex};

use protocol::objects::Role;

use crate::auth::Identity;
use crate::cluster::Cluster;
use crate::store::{Database, StoreResult};
use crate::time::{now_micros, utc_day};

/// The keys one reply's tokens count against, all with the same daily limit.
#[derive(Debug)]
pub struct QuotaScope {
    /// Completion tokens per key per UTC day (`> 0`).
    pub limit: u64,
    /// The identity's user id, then `ip:<role>:<address>` for guests and visitors.
    pub keys: Vec<String>,
}

/// This process's view of each quota key between storage reads: tokens of
/// replies generating now (`live`, estimated from their text), and tokens of
/// replies that finished here today (`settled`, also added to storage). A meter
/// that read storage before another reply finished still counts that reply.
#[derive(Default)]
pub struct LiveUsage {
    state: Mutex<Ledger>,
}

#[derive(Default)]
struct Ledger {
    /// The UTC day `settled` counts; a new day starts it afresh.
    day: String,
    live: HashMap<String, u64>,
    settled: HashMap<String, u64>,
    /// With Redis: the other nodes' `(live, settled)` per key, as last read.
    remote: HashMap<String, (u64, u64)>,
    /// With Redis: this node's `(live, settled)` per key as added there today.
    shared: HashMap<String, (i64, u64)>,
    /// Keys whose settled usage changed since the last [`LiveUsage::take_unshared`].
    dirty: HashSet<String>,
}

/// A key's usage on this node that Redis has not been told yet.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Unshared {
    pub key: String,
    /// Tokens to add to the key's live count in Redis (negative when replies settled).
    pub live: i64,
    /// Tokens to add to its settled count.
    pub settled: u64,
    /// This node's whole `(live, settled)` in Redis once these are added.
    pub total: (i64, u64),
}

impl LiveUsage {
    fn lock(&self) -> std::sync::MutexGuard<'_, Ledger> {
        let mut l = self.state.lock().unwrap_or_else(|p| p.into_inner());
        let today = utc_day(now_micros());
        if l.day != today {
            l.day = today;
            l.settled.clear();
            // Redis counts per day: the live charges go to the new day's key.
            l.remote.clear();
            l.shared.clear();
            l.dirty.clear();
        }
        l
    }

    /// Today's usage of this node that Redis has not been told, marked told.
    /// Keys of replies generating now come back even with nothing to add, so
    /// that their view of the other nodes is refreshed. Returns the day too.
    pub fn take_unshared(&self) -> (String, Vec<Unshared>) {
        let mut l = self.lock();
        let l = &mut *l;
        let keys: HashSet<String> = l.live.keys().chain(l.dirty.iter()).cloned().collect();
        l.dirty.clear();
        let mut out = Vec::with_capacity(keys.len());
        for key in keys {
            let live = l.live.get(&key).copied().unwrap_or(0) as i64;
            let settled = l.settled.get(&key).copied().unwrap_or(0);
            let shared = l.shared.entry(key.clone()).or_default();
            let (d_live, d_settled) = (live - shared.0, settled.saturating_sub(shared.1));
            *shared = (live, settled);
            out.push(Unshared {
                key,
                live: d_live,
                settled: d_settled,
                total: (live, settled),
            });
        }
        (l.day.clone(), out)
    }

    /// Redis was not told after all (it did not answer): the next
    /// [`Self::take_unshared`] sends these again.
    pub fn restore_unshared(&self, day: &str, failed: &[Unshared]) {
        let mut l = self.lock();
        if l.day != day {
            return;
        }
        for u in failed {
            if let Some(s) = l.shared.get_mut(&u.key) {
                s.0 -= u.live;
                s.1 = s.1.saturating_sub(u.settled);
            }
            l.dirty.insert(u.key.clone());
        }
    }

    /// What Redis says every node has of `key` on `day` (`live`, `settled`),
    /// less this node's own share: the other nodes' usage.
    pub fn set_cluster(&self, day: &str, key: &str, live: i64, settled: i64) {
        let mut l = self.lock();
        if l.day != day {
            return;
        }
        let (own_live, own_settled) = l.shared.get(key).copied().unwrap_or_default();
        let others = (
            (live - own_live).max(0) as u64,
            (settled - own_settled as i64).max(0) as u64,
        );
        l.remote.insert(key.to_string(), others);
    }

    /// Charges `n` more tokens to every key of `scope`.
    pub fn charge(&self, scope: &QuotaScope, n: u64) {
        if n == 0 {
            return;
        }
        let mut l = self.lock();
        for k in &scope.keys {
            *l.live.entry(k.clone()).or_default() += n;
        }
    }

    /// A reply finished: `recorded` tokens went to storage, and the `charged`
    /// ones it held while generating are taken back, in one step.
    pub fn settle(&self, scope: &QuotaScope, recorded: u64, charged: u64) {
        let mut l = self.lock();
        for k in &scope.keys {
            l.dirty.insert(k.clone());
            if recorded > 0 {
                *l.settled.entry(k.clone()).or_default() += recorded;
            }
            if let Some(v) = l.live.get_mut(k) {
                *v = v.saturating_sub(charged);
                if *v == 0 {
                    l.live.remove(k);
                }
            }
        }
    }

    /// `(live, settled)` tokens of `key`: this node's, plus (with Redis) the
    /// other nodes' as last read.
    pub fn of(&self, key: &str) -> (u64, u64) {
        let l = self.lock();
        let (remote_live, remote_settled) = l.remote.get(key).copied().unwrap_or_default();
        (
            l.live.get(key).copied().unwrap_or(0) + remote_live,
            l.settled.get(key).copied().unwrap_or(0) + remote_settled,
        )
    }
}

/// What a generating reply knows of its quota: per key, the usage storage held
/// when it started and how much had settled here by then, so each token costs
/// a lock, not a query.
pub struct QuotaMeter {
    scope: Arc<QuotaScope>,
    /// Per key: (stored usage, settled tokens when storage was read).
    base: Vec<(u64, u64)>,
    /// Tokens this reply has charged so far.
    pub charged: u64,
}

impl QuotaMeter {
    /// A meter over `scope` from `base` (per key: stored usage, settled usage
    /// when storage was read).
    #[cfg(test)]
    pub(crate) fn new(scope: Arc<QuotaScope>, base: Vec<(u64, u64)>) -> QuotaMeter {
        QuotaMeter {
            scope,
            base,
            charged: 0,
        }
    }

    /// Charges the reply's text so far; `true` once any key reached the limit.
    pub fn charge_text(&mut self, live: &LiveUsage, text: &str) -> bool {
        let now = crate::provider::estimate_tokens(text) as u64;
        live.charge(&self.scope, now.saturating_sub(self.charged));
        self.charged = self.charged.max(now);
        self.spent(live)
    }

    /// Whether any key is at or over the limit: stored, plus what settled here
    /// since, plus what is generating now (this reply included).
    pub fn spent(&self, live: &LiveUsage) -> bool {
        self.scope
            .keys
            .iter()
            .zip(&self.base)
            .any(|(k, (stored, settled_then))| {
                let (generating, settled) = live.of(k);
                stored + settled.saturating_sub(*settled_then) + generating >= self.scope.limit
            })
    }
}

/// The daily limits of completion tokens per role (`BROOK_DAILY_TOKENS_USER`,
/// `_GUEST`, `_VISITOR`); `0` is unlimited.
#[derive(Clone, Copy, Debug, Default)]
pub struct DailyTokens {
    pub user: u64,
    pub guest: u64,
    pub visitor: u64,
}

impl DailyTokens {
    fn of(&self, role: Role) -> u64 {
        match role {
            Role::User => self.user,
            Role::Guest => self.guest,
            Role::Visitor => self.visitor,
        }
    }
}

/// The daily quotas: scopes, meters and the usage they are counted from.
pub struct Quotas {
    store: Arc<dyn Database>,
    daily: DailyTokens,
    /// Tokens of replies generating now, per quota key.
    live: LiveUsage,
    /// With `REDIS_URL`: where the other nodes' usage is read.
    cluster: Option<Arc<Cluster>>,
}

impl Quotas {
    pub fn new(store: Arc<dyn Database>, daily: DailyTokens, cluster: Option<Arc<Cluster>>) -> Quotas {
        Quotas {
            store,
            daily,
            live: LiveUsage::default(),
            cluster,
        }
    }

    /// This node's live and settled usage, which meters charge.
    pub fn live(&self) -> &LiveUsage {
        &self.live
    }

    /// Whether the quota of `who` from `ip` is used up today (checked before a
    /// message is stored).
    pub(crate) async fn spent(&self, who: &Identity, ip: Option<IpAddr>) -> StoreResult<bool> {
        match self.scope(who, ip) {
            None => Ok(false),
            Some(scope) => Ok(self.meter(&scope).await?.spent(&self.live)),
        }
    }

    /// The quota a message of `who` from `ip` counts against, or `None` when the
    /// role's daily quota is `0` (unlimited).
    pub(crate) fn scope(&self, who: &Identity, ip: Option<IpAddr>) -> Option<Arc<QuotaScope>> {
        let limit = self.daily.of(who.role);
        if limit == 0 {
            return None;
        }
        let mut keys = vec![who.user_id.clone()];
        if who.role != Role::User {
            if let Some(ip) = ip {
                keys.push(format!("ip:{}:{ip}", who.role.as_str()));
            }
        }
        Some(Arc::new(QuotaScope { limit, keys }))
    }

    /// Reads today's stored usage of every key and starts metering a reply.
    pub(crate) async fn meter(&self, scope: &Arc<QuotaScope>) -> StoreResult<QuotaMeter> {
        let day = utc_day(now_micros());
        // The keys at once (a guest's or visitor's two: one wait on storage, not
        // two, before the ack and again before the first token), each key's
        // reads in order.
        let base = futures::future::try_join_all(scope.keys.iter().map(|k| self.base_of(k, &day))).await?;
        Ok(QuotaMeter {
            scope: scope.clone(),
            base,
            charged: 0,
        })
    }

    /// One key's usage today before a reply: `(stored, settled)` tokens.
    async fn base_of(&self, k: &str, day: &str) -> StoreResult<(u64, u64)> {
        // The other nodes' usage now (one round trip; the last known when
        // Redis does not answer).
        if let Some(c) = &self.cluster {
            if let Some((live, settled)) = c.quota_usage(k, day).await {
                self.live.set_cluster(day, k, live, settled);
            }
        }
        // Settled first: a reply settling in between is counted twice (it
        // stops early), never missed.
        let (_, settled) = self.live.of(k);
        let stored = self.store.usage(k, day).await?.max(0) as u64;
        Ok((stored, settled))
    }

    /// Records a finished reply's tokens under every key, then takes back what it
    /// had charged while generating (in that order, so it is never counted nowhere).
    pub(crate) async fn record_usage(
        &self,
        owner_id: &str,
        scope: Option<&Arc<QuotaScope>>,
        tokens: u64,
        charged: u64,
    ) {
        let day = utc_day(now_micros());
        let fallback = [owner_id.to_string()];
        let keys = scope.map_or(&fallback[..], |s| &s.keys[..]);
        if tokens > 0 {
            for k in keys {
                if let Err(e) = self.store.add_usage(k, &day, tokens as i64).await {
                    tracing::warn!(key = %k, error = %e, "could not record token usage");
                }
            }
        }
        if let Some(s) = scope {
            self.live.settle(s, tokens, charged);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scope() -> Arc<QuotaScope> {
        Arc::new(QuotaScope {
            limit: 10,
            keys: vec!["guest".into(), "ip:guest:10.0.0.1".into()],
        })
    }

    #[test]
    fn a_meter_stops_at_the_limit_and_sees_other_replies() {
        let live = LiveUsage::default();
        let scope = scope();
        let mut a = QuotaMeter {
            scope: scope.clone(),
            base: vec![(0, 0), (4, 0)],
            charged: 0,
        };
        assert!(!a.charge_text(&live, "12345678")); // 2 tokens: the ip key at 6
        let b = QuotaMeter {
            scope: scope.clone(),
            base: vec![(0, 0), (4, 0)],
            charged: 0,
        };
        live.charge(&scope, 4); // another reply from the same address
        assert!(b.spent(&live));
        assert!(a.charge_text(&live, "123456789"));
        live.settle(&scope, 4, 4);
        live.settle(&scope, 3, a.charged);
        assert_eq!(live.of("guest"), (0, 7));
    }

    #[test]
    fn a_reply_that_finished_after_a_meter_started_still_counts() {
        let live = LiveUsage::default();
        let scope = scope();
        live.charge(&scope, 6); // reply A, generating
        let b = QuotaMeter {
            scope: scope.clone(),
            base: vec![(0, 0), (0, 0)], // B read storage before A finished
            charged: 0,
        };
        assert!(!b.spent(&live));
        live.settle(&scope, 6, 6); // A finishes: storage now says 6, B does not know
        live.charge(&scope, 4); // B generates 4
        assert!(b.spent(&live), "6 settled + 4 generating reach the limit of 10");
    }
}
