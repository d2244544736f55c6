//! A user's `typing` state, relayed to the conversation's other connections
//! (contract §3.4). `true` expires by itself after [`TYPING_EXPIRY`] unless
//! refreshed, so a client that vanished mid-word does not type forever.

use std::collections::HashMap;
use std::hash::Hash;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use super::announce::Announcer;
use super::frames;
use super::validate::{own_conversation, Via};
use crate::auth::Identity;
use crate::error::Result;
use crate::hub::ConnId;
use crate::store::Database;

/// How long `typing: true` lasts without a refresh (contract §3.4: 5 s).
pub(crate) const TYPING_EXPIRY: Duration = Duration::from_secs(5);

/// Typing states that expire: each `true` bumps the key's generation, and an
/// expiry armed for an older generation (refreshed or cleared since) does
/// nothing. Shared by users' typing and operators' (§9).
pub(crate) struct Expiring<K> {
    states: Arc<Mutex<HashMap<K, u64>>>,
}

impl<K> Default for Expiring<K> {
    fn default() -> Self {
        Expiring { states: Arc::default() }
    }
}

impl<K: Eq + Hash + Clone + Send + 'static> Expiring<K> {
    /// Records `key` as typing or not. While typing, `on_expiry(&key)` runs
    /// once after [`TYPING_EXPIRY`] unless `key` was refreshed or cleared
    /// meanwhile.
    pub(crate) fn set(&self, key: K, is_typing: bool, on_expiry: impl FnOnce(&K) + Send + 'static) {
        if !is_typing {
            self.clear(&key);
            return;
        }
        let generation = {
            let mut t = self.states.lock().unwrap_or_else(|p| p.into_inner());
            let g = t.entry(key.clone()).or_insert(0);
            *g += 1;
            *g
        };
        let states = Arc::downgrade(&self.states);
        tokio::spawn(async move {
            tokio::time::sleep(TYPING_EXPIRY).await;
            let Some(states) = states.upgrade() else {
                return;
            };
            let expired = {
                let mut t = states.lock().unwrap_or_else(|p| p.into_inner());
                let stale = t.get(&key) == Some(&generation);
                if stale {
                    t.remove(&key);
                }
                stale
            };
            if expired {
                on_expiry(&key);
            }
        });
    }

    /// Forgets `key`; whether it was typing.
    pub(crate) fn clear(&self, key: &K) -> bool {
        let mut t = self.states.lock().unwrap_or_else(|p| p.into_inner());
        t.remove(key).is_some()
    }
}

/// (owner, conversation, connection).
type Key = (String, String, ConnId);

/// Relays typing states and expires them.
pub struct Typing {
    store: Arc<dyn Database>,
    announcer: Announcer,
    states: Expiring<Key>,
}

impl Typing {
    pub(crate) fn new(store: Arc<dyn Database>, announcer: Announcer) -> Typing {
        Typing {
            store,
            announcer,
            states: Expiring::default(),
        }
    }

    /// Relays the user's typing state to the conversation's other connections;
    /// `true` expires after 5 s without a refresh. An unknown or foreign
    /// conversation is `NOT_FOUND`.
    pub async fn set(&self, who: &Identity, conn: ConnId, session_id: &str, is_typing: bool) -> Result<()> {
        own_conversation(self.store.as_ref(), who, session_id, Via::Frame).await?;
        let key = (who.user_id.clone(), session_id.to_string(), conn);
        relay(&self.announcer, &key, is_typing);
        let announcer = self.announcer.clone();
        self.states
            .set(key, is_typing, move |key| relay(&announcer, key, false));
        Ok(())
    }
}

fn relay(announcer: &Announcer, (owner, session_id, conn): &Key, is_typing: bool) {
    let frame = frames::user_typing(session_id, owner, is_typing);
    announcer.to_conversation(owner, session_id, frame, "typing", Some(*conn));
}

#[cfg(test)]
mod tests {
    use super::{Expiring, TYPING_EXPIRY};
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::sync::Arc;
    use std::time::Duration;

    /// An expiry callback that counts its calls in `fired`.
    fn bump(fired: &Arc<AtomicUsize>) -> impl FnOnce(&u8) + Send + 'static {
        let f = fired.clone();
        move |_: &u8| {
            f.fetch_add(1, Ordering::SeqCst);
        }
    }

    async fn pass(d: Duration) {
        tokio::time::sleep(d).await;
        // Let the expiry tasks that are due run.
        tokio::task::yield_now().await;
    }

    #[tokio::test(start_paused = true)]
    async fn typing_expires_once_unless_refreshed_or_cleared() {
        let fired = Arc::new(AtomicUsize::new(0));
        let on_expiry = || bump(&fired);
        let t = Expiring::default();
        t.set(1u8, true, on_expiry());
        pass(TYPING_EXPIRY + Duration::from_millis(10)).await;
        assert_eq!(fired.load(Ordering::SeqCst), 1, "a typing state not refreshed expires");
        assert!(!t.clear(&1), "and is forgotten");

        // A refresh before the expiry moves it: the first timer does nothing.
        t.set(2u8, true, on_expiry());
        pass(TYPING_EXPIRY - Duration::from_secs(1)).await;
        t.set(2u8, true, on_expiry());
        pass(Duration::from_secs(2)).await;
        assert_eq!(fired.load(Ordering::SeqCst), 1, "refreshed: not expired yet");
        pass(TYPING_EXPIRY).await;
        assert_eq!(fired.load(Ordering::SeqCst), 2, "expires once, after the refresh");

        // `false` clears it: nothing fires.
        t.set(3u8, true, on_expiry());
        t.set(3u8, false, on_expiry());
        pass(TYPING_EXPIRY * 2).await;
        assert_eq!(fired.load(Ordering::SeqCst), 2);
    }
}
