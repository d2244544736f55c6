//! The chat's state in the page, and how live frames change it.
//!
//! One [`Store`] is created at the app's root ([`crate::App`]) and outlives
//! every route: the live connection's callbacks hold it, so no callback ever
//! holds a signal of a disposed route (issue 17, fault 2). Everything is
//! signals, so the views update themselves. Frames arrive decoded ([`decode`]) from
//! `webclient` (WebSocket frames, or the same shapes synthesized from HTTP
//! fallbacks) and are applied idempotently: whether a token is shown is decided
//! by the shared [`webclient::Assembler`], a message is added only if it is not
//! shown yet, so reconnects, resumes and several tabs never duplicate text.
//! The store never changes the address bar itself: it asks the router through
//! [`Store::go_to`] (see [`crate::navigation`]).

mod frames;
mod incoming;
mod msg;
mod outbox;
mod people;
mod versions;

use leptos::prelude::*;
use protocol::frames::{ClientFrame, RegenerateFrame, ResumeFrame, SessionFrame};
use protocol::objects::{Bot, Conversation, MessageRole, MessageStatus};
use webclient::Assembler;

use crate::navigation::Go;
use crate::server_fns::Session;

pub use incoming::{decode, Incoming};
pub use msg::{Delivery, Msg};
pub use outbox::{
    decode_outbox, encode_outbox, new_id, outbox_clear, outbox_frame, outbox_key, outbox_load, outbox_save,
    LEGACY_OUTBOX_KEY,
};
pub use people::{badge_text, comment_to_send, next_rating, read_target, tab_visible, RatingRequest};
pub use versions::{can_edit, earlier_prompt, own_index, step};

/// What the connection indicator shows.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct ConnView {
    pub state: &'static str,
    pub mode: &'static str,
    pub retry_at: Option<f64>,
}

/// An unsent message, kept in `localStorage` until acknowledged.
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct OutboxItem {
    /// The signed-in user who wrote it (`Me.id`); only they may send it.
    #[serde(default)]
    pub user_id: String,
    pub client_id: String,
    pub session_id: String,
    pub message: String,
    pub bot_id: Option<String>,
}

#[derive(Clone, Copy)]
pub struct Store {
    pub session: RwSignal<Option<Session>>,
    pub conversations: RwSignal<Vec<Conversation>>,
    /// Whether the conversation list was loaded (once per page).
    pub list_loaded: RwSignal<bool>,
    pub next_cursor: RwSignal<Option<String>>,
    pub query: RwSignal<String>,
    /// The open conversation (`None`: a new chat not sent yet).
    pub current: RwSignal<Option<String>>,
    /// Whether the open conversation exists on the server yet.
    pub current_exists: RwSignal<bool>,
    pub messages: RwSignal<Vec<Msg>>,
    pub has_more: RwSignal<bool>,
    pub conn: RwSignal<ConnView>,
    /// The latest finished reply, for screen readers.
    pub announce: RwSignal<String>,
    pub bots: RwSignal<Vec<Bot>>,
    pub selected_bot: RwSignal<Option<String>>,
    /// Bumped whenever the conversation grows, for scroll-following.
    pub grew: RwSignal<u64>,
    /// Bumped when the user sends: the view goes to the bottom, wherever it was.
    pub sent: RwSignal<u64>,
    pub notice: RwSignal<Option<String>>,
    /// A navigation the router should make (the store never touches `history`).
    pub go_to: RwSignal<Option<Go>>,
    /// The key of the user message being edited, and the draft (issue 17).
    pub editing: RwSignal<Option<String>>,
    pub edit_draft: RwSignal<String>,
    /// Client ids of `regenerate` requests waiting for their ack.
    regenerating: StoredValue<Vec<String>>,
    /// Which tokens are shown, and which `resume` fills a gap (contract §3.3).
    assembler: StoredValue<Assembler>,
    /// Who owns the bubbles' signals (see [`BubbleOwners`]).
    bubbles: StoredValue<BubbleOwners>,
    /// The outbox where there is no `localStorage` (server rendering, host
    /// tests); the browser keeps it in `localStorage` (see [`Store::outbox`]).
    outbox_mem: StoredValue<Vec<OutboxItem>>,
    /// The key of the last assistant bubble (the one that offers Regenerate).
    /// Owned here, not by the message list: a bubble's row may be rendered
    /// while the list that made it is being disposed (issue 17, fault 2).
    pub last_reply_key: Memo<Option<String>>,
    /// The key of the last user message (the one that offers Edit).
    pub last_user_key: Memo<Option<String>>,
    /// Whether any reply in the open conversation is still generating.
    pub any_live: Memo<bool>,
}

