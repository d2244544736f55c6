//! Presence across nodes (contract §9.2, issue 13 + 14), kept in Redis.
//!
//! Each node still tracks its own connections in memory ([`Presence`]); what
//! it shares is its *share* of each subject (a visitor, or a bot's owner):
//! `online` (a visible connection here), `away` (every one here reported away)
//! or nothing. Per subject, Redis holds a hash `{prefix}ps:{v|o}:{id}` of those
//! shares by node, with the status they make and when it was last seen (every
//! presence key is under the one hash tag `{p}`, [`super::keys::Keys::presence`]):
//!
//! - a Lua script ([`sync.lua`](sync.lua)) writes one node's share and derives
//!   the status atomically, so exactly one node sees each change and publishes
//!   it: a visitor's on the bot's channel (its owner's events streams, on every
//!   node), the owner's on the bot's visitors' channel `{prefix}bv:{bot}`;
//! - when the last share anywhere goes, the subject waits in the sorted set
//!   `{prefix}pdue` for the grace period; every node sweeps it
//!   ([`expire.lua`](expire.lua)), so the `offline` comes even when the node
//!   whose connection closed last has died since;
//! - every node keeps `{prefix}pnode:{node}` alive (a heartbeat with a TTL); a
//!   node whose key expired is dead, and the others drop its shares (listed in
//!   `{prefix}pn:{node}`), so its visitors go offline after the grace period
//!   instead of staying online forever ([`upkeep`]).
//!
//! Updates for a node go through one task, in order; each reads the node's
//! share at the time it runs, so a late update never writes a stale share.
//! Keys of several subjects meet in one script; sharing one hash tag, they stay
//! in one slot, so presence lives on one shard of a Redis Cluster (docs/scaling.md).

mod upkeep;

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Weak};
use std::time::Duration;

use protocol::frames::{PresenceActor, ServerFrame};
use protocol::objects::{PresenceStatus, VisitorConversation};
use tokio::sync::mpsc;

use super::bus::{Body, Bus, Topic};
use super::Cluster;
use crate::hub::{ConnId, Event, Hub};
use crate::people::presence::{Presence, Subject};
use crate::people::watcher::operator_frame;
use crate::time::{now_micros, rfc3339};

const SYNC: &str = include_str!("sync.lua");
const EXPIRE: &str = include_str!("expire.lua");
/// How long a subject's hash outlives its last change (its `last_seen_at`).
const KEEP: Duration = Duration::from_secs(7 * 24 * 3600);

/// Work for the node's presence task, done in order.
enum Job {
    /// Write this node's current share of the subject.
    Sync(Subject),
    /// Tell a visitor's new connection whether the owner is there.
    Greet { conn: ConnId, bot_id: String },
}

/// This node's side of presence shared through Redis.
pub struct SharedPresence {
    cluster: Arc<Cluster>,
    local: Arc<Presence>,
    hub: Weak<Hub>,
    grace: Duration,
    jobs: mpsc::UnboundedSender<Job>,
    /// An update failed (Redis away): write every share again once it answers.
    stale: AtomicBool,
}

/// A change seen by this node, to publish.
struct Changed {
    status: PresenceStatus,
    /// Microseconds since the epoch.
    seen: i64,
    bot_id: String,
}

fn parse_status(s: &str) -> PresenceStatus {
    match s {
        "online" => PresenceStatus::Online,
        "away" => PresenceStatus::Away,
        _ => PresenceStatus::Offline,
    }
}

/// A subject's name in Redis: `v:{visitor_id}` or `o:{bot_id}`.
fn member(s: &Subject) -> String {
    match s {
        Subject::Visitor { visitor_id, .. } => format!("v:{visitor_id}"),
        Subject::Operator { bot_id } => format!("o:{bot_id}"),
    }
}

/// The subject a member names (its bot comes from the stored hash).
fn subject_of(member: &str, bot_id: &str) -> Option<Subject> {
    if let Some(v) = member.strip_prefix("v:") {
        return Some(Subject::Visitor {
            visitor_id: v.to_string(),
            bot_id: bot_id.to_string(),
        });
    }
    member
        .strip_prefix("o:")
        .map(|b| Subject::Operator { bot_id: b.to_string() })
}

