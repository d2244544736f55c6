//! A conversation's line of replies when several nodes share it (`REDIS_URL`
//! set, contract §3.2 and §8, issue 13).
//!
//! PostgreSQL, which every node shares, is the truth: every acknowledged reply
//! is stored `queued` (with its `pos`, assigned at insert) before its `ack`,
//! becomes `streaming`, and ends `complete`, `stopped`, `error` or
//! `interrupted`. From that alone:
//!
//! - **Order**: a reply starts only when no reply of its conversation with a
//!   smaller `pos` is `queued` or `streaming`, on any node
//!   ([`Runner::take_turn`]). A reply waiting behind another node's reply
//!   reads the line again every [`RECHECK`]; a dead node's reply stops blocking
//!   when the lease sweep marks it `interrupted` or another node takes it
//!   over and finishes it (`cluster::leases`).
//! - **Limits** ([`admit`]): a message is refused before anything is stored
//!   when its conversation already has a reply generating and four waiting on
//!   all nodes together (`REPLY_IN_PROGRESS`), or when its identity already has
//!   live replies in four other conversations (`RATE_LIMITED`). A dead node's
//!   replies count until the sweep resolves them (at most `LEASE_TTL +
//!   SWEEP_EVERY`, 12 s).
//! - **Drain** ([`Runner::hand_over`]): a draining node gives up the replies
//!   it has not started; their leases are released and the other nodes told
//!   (`Cluster::hand_over`), so one of them takes each over at once, not after
//!   the lease expires.
//!
//! Costs: one indexed read (`messages_live`) per admitted message and per
//! reply start, and one per [`RECHECK`] only while a reply waits behind
//! another node's; nothing per token. Without `REDIS_URL` none of this runs.
//!
//! Known limits: [`admit`] reads and the caller then stores, so two nodes
//! admitting the same identity's messages in the same few milliseconds may
//! both pass (one reply over the bound per racing node). On a storage error
//! a reply starts rather than wait (availability over order while PostgreSQL
//! is down; acknowledged replies always end with `complete`).

use std::collections::HashSet;
use std::time::Duration;

use protocol::objects::MessageStatus;
use protocol::{MAX_ACTIVE_REPLIES_PER_IDENTITY, MAX_QUEUED_PER_CONVERSATION};

use super::runner::Runner;
use super::scheduler::{identity_busy, queue_full, Job};
use crate::error::Result;
use crate::store::{Database, MessageRow};

/// How often a reply waiting behind another node's reply reads the line again.
pub const RECHECK: Duration = Duration::from_millis(250);

/// Checks the line limits of §3.2 across every node for one more reply in
/// `(owner, conversation)`, before anything is stored.
///
/// Errors: `REPLY_IN_PROGRESS` (with the generating reply's id) when the
/// conversation has 1 + 4 live replies; `RATE_LIMITED` (`retry_after_ms`
/// 1000) when the identity has live replies in 4 other conversations;
/// `UNAVAILABLE` when storage does not answer.
pub(crate) async fn admit(store: &dyn Database, owner: &str, conversation: &str) -> Result<()> {
    let live = store.live_replies_of(owner).await?;
    match refusal(&live, conversation) {
        Some(e) => Err(e),
        None => Ok(()),
    }
}

/// The refusal one more reply in `conversation` gets, given the identity's
/// live replies (all nodes), or `None`.
fn refusal(live: &[MessageRow], conversation: &str) -> Option<crate::error::Error> {
    let here: Vec<&MessageRow> = live.iter().filter(|r| r.conversation_id == conversation).collect();
    if here.is_empty() {
        let conversations: HashSet<&str> = live.iter().map(|r| r.conversation_id.as_str()).collect();
        return (conversations.len() >= MAX_ACTIVE_REPLIES_PER_IDENTITY).then(identity_busy);
    }
    // One generating and `MAX_QUEUED_PER_CONVERSATION` waiting.
    if here.len() > MAX_QUEUED_PER_CONVERSATION {
        let running = here
            .iter()
            .find(|r| r.status == MessageStatus::Streaming)
            .or(here.first())
            .map(|r| r.id.clone());
        return Some(queue_full(running));
    }
    None
}

