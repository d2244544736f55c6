//! argon2id password hashes, bounded in memory and time (issue 18).
//!
//! Each hash fills [`MEMORY_KIB`] (19 MiB) of memory by design, so an unbounded
//! burst of sign-ins is a burst of 19 MiB allocations: 64 at once once took Brook
//! from 17 MB to 4.4 GB. Here at most as many hashes run at once as there are
//! cores, on blocking threads (`spawn_blocking`), behind a semaphore; a short
//! queue waits for a slot ([`QUEUE_PER_CORE`] per core: about a second of work,
//! and never longer than [`MAX_WAIT`]); waiting costs no hash memory;
//! beyond it the caller gets [`HashError::Busy`], which the API answers
//! `429 RATE_LIMITED` with `Retry-After`.
//!
//! Parameters: argon2id, m = 19 MiB (19,456 KiB), t = 2, p = 1, a 16-byte salt and
//! a 32-byte output, which is OWASP's Password Storage Cheat Sheet minimum for
//! argon2id ("m=19456 (19 MiB), t=2, p=1") and the argon2 crate's default. On
//! this machine's cores one hash takes about 20–40 ms.
//!
//! A login for an unknown email (or an account without a password, or an
//! over-long password) is checked against a dummy hash made with the same
//! parameters, under the same bound, so it costs the same time and memory as a
//! real check and response times do not tell which emails exist. The comparison
//! of the computed and stored outputs is constant-time (`password-hash`'s
//! `Output` compares with `subtle`).

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::{Algorithm, Argon2, Params, Version};
use tokio::sync::Semaphore;

/// Memory per hash, KiB (OWASP: 19 MiB).
pub const MEMORY_KIB: u32 = 19 * 1024;
/// Passes over the memory (OWASP: 2).
pub const ITERATIONS: u32 = 2;
/// Lanes (OWASP: 1).
pub const LANES: u32 = 1;
/// Callers that may wait for a slot, per core; more are refused at once. At
/// 20–40 ms a hash, 32 waiting per core is about a second of work: a burst of 64
/// sign-ins on two cores is served, a flood beyond that is refused at once.
pub const QUEUE_PER_CORE: usize = 32;
/// Longest wait for a slot before the caller is refused.
pub const MAX_WAIT: Duration = Duration::from_secs(5);

/// Why no hash was computed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum HashError {
    /// Every slot is busy and the queue is full (or the wait ran out).
    #[error("too many sign-ins at once; try again shortly")]
    Busy { retry_after: Duration },
    /// The hasher itself failed (a bug, not input).
    #[error("password hashing failed: {0}")]
    Internal(String),
}

/// The argon2id hasher with its bound. One per process (see [`Hasher::new`]).
pub struct Hasher {
    slots: Arc<Semaphore>,
    /// Callers holding or waiting for a slot.
    admitted: AtomicUsize,
    max_admitted: usize,
    dummy: OnceLock<String>,
    /// argon2 computations finished (hashes and checks), for tests and metrics.
    computed: Arc<AtomicUsize>,
}

fn argon2() -> Argon2<'static> {
    // The constants are in argon2's valid ranges; `Params::new` cannot fail for them.
    let params = Params::new(MEMORY_KIB, ITERATIONS, LANES, Some(32)).unwrap_or_default();
    Argon2::new(Algorithm::Argon2id, Version::V0x13, params)
}

fn hash_now(password: &[u8]) -> Result<String, HashError> {
    let salt = SaltString::encode_b64(&rand::random::<[u8; 16]>()).map_err(|e| HashError::Internal(e.to_string()))?;
    argon2()
        .hash_password(password, &salt)
        .map(|h| h.to_string())
        .map_err(|e| HashError::Internal(e.to_string()))
}

/// Checks `password` against `stored`, with the parameters written in `stored`.
/// A malformed stored hash never matches (and costs no hash: it cannot be made
/// by Brook, so it says nothing about which emails exist).
fn verify_now(password: &[u8], stored: &str) -> bool {
    PasswordHash::new(stored)
        .map(|h| argon2().verify_password(password, &h).is_ok())
        .unwrap_or(false)
}

impl Hasher {
    /// A hasher with one slot per core (`available_parallelism`).
    pub fn new() -> Hasher {
        let cores = std::thread::available_parallelism().map(|n| n.get()).unwrap_or(2);
        Hasher::with_slots(cores, cores * QUEUE_PER_CORE)
    }