fn changed(v: Option<(String, String, String)>) -> Option<Changed> {
    let (status, seen, bot_id) = v?;
    Some(Changed {
        status: parse_status(&status),
        seen: seen.parse().unwrap_or(0),
        bot_id,
    })
}

impl SharedPresence {
    /// Starts this node's presence task and its upkeep (heartbeat and sweeps);
    /// both end when the returned value is dropped. `grace` is §9.2's 30 s.
    pub fn start(cluster: Arc<Cluster>, local: Arc<Presence>, hub: Weak<Hub>, grace: Duration) -> Arc<SharedPresence> {
        let (jobs, rx) = mpsc::unbounded_channel();
        let shared = Arc::new(SharedPresence {
            cluster,
            local,
            hub,
            grace,
            jobs,
            stale: AtomicBool::new(false),
        });
        tokio::spawn(work(Arc::downgrade(&shared), rx));
        tokio::spawn(upkeep::run(Arc::downgrade(&shared)));
        shared
    }

    fn key(&self, what: &str, id: &str) -> String {
        self.cluster.keys.presence(what, id)
    }

    fn due_key(&self) -> String {
        self.cluster.keys.presence("pdue", "")
    }

    /// A visitor's connection opened here: the node follows the owner's
    /// availability for the bot, shares the visitor's presence, and greets the
    /// connection with the owner's.
    pub fn visitor_opened(&self, conn: ConnId, bot_id: &str, visitor_id: &str) {
        self.cluster.bus.follow(Topic::Visitors(bot_id.to_string()));
        self.touch(Subject::Visitor {
            visitor_id: visitor_id.to_string(),
            bot_id: bot_id.to_string(),
        });
        let _ = self.jobs.send(Job::Greet {
            conn,
            bot_id: bot_id.to_string(),
        });
    }

    /// A connection closed here; `subjects` is what it held.
    pub fn closed(&self, subjects: Vec<Subject>) {
        for s in subjects {
            if let Subject::Visitor { bot_id, .. } = &s {
                self.cluster.bus.unfollow(Topic::Visitors(bot_id.clone()));
            }
            self.touch(s);
        }
    }

    /// This node's share of `subject` may have changed.
    pub fn touch(&self, subject: Subject) {
        let _ = self.jobs.send(Job::Sync(subject));
    }

    /// Writes this node's current share of `subject`; publishes the change it made.
    async fn sync(&self, subject: &Subject, node: &str, share: PresenceStatus) -> redis::RedisResult<()> {
        let member = member(subject);
        let bot = match subject {
            Subject::Visitor { bot_id, .. } | Subject::Operator { bot_id } => bot_id.as_str(),
        };
        let share = match share {
            PresenceStatus::Offline => "none",
            s => s.as_str(),
        };
        let now = now_micros();
        let deadline = now / 1000 + self.grace.as_millis() as i64;
        let mut cmd = redis::cmd("EVAL");
        cmd.arg(SYNC)
            .arg(3)
            .arg(self.key("ps", &member))
            .arg(self.due_key())
            .arg(self.key("pn", node))
            .arg(node)
            .arg(share)
            .arg(now)
            .arg(deadline)
            .arg(&member)
            .arg(bot)
            .arg(KEEP.as_millis() as u64);
        let mut conn = self.cluster.query.clone();
        let out: Option<(String, String, String)> = cmd.query_async(&mut conn).await?;
        if let Some(c) = changed(out) {
            self.publish(subject, c);
        }
        Ok(())
    }

    /// Ends the grace period of `member` if it is due; publishes the `offline`.
    async fn expire(&self, member: &str, now_ms: i64) -> redis::RedisResult<()> {
        let mut cmd = redis::cmd("EVAL");
        cmd.arg(EXPIRE)
            .arg(2)
            .arg(self.key("ps", member))
            .arg(self.due_key())
            .arg(member)
            .arg(now_ms);
        let mut conn = self.cluster.query.clone();
        let out: Option<(String, String, String)> = cmd.query_async(&mut conn).await?;
        if let Some(c) = changed(out) {
            if let Some(s) = subject_of(member, &c.bot_id) {
                self.publish(&s, c);
            }
        }
        Ok(())
    }

