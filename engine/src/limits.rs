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
    fn zero_is_unlimited() {
        let l = RateLimiter::new(0);
        for _ in 0..1000 {
            assert!(l.check("x").is_ok());
        }
    }
}
