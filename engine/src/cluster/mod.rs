//! Several Brook nodes as one service (issue 13, first cut), on Redis.
//!
//! - The in-process [`crate::hub::Registry`] stays the fast path for local
//!   connections; through [`crate::hub::ClusterHook`] every event it publishes
//!   is also put on the [`bus`] (Redis pub/sub, a channel per identity and per
//!   bot under `BROOK_REDIS_PREFIX`), and a node subscribes only to the
//!   identities and bots its connections follow.
//! - A generating reply's log is copied entry by entry to a Redis Stream
//!   `{prefix}{r:<id>}:log` ([`replies`]); any node reads it from any offset
//!   (`resume` over WebSocket, SSE or long poll) and follows it live. The Stream
//!   expires `BROOK_REPLY_LOG_SECS` after the reply finished.
//! - `stop` of a reply held elsewhere goes out on `{prefix}stop`.
//! - Every reply acknowledged on a node is held under a lease
//!   `{prefix}{r:<id>}:lease` ([`leases`]); every node sweeps the database for
//!   live replies whose lease is gone and marks them `interrupted`.
//! - Limits hold across nodes: the message rate ([`limits`]), the connection
//!   limit per identity ([`connections`]) and the daily quotas ([`quota`]).
//! - Every key carries a Redis Cluster hash tag ([`keys`]).
//! - Presence (§9.2) is shared per visitor and per bot owner ([`presence`]).

pub mod bus;
pub mod connections;
pub mod cuts;
mod inbound;
mod keys;
pub mod leases;
mod limits;
pub mod presence;
pub mod quota;
pub mod redis_bus;
mod replies;
mod takeover;

use std::collections::HashSet;
use std::sync::{Arc, Mutex, Weak};
use std::time::Duration;

use redis::aio::ConnectionManager;

use crate::chat::runner::Runner;
use crate::hub::{ClusterHook, Event, Hub, ReplyLog, Target};
use crate::store::Database;
use bus::{Body, Bus, Topic};
use redis_bus::RedisBus;

/// This node's part of the cluster.
pub struct Cluster {
    /// A random id per process: the tag that tells a node its own echo.
    pub node_id: String,
    prefix: String,
    client: redis::Client,
    bus: Arc<RedisBus>,
    /// For queries that need an answer (Stream reads, lease checks).
    query: ConnectionManager,
    hub: Weak<Hub>,
    store: Arc<dyn Database>,
    model: String,
    /// How long a finished reply's Stream is kept.
    retention: Duration,
    /// Replies acknowledged here and not finished: their leases are renewed.
    held: Mutex<HashSet<String>>,
    keys: keys::Keys,
    limits: ClusterLimits,
    /// This node's connections as counted in Redis.
    counted: Mutex<connections::Counted>,
    /// Set on SIGTERM: the node takes over no other node's replies.
    draining: std::sync::atomic::AtomicBool,
    /// This node's accounts, for revocations made on other nodes ([`cuts`]).
    accounts: std::sync::OnceLock<Weak<crate::accounts::Accounts>>,
}

/// The limits kept across nodes (contract §1).
#[derive(Clone, Debug)]
pub struct ClusterLimits {
    /// `BROOK_MAX_CONNECTIONS_PER_IDENTITY` (`0`: no limit).
    pub max_connections_per_identity: usize,
    /// How long a connection still counts after its node stopped renewing it
    /// (`BROOK_CONNECTION_TTL_SECS`, 15 s): the time a dead node's
    /// connections keep counting.
    pub connection_ttl: Duration,
}

#[derive(Debug, thiserror::Error)]
#[error("REDIS_URL: {0}")]
pub struct ClusterError(String);

impl Cluster {
    /// Connects (lazily: a node starts while Redis is down) and starts the bus.
    /// The returned receiver carries the other nodes' messages, for [`Cluster::run`].
    pub fn start(
        url: &str,
        prefix: &str,
        hub: &Arc<Hub>,
        store: Arc<dyn Database>,
        model: &str,
        retention: Duration,
        limits: ClusterLimits,
    ) -> Result<(Arc<Cluster>, tokio::sync::mpsc::UnboundedReceiver<Body>), ClusterError> {
        let client = crate::redis_ping::client(url).map_err(|e| ClusterError(e.to_string()))?;
        let node_id = crate::ids::new_id();
        let (bus, inbound) =
            RedisBus::start(&client, node_id.clone(), prefix.to_string()).map_err(|e| ClusterError(e.to_string()))?;
        let query = redis_bus::command_connection(&client).map_err(|e| ClusterError(e.to_string()))?;
        let cluster = Arc::new(Cluster {
            node_id,
            prefix: prefix.to_string(),
            client,
            bus,
            query,
            hub: Arc::downgrade(hub),
            store,
            model: model.to_string(),
            retention,
            held: Mutex::new(HashSet::new()),
            keys: keys::Keys::new(prefix),
            limits,
            counted: Mutex::new(connections::Counted::default()),
            draining: Default::default(),
            accounts: Default::default(),
        });
        Ok((cluster, inbound))
    }