    /// Sends a change to every node's connections that see it: a visitor's to
    /// the bot's events streams, the owner's to the bot's visitors.
    fn publish(&self, subject: &Subject, c: Changed) {
        let Some(hub) = self.hub.upgrade() else {
            return;
        };
        match subject {
            Subject::Visitor { visitor_id, .. } => {
                let frame = ServerFrame::Presence {
                    actor: PresenceActor::Visitor,
                    status: c.status,
                    last_seen_at: Some(rfc3339(c.seen)),
                    visitor_id: Some(visitor_id.clone()),
                    session_id: None,
                }
                .to_json();
                // Local watchers, and the bot's channel for the other nodes.
                hub.registry.publish_bot(&c.bot_id, presence_event(frame));
            }
            Subject::Operator { bot_id } => {
                let frame = operator_frame(c.status, Some(c.seen));
                hub.registry.publish_bot_visitors(bot_id, presence_event(frame.clone()));
                self.cluster.bus.publish(
                    &Topic::Visitors(bot_id.clone()),
                    Body::Visitors {
                        bot: bot_id.clone(),
                        name: "presence".into(),
                        frame,
                    },
                );
            }
        }
    }

    /// The owner's availability for a bot, as every node sees it.
    async fn operator(&self, bot_id: &str) -> redis::RedisResult<(PresenceStatus, Option<i64>)> {
        let mut conn = self.cluster.query.clone();
        let (status, seen): (Option<String>, Option<String>) = redis::cmd("HMGET")
            .arg(self.key("ps", &format!("o:{bot_id}")))
            .arg("status")
            .arg("seen")
            .query_async(&mut conn)
            .await?;
        Ok((
            status.as_deref().map_or(PresenceStatus::Offline, parse_status),
            seen.and_then(|s| s.parse().ok()),
        ))
    }

    async fn greet(&self, conn: ConnId, bot_id: &str) {
        let (status, seen) = match self.operator(bot_id).await {
            Ok(v) => v,
            Err(e) => {
                tracing::warn!(error = %e, "presence: Redis unreachable; greeting with this node's view");
                self.local.operator(bot_id)
            }
        };
        if let Some(hub) = self.hub.upgrade() {
            hub.registry
                .publish_to(conn, presence_event(operator_frame(status, seen)));
        }
    }

    /// Fills the list items' `visitor_status` and `last_seen_at` from Redis, as
    /// every node sees them. Errors: Redis unreachable (the caller falls back to
    /// this node's view).
    pub async fn fill(&self, items: &mut [VisitorConversation]) -> redis::RedisResult<()> {
        if items.is_empty() {
            return Ok(());
        }
        let mut pipe = redis::pipe();
        for item in items.iter() {
            pipe.cmd("HMGET")
                .arg(self.key("ps", &format!("v:{}", item.visitor_id)))
                .arg("status")
                .arg("seen");
        }
        let mut conn = self.cluster.query.clone();
        let rows: Vec<(Option<String>, Option<String>)> = pipe.query_async(&mut conn).await?;
        for (item, (status, seen)) in items.iter_mut().zip(rows) {
            item.visitor_status = status.as_deref().map_or(PresenceStatus::Offline, parse_status);
            item.last_seen_at = seen.and_then(|s| s.parse().ok()).map(rfc3339);
        }
        Ok(())
    }
}

fn presence_event(frame: String) -> Event {
    Event::Frame {
        frame: frame.into(),
        name: "presence",
        origin: None,
    }
}

/// The node's presence task: updates in the order they were asked for.
async fn work(shared: Weak<SharedPresence>, mut rx: mpsc::UnboundedReceiver<Job>) {
    while let Some(job) = rx.recv().await {
        let Some(s) = shared.upgrade() else {
            return;
        };
        match job {
            Job::Sync(subject) => {
                let share = s.local.here(&subject);
                let node = s.cluster.node_id.clone();
                if let Err(e) = s.sync(&subject, &node, share).await {
                    s.stale.store(true, Ordering::Relaxed);
                    tracing::warn!(error = %e, "presence: Redis unreachable; shares written again later");
                }
            }
            Job::Greet { conn, bot_id } => s.greet(conn, &bot_id).await,
        }
    }
}
