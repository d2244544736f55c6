//! People in the loop (contract §9): a bot's owner takes over a visitor's
//! conversation ([`handoff`]), sees who is there ([`presence`]), and both sides
//! see what the other has read ([`read`]); anyone rates answers and exports a
//! conversation ([`feedback`], [`export`]).

pub mod export;
pub mod feedback;
pub mod handoff;
pub mod presence;
pub mod read;
pub(crate) mod watcher;

use std::sync::Arc;
use std::time::Duration;

use protocol::objects::{Role, VisitorConversation};

use crate::admission::Admission;
use crate::auth::Identity;
use crate::bots::own_bot;
use crate::chat::announce::Announcer;
use crate::chat::runner::Runner;
use crate::chat::scheduler::Scheduler;
use crate::cluster::presence::SharedPresence;
use crate::cluster::Cluster;
use crate::error::{Error, Result};
use crate::hub::{ConnId, Event, Hub};
use crate::metrics::Metrics;
use crate::store::{BotRow, ConversationRow, Database};
use crate::time::rfc3339;

/// (visitor, conversation) → the generation of the operator's `typing: true`.
pub(crate) type OperatorTyping = crate::chat::typing::Expiring<(String, String)>;

/// People in the loop: hand-off, operator messages and typing, presence, read
/// receipts, feedback and export (contract §9).
pub struct People {
    pub(crate) store: Arc<dyn Database>,
    pub(crate) hub: Arc<Hub>,
    pub(crate) scheduler: Arc<Scheduler>,
    pub(crate) runner: Arc<Runner>,
    pub(crate) admission: Arc<Admission>,
    pub(crate) announcer: Announcer,
    pub(crate) metrics: Arc<Metrics>,
    /// Who is there, on this node (§9.2).
    pub presence: Arc<presence::Presence>,
    pub(crate) watcher: Arc<watcher::Watcher>,
    /// Operator typing that expires unless refreshed.
    pub(crate) typing: OperatorTyping,
    /// `BROOK_MAX_MESSAGE_CHARS`, for operator messages too.
    pub(crate) max_message_chars: usize,
    /// With `REDIS_URL`: stops replies that run on other nodes.
    pub(crate) cluster: Option<Arc<Cluster>>,
}

/// Starts watching `hub`'s connections for presence; `grace` is §9.2's 30 s.
/// With a cluster, presence is shared with the other nodes through Redis.
pub(crate) fn watch(
    hub: &Arc<Hub>,
    grace: Duration,
    cluster: Option<&Arc<Cluster>>,
) -> (Arc<presence::Presence>, Arc<watcher::Watcher>) {
    let presence = Arc::new(presence::Presence::default());
    let shared = cluster.map(|c| SharedPresence::start(c.clone(), presence.clone(), Arc::downgrade(hub), grace));
    let watcher = Arc::new(watcher::Watcher {
        presence: presence.clone(),
        hub: Arc::downgrade(hub),
        grace,
        shared,
    });
    hub.registry.set_watcher(watcher.clone());
    (presence, watcher)
}

impl presence::Presence {
    /// Fills a visitor list item's `visitor_status` and `last_seen_at`.
    pub fn fill(&self, item: &mut VisitorConversation) {
        let (status, seen) = self.visitor(&item.visitor_id);
        item.visitor_status = status;
        item.last_seen_at = seen.map(rfc3339);
    }
}

/// Where visitors' presence is read for the owner's list: this node's memory,
/// or with `REDIS_URL` the status every node agrees on (this node's view when
/// Redis does not answer).
#[derive(Clone)]
pub struct PresenceReader {
    local: Arc<presence::Presence>,
    shared: Option<Arc<SharedPresence>>,
}

impl PresenceReader {
    /// Fills each item's `visitor_status` and `last_seen_at`.
    pub async fn fill(&self, items: &mut [VisitorConversation]) {
        if let Some(shared) = &self.shared {
            match shared.fill(items).await {
                Ok(()) => return,
                Err(e) => tracing::warn!(error = %e, "presence: Redis unreachable; this node's view listed"),
            }
        }
        for item in items {
            self.local.fill(item);
        }
    }
}

/// A visitor conversation as its bot's owner reaches it.
pub struct OperatorView {
    pub bot: BotRow,
    pub conversation: ConversationRow,
}

/// A frame as an event for a connection's inbox.
pub(crate) fn frame_event(frame: String, name: &'static str, origin: Option<ConnId>) -> Event {
    Event::Frame {
        frame: frame.into(),
        name,
        origin,
    }
}

impl People {
    /// The conversation `session_id` of the bot's visitor `visitor_id`, for the
    /// bot's owner. Anything else (another's bot, a visitor token, an unknown or
    /// foreign visitor or conversation) is `NOT_FOUND` (contract §2).
    pub async fn operator_view(
        &self,
        who: &Identity,
        bot_id: &str,
        visitor_id: &str,
        session_id: &str,
    ) -> Result<OperatorView> {
        let bot = own_bot(self.store.as_ref(), who, bot_id).await?;
        crate::chat::Via::Http.check_session_id(session_id)?;
        let visitor = self.store.user_by_id(visitor_id).await?;
        let ok = visitor.is_some_and(|v| v.role == Role::Visitor && v.bot_id.as_deref() == Some(bot.id.as_str()));
        if !ok {
            return Err(Error::not_found("conversation"));
        }
        match self.store.conversation(visitor_id, session_id).await? {
            Some(conversation) if conversation.bot_id == bot.id => Ok(OperatorView { bot, conversation }),
            _ => Err(Error::not_found("conversation")),
        }
    }

    /// The name visitors see for the owner: their name, else the part of their
    /// email before `@`, else "Operator".
    pub(crate) async fn operator_name(&self, who: &Identity) -> Result<String> {
        let user = self.store.user_by_id(&who.user_id).await?;
        let name = user.and_then(|u| {
            u.name
                .filter(|n| !n.trim().is_empty())
                .or_else(|| u.email.and_then(|e| e.split('@').next().map(str::to_string)))
        });
        Ok(name.unwrap_or_else(|| "Operator".to_string()))
    }

    /// Reads presence for the owner's visitor list.
    pub fn reader(&self) -> PresenceReader {
        PresenceReader {
            local: self.presence.clone(),
            shared: self.watcher.shared.clone(),
        }
    }

    /// A `presence` frame from a client: a visitor's tab hidden or shown (§9.2).
    pub fn report_presence(&self, conn: ConnId, away: bool) {
        self.watcher.reported(conn, away);
    }

    /// An events stream of the bot's owner: it gets the bot's live events
    /// (visitors' messages, presence) from now on.
    pub fn watch_bot(&self, conn: ConnId, bot_id: &str) {
        self.hub.registry.watch_bot(conn, bot_id);
    }
}
