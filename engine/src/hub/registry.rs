//! Who listens to what: connections (WebSocket or SSE) by identity, by joined
//! conversation, and bot owners watching their visitors.

use std::collections::{HashMap, HashSet};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use axum::extract::ws::Utf8Bytes;
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

use super::cluster_hook::{ClusterHook, Target};
use super::log::ReplyLog;
use crate::auth::Identity;

pub type ConnId = u64;

/// How many events may wait for a connection before it counts as too slow.
const INBOX_CAPACITY: usize = 256;

/// Something for a connection to deliver.
#[derive(Clone, Debug)]
pub enum Event {
    /// A reply of a joined conversation is starting: follow its log from the start.
    ReplyStarted(Arc<ReplyLog>),
    /// A ready frame. `origin` is the connection that caused it; it is not echoed
    /// back there (e.g. `message_added` for the sender's own message).
    Frame {
        frame: Utf8Bytes,
        /// The SSE `event:` name (the frame's `type`).
        name: &'static str,
        origin: Option<ConnId>,
    },
    /// The conversation was deleted; the connection forgets it.
    Deleted { session_id: String, frame: Utf8Bytes },
}

/// How a registered connection reaches its client: the `transport` label of
/// `brook_connections` and the other per-transport metrics.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Transport {
    WebSocket,
    /// Server-Sent Events: a reply's events, or the live event streams.
    Sse,
    LongPoll,
}

impl Transport {
    pub const ALL: [Transport; 3] = [Transport::WebSocket, Transport::Sse, Transport::LongPoll];

    pub fn as_str(self) -> &'static str {
        match self {
            Transport::WebSocket => "websocket",
            Transport::Sse => "sse",
            Transport::LongPoll => "long_poll",
        }
    }
}

#[derive(Debug, thiserror::Error)]
#[error("too many open connections for this identity")]
pub struct TooManyConnections;

/// One registered connection: whose it is, how it is reached and what it follows.
struct Member {
    owner: String,
    transport: Transport,
    /// The id of the token that opened it: revoking that token closes it.
    jti: String,
    /// A widget visitor's bot: deleting the bot or disabling its widget closes it.
    visitor_bot: Option<String>,
    inbox: mpsc::Sender<Arc<Event>>,
    slow: CancellationToken,
    cut: CancellationToken,
    conversations: HashSet<String>,
    bots: HashSet<String>,
}

#[derive(Default)]
struct State {
    conns: HashMap<ConnId, Member>,
    by_owner: HashMap<String, HashSet<ConnId>>,
    by_conversation: HashMap<(String, String), HashSet<ConnId>>,
    by_bot: HashMap<String, HashSet<ConnId>>,
}

pub struct Registry {
    state: Arc<Mutex<State>>,
    next: AtomicU64,
    max_per_identity: usize,
    /// Told when connections open, close and start following a bot (presence,
    /// contract §9.2). A cluster bus would plug in here too.
    watcher: std::sync::OnceLock<Arc<dyn ConnWatcher>>,
    cluster: std::sync::OnceLock<Arc<dyn ClusterHook>>,
}

/// Observes connections coming and going. Called without the registry's lock
/// held, so an implementation may publish through the registry.
pub trait ConnWatcher: Send + Sync {
    /// A connection of `owner` was registered; `visitor_bot` for a widget visitor.
    fn opened(&self, conn: ConnId, owner: &str, visitor_bot: Option<&str>);
    /// A connection began following `bot_id`'s visitor events (its owner's inbox).
    fn watching(&self, conn: ConnId, bot_id: &str);
    /// A connection went away.
    fn closed(&self, conn: ConnId);
}

/// A registered connection. Dropping it unregisters everything it joined.
pub struct Subscription {
    pub id: ConnId,
    pub inbox: Inbox,
    /// Cancelled when the connection fell too far behind and must close.
    pub slow: CancellationToken,
    /// Cancelled when the identity may no longer use it: its token was revoked
    /// (logout), or its visitor's bot was deleted or its widget disabled. The
    /// connection must close at once (issue 11 §4.5, §4.8).
    pub cut: CancellationToken,
    state: Arc<Mutex<State>>,
    watcher: Option<Arc<dyn ConnWatcher>>,
    cluster: Option<Arc<dyn ClusterHook>>,
}

