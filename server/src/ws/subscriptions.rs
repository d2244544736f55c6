//! A connection's subscriptions to reply logs: at most one per reply (contract §3.3).
//!
//! Each subscription is a task that copies a reply's log into the connection's
//! outgoing queue. `resume` *replaces* the reply's subscription: the old task is
//! aborted and the new one waits until the old one has ended before it queues
//! anything, so a frame of the old subscription never follows one of the new.
//! There is no per-connection "highest seq sent": what a `resume` asks for is
//! exactly what it gets, `(after_seq, current]`, then live, then `complete`.

use std::collections::HashMap;
use std::future::Future;

use tokio::task::JoinHandle;

/// Subscriptions kept per connection before finished ones are forgotten.
const PRUNE_AT: usize = 256;

/// The running (and recently finished) subscriptions of one connection, by reply id.
#[derive(Default)]
pub struct Subscriptions {
    tasks: HashMap<String, JoinHandle<()>>,
}

impl Subscriptions {
    /// Replaces the subscription to `reply_id` with the future `start` builds.
    /// `start` runs on a new task once the previous subscription has stopped.
    pub fn replace<F, Fut>(&mut self, reply_id: String, start: F)
    where
        F: FnOnce() -> Fut + Send + 'static,
        Fut: Future<Output = ()> + Send + 'static,
    {
        self.prune();
        let old = self.tasks.remove(&reply_id);
        if let Some(h) = &old {
            h.abort();
        }
        let handle = tokio::spawn(async move {
            if let Some(h) = old {
                // Aborted: resolves once the old task can no longer queue a frame.
                let _ = h.await;
            }
            start().await;
        });
        self.tasks.insert(reply_id, handle);
    }

    /// Starts a subscription to `reply_id` unless this connection has (or had)
    /// one: a reply announced to a joined connection never doubles a `resume`.
    pub fn start_if_none<F, Fut>(&mut self, reply_id: String, start: F)
    where
        F: FnOnce() -> Fut + Send + 'static,
        Fut: Future<Output = ()> + Send + 'static,
    {
        if self.tasks.contains_key(&reply_id) {
            return;
        }
        self.prune();
        self.tasks.insert(reply_id, tokio::spawn(async move { start().await }));
    }

    /// Whether no subscription is running (the connection's queue may go).
    pub fn all_finished(&self) -> bool {
        self.tasks.values().all(JoinHandle::is_finished)
    }

    /// Stops every subscription (the connection is closing).
    pub fn abort_all(&mut self) {
        for h in self.tasks.values() {
            h.abort();
        }
        self.tasks.clear();
    }

    fn prune(&mut self) {
        if self.tasks.len() >= PRUNE_AT {
            self.tasks.retain(|_, h| !h.is_finished());
        }
    }
}

impl Drop for Subscriptions {
    fn drop(&mut self) {
        self.abort_all();
    }
}

#[cfg(test)]
mod tests {
    use std::sync::{Arc, Mutex};
    use std::time::Duration;

    use super::*;

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_replacement_starts_only_after_the_old_subscription_stopped() {
        let seen = Arc::new(Mutex::new(Vec::new()));
        let mut subs = Subscriptions::default();
        let s = seen.clone();
        subs.replace("r".into(), move || async move {
            for i in 0.. {
                s.lock().unwrap().push(("old", i));
                tokio::time::sleep(Duration::from_millis(1)).await;
            }
        });
        tokio::time::sleep(Duration::from_millis(20)).await;
        let s = seen.clone();
        subs.replace("r".into(), move || async move {
            s.lock().unwrap().push(("new", 0));
        });
        tokio::time::sleep(Duration::from_millis(20)).await;
        let seen = seen.lock().unwrap().clone();
        let first_new = seen.iter().position(|(w, _)| *w == "new").expect("the new one ran");
        assert!(seen[first_new..].iter().all(|(w, _)| *w == "new"), "{seen:?}");
        assert!(first_new > 0, "the old one ran first");
    }

    #[tokio::test]
    async fn an_announced_reply_does_not_double_a_subscription() {
        let runs = Arc::new(Mutex::new(0));
        let mut subs = Subscriptions::default();
        for _ in 0..2 {
            let r = runs.clone();
            subs.start_if_none("r".into(), move || async move {
                *r.lock().unwrap() += 1;
            });
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
        assert_eq!(*runs.lock().unwrap(), 1);
    }
}