/// The owners of the bubbles' signals: children of the app's root owner, never
/// of a route's view. A bubble created inside a view (the conversation's
/// `Suspense`, an `Effect`, a task) would be disposed with that view when the
/// route changes, while the store and the live connection's callbacks still
/// reach it: "reactive value that has already been disposed" (issue 17, fault
/// 2). Each [`Store::open`] starts a new generation; the one before it is kept
/// until the next open (its rows may still be on screen until the list
/// re-renders), the one before that is disposed, so memory stays bounded.
#[derive(Clone)]
struct BubbleOwners {
    root: Owner,
    current: Owner,
    previous: Option<Owner>,
}

impl BubbleOwners {
    fn new() -> BubbleOwners {
        let root = Owner::current().unwrap_or_default();
        BubbleOwners {
            current: root.child(),
            root,
            previous: None,
        }
    }
}

impl Store {
    pub fn new() -> Store {
        let messages: RwSignal<Vec<Msg>> = RwSignal::new(Vec::new());
        let last_reply_key = Memo::new(move |_| {
            messages.with(|v| {
                v.iter()
                    .rev()
                    .find(|m| m.role == MessageRole::Assistant)
                    .map(|m| m.key.clone())
            })
        });
        let last_user_key = Memo::new(move |_| {
            messages.with(|v| {
                v.iter()
                    .rev()
                    .find(|m| m.role == MessageRole::User)
                    .map(|m| m.key.clone())
            })
        });
        let any_live =
            Memo::new(move |_| messages.with(|v| v.iter().any(|m| m.status.try_get().is_some_and(|s| s.is_live()))));
        Store {
            session: RwSignal::new(None),
            conversations: RwSignal::new(Vec::new()),
            list_loaded: RwSignal::new(false),
            next_cursor: RwSignal::new(None),
            query: RwSignal::new(String::new()),
            current: RwSignal::new(None),
            current_exists: RwSignal::new(false),
            messages,
            has_more: RwSignal::new(false),
            conn: RwSignal::new(ConnView {
                state: "connecting",
                mode: "websocket",
                retry_at: None,
            }),
            announce: RwSignal::new(String::new()),
            bots: RwSignal::new(Vec::new()),
            selected_bot: RwSignal::new(None),
            grew: RwSignal::new(0),
            sent: RwSignal::new(0),
            notice: RwSignal::new(None),
            go_to: RwSignal::new(None),
            editing: RwSignal::new(None),
            edit_draft: RwSignal::new(String::new()),
            regenerating: StoredValue::new(Vec::new()),
            assembler: StoredValue::new(Assembler::new()),
            bubbles: StoredValue::new(BubbleOwners::new()),
            outbox_mem: StoredValue::new(Vec::new()),
            last_reply_key,
            last_user_key,
            any_live,
        }
    }

    pub fn expect() -> Store {
        expect_context::<Store>()
    }

    /// Runs `f` (which creates bubbles) under the current bubble owner, so the
    /// signals live as long as the store shows them, whoever calls.
    fn in_bubbles<T>(&self, f: impl FnOnce() -> T) -> T {
        let owner = self.bubbles.with_value(|b| b.current.clone());
        owner.with(f)
    }

    /// Starts a new bubble generation and disposes the one two opens old,
    /// whose bubbles no list and no view holds any more.
    fn next_bubbles(&self) {
        let stale = self.bubbles.try_update_value(|b| {
            let next = b.root.child();
            let prev = std::mem::replace(&mut b.current, next);
            b.previous.replace(prev)
        });
        if let Some(Some(old)) = stale {
            old.cleanup();
        }
    }

