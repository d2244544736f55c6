//! The hub's seam: what the chat needs from wherever replies' logs and live
//! events live, with the guarantees each side may rely on written on the trait
//! (in the manner of a real-time server's broker interface). [`super::Hub`] is
//! the in-process implementation; with `REDIS_URL` it forwards to the cluster
//! ([`crate::cluster::bus::Bus`], whose guarantees these match: live events are
//! at most once and ordered per target like the bus's topics, and a reply's log
//! is read by offset like the reply's Redis Stream). A Redis-backed
//! implementation of these traits is issue 13's.

use std::sync::Arc;

use super::cluster_hook::Target;
use super::log::ReplyLog;
use super::registry::{ConnId, Event};

/// Where replies' numbered logs are kept for their readers.
///
/// Guarantees:
/// - **Order and numbering:** a log's entries are kept in the order they were
///   appended: the preamble, tokens numbered `seq` 1, 2, 3 … with no gaps, at
///   most one `error`, exactly one `complete`, then the epilogue. Nothing is
///   appended after `complete` but the epilogue.
/// - **Exactly once per reader, by offset:** a reader follows a log from an
///   offset ([`ReplyLog::follow`] with [`super::Filter::After`]`(seq)`) and
///   gets every later entry once, in order, then waits for more until the
///   reply finishes. Reading does not consume: any number of readers (tabs,
///   transports, a resume) read the same log independently.
/// - **After a gap:** a reader that missed entries (a reconnect, a dropped
///   frame) asks again from the last `seq` it has and receives
///   `(after_seq, current]`, then live entries, whether or not the reply has
///   finished (contract §3.3). Nothing held is ever skipped.
/// - **Slow consumers:** the writer never waits for readers; a slow reader
///   only falls behind and catches up from its offset. A log's size is bounded
///   by `BROOK_MAX_REPLY_BYTES`.
/// - **Retention:** a finished log is held for `BROOK_REPLY_LOG_SECS` after
///   [`ReplyLogs::retire`], then dropped; from then on [`ReplyLogs::reply`]
///   answers `None` and readers are answered from storage (the stored reply's
///   `complete`), which holds the same text.
pub trait ReplyLogs: Send + Sync {
    /// Registers the log of a reply that has just been acknowledged.
    fn insert(&self, log: Arc<ReplyLog>);
    /// Registers `log` unless a log of the same reply is held; returns the one held.
    fn insert_if_absent(&self, log: Arc<ReplyLog>) -> Arc<ReplyLog>;
    /// The log of a live or recently finished reply.
    fn reply(&self, reply_id: &str) -> Option<Arc<ReplyLog>>;
    /// The reply finished: keep its log for the retention period, then drop it.
    fn retire(&self, reply_id: String);
    /// Logs held now (finished ones included), for metrics.
    fn held(&self) -> usize;
}

/// Live events fanned out to connections: `message_added`, `conversation_updated`,
/// `typing`, presence, a reply starting, a conversation deleted.
///
/// Guarantees:
/// - **Order per target:** events published to one target (an owner, a
///   conversation, a bot) by one task reach each connection in the order they
///   were published; each connection's inbox is first in, first out.
/// - **At most once, no history:** a connection receives an event at most
///   once, and only if it was subscribed to the target when the event was
///   published (joined the conversation, watching the bot). Nothing is
///   replayed: a client that missed events reads the state again (the
///   conversation list, `join`, which answers the reply generating now).
/// - **No echo:** an event names the connection that caused it (`origin`);
///   that connection's reader drops it, so a sender never sees its own event.
/// - **Never waits:** publishing does not wait for any connection. A
///   connection whose inbox is full (a client that stopped reading) is told to
///   close (`slow consumer`) instead of slowing the publisher or anyone else.
/// - **Across nodes:** with `REDIS_URL`, each event is also handed to the
///   cluster bus, with the bus's guarantees (at most once, ordered per topic,
///   dropped across a Redis outage).
pub trait LiveEvents: Send + Sync {
    /// Publishes `event` to every connection `to` names, on every node.
    fn publish(&self, to: Target<'_>, event: Event);
    /// The connection receives the conversation's events from now on.
    fn join(&self, conn: ConnId, session_id: &str);
    /// The connection stops receiving the conversation's events.
    fn leave(&self, conn: ConnId, session_id: &str);
    /// The conversation is gone: every connection forgets it.
    fn forget_conversation(&self, owner: &str, session_id: &str);
}

impl ReplyLogs for super::Hub {
    fn insert(&self, log: Arc<ReplyLog>) {
        super::Hub::insert(self, log)
    }