pub type Inbox = mpsc::Receiver<Arc<Event>>;

impl Drop for Subscription {
    fn drop(&mut self) {
        self.unregister();
        if let Some(w) = &self.watcher {
            w.closed(self.id);
        }
    }
}

impl Subscription {
    fn unregister(&mut self) {
        let mut s = self.state.lock().unwrap_or_else(|p| p.into_inner());
        let mut owner_gone = None;
        let mut bots_gone = Vec::new();
        let mut closed_owner = None;
        if let Some(conn) = s.conns.remove(&self.id) {
            closed_owner = Some(conn.owner.clone());
            if let Some(set) = s.by_owner.get_mut(&conn.owner) {
                set.remove(&self.id);
                if set.is_empty() {
                    s.by_owner.remove(&conn.owner);
                    owner_gone = Some(conn.owner.clone());
                }
            }
            for conv in conn.conversations {
                let key = (conn.owner.clone(), conv);
                if let Some(set) = s.by_conversation.get_mut(&key) {
                    set.remove(&self.id);
                    if set.is_empty() {
                        s.by_conversation.remove(&key);
                    }
                }
            }
            for bot in conn.bots {
                if let Some(set) = s.by_bot.get_mut(&bot) {
                    set.remove(&self.id);
                    if set.is_empty() {
                        s.by_bot.remove(&bot);
                        bots_gone.push(bot);
                    }
                }
            }
        }
        drop(s);
        if let Some(c) = &self.cluster {
            if let Some(owner) = &closed_owner {
                c.connection_closed(owner, self.id);
            }
            if let Some(owner) = owner_gone {
                c.follow_owner(&owner, false);
            }
            for bot in bots_gone {
                c.follow_bot(&bot, false);
            }
        }
    }
}

impl Registry {
    /// `max_per_identity == 0` means no limit.
    pub fn new(max_per_identity: usize) -> Registry {
        Registry {
            state: Arc::new(Mutex::new(State::default())),
            next: AtomicU64::new(1),
            max_per_identity,
            watcher: std::sync::OnceLock::new(),
            cluster: std::sync::OnceLock::new(),
        }
    }

    /// Sets the cluster hook (once, at start-up, with `REDIS_URL`).
    pub fn set_cluster(&self, hook: Arc<dyn ClusterHook>) {
        let _ = self.cluster.set(hook);
    }

    fn forward(&self, to: Target<'_>, event: &Event) {
        if let Some(c) = self.cluster.get() {
            c.forward(to, event);
        }
    }

    /// Sets the connection watcher (once, at start-up).
    pub fn set_watcher(&self, watcher: Arc<dyn ConnWatcher>) {
        let _ = self.watcher.set(watcher);
    }

    /// To one connection.
    pub fn publish_to(&self, conn: ConnId, event: Event) {
        let targets = {
            let s = self.lock();
            Self::targets(&s, [&conn])
        };
        Self::deliver(targets, event);
    }

