//! Presence (contract §9.2) as a state machine, in memory on this node.
//!
//! A visitor is `online` while one of its connections is open and visible,
//! `away` while every open one reported `away`, and `offline` once its last
//! connection has been closed for the grace period (30 s by default, so a reload
//! does not flicker). A bot's owner is `online` while one of their connections
//! follows the bot's events stream, and `offline` the grace period after the
//! last one closed. Every method returns the change it caused, if any; the
//! caller publishes it (see [`super::watcher`]). Closing the last connection
//! returns a [`Pending`] expiry the caller runs after the grace period.

use std::collections::{HashMap, HashSet};
use std::sync::Mutex;

use protocol::objects::PresenceStatus;

use crate::hub::ConnId;

/// Who changed, and how.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Change {
    Visitor {
        bot_id: String,
        visitor_id: String,
        status: PresenceStatus,
        /// Microseconds since the epoch.
        last_seen: i64,
    },
    Operator {
        bot_id: String,
        status: PresenceStatus,
        last_seen: i64,
    },
}

/// Whose presence a connection makes: a visitor's, or the owner's for a bot.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum Subject {
    Visitor { visitor_id: String, bot_id: String },
    Operator { bot_id: String },
}

/// An `offline` to apply after the grace period, unless someone came back.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Pending {
    Visitor { visitor_id: String, epoch: u64 },
    Operator { bot_id: String, epoch: u64 },
}

struct VisitorEntry {
    bot_id: String,
    /// Open connections and whether each reported `away`.
    conns: HashMap<ConnId, bool>,
    status: PresenceStatus,
    last_seen: i64,
    /// Bumped on every open and close; a pending expiry of an older epoch is void.
    epoch: u64,
}

impl VisitorEntry {
    fn live_status(&self) -> PresenceStatus {
        if self.conns.values().any(|away| !away) {
            PresenceStatus::Online
        } else if self.conns.is_empty() {
            // Within the grace period the last status stands.
            self.status
        } else {
            PresenceStatus::Away
        }
    }
}

#[derive(Default)]
struct OperatorEntry {
    conns: HashSet<ConnId>,
    online: bool,
    last_seen: i64,
    epoch: u64,
}

enum Holder {
    Visitor(String),
    /// An owner's connection, with the bots it follows.
    Operator(Vec<String>),
}

#[derive(Default)]
struct State {
    visitors: HashMap<String, VisitorEntry>,
    operators: HashMap<String, OperatorEntry>,
    conns: HashMap<ConnId, Holder>,
}

#[derive(Default)]
pub struct Presence {
    state: Mutex<State>,
}

impl Presence {
    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// A visitor's connection opened (visible until it says otherwise).
    pub fn visitor_opened(&self, conn: ConnId, bot_id: &str, visitor_id: &str, now: i64) -> Option<Change> {
        let mut s = self.lock();
        s.conns.insert(conn, Holder::Visitor(visitor_id.to_string()));
        let e = s
            .visitors
            .entry(visitor_id.to_string())
            .or_insert_with(|| VisitorEntry {
                bot_id: bot_id.to_string(),
                conns: HashMap::new(),
                status: PresenceStatus::Offline,
                last_seen: now,
                epoch: 0,
            });
        e.conns.insert(conn, false);
        e.epoch += 1;
        e.last_seen = now;
        Self::settle(e, visitor_id)
    }

    /// A visitor's connection reported its tab `away` (or back `online`).
    /// Connections of others (an owner's tab) change nothing.
    pub fn reported(&self, conn: ConnId, away: bool, now: i64) -> Option<Change> {
        let mut s = self.lock();
        let Some(Holder::Visitor(v)) = s.conns.get(&conn) else {
            return None;
        };
        let v = v.clone();
        let e = s.visitors.get_mut(&v)?;
        if let Some(a) = e.conns.get_mut(&conn) {
            *a = away;
        }
        e.last_seen = now;
        Self::settle(e, &v)
    }

    /// A connection of an owner began following a bot's events.
    pub fn operator_watching(&self, conn: ConnId, bot_id: &str, now: i64) -> Option<Change> {
        let mut s = self.lock();
        match s.conns.entry(conn).or_insert_with(|| Holder::Operator(Vec::new())) {
            Holder::Operator(bots) => bots.push(bot_id.to_string()),
            Holder::Visitor(_) => return None,
        }
        let e = s.operators.entry(bot_id.to_string()).or_default();
        e.conns.insert(conn);
        e.epoch += 1;
        e.last_seen = now;
        if e.online {
            return None;
        }
        e.online = true;
        Some(Change::Operator {
            bot_id: bot_id.to_string(),
            status: PresenceStatus::Online,
            last_seen: now,
        })
    }

