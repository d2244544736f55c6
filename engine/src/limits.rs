//! Rate limits: token buckets keyed by identity or IP.
//!
//! A bucket holds up to `per_min` tokens and refills continuously, so a client
//! may burst up to its minute's allowance and then proceeds at the steady rate.
//! Buckets live in a few mutex-guarded shards (no lock is held across an await)
//! and idle ones are swept so that the map does not grow with every address seen.

use std::collections::HashMap;
use std::hash::BuildHasher;
use std::sync::Mutex;
use std::time::{Duration, Instant};

const SHARDS: usize = 16;

struct Bucket {
    tokens: f64,
    at: Instant,
}

pub struct RateLimiter {
    per_min: u32,
    shards: Vec<Mutex<HashMap<String, Bucket>>>,
    hasher: std::collections::hash_map::RandomState,
}

impl RateLimiter {
    /// `per_min == 0` means no limit.
    pub fn new(per_min: u32) -> Self {
        RateLimiter {
            per_min,
            shards: (0..SHARDS).map(|_| Mutex::new(HashMap::new())).collect(),
            hasher: Default::default(),
        }
    }

    pub fn per_min(&self) -> u32 {
        self.per_min
    }

    /// Takes one token for `key`; `Err(wait)` when there is none.
    pub fn check(&self, key: &str) -> Result<(), Duration> {
        self.check_at(key, Instant::now())
    }

    /// Gives back the token of a request that was refused later for another
    /// reason, so that refusals do not use up the allowance.
    pub fn refund(&self, key: &str) {
        if self.per_min == 0 {
            return;
        }
        let shard = &self.shards[(self.hasher.hash_one(key) as usize) % SHARDS];
        let mut map = shard.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(b) = map.get_mut(key) {
            b.tokens = (b.tokens + 1.0).min(self.per_min as f64);
        }
    }

    fn check_at(&self, key: &str, now: Instant) -> Result<(), Duration> {
        if self.per_min == 0 {
            return Ok(());
        }
        let cap = self.per_min as f64;
        let rate = cap / 60.0; // tokens per second
        let shard = &self.shards[(self.hasher.hash_one(key) as usize) % SHARDS];
        let mut map = shard.lock().unwrap_or_else(|p| p.into_inner());
        if map.len() > 10_000 {
            // Sweep buckets that have refilled completely: they carry no state.
            map.retain(|_, b| (now - b.at).as_secs_f64() * rate + b.tokens < cap);
        }
        let b = map.entry(key.to_string()).or_insert(Bucket { tokens: cap, at: now });
        let elapsed = now.saturating_duration_since(b.at).as_secs_f64();
        b.tokens = (b.tokens + elapsed * rate).min(cap);
        b.at = now;
        if b.tokens >= 1.0 {
            b.tokens -= 1.0;
            Ok(())
        } else {
            let wait = (1.0 - b.tokens) / rate;
            Err(Duration::from_secs_f64(wait.max(0.001)))
        }
    }
}

/// Failed logins per account (the normalized email, whether or not it exists),
/// with growing delays (issue 11 §4.10): the first [`LoginThrottle::FREE_FAILURES`]
/// failures cost nothing; after that each failure locks the account's logins for
/// twice as long as the one before, from 1 s up to [`LoginThrottle::MAX_DELAY`].
/// A success clears the account's record; records of accounts left alone for
/// [`LoginThrottle::FORGET_AFTER`] are swept. This complements the per-IP budget
/// (`BROOK_AUTH_RATE_LIMIT_PER_MIN`): guessing one account's password from many
/// addresses slows down too. A delay, not a lock: the owner waits minutes at
/// most, so the throttle cannot lock anyone out for long.
pub struct LoginThrottle {
    shards: Vec<Mutex<HashMap<String, Failures>>>,
    hasher: std::collections::hash_map::RandomState,
}

struct Failures {
    count: u32,
    locked_until: Instant,
    last: Instant,
}

impl Default for LoginThrottle {
    fn default() -> Self {
        LoginThrottle::new()
    }
}

impl LoginThrottle {
    pub const FREE_FAILURES: u32 = 5;
    pub const MAX_DELAY: Duration = Duration::from_secs(300);
    pub const FORGET_AFTER: Duration = Duration::from_secs(3600);
    const MAX_ENTRIES_PER_SHARD: usize = 10_000;

    pub fn new() -> Self {
        LoginThrottle {
            shards: (0..SHARDS).map(|_| Mutex::new(HashMap::new())).collect(),
            hasher: Default::default(),
        }
    }