/// The earliest live reply of `conversation` placed before `pos`, if any.
fn blocker<'a>(live: &'a [MessageRow], conversation: &str, pos: i64) -> Option<&'a MessageRow> {
    live.iter().find(|r| r.conversation_id == conversation && r.pos < pos)
}

impl Runner {
    /// Waits until `job` may start: with several nodes, until no earlier reply
    /// of its conversation is live anywhere (see the module). A reply older
    /// than `job` waiting in this node's own line (taken over from a dead node)
    /// goes first, and is returned instead. `None`: the node is draining and
    /// the reply was handed to another node. A stopped reply is returned at
    /// once (its generation ends before starting). Alone, returns at once.
    pub(crate) async fn take_turn(&self, mut job: Job) -> Option<Job> {
        let Some(cluster) = &self.cluster else {
            return Some(job);
        };
        loop {
            if cluster.draining() {
                self.hand_over(&job);
                return None;
            }
            job = self.scheduler.earlier_first(job);
            if job.control.cancel.is_cancelled() {
                return Some(job);
            }
            match self.store.live_replies_of(&job.log.owner_id).await {
                Ok(live) => match blocker(&live, &job.log.conversation_id, job.reply_pos) {
                    None => return Some(job),
                    Some(b) => {
                        tracing::debug!(reply_id = %job.log.reply_id, behind = %b.id, "waiting for an earlier reply")
                    }
                },
                Err(e) => {
                    tracing::warn!(error = %e, reply_id = %job.log.reply_id, "reply line unreadable; starting");
                    return Some(job);
                }
            }
            tokio::select! {
                _ = tokio::time::sleep(RECHECK) => {}
                _ = job.control.cancel.cancelled() => {}
            }
        }
    }

    /// Gives a reply that has not started to another node: this node drops
    /// its log and releases its lease; it stays `queued` in storage, and
    /// another node claims it (`cluster::takeover`).
    pub(crate) fn hand_over(&self, job: &Job) {
        if let Some(c) = &self.cluster {
            c.hand_over(&job.log.reply_id);
        }
        self.hub.forget(&job.log.reply_id);
        tracing::info!(reply_id = %job.log.reply_id, "queued reply handed over to another node");
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use protocol::objects::MessageRole;
    use protocol::ErrorCode;

    fn row(conversation: &str, id: &str, pos: i64, status: MessageStatus) -> MessageRow {
        MessageRow {
            pos,
            status,
            ..MessageRow::new(id, "o", conversation, MessageRole::Assistant, 0)
        }
    }

    #[test]
    fn a_sixth_live_reply_of_a_conversation_is_refused_naming_the_generating_one() {
        let mut live = vec![
            row("c", "r1", 1, MessageStatus::Queued),
            row("c", "r2", 3, MessageStatus::Streaming),
        ];
        live.extend((0..3).map(|i| row("c", &format!("w{i}"), 10 + i, MessageStatus::Queued)));
        let e = refusal(&live, "c").expect("five live: refused");
        assert_eq!(e.code, ErrorCode::ReplyInProgress);
        assert_eq!(e.reply_id.as_deref(), Some("r2"));
        live.pop();
        assert!(refusal(&live, "c").is_none(), "four live: one more may wait");
    }

    #[test]
    fn a_fifth_conversation_is_refused_but_a_busy_one_is_not() {
        let live: Vec<_> = (0..4)
            .map(|i| row(&format!("c{i}"), &format!("r{i}"), i, MessageStatus::Streaming))
            .collect();
        assert_eq!(refusal(&live, "c9").map(|e| e.code), Some(ErrorCode::RateLimited));
        assert!(refusal(&live, "c0").is_none());
        assert!(refusal(&live[..3], "c9").is_none());
    }

    #[test]
    fn only_an_earlier_live_reply_of_the_same_conversation_blocks() {
        let live = vec![
            row("other", "x", 1, MessageStatus::Streaming),
            row("c", "a", 5, MessageStatus::Streaming),
        ];
        assert_eq!(blocker(&live, "c", 7).map(|r| r.id.as_str()), Some("a"));
        assert!(blocker(&live, "c", 5).is_none(), "itself does not block");
        assert!(blocker(&live, "c", 3).is_none(), "a later reply does not block");
    }
}