    /// A connection closed: an immediate change (a visitor whose remaining
    /// connections are all away) and the expiries to run after the grace period.
    pub fn closed(&self, conn: ConnId, now: i64) -> (Option<Change>, Vec<Pending>) {
        let mut s = self.lock();
        let mut pending = Vec::new();
        let change = match s.conns.remove(&conn) {
            None => None,
            Some(Holder::Visitor(v)) => match s.visitors.get_mut(&v) {
                None => None,
                Some(e) => {
                    e.conns.remove(&conn);
                    e.epoch += 1;
                    e.last_seen = now;
                    if e.conns.is_empty() {
                        pending.push(Pending::Visitor {
                            visitor_id: v.clone(),
                            epoch: e.epoch,
                        });
                        None
                    } else {
                        Self::settle(e, &v)
                    }
                }
            },
            Some(Holder::Operator(bots)) => {
                for b in bots {
                    if let Some(e) = s.operators.get_mut(&b) {
                        e.conns.remove(&conn);
                        e.epoch += 1;
                        e.last_seen = now;
                        if e.conns.is_empty() {
                            pending.push(Pending::Operator {
                                bot_id: b.clone(),
                                epoch: e.epoch,
                            });
                        }
                    }
                }
                None
            }
        };
        (change, pending)
    }

    /// The grace period of a [`Pending`] has passed: `offline`, unless a
    /// connection opened or closed since.
    pub fn expire(&self, p: &Pending) -> Option<Change> {
        let mut s = self.lock();
        match p {
            Pending::Visitor { visitor_id, epoch } => {
                let e = s.visitors.get_mut(visitor_id)?;
                if e.epoch != *epoch || !e.conns.is_empty() || e.status == PresenceStatus::Offline {
                    return None;
                }
                e.status = PresenceStatus::Offline;
                Some(Change::Visitor {
                    bot_id: e.bot_id.clone(),
                    visitor_id: visitor_id.clone(),
                    status: PresenceStatus::Offline,
                    last_seen: e.last_seen,
                })
            }
            Pending::Operator { bot_id, epoch } => {
                let e = s.operators.get_mut(bot_id)?;
                if e.epoch != *epoch || !e.conns.is_empty() || !e.online {
                    return None;
                }
                e.online = false;
                Some(Change::Operator {
                    bot_id: bot_id.clone(),
                    status: PresenceStatus::Offline,
                    last_seen: e.last_seen,
                })
            }
        }
    }

    /// A visitor's status and when it was last seen (`None`: not since start).
    pub fn visitor(&self, visitor_id: &str) -> (PresenceStatus, Option<i64>) {
        let s = self.lock();
        match s.visitors.get(visitor_id) {
            Some(e) => (e.status, Some(e.last_seen)),
            None => (PresenceStatus::Offline, None),
        }
    }

    /// The owner's availability for a bot.
    pub fn operator(&self, bot_id: &str) -> (PresenceStatus, Option<i64>) {
        let s = self.lock();
        match s.operators.get(bot_id) {
            Some(e) if e.online => (PresenceStatus::Online, Some(e.last_seen)),
            Some(e) => (PresenceStatus::Offline, Some(e.last_seen)),
            None => (PresenceStatus::Offline, None),
        }
    }

    /// Whose presence `conn` makes (none for a connection that is neither a
    /// visitor's nor following a bot). Ask before [`Presence::closed`].
    pub fn subjects_of(&self, conn: ConnId) -> Vec<Subject> {
        let s = self.lock();
        match s.conns.get(&conn) {
            None => Vec::new(),
            Some(Holder::Visitor(v)) => s
                .visitors
                .get(v)
                .map(|e| Subject::Visitor {
                    visitor_id: v.clone(),
                    bot_id: e.bot_id.clone(),
                })
                .into_iter()
                .collect(),
            Some(Holder::Operator(bots)) => bots.iter().map(|b| Subject::Operator { bot_id: b.clone() }).collect(),
        }
    }

    /// Every subject with an open connection on this node.
    pub fn subjects(&self) -> Vec<Subject> {
        let s = self.lock();
        let visitors = s
            .visitors
            .iter()
            .filter(|(_, e)| !e.conns.is_empty())
            .map(|(v, e)| Subject::Visitor {
                visitor_id: v.clone(),
                bot_id: e.bot_id.clone(),
            });
        let operators = s
            .operators
            .iter()
            .filter(|(_, e)| !e.conns.is_empty())
            .map(|(b, _)| Subject::Operator { bot_id: b.clone() });
        visitors.chain(operators).collect()
    }

    /// This node's share of a subject's presence, ignoring the grace period:
    /// `Online` with a visible connection here, `Away` when every one here
    /// reported away, `Offline` with none open here. An owner has no `Away`.
    pub fn here(&self, subject: &Subject) -> PresenceStatus {
        let s = self.lock();
        match subject {
            Subject::Visitor { visitor_id, .. } => match s.visitors.get(visitor_id) {
                Some(e) if e.conns.values().any(|away| !away) => PresenceStatus::Online,
                Some(e) if !e.conns.is_empty() => PresenceStatus::Away,
                _ => PresenceStatus::Offline,
            },
            Subject::Operator { bot_id } => match s.operators.get(bot_id) {
                Some(e) if !e.conns.is_empty() => PresenceStatus::Online,
                _ => PresenceStatus::Offline,
            },
        }
    }