    fn shard(&self, key: &str) -> std::sync::MutexGuard<'_, HashMap<String, Failures>> {
        let shard = &self.shards[(self.hasher.hash_one(key) as usize) % SHARDS];
        shard.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// `Err(wait)` while the account's logins are delayed.
    pub fn check(&self, key: &str) -> Result<(), Duration> {
        self.check_at(key, Instant::now())
    }

    fn check_at(&self, key: &str, now: Instant) -> Result<(), Duration> {
        match self.shard(key).get(key) {
            Some(f) if f.locked_until > now => Err(f.locked_until - now),
            _ => Ok(()),
        }
    }

    /// Records a failed login for `key`.
    pub fn failed(&self, key: &str) {
        self.failed_at(key, Instant::now())
    }

    fn failed_at(&self, key: &str, now: Instant) {
        let mut map = self.shard(key);
        if map.len() >= Self::MAX_ENTRIES_PER_SHARD {
            map.retain(|_, f| now.saturating_duration_since(f.last) < Self::FORGET_AFTER);
        }
        if map.len() >= Self::MAX_ENTRIES_PER_SHARD && !map.contains_key(key) {
            return;
        }
        let f = map.entry(key.to_string()).or_insert(Failures {
            count: 0,
            locked_until: now,
            last: now,
        });
        if now.saturating_duration_since(f.last) >= Self::FORGET_AFTER {
            f.count = 0;
        }
        f.count = f.count.saturating_add(1);
        f.last = now;
        if f.count > Self::FREE_FAILURES {
            let doublings = (f.count - Self::FREE_FAILURES - 1).min(16);
            let delay = Duration::from_secs(1u64 << doublings).min(Self::MAX_DELAY);
            f.locked_until = now + delay;
        }
    }

    /// A successful login: the account starts afresh.
    pub fn succeeded(&self, key: &str) {
        self.shard(key).remove(key);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_refund_gives_one_token_back() {
        let l = RateLimiter::new(2);
        let t0 = Instant::now();
        assert!(l.check_at("a", t0).is_ok());
        assert!(l.check_at("a", t0).is_ok());
        assert!(l.check_at("a", t0).is_err());
        l.refund("a");
        assert!(l.check_at("a", t0).is_ok());
        assert!(l.check_at("a", t0).is_err());
    }

    #[test]
    fn allows_a_minute_then_refuses_then_refills() {
        let l = RateLimiter::new(3);
        let t0 = Instant::now();
        assert!(l.check_at("a", t0).is_ok());
        assert!(l.check_at("a", t0).is_ok());
        assert!(l.check_at("a", t0).is_ok());
        let wait = l.check_at("a", t0).unwrap_err();
        assert!(
            wait > Duration::from_secs(15) && wait <= Duration::from_secs(20),
            "{wait:?}"
        );
        assert!(l.check_at("b", t0).is_ok(), "keys are independent");
        assert!(l.check_at("a", t0 + Duration::from_secs(21)).is_ok());
    }

    #[test]
    fn login_delays_grow_after_the_free_failures_and_success_clears_them() {
        let t = LoginThrottle::new();
        let t0 = Instant::now();
        for _ in 0..LoginThrottle::FREE_FAILURES {
            assert!(t.check_at("a@x.io", t0).is_ok());
            t.failed_at("a@x.io", t0);
        }
        assert!(t.check_at("a@x.io", t0).is_ok(), "the free failures cost nothing");
        t.failed_at("a@x.io", t0);
        let first = t.check_at("a@x.io", t0).unwrap_err();
        assert_eq!(first, Duration::from_secs(1));
        let t1 = t0 + first;
        t.failed_at("a@x.io", t1);
        assert_eq!(t.check_at("a@x.io", t1).unwrap_err(), Duration::from_secs(2));
        let mut now = t1 + Duration::from_secs(2);
        for _ in 0..30 {
            t.failed_at("a@x.io", now);
            let wait = t.check_at("a@x.io", now).unwrap_err();
            assert!(wait <= LoginThrottle::MAX_DELAY);
            now += wait;
        }
        assert_eq!(
            t.check_at("a@x.io", now - Duration::from_secs(1)).unwrap_err(),
            Duration::from_secs(1)
        );
        assert!(t.check_at("b@x.io", now).is_ok(), "accounts are independent");
        t.succeeded("a@x.io");
        assert!(t.check_at("a@x.io", t0).is_ok());
    }

    #[test]
    fn zero_is_unlimited() {
        let l = RateLimiter::new(0);
        for _ in 0..1000 {
            assert!(l.check("x").is_ok());
        }
    }
}