    fn insert_if_absent(&self, log: Arc<ReplyLog>) -> Arc<ReplyLog> {
        super::Hub::insert_if_absent(self, log)
    }

    fn reply(&self, reply_id: &str) -> Option<Arc<ReplyLog>> {
        super::Hub::reply(self, reply_id)
    }

    fn retire(&self, reply_id: String) {
        super::Hub::retire(self, reply_id)
    }

    fn held(&self) -> usize {
        super::Hub::held(self)
    }
}

impl LiveEvents for super::Hub {
    fn publish(&self, to: Target<'_>, event: Event) {
        match to {
            Target::Owner(owner) => self.registry.publish_owner(owner, event),
            Target::Conversation { owner, session } => self.registry.publish_conversation(owner, session, event),
            Target::Bot(bot) => self.registry.publish_bot(bot, event),
        }
    }

    fn join(&self, conn: ConnId, session_id: &str) {
        self.registry.join(conn, session_id)
    }

    fn leave(&self, conn: ConnId, session_id: &str) {
        self.registry.leave(conn, session_id)
    }

    fn forget_conversation(&self, owner: &str, session_id: &str) {
        self.registry.forget_conversation(owner, session_id)
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;
    use crate::auth::Identity;
    use crate::hub::{Filter, Hub, Transport};

    fn alice() -> Identity {
        Identity {
            user_id: "alice".into(),
            role: protocol::objects::Role::User,
            bot_id: None,
            jti: "t".into(),
            exp: 0,
        }
    }

    fn frame(s: &str, origin: Option<ConnId>) -> Event {
        Event::Frame {
            frame: s.to_string().into(),
            name: "x",
            origin,
        }
    }

    fn text(e: &Event) -> &str {
        match e {
            Event::Frame { frame, .. } => frame.as_str(),
            _ => "",
        }
    }

    #[tokio::test]
    async fn live_events_keep_order_name_the_origin_and_replay_nothing() {
        let hub = Arc::new(Hub::new(Duration::ZERO, 0));
        let events: Arc<dyn LiveEvents> = hub.clone();
        let mut a = hub.registry.register(&alice(), Transport::WebSocket).unwrap();
        let mut b = hub.registry.register(&alice(), Transport::WebSocket).unwrap();
        let conversation = Target::Conversation {
            owner: "alice",
            session: "s",
        };
        events.publish(conversation, frame("before join", None));
        events.join(a.id, "s");
        events.join(b.id, "s");
        for n in ["1", "2", "3"] {
            events.publish(conversation, frame(n, Some(b.id)));
        }
        for n in ["1", "2", "3"] {
            assert_eq!(text(&a.inbox.recv().await.unwrap()), n, "in publish order, no replay");
        }
        for _ in 0..3 {
            let got = b.inbox.recv().await.unwrap();
            assert!(
                matches!(&*got, Event::Frame { origin, .. } if *origin == Some(b.id)),
                "its reader drops it"
            );
        }
        events.leave(a.id, "s");
        events.publish(conversation, frame("after leave", None));
        events.publish(Target::Owner("alice"), frame("owner", None));
        assert_eq!(text(&a.inbox.recv().await.unwrap()), "owner");
        assert_eq!(text(&b.inbox.recv().await.unwrap()), "after leave");
        assert_eq!(text(&b.inbox.recv().await.unwrap()), "owner");
    }

    #[tokio::test]
    async fn a_reply_log_is_read_by_offset_until_retired() {
        let hub = Arc::new(Hub::new(Duration::ZERO, 0));
        let logs: Arc<dyn ReplyLogs> = hub.clone();
        let log = ReplyLog::new("r", "alice", "s", "m");
        logs.insert(log.clone());
        assert!(Arc::ptr_eq(
            &logs.insert_if_absent(ReplyLog::new("r", "alice", "s", "m")),
            &log
        ));
        for t in ["a", "b", "c"] {
            log.push_token(t, |seq| format!("{{\"seq\":{seq}}}"));
        }
        let mut late = log.follow(Filter::After(1));
        let seqs: Vec<u64> = late.next_batch().await.unwrap().iter().map(|e| e.seq).collect();
        assert_eq!(seqs, [2, 3], "a reader after a gap gets (after_seq, current]");
        assert_eq!(logs.held(), 1);
        logs.retire("r".into());
        assert!(logs.reply("r").is_none(), "no retention: dropped at once");
    }
}