    /// To every connection of a visitor of `bot_id` (e.g. its owner's presence).
    pub fn publish_bot_visitors(&self, bot_id: &str, event: Event) {
        let targets = {
            let s = self.lock();
            s.conns
                .values()
                .filter(|c| c.visitor_bot.as_deref() == Some(bot_id))
                .map(|c| (c.inbox.clone(), c.slow.clone()))
                .collect::<Vec<_>>()
        };
        Self::deliver(targets, event);
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Registers a connection of `who`, refusing one over the per-identity limit.
    pub fn register(&self, who: &Identity, transport: Transport) -> Result<Subscription, TooManyConnections> {
        let owner = who.user_id.as_str();
        let visitor_bot = match who.role {
            protocol::objects::Role::Visitor => who.bot_id.clone(),
            _ => None,
        };
        let mut s = self.lock();
        let count = s.by_owner.get(owner).map_or(0, HashSet::len);
        if self.max_per_identity > 0 && count >= self.max_per_identity {
            return Err(TooManyConnections);
        }
        let id = self.next.fetch_add(1, Ordering::Relaxed);
        let (tx, rx) = mpsc::channel(INBOX_CAPACITY);
        let slow = CancellationToken::new();
        let cut = CancellationToken::new();
        s.conns.insert(
            id,
            Member {
                owner: owner.to_string(),
                transport,
                jti: who.jti.clone(),
                visitor_bot,
                inbox: tx,
                slow: slow.clone(),
                cut: cut.clone(),
                conversations: HashSet::new(),
                bots: HashSet::new(),
            },
        );
        let set = s.by_owner.entry(owner.to_string()).or_default();
        let first_of_owner = set.is_empty();
        set.insert(id);
        let visitor_bot = s.conns.get(&id).and_then(|c| c.visitor_bot.clone());
        drop(s);
        let cluster = self.cluster.get().cloned();
        if let (Some(c), true) = (&cluster, first_of_owner) {
            c.follow_owner(owner, true);
        }
        let watcher = self.watcher.get().cloned();
        if let Some(w) = &watcher {
            w.opened(id, owner, visitor_bot.as_deref());
        }
        Ok(Subscription {
            id,
            inbox: rx,
            slow,
            cut,
            state: self.state.clone(),
            watcher,
            cluster,
        })
    }

    /// Whether `owner` could open one more connection now.
    pub fn has_room(&self, owner: &str) -> bool {
        self.max_per_identity == 0 || self.lock().by_owner.get(owner).map_or(0, HashSet::len) < self.max_per_identity
    }

    pub fn connections(&self) -> usize {
        self.lock().conns.len()
    }

    /// Open connections per transport, every transport listed (zeros too).
    pub fn connections_by_transport(&self) -> Vec<(&'static str, usize)> {
        let s = self.lock();
        Transport::ALL
            .iter()
            .map(|t| (t.as_str(), s.conns.values().filter(|c| c.transport == *t).count()))
            .collect()
    }

    pub fn join(&self, conn: ConnId, session_id: &str) {
        let mut s = self.lock();
        let Some(c) = s.conns.get_mut(&conn) else {
            return;
        };
        if !c.conversations.insert(session_id.to_string()) {
            return;
        }
        let key = (c.owner.clone(), session_id.to_string());
        s.by_conversation.entry(key).or_default().insert(conn);
    }

    pub fn leave(&self, conn: ConnId, session_id: &str) {
        let mut s = self.lock();
        let Some(c) = s.conns.get_mut(&conn) else {
            return;
        };
        if !c.conversations.remove(session_id) {
            return;
        }
        let key = (c.owner.clone(), session_id.to_string());
        if let Some(set) = s.by_conversation.get_mut(&key) {
            set.remove(&conn);
            if set.is_empty() {
                s.by_conversation.remove(&key);
            }
        }
    }

    /// Subscribes a bot owner's connection to the bot's visitor events.
    pub fn watch_bot(&self, conn: ConnId, bot_id: &str) {
        let mut s = self.lock();
        let Some(c) = s.conns.get_mut(&conn) else {
            return;
        };
        let mut first_of_bot = false;
        if c.bots.insert(bot_id.to_string()) {
            let set = s.by_bot.entry(bot_id.to_string()).or_default();
            first_of_bot = set.is_empty();
            set.insert(conn);
        }
        drop(s);
        if let (Some(c), true) = (self.cluster.get(), first_of_bot) {
            c.follow_bot(bot_id, true);
        }
        if let Some(w) = self.watcher.get() {
            w.watching(conn, bot_id);
        }
    }

    fn deliver(targets: Vec<(mpsc::Sender<Arc<Event>>, CancellationToken)>, event: Event) {
        let event = Arc::new(event);
        for (tx, slow) in targets {
            match tx.try_send(event.clone()) {
                Ok(()) => {}
                Err(mpsc::error::TrySendError::Full(_)) => slow.cancel(),
                Err(mpsc::error::TrySendError::Closed(_)) => {}
            }
        }
    }

    fn targets<'a>(
        s: &State,
        ids: impl IntoIterator<Item = &'a ConnId>,
    ) -> Vec<(mpsc::Sender<Arc<Event>>, CancellationToken)> {
        ids.into_iter()
            .filter_map(|id| s.conns.get(id))
            .map(|c| (c.inbox.clone(), c.slow.clone()))
            .collect()
    }

