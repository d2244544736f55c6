//! The seam between the in-process registry and the cluster bus (issue 13).

use super::registry::{ConnId, Event};

/// Where an event is published: the targets the cluster bus mirrors on other nodes.
#[derive(Clone, Copy, Debug)]
pub enum Target<'a> {
    Owner(&'a str),
    Conversation { owner: &'a str, session: &'a str },
    Bot(&'a str),
}

/// The cluster side of the registry (issue 13): told of every event published
/// here, and of which identities and bots this node's connections follow.
/// Called without the registry's lock held.
pub trait ClusterHook: Send + Sync {
    /// An event published on this node; the hook hands it to the other nodes.
    fn forward(&self, to: Target<'_>, event: &Event);
    /// The first (`true`) or last (`false`) local connection of `owner`.
    fn follow_owner(&self, owner: &str, on: bool);
    /// The first (`true`) or last (`false`) local connection watching `bot`.
    fn follow_bot(&self, bot: &str, on: bool);
    /// A connection of `owner` closed (it stops counting against the
    /// connection limit per identity across nodes).
    fn connection_closed(&self, _owner: &str, _conn: ConnId) {}
}