    /// `slots` hashes at once, `queue` more waiting.
    pub fn with_slots(slots: usize, queue: usize) -> Hasher {
        let slots = slots.max(1);
        Hasher {
            slots: Arc::new(Semaphore::new(slots)),
            admitted: AtomicUsize::new(0),
            max_admitted: slots + queue,
            dummy: OnceLock::new(),
            computed: Arc::new(AtomicUsize::new(0)),
        }
    }

    /// Runs `work` on a blocking thread once a slot is free.
    async fn bounded<T: Send + 'static>(&self, work: impl FnOnce() -> T + Send + 'static) -> Result<T, HashError> {
        let busy = HashError::Busy {
            retry_after: Duration::from_secs(1),
        };
        if self.admitted.fetch_add(1, Ordering::AcqRel) >= self.max_admitted {
            self.admitted.fetch_sub(1, Ordering::AcqRel);
            return Err(busy);
        }
        struct Leave<'a>(&'a AtomicUsize);
        impl Drop for Leave<'_> {
            fn drop(&mut self) {
                self.0.fetch_sub(1, Ordering::AcqRel);
            }
        }
        let _leave = Leave(&self.admitted);
        let permit = match tokio::time::timeout(MAX_WAIT, self.slots.clone().acquire_owned()).await {
            Ok(Ok(p)) => p,
            _ => return Err(busy),
        };
        let computed = self.computed.clone();
        tokio::task::spawn_blocking(move || {
            let out = work();
            drop(permit);
            computed.fetch_add(1, Ordering::Relaxed);
            out
        })
        .await
        .map_err(|e| HashError::Internal(e.to_string()))
    }

    /// How many argon2 computations have finished.
    pub fn computed(&self) -> usize {
        self.computed.load(Ordering::Relaxed)
    }

    /// A new argon2id hash (PHC string) of `password`.
    pub async fn hash(&self, password: String) -> Result<String, HashError> {
        self.bounded(move || hash_now(password.as_bytes())).await?
    }

    /// Whether `password` matches `stored`. `None` (no such account, no
    /// password) checks against the dummy hash, at the same cost, and is false.
    pub async fn verify(&self, password: String, stored: Option<String>) -> Result<bool, HashError> {
        let (stored, real) = match stored {
            Some(s) => (s, true),
            None => (self.dummy().await?, false),
        };
        let matched = self.bounded(move || verify_now(password.as_bytes(), &stored)).await?;
        Ok(matched && real)
    }

    /// The dummy hash, made on first need with the real parameters.
    async fn dummy(&self) -> Result<String, HashError> {
        if let Some(d) = self.dummy.get() {
            return Ok(d.clone());
        }
        let fresh = self.bounded(|| hash_now(&rand::random::<[u8; 24]>())).await??;
        Ok(self.dummy.get_or_init(|| fresh).clone())
    }
}

impl Default for Hasher {
    fn default() -> Self {
        Hasher::new()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn hashes_are_argon2id_with_owasp_parameters_and_verify() {
        let h = Hasher::new();
        let stored = h.hash("correct horse".into()).await.unwrap();
        assert!(stored.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"), "{stored}");
        assert!(h.verify("correct horse".into(), Some(stored.clone())).await.unwrap());
        assert!(!h.verify("wrong".into(), Some(stored)).await.unwrap());
        assert!(!h.verify("x".into(), Some("garbage".into())).await.unwrap());
        // The dummy never matches, not even its own (unknown) password.
        assert!(!h.verify("anything".into(), None).await.unwrap());
        assert!(h.dummy.get().unwrap().starts_with("$argon2id$v=19$m=19456,t=2,p=1$"));
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn beyond_the_queue_callers_are_refused_not_queued_forever() {
        let h = Arc::new(Hasher::with_slots(1, 1));
        let mut tasks = Vec::new();
        for i in 0..8 {
            let h = h.clone();
            tasks.push(tokio::spawn(async move { h.hash(format!("password {i}")).await }));
        }
        let mut ok = 0;
        let mut busy = 0;
        for t in tasks {
            match t.await.unwrap() {
                Ok(_) => ok += 1,
                Err(HashError::Busy { .. }) => busy += 1,
                Err(e) => panic!("{e}"),
            }
        }
        assert!(ok >= 2, "the running one and the queued one finish ({ok})");
        assert!(busy >= 1, "the rest are refused ({busy})");
        assert_eq!(ok + busy, 8);
        assert_eq!(h.admitted.load(Ordering::Acquire), 0, "every slot is given back");
    }
}
