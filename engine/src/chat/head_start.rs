//! A head start for the first reply of a new conversation (issue 16: "start
//! the upstream call in parallel with the commit; tokens only have to follow
//! the `ack` on the wire").
//!
//! A new conversation's context is its system prompt and the message itself,
//! both known before anything is stored. So while the exchange commits, the
//! model's stream is already being opened, under a permit taken at once. The
//! reply's first attempt then takes that stream instead of opening one
//! ([`super::attempt`]). Nothing reaches a client earlier than before: the
//! stream is only read once the reply has its turn, which is after the commit,
//! and its tokens go to the reply's log like any others.
//!
//! A head start is only taken when it costs nothing to give up: a permit must
//! be free now (no waiting), and dropping a [`HeadStart`] aborts the opening
//! request. It is dropped when the send is refused or fails to store, when the
//! conversation turns out not to be new (another send created it in between),
//! and when the reply is stopped or out of quota before its first attempt.
//! A send repeating a `client_id` that another send on this node is storing
//! right now (a client's retry racing its first try) waits for that one
//! ([`SendsInFlight`]) and is then answered as its duplicate, so it never
//! takes a head start that would be wasted.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Instant;

use tokio::task::JoinHandle;

use super::scheduler::Permit;
use crate::provider::{CompletionRequest, DeltaStream, ProviderError};

/// A model stream being opened ahead of its reply's turn, with the permit it
/// generates under and the request it sent (the reply's retries send it
/// again). Dropping it gives the permit back and aborts the request.
pub struct HeadStart {
    permit: Permit,
    request: CompletionRequest,
    opening: Opening,
}

/// The request of a [`HeadStart`]: dropping it aborts the request, and closes
/// a stream it opened that nobody took.
pub(crate) struct Opening {
    /// When the request went out: the upstream's latency is measured from
    /// here (so it includes any wait for the commit before the stream is
    /// read); the first-token time-out counts from the attempt.
    pub(crate) started: Instant,
    handle: JoinHandle<Result<DeltaStream, ProviderError>>,
}

impl HeadStart {
    /// `handle` is the task opening the stream for `request`, spawned just now.
    pub(crate) fn new(
        permit: Permit,
        request: CompletionRequest,
        handle: JoinHandle<Result<DeltaStream, ProviderError>>,
    ) -> HeadStart {
        HeadStart {
            permit,
            request,
            opening: Opening {
                started: Instant::now(),
                handle,
            },
        }
    }

    /// The permit (held for the whole generation), the request sent, and its opening.
    pub(crate) fn into_parts(self) -> (Permit, CompletionRequest, Opening) {
        (self.permit, self.request, self.opening)
    }
}

impl Opening {
    /// The opened stream, or the error opening it (a failed task is a
    /// retryable failure, as a failed first attempt's would be).
    pub(crate) async fn stream(mut self) -> Result<DeltaStream, ProviderError> {
        match (&mut self.handle).await {
            Ok(opened) => opened,
            Err(e) => Err(ProviderError::Retryable {
                message: format!("opening the model's stream failed: {e}"),
                retry_after: None,
            }),
        }
    }
}

impl Drop for Opening {
    fn drop(&mut self) {
        // A no-op once the task finished; its output, a stream nobody took,
        // is dropped with the handle.
        self.handle.abort();
    }
}

/// The `(owner, client_id)` of the sends being stored on this node now, each
/// with a lock that a second send with the same key waits on, and how many
/// sends hold or wait for it (the entry goes when that is 0).
#[derive(Default)]
pub struct SendsInFlight {
    keys: Arc<Mutex<HashMap<Key, Slot>>>,
}

type Key = (String, String);

#[derive(Default)]
struct Slot {
    lock: Arc<tokio::sync::Mutex<()>>,
    users: usize,
}

/// One send's use of a key, counted in its [`Slot`] from before it waits
/// until it is dropped (also when the send is cancelled while waiting).
struct Use {
    keys: Arc<Mutex<HashMap<Key, Slot>>>,
    key: Key,
}

impl Drop for Use {
    fn drop(&mut self) {
        let mut keys = self.keys.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(slot) = keys.get_mut(&self.key) {
            slot.users -= 1;
            if slot.users == 0 {
                keys.remove(&self.key);
            }
        }
    }
}

/// A send's hold on its `client_id` while it is stored; released when dropped.
pub(crate) struct InFlight {
    // Fields drop in order: the lock is released before the use is uncounted.
    _held: tokio::sync::OwnedMutexGuard<()>,
    _use: Use,
}

impl SendsInFlight {
    /// Holds `client_id` of `owner` for one send, waiting while another send
    /// with it is being stored here (a client's retry racing its first try):
    /// the second then finds the first one's message, and is answered with its
    /// `ack`, instead of racing it to the database with a head start of its own.
    pub(crate) async fn claim(&self, owner: &str, client_id: &str) -> InFlight {
        let key = (owner.to_string(), client_id.to_string());
        let lock = {
            let mut keys = self.keys.lock().unwrap_or_else(|p| p.into_inner());
            let slot = keys.entry(key.clone()).or_default();
            slot.users += 1;
            slot.lock.clone()
        };
        let counted = Use {
            keys: self.keys.clone(),
            key,
        };
        InFlight {
            _held: lock.lock_owned().await,
            _use: counted,
        }
    }

    /// How many keys are held or waited for (for tests).
    #[cfg(test)]
    fn len(&self) -> usize {
        self.keys.lock().unwrap_or_else(|p| p.into_inner()).len()
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    #[tokio::test]
    async fn a_second_send_with_a_client_id_waits_for_the_first() {
        let sends = Arc::new(SendsInFlight::default());
        let first = sends.claim("o", "c1").await;
        let _other = sends.claim("o", "c2").await;
        let _other_owner = sends.claim("p", "c1").await;
        let s = sends.clone();
        let second = tokio::spawn(async move { s.claim("o", "c1").await });
        tokio::time::sleep(Duration::from_millis(50)).await;
        assert!(!second.is_finished(), "waits while the first is stored");
        drop(first);
        let second = tokio::time::timeout(Duration::from_secs(5), second)
            .await
            .expect("free once the first is stored")
            .unwrap();
        assert_eq!(sends.len(), 3);
        drop(second);
        assert_eq!(sends.len(), 2, "a key nobody holds is forgotten");
    }

    #[tokio::test]
    async fn a_send_cancelled_while_it_waits_leaves_nothing_behind() {
        let sends = Arc::new(SendsInFlight::default());
        let first = sends.claim("o", "c1").await;
        let s = sends.clone();
        let waiting = tokio::spawn(async move { s.claim("o", "c1").await });
        tokio::time::sleep(Duration::from_millis(50)).await;
        waiting.abort();
        let _ = waiting.await;
        drop(first);
        assert_eq!(sends.len(), 0, "the key is forgotten once its last user is gone");
    }
}
