//! The cluster bus: what one node tells the others, and the guarantees it gives.
//!
//! Modelled on the broker interfaces of real-time servers: one trait with its
//! promises written on it, an implementation over Redis ([`super::redis_bus`]).
//! Without `REDIS_URL` there is no bus at all and the in-process registry is the
//! whole story.

use serde::{Deserialize, Serialize};

/// Where a message goes. Each topic is one Redis channel under the deployment's
/// `BROOK_REDIS_PREFIX`, so two deployments sharing a Redis never meet.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum Topic {
    /// Everything about one identity: its conversations' events and its replies
    /// starting (channel `{prefix}o:{user_id}`).
    Owner(String),
    /// A bot's visitor events for its owner's live views (`{prefix}b:{bot_id}`).
    Bot(String),
    /// The control channel (`{prefix}stop`), which every node follows: `stop`
    /// of a reply that another node runs, the replies a draining node hands
    /// over, and streams to close everywhere ([`super::cuts`]).
    Stop,
    /// To a bot's widget visitors: the owner's availability (`{prefix}bv:{bot_id}`),
    /// followed while a visitor of the bot is connected to the node.
    Visitors(String),
}

impl Topic {
    pub fn channel(&self, prefix: &str) -> String {
        match self {
            Topic::Owner(o) => format!("{prefix}o:{o}"),
            Topic::Bot(b) => format!("{prefix}b:{b}"),
            Topic::Stop => format!("{prefix}stop"),
            Topic::Visitors(b) => format!("{prefix}bv:{b}"),
        }
    }
}

/// One message on the bus, tagged with the node that published it so that the
/// node ignores its own echo (its local subscribers were served in process).
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Envelope {
    pub node: String,
    pub body: Body,
}

/// What travels. Frames travel as the JSON text the clients receive, encoded once
/// on the publishing node.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
#[serde(tag = "t", rename_all = "snake_case")]
pub enum Body {
    /// To every connection of `owner` (e.g. `conversation_updated`).
    Owner { owner: String, name: String, frame: String },
    /// To the connections of `owner` joined to `session` (`message_added`, `typing`).
    Conversation {
        owner: String,
        session: String,
        name: String,
        frame: String,
    },
    /// To the connections watching the bot (a visitor's events, with `visitor_id`).
    Bot { bot: String, name: String, frame: String },
    /// The conversation was deleted: `conversation_deleted` to every connection of `owner`.
    Deleted {
        owner: String,
        session: String,
        frame: String,
    },
    /// A reply of `session` started (or ended before its turn): joined
    /// connections follow its log, read from the reply's Redis Stream.
    Reply {
        owner: String,
        session: String,
        reply_id: String,
        message_id: String,
    },
    /// To every connection of a visitor of the bot (the owner's `presence`).
    Visitors { bot: String, name: String, frame: String },
    /// `stop` for a reply that the receiving node may be running.
    Stop {
        owner: String,
        session: String,
        reply_id: String,
    },
    /// A draining node gave up this `queued` reply (its lease is already
    /// released): the first node to claim the lease generates it.
    HandOver { reply_id: String },
    /// A token (`jti`, or `key:<id>` of an API key) was revoked: refuse it and
    /// close its streams.
    Revoked { jti: String },
    /// A bot was deleted or its widget disabled: close its visitors' streams.
    BotClosed { bot: String },
}

/// A publish/subscribe bus between the nodes of one deployment.
///
/// Guarantees (for messages published while the bus's Redis is reachable):
/// - **Order per topic:** the messages one node publishes on one topic reach
///   every subscribed node in the order they were published (one connection
///   writes them, pipelined, in the order of the calls).
/// - **At most once, no echo:** each subscribed node receives a message once;
///   the publishing node does not receive its own.
/// - **Never waits:** `publish` queues and returns; a Redis that is slow or
///   down delays or drops cross-node delivery but never the publisher.
/// - **Subscribe on interest:** a node receives a topic only between
///   [`Bus::follow`] and the matching [`Bus::unfollow`] (counted: the first
///   follow subscribes, the last unfollow unsubscribes). Messages published
///   before the subscription is confirmed by Redis are not received.
///
/// Not guaranteed: delivery across a Redis outage. Messages published while
/// Redis is unreachable are dropped (counted in `brook_cluster_dropped_total`);
/// the connection reconnects and resubscribes by itself. Reply tokens do not
/// depend on this: they are read from the reply's Stream, which is exactly-once
/// and in order by its entry ids.
pub trait Bus: Send + Sync {
    fn publish(&self, topic: &Topic, body: Body);
    fn follow(&self, topic: Topic);
    fn unfollow(&self, topic: Topic);
    /// Whether the last exchange with Redis succeeded.
    fn healthy(&self) -> bool;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn channels_live_under_the_prefix() {
        assert_eq!(Topic::Owner("u1".into()).channel("a:"), "a:o:u1");
        assert_eq!(Topic::Bot("b1".into()).channel("a:"), "a:b:b1");
        assert_eq!(Topic::Stop.channel("b:"), "b:stop");
        assert_eq!(Topic::Visitors("b1".into()).channel("a:"), "a:bv:b1");
    }

    #[test]
    fn envelopes_round_trip() {
        let e = Envelope {
            node: "n1".into(),
            body: Body::Conversation {
                owner: "u".into(),
                session: "s".into(),
                name: "typing".into(),
                frame: "{\"type\":\"typing\"}".into(),
            },
        };
        let back: Envelope = serde_json::from_str(&serde_json::to_string(&e).unwrap()).unwrap();
        assert_eq!(back.body, e.body);
        assert_eq!(back.node, "n1");
    }
}
