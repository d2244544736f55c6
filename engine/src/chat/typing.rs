//! A user's `typing` state, relayed to the conversation's other connections
//! (contract §3.4). `true` expires by itself after [`TYPING_EXPIRY`] unless
//! refreshed, so a client that vanished mid-word does not type forever.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use super::announce::Announcer;
use super::frames;
use super::validate::{own_conversation, Via};
use crate::auth::Identity;
use crate::error::Result;
use crate::hub::ConnId;
use crate::store::Database;

/// How long `typing: true` lasts without a refresh.
const TYPING_EXPIRY: Duration = Duration::from_secs(5);

/// (owner, conversation, connection).
type Key = (String, String, ConnId);

/// Relays typing states and expires them.
pub struct Typing {
    store: Arc<dyn Database>,
    announcer: Announcer,
    /// Each typing state's generation: a refresh makes the pending expiry stale.
    states: Arc<Mutex<HashMap<Key, u64>>>,
}

impl Typing {
    pub(crate) fn new(store: Arc<dyn Database>, announcer: Announcer) -> Typing {
        Typing {
            store,
            announcer,
            states: Arc::default(),
        }
    }

    /// Relays the user's typing state to the conversation's other connections;
    /// `true` expires after 5 s without a refresh. An unknown or foreign
    /// conversation is `NOT_FOUND`.
    pub async fn set(&self, who: &Identity, conn: ConnId, session_id: &str, is_typing: bool) -> Result<()> {
        own_conversation(self.store.as_ref(), who, session_id, Via::Frame).await?;
        let key = (who.user_id.clone(), session_id.to_string(), conn);
        let generation = {
            let mut t = self.states.lock().unwrap_or_else(|p| p.into_inner());
            if is_typing {
                let g = t.entry(key.clone()).or_insert(0);
                *g += 1;
                Some(*g)
            } else {
                t.remove(&key);
                None
            }
        };
        relay(&self.announcer, &key, is_typing);
        if let Some(g) = generation {
            let states = Arc::downgrade(&self.states);
            let announcer = self.announcer.clone();
            tokio::spawn(async move {
                tokio::time::sleep(TYPING_EXPIRY).await;
                let Some(states) = states.upgrade() else {
                    return;
                };
                let expired = {
                    let mut t = states.lock().unwrap_or_else(|p| p.into_inner());
                    let stale = t.get(&key) == Some(&g);
                    if stale {
                        t.remove(&key);
                    }
                    stale
                };
                if expired {
                    relay(&announcer, &key, false);
                }
            });
        }
        Ok(())
    }
}

fn relay(announcer: &Announcer, (owner, session_id, conn): &Key, is_typing: bool) {
    let frame = frames::user_typing(session_id, owner, is_typing);
    announcer.to_conversation(owner, session_id, frame, "typing", Some(*conn));
}