    fn settle(e: &mut VisitorEntry, visitor_id: &str) -> Option<Change> {
        let status = e.live_status();
        if status == e.status {
            return None;
        }
        e.status = status;
        Some(Change::Visitor {
            bot_id: e.bot_id.clone(),
            visitor_id: visitor_id.to_string(),
            status,
            last_seen: e.last_seen,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn status(c: Option<Change>) -> Option<PresenceStatus> {
        c.map(|c| match c {
            Change::Visitor { status, .. } | Change::Operator { status, .. } => status,
        })
    }

    #[test]
    fn a_visitor_goes_online_away_and_offline_only_after_the_grace() {
        let p = Presence::default();
        assert_eq!(status(p.visitor_opened(1, "b", "v", 10)), Some(PresenceStatus::Online));
        // A second tab changes nothing; one tab away is still online.
        assert_eq!(p.visitor_opened(2, "b", "v", 11), None);
        assert_eq!(p.reported(1, true, 12), None);
        assert_eq!(status(p.reported(2, true, 13)), Some(PresenceStatus::Away));
        assert_eq!(status(p.reported(2, false, 14)), Some(PresenceStatus::Online));
        // Closing one of two leaves the other's state: away.
        p.reported(2, true, 15);
        let (c, pending) = p.closed(1, 16);
        assert_eq!(status(c), None, "still away through tab 2");
        assert!(pending.is_empty());
        let (c, pending) = p.closed(2, 17);
        assert_eq!(c, None, "the grace period starts");
        assert_eq!(p.visitor("v").0, PresenceStatus::Away);
        assert_eq!(pending.len(), 1);
        assert_eq!(status(p.expire(&pending[0])), Some(PresenceStatus::Offline));
        assert_eq!(p.visitor("v"), (PresenceStatus::Offline, Some(17)));
        assert_eq!(p.expire(&pending[0]), None, "once");
    }

    #[test]
    fn a_reload_within_the_grace_does_not_flicker() {
        let p = Presence::default();
        p.visitor_opened(1, "b", "v", 1);
        let (_, pending) = p.closed(1, 2);
        assert_eq!(p.visitor_opened(3, "b", "v", 3), None, "still online: no change");
        assert_eq!(p.expire(&pending[0]), None, "the reload voided the expiry");
        assert_eq!(p.visitor("v").0, PresenceStatus::Online);
    }

    #[test]
    fn an_owner_is_online_while_following_and_offline_after_the_grace() {
        let p = Presence::default();
        assert_eq!(p.operator("b").0, PresenceStatus::Offline);
        assert_eq!(status(p.operator_watching(5, "b", 1)), Some(PresenceStatus::Online));
        assert_eq!(p.operator_watching(6, "b", 2), None);
        let (_, none) = p.closed(5, 3);
        assert!(none.is_empty(), "another stream follows the bot");
        let (_, pending) = p.closed(6, 4);
        assert_eq!(p.operator("b").0, PresenceStatus::Online, "within the grace");
        assert_eq!(status(p.expire(&pending[0])), Some(PresenceStatus::Offline));
        // Reports from an owner's connection are not a visitor's.
        assert_eq!(p.reported(5, true, 5), None);
    }

    #[test]
    fn this_nodes_share_ignores_the_grace() {
        let p = Presence::default();
        let v = Subject::Visitor {
            visitor_id: "v".into(),
            bot_id: "b".into(),
        };
        let o = Subject::Operator { bot_id: "b".into() };
        assert_eq!(p.here(&v), PresenceStatus::Offline);
        p.visitor_opened(1, "b", "v", 1);
        p.operator_watching(2, "b", 1);
        assert_eq!(p.subjects_of(1), vec![v.clone()]);
        assert_eq!(p.subjects_of(2), vec![o.clone()]);
        assert_eq!(p.subjects().len(), 2);
        assert_eq!(p.here(&v), PresenceStatus::Online);
        p.reported(1, true, 2);
        assert_eq!(p.here(&v), PresenceStatus::Away);
        assert_eq!(p.here(&o), PresenceStatus::Online);
        p.closed(1, 3);
        p.closed(2, 3);
        // Within the grace the node-wide status stands, but this node holds nothing.
        assert_eq!(p.visitor("v").0, PresenceStatus::Away);
        assert_eq!(p.here(&v), PresenceStatus::Offline);
        assert_eq!(p.here(&o), PresenceStatus::Offline);
        assert!(p.subjects().is_empty());
        assert!(p.subjects_of(1).is_empty());
    }
}