    /// Shows a conversation's first page (server-rendered, then hydrated).
    pub fn open(&self, session_id: Option<String>, page: Option<protocol::rest::MessageList>) {
        self.current.set(session_id.clone());
        self.current_exists.set(page.is_some());
        self.next_bubbles();
        let msgs: Vec<Msg> = self.in_bubbles(|| {
            page.as_ref()
                .map(|p| p.messages.iter().map(Msg::from_message).collect())
                .unwrap_or_default()
        });
        self.has_more.set(page.as_ref().is_some_and(|p| p.has_more));
        // What the page shows now is where each reply continues from: tokens
        // dropped while another conversation was open come back by `resume`.
        self.assembler.update_value(|a| {
            for m in msgs.iter().filter(|m| m.role == MessageRole::Assistant) {
                if let Some(id) = m.id.get_untracked() {
                    a.show(&id, m.seq.get_untracked(), &m.content.get_untracked(), m.is_live());
                }
            }
        });
        self.messages.set(msgs);
        self.grew.update(|g| *g += 1);
    }

    /// The signed-in user's id (`Me.id`), empty before the session is known.
    pub fn user_id(&self) -> String {
        self.session
            .with_untracked(|s| s.as_ref().map(|s| s.user.id.clone()))
            .unwrap_or_default()
    }

    /// Shows the open conversation's unsent messages from the outbox. Browser
    /// only, after hydration: the server cannot know them.
    pub fn restore_outbox(&self) {
        let Some(s) = self.current.get_untracked() else {
            return;
        };
        for item in self.outbox().into_iter().filter(|i| i.session_id == s) {
            let shown = self
                .find(|m| m.client_id.as_deref() == Some(item.client_id.as_str()))
                .is_some();
            if !shown {
                self.push(self.in_bubbles(|| Msg::pending_user(&item.client_id, &item.message)));
            }
        }
    }

    /// Prepends an older page.
    pub fn prepend(&self, page: protocol::rest::MessageList) {
        self.has_more.set(page.has_more);
        let owner = self.bubbles.with_value(|b| b.current.clone());
        self.messages.update(|v| {
            let older: Vec<Msg> = owner.with(|| {
                page.messages
                    .iter()
                    .filter(|m| !v.iter().any(|x| x.id.get_untracked().as_deref() == Some(m.id.as_str())))
                    .map(Msg::from_message)
                    .collect()
            });
            let mut merged = older;
            merged.append(v);
            *v = merged;
        });
    }

    fn find(&self, pred: impl Fn(&Msg) -> bool) -> Option<Msg> {
        self.messages.with_untracked(|v| v.iter().find(|m| pred(m)).cloned())
    }

    fn find_reply(&self, reply_id: &str) -> Option<Msg> {
        self.find(|m| m.role == MessageRole::Assistant && m.id.get_untracked().as_deref() == Some(reply_id))
    }

    fn push(&self, m: Msg) {
        self.messages.update(|v| v.push(m));
        self.grew.update(|g| *g += 1);
    }

    /// A reply bubble for `reply_id`, created if this page has not seen it.
    fn ensure_reply(&self, reply_id: &str, status: MessageStatus) -> Msg {
        if let Some(m) = self.find_reply(reply_id) {
            return m;
        }
        self.assembler.update_value(|a| a.expect(reply_id));
        let m = self.in_bubbles(|| Msg::reply(reply_id, status));
        self.push(m.clone());
        m
    }

    /// A message from the composer: shown at once as pending, kept in the
    /// outbox until acknowledged; returns the `message` frame to send now (if
    /// it cannot go, it stays in the outbox and goes on the next ready).
    pub fn send_message(&self, text: String) -> ClientFrame {
        let session_id = match self.current.get_untracked() {
            Some(s) => s,
            None => {
                let s = new_id();
                self.current.set(Some(s.clone()));
                // Through the router, so it knows the page left `/?new`.
                self.go_to.set(Some(Go::replace(format!("/c/{s}"))));
                s
            }
        };
        let client_id = new_id();
        let bot_id = if self.current_exists.get_untracked() {
            None
        } else {
            self.selected_bot.get_untracked()
        };
        let item = OutboxItem {
            user_id: self.user_id(),
            client_id: client_id.clone(),
            session_id,
            message: text.clone(),
            bot_id,
        };
        let mut ob = self.outbox();
        ob.push(item.clone());
        self.outbox_write(&ob);
        self.push(self.in_bubbles(|| Msg::pending_user(&client_id, &text)));
        self.sent.update(|n| *n += 1);
        outbox_frame(&item)
    }