    /// Runs the node's cluster tasks until the engine is gone: the other nodes'
    /// messages, lease renewal, the sweeper, the connections' heartbeat and
    /// the quotas' sync.
    pub fn run(self: &Arc<Self>, engine: Weak<Runner>, inbound: tokio::sync::mpsc::UnboundedReceiver<Body>) {
        tokio::spawn(inbound::dispatch(self.clone(), engine.clone(), inbound));
        tokio::spawn(leases::renew_loop(Arc::downgrade(self)));
        tokio::spawn(leases::sweep_loop(Arc::downgrade(self), engine.clone()));
        tokio::spawn(connections::heartbeat_loop(Arc::downgrade(self)));
        tokio::spawn(quota::sync_loop(Arc::downgrade(self), engine));
    }

    /// Whether the last exchange with Redis succeeded (`/ready`, `/metrics`).
    pub fn healthy(&self) -> bool {
        self.bus.healthy()
    }

    /// Commands dropped while Redis was unreachable.
    pub fn dropped(&self) -> u64 {
        self.bus.dropped()
    }

    pub fn prefix(&self) -> &str {
        &self.prefix
    }

    /// Asks the node running `reply_id` to stop it.
    pub fn publish_stop(&self, owner: &str, session: &str, reply_id: &str) {
        self.bus.publish(
            &Topic::Stop,
            Body::Stop {
                owner: owner.to_string(),
                session: session.to_string(),
                reply_id: reply_id.to_string(),
            },
        );
    }
}

impl ClusterHook for Cluster {
    fn forward(&self, to: Target<'_>, event: &Event) {
        let (topic, body) = match (to, event) {
            (Target::Owner(owner), Event::Frame { frame, name, .. }) => (
                Topic::Owner(owner.to_string()),
                Body::Owner {
                    owner: owner.to_string(),
                    name: name.to_string(),
                    frame: frame.to_string(),
                },
            ),
            (Target::Owner(owner), Event::Deleted { session_id, frame }) => (
                Topic::Owner(owner.to_string()),
                Body::Deleted {
                    owner: owner.to_string(),
                    session: session_id.clone(),
                    frame: frame.to_string(),
                },
            ),
            (Target::Conversation { owner, session }, Event::Frame { frame, name, .. }) => (
                Topic::Owner(owner.to_string()),
                Body::Conversation {
                    owner: owner.to_string(),
                    session: session.to_string(),
                    name: name.to_string(),
                    frame: frame.to_string(),
                },
            ),
            (Target::Conversation { owner, session }, Event::ReplyStarted(log)) => {
                if log.is_remote() {
                    return;
                }
                if log.claim_forwarding() {
                    replies::forward(self, log.clone());
                }
                (
                    Topic::Owner(owner.to_string()),
                    Body::Reply {
                        owner: owner.to_string(),
                        session: session.to_string(),
                        reply_id: log.reply_id.clone(),
                        message_id: log.message_id.clone(),
                    },
                )
            }
            (Target::Bot(bot), Event::Frame { frame, name, .. }) => (
                Topic::Bot(bot.to_string()),
                Body::Bot {
                    bot: bot.to_string(),
                    name: name.to_string(),
                    frame: frame.to_string(),
                },
            ),
            _ => return,
        };
        self.bus.publish(&topic, body);
    }

    fn follow_owner(&self, owner: &str, on: bool) {
        let t = Topic::Owner(owner.to_string());
        if on {
            self.bus.follow(t)
        } else {
            self.bus.unfollow(t)
        }
    }

    fn connection_closed(&self, owner: &str, conn: crate::hub::ConnId) {
        self.connection_gone(owner, conn);
    }

    fn follow_bot(&self, bot: &str, on: bool) {
        let t = Topic::Bot(bot.to_string());
        if on {
            self.bus.follow(t)
        } else {
            self.bus.unfollow(t)
        }
    }
}

/// The `name` of an event that came over the bus, as the registry's events carry
/// it (`&'static str`: the SSE `event:` line).
pub(crate) fn event_name(name: &str) -> &'static str {
    const NAMES: [&str; 9] = [
        "message_added",
        "conversation_updated",
        "conversation_deleted",
        "typing",
        "stream_start",
        "complete",
        "presence",
        "handoff",
        "read",
    ];
    NAMES.iter().find(|n| **n == name).copied().unwrap_or("message")
}

/// Opens (or finds) this node's copy of a reply generated elsewhere.
pub(crate) fn mirror(
    cluster: &Arc<Cluster>,
    owner: &str,
    session: &str,
    reply_id: &str,
    message_id: &str,
) -> Option<Arc<ReplyLog>> {
    replies::open_mirror(cluster, owner, session, reply_id, message_id)
}
