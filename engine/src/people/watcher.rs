//! Publishes presence (contract §9.2): watches the registry's connections
//! ([`ConnWatcher`]), keeps [`Presence`] up to date, and sends each change to
//! whoever must see it: a visitor's status to the bot's owner (the bot's events
//! streams), the owner's availability to the bot's visitors. On one node this
//! is the whole story; a cluster bus would forward the same [`Change`]s.

use std::sync::{Arc, Weak};
use std::time::Duration;

use protocol::frames::{PresenceActor, ServerFrame};
use protocol::objects::PresenceStatus;

use super::presence::{Change, Presence};
use crate::cluster::presence::SharedPresence;
use crate::hub::{ConnId, ConnWatcher, Event, Hub};
use crate::time::{now_micros, rfc3339};

pub(crate) struct Watcher {
    pub(crate) presence: Arc<Presence>,
    pub(crate) hub: Weak<Hub>,
    pub(crate) grace: Duration,
    /// With `REDIS_URL`: presence across the nodes.
    pub(crate) shared: Option<Arc<SharedPresence>>,
}

/// The `presence` frame of the bot owner's availability.
pub(crate) fn operator_frame(status: PresenceStatus, last_seen: Option<i64>) -> String {
    ServerFrame::Presence {
        actor: PresenceActor::Operator,
        status,
        last_seen_at: last_seen.map(rfc3339),
        visitor_id: None,
        session_id: None,
    }
    .to_json()
}

fn event(frame: String) -> Event {
    Event::Frame {
        frame: frame.into(),
        name: "presence",
        origin: None,
    }
}

/// Sends a change to those who see it.
fn publish(hub: &Hub, change: Change) {
    match change {
        Change::Visitor {
            bot_id,
            visitor_id,
            status,
            last_seen,
        } => {
            let frame = ServerFrame::Presence {
                actor: PresenceActor::Visitor,
                status,
                last_seen_at: Some(rfc3339(last_seen)),
                visitor_id: Some(visitor_id),
                session_id: None,
            };
            hub.registry.publish_bot(&bot_id, event(frame.to_json()));
        }
        Change::Operator {
            bot_id,
            status,
            last_seen,
        } => {
            hub.registry
                .publish_bot_visitors(&bot_id, event(operator_frame(status, Some(last_seen))));
        }
    }
}

impl ConnWatcher for Watcher {
    fn opened(&self, conn: ConnId, owner: &str, visitor_bot: Option<&str>) {
        let Some(bot) = visitor_bot else {
            return;
        };
        let Some(hub) = self.hub.upgrade() else {
            return;
        };
        let change = self.presence.visitor_opened(conn, bot, owner, now_micros());
        if let Some(shared) = &self.shared {
            shared.visitor_opened(conn, bot, owner);
            return;
        }
        // The owner's availability comes first, right after `auth_success`.
        let (status, last_seen) = self.presence.operator(bot);
        hub.registry.publish_to(conn, event(operator_frame(status, last_seen)));
        if let Some(c) = change {
            publish(&hub, c);
        }
    }

    fn watching(&self, conn: ConnId, bot_id: &str) {
        let change = self.presence.operator_watching(conn, bot_id, now_micros());
        if let Some(shared) = &self.shared {
            shared.touch(super::presence::Subject::Operator {
                bot_id: bot_id.to_string(),
            });
            return;
        }
        if let (Some(c), Some(hub)) = (change, self.hub.upgrade()) {
            publish(&hub, c);
        }
    }

    fn closed(&self, conn: ConnId) {
        let subjects = self.presence.subjects_of(conn);
        let (change, pending) = self.presence.closed(conn, now_micros());
        if let Some(shared) = &self.shared {
            shared.closed(subjects);
            return;
        }
        let Some(hub) = self.hub.upgrade() else {
            return;
        };
        if let Some(c) = change {
            publish(&hub, c);
        }
        if pending.is_empty() {
            return;
        }
        // Dropped outside a runtime (a process ending): nobody is left to tell.
        let Ok(rt) = tokio::runtime::Handle::try_current() else {
            return;
        };
        let (presence, weak, grace) = (self.presence.clone(), self.hub.clone(), self.grace);
        rt.spawn(async move {
            tokio::time::sleep(grace).await;
            let Some(hub) = weak.upgrade() else {
                return;
            };
            for p in pending {
                if let Some(c) = presence.expire(&p) {
                    publish(&hub, c);
                }
            }
        });
    }
}

impl Watcher {
    /// A `presence` frame from a connection's client (§3.2).
    pub(crate) fn reported(&self, conn: ConnId, away: bool) {
        let change = self.presence.reported(conn, away, now_micros());
        if let Some(shared) = &self.shared {
            for s in self.presence.subjects_of(conn) {
                shared.touch(s);
            }
            return;
        }
        if let (Some(c), Some(hub)) = (change, self.hub.upgrade()) {
            publish(&hub, c);
        }
    }
}