    /// To every connection of `owner`, on every node.
    pub fn publish_owner(&self, owner: &str, event: Event) {
        self.forward(Target::Owner(owner), &event);
        self.local_owner(owner, event);
    }

    /// To every connection of `owner` on this node only (what the bus brings in).
    pub fn local_owner(&self, owner: &str, event: Event) {
        let targets = {
            let s = self.lock();
            match s.by_owner.get(owner) {
                Some(ids) => Self::targets(&s, ids),
                None => return,
            }
        };
        Self::deliver(targets, event);
    }

    /// To every connection joined to the conversation, on every node.
    pub fn publish_conversation(&self, owner: &str, session_id: &str, event: Event) {
        self.forward(
            Target::Conversation {
                owner,
                session: session_id,
            },
            &event,
        );
        self.local_conversation(owner, session_id, event);
    }

    /// Whether a connection on this node is joined to the conversation.
    pub fn has_joined(&self, owner: &str, session_id: &str) -> bool {
        self.lock()
            .by_conversation
            .contains_key(&(owner.to_string(), session_id.to_string()))
    }

    /// To the conversation's joined connections on this node only.
    pub fn local_conversation(&self, owner: &str, session_id: &str, event: Event) {
        let targets = {
            let s = self.lock();
            match s.by_conversation.get(&(owner.to_string(), session_id.to_string())) {
                Some(ids) => Self::targets(&s, ids),
                None => return,
            }
        };
        Self::deliver(targets, event);
    }

    /// To every connection watching the bot (its owner's live transcript views), on every node.
    pub fn publish_bot(&self, bot_id: &str, event: Event) {
        self.forward(Target::Bot(bot_id), &event);
        self.local_bot(bot_id, event);
    }

    /// To the connections watching the bot on this node only.
    pub fn local_bot(&self, bot_id: &str, event: Event) {
        let targets = {
            let s = self.lock();
            match s.by_bot.get(bot_id) {
                Some(ids) => Self::targets(&s, ids),
                None => return,
            }
        };
        Self::deliver(targets, event);
    }

    /// Closes every connection opened with the token `jti` (it was revoked).
    /// Returns how many were told to close.
    pub fn cut_token(&self, jti: &str) -> usize {
        self.cut_where(|c| c.jti == jti)
    }

    /// Closes every connection of a visitor of `bot_id` (the bot was deleted or
    /// its widget disabled). Returns how many were told to close.
    pub fn cut_bot_visitors(&self, bot_id: &str) -> usize {
        self.cut_where(|c| c.visitor_bot.as_deref() == Some(bot_id))
    }

    fn cut_where(&self, pick: impl Fn(&Member) -> bool) -> usize {
        let s = self.lock();
        let mut n = 0;
        for c in s.conns.values().filter(|c| pick(c)) {
            c.cut.cancel();
            n += 1;
        }
        n
    }

    /// Removes the conversation from every connection of `owner` that joined it.
    pub fn forget_conversation(&self, owner: &str, session_id: &str) {
        let mut s = self.lock();
        if let Some(ids) = s.by_conversation.remove(&(owner.to_string(), session_id.to_string())) {
            for id in ids {
                if let Some(c) = s.conns.get_mut(&id) {
                    c.conversations.remove(session_id);
                }
            }
        }
    }
}

#[cfg(test)]
#[path = "registry_tests.rs"]
mod tests;