    /// Marks a failed message pending again and returns its `message` frame,
    /// with the same client id (never twice: the server deduplicates).
    pub fn retry(&self, m: &Msg) -> Option<ClientFrame> {
        let cid = m.client_id.clone()?;
        let session_id = self.current.get_untracked()?;
        m.delivery.set(Delivery::Pending);
        m.error.set(None);
        let item = OutboxItem {
            user_id: self.user_id(),
            client_id: cid,
            session_id,
            message: m.content.get_untracked(),
            bot_id: None,
        };
        let mut ob = self.outbox();
        if !ob.iter().any(|i| i.client_id == item.client_id) {
            ob.push(item.clone());
            self.outbox_write(&ob);
        }
        Some(outbox_frame(&item))
    }

    /// The `regenerate` frame for the open conversation's last reply.
    pub fn regenerate(&self) -> Option<ClientFrame> {
        self.redo(None)
    }

    /// The edited last user message, as a `regenerate` frame with `content`:
    /// the server stores the new text, announces it (`message_added` under
    /// the same id, to every tab) and answers it with a new reply version; the
    /// old replies stay as versions (docs/decisions.md, issue 17).
    pub fn save_edit(&self) -> Option<ClientFrame> {
        let text = self.edit_draft.get_untracked();
        if text.trim().is_empty() {
            return None;
        }
        self.editing.set(None);
        self.redo(Some(text))
    }

    fn redo(&self, content: Option<String>) -> Option<ClientFrame> {
        let session_id = self.current.get_untracked()?;
        let client_id = new_id();
        self.regenerating.update_value(|v| v.push(client_id.clone()));
        Some(ClientFrame::Regenerate(RegenerateFrame {
            session_id,
            client_id: Some(client_id),
            content,
        }))
    }

    /// The connection could not take `frame` (not connected). A message stays
    /// in the outbox; a `regenerate` is forgotten, and the reader told.
    pub fn not_sent(&self, frame: &ClientFrame) {
        if let ClientFrame::Regenerate(RegenerateFrame {
            client_id: Some(cid), ..
        }) = frame
        {
            self.regenerating.update_value(|v| v.retain(|c| c != cid));
            self.notice
                .set(Some("Not connected: try again when the connection is back.".into()));
        }
    }

    /// After each (re)connection, what to send: join the open conversation,
    /// resume its replies still streaming from the last `seq` shown (every
    /// earlier resume died with the old connection), the outbox, and `read`.
    pub fn on_ready(&self) -> Vec<ClientFrame> {
        let mut out: Vec<ClientFrame> = self.join_current().into_iter().collect();
        let live = self.assembler.try_update_value(|a| a.reconnected()).unwrap_or_default();
        for (id, after) in live {
            if self.find_reply(&id).is_some() {
                out.push(resume_frame(&id, after));
            }
        }
        out.extend(self.outbox().iter().map(outbox_frame));
        out.extend(self.read_if_unread());
        out
    }

    /// A conversation was opened while connected: join it and resume its
    /// replies still streaming, each once, from what the page shows.
    pub fn on_open(&self) -> Vec<ClientFrame> {
        let live: Vec<String> = self.messages.with_untracked(|v| {
            v.iter()
                .filter(|m| m.is_live())
                .filter_map(|m| m.id.get_untracked())
                .collect()
        });
        let mut out: Vec<ClientFrame> = self.join_current().into_iter().collect();
        out.extend(live.iter().filter_map(|id| self.resume(id)));
        out
    }

    fn join_current(&self) -> Option<ClientFrame> {
        let session_id = self
            .current
            .get_untracked()
            .filter(|_| self.current_exists.get_untracked())?;
        Some(ClientFrame::Join(SessionFrame { session_id }))
    }

    /// The one `resume` a reply needs now, if any (see [`Assembler::resume`]).
    fn resume(&self, reply_id: &str) -> Option<ClientFrame> {
        let after = self.assembler.try_update_value(|a| a.resume(reply_id)).flatten()?;
        Some(resume_frame(reply_id, after))
    }
}

/// `resume` `reply_id` from `after_seq` (contract §3.2).
fn resume_frame(reply_id: &str, after_seq: u64) -> ClientFrame {
    ClientFrame::Resume(ResumeFrame {
        reply_id: reply_id.to_string(),
        after_seq,
    })
}

#[cfg(test)]
mod tests;

impl Default for Store {
    fn default() -> Self {
        Store::new()
    }
}
