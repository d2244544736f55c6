//! The chat's state in the page, and how live frames change it.
//!
//! Everything is signals, so the views update themselves. Frames arrive as JSON
//! text from `webclient` (WebSocket frames, or the same shapes synthesized from
//! HTTP fallbacks) and are applied idempotently: a token is taken only if its
//! `seq` is the next one, a message only if it is not shown yet, so reconnects,
//! resumes and several tabs never duplicate text.

use leptos::prelude::*;
use protocol::objects::{Bot, Conversation, Message, MessageRole, MessageStatus};
use serde_json::{json, Value};

use crate::api::Session;

/// A user message's way to the server.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Delivery {
    /// In the outbox, not acknowledged yet.
    Pending,
    Sent,
    Failed,
}

/// One bubble.
#[derive(Clone)]
pub struct Msg {
    /// Stable across the pending → sent change (the client id, else the id).
    pub key: String,
    pub id: RwSignal<Option<String>>,
    pub role: MessageRole,
    pub content: RwSignal<String>,
    pub status: RwSignal<MessageStatus>,
    pub delivery: RwSignal<Delivery>,
    pub error: RwSignal<Option<String>>,
    pub client_id: Option<String>,
    pub meta: RwSignal<Value>,
    /// From `stream_start` until the first token.
    pub thinking: RwSignal<bool>,
    /// The last token `seq` shown.
    pub seq: RwSignal<u64>,
}

impl Msg {
    pub fn from_message(m: &Message) -> Msg {
        let seq = m.metadata.get("seq").and_then(Value::as_u64).unwrap_or(0);
        Msg {
            key: m
                .client_id
                .clone()
                .filter(|_| m.role == MessageRole::User)
                .unwrap_or_else(|| m.id.clone()),
            id: RwSignal::new(Some(m.id.clone())),
            role: m.role,
            content: RwSignal::new(m.content.clone()),
            status: RwSignal::new(m.status),
            delivery: RwSignal::new(Delivery::Sent),
            error: RwSignal::new(None),
            client_id: m.client_id.clone(),
            meta: RwSignal::new(m.metadata.clone()),
            thinking: RwSignal::new(m.status == MessageStatus::Queued),
            seq: RwSignal::new(seq),
        }
    }

    fn pending_user(client_id: &str, text: &str) -> Msg {
        Msg {
            key: client_id.to_string(),
            id: RwSignal::new(None),
            role: MessageRole::User,
            content: RwSignal::new(text.to_string()),
            status: RwSignal::new(MessageStatus::Complete),
            delivery: RwSignal::new(Delivery::Pending),
            error: RwSignal::new(None),
            client_id: Some(client_id.to_string()),
            meta: RwSignal::new(json!({})),
            thinking: RwSignal::new(false),
            seq: RwSignal::new(0),
        }
    }

    fn reply(reply_id: &str, status: MessageStatus) -> Msg {
        Msg {
            key: reply_id.to_string(),
            id: RwSignal::new(Some(reply_id.to_string())),
            role: MessageRole::Assistant,
            content: RwSignal::new(String::new()),
            status: RwSignal::new(status),
            delivery: RwSignal::new(Delivery::Sent),
            error: RwSignal::new(None),
            client_id: None,
            meta: RwSignal::new(json!({})),
            thinking: RwSignal::new(true),
            seq: RwSignal::new(0),
        }
    }

    pub fn is_live(&self) -> bool {
        self.role == MessageRole::Assistant && self.status.get_untracked().is_live()
    }
}

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
    pub client_id: String,
    pub session_id: String,
    pub message: String,
    pub bot_id: Option<String>,
}

#[derive(Clone, Copy)]
pub struct Store {
    pub session: RwSignal<Option<Session>>,
    pub conversations: RwSignal<Vec<Conversation>>,
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
    pub notice: RwSignal<Option<String>>,
    /// Client ids of `regenerate` requests waiting for their ack.
    regenerating: StoredValue<Vec<String>>,
}

pub const OUTBOX_KEY: &str = "brook.outbox.v1";

impl Store {
    pub fn new() -> Store {
        Store {
            session: RwSignal::new(None),
            conversations: RwSignal::new(Vec::new()),
            next_cursor: RwSignal::new(None),
            query: RwSignal::new(String::new()),
            current: RwSignal::new(None),
            current_exists: RwSignal::new(false),
            messages: RwSignal::new(Vec::new()),
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
            notice: RwSignal::new(None),
            regenerating: StoredValue::new(Vec::new()),
        }
    }

    pub fn expect() -> Store {
        expect_context::<Store>()
    }

    /// Shows a conversation's first page (server-rendered, then hydrated).
    pub fn open(&self, session_id: Option<String>, page: Option<protocol::rest::MessageList>) {
        self.current.set(session_id.clone());
        self.current_exists.set(page.is_some());
        let msgs: Vec<Msg> = page
            .as_ref()
            .map(|p| p.messages.iter().map(Msg::from_message).collect())
            .unwrap_or_default();
        self.has_more.set(page.as_ref().is_some_and(|p| p.has_more));
        self.messages.set(msgs);
        self.grew.update(|g| *g += 1);
    }

    /// Shows the open conversation's unsent messages from the outbox. Browser
    /// only, after hydration: the server cannot know them.
    pub fn restore_outbox(&self) {
        let Some(s) = self.current.get_untracked() else {
            return;
        };
        for item in outbox_load().into_iter().filter(|i| i.session_id == s) {
            let shown = self
                .find(|m| m.client_id.as_deref() == Some(item.client_id.as_str()))
                .is_some();
            if !shown {
                self.push(Msg::pending_user(&item.client_id, &item.message));
            }
        }
    }

    /// Prepends an older page.
    pub fn prepend(&self, page: protocol::rest::MessageList) {
        self.has_more.set(page.has_more);
        self.messages.update(|v| {
            let older: Vec<Msg> = page
                .messages
                .iter()
                .filter(|m| !v.iter().any(|x| x.id.get_untracked().as_deref() == Some(m.id.as_str())))
                .map(Msg::from_message)
                .collect();
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
        let m = Msg::reply(reply_id, status);
        self.push(m.clone());
        m
    }

    pub fn upsert_conversation(&self, c: Conversation) {
        if !self.query.get_untracked().is_empty() {
            // A filtered list is refreshed by the search itself.
            self.conversations.update(|v| {
                if let Some(x) = v.iter_mut().find(|x| x.id == c.id) {
                    *x = c.clone();
                }
            });
            return;
        }
        self.conversations.update(|v| {
            v.retain(|x| x.id != c.id);
            let at = v.iter().position(|x| x.updated_at <= c.updated_at).unwrap_or(v.len());
            v.insert(at, c.clone());
        });
        if self.current.get_untracked().as_deref() == Some(c.id.as_str()) {
            self.current_exists.set(true);
        }
    }

    /// Sends a message from the composer: shown at once as pending, kept in the
    /// outbox until acknowledged, and sent now if connected.
    pub fn send_message(&self, text: String) {
        let session_id = match self.current.get_untracked() {
            Some(s) => s,
            None => {
                let s = new_id();
                self.current.set(Some(s.clone()));
                crate::live::replace_url(&format!("/c/{s}"));
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
            client_id: client_id.clone(),
            session_id,
            message: text.clone(),
            bot_id,
        };
        let mut ob = outbox_load();
        ob.push(item.clone());
        outbox_save(&ob);
        self.push(Msg::pending_user(&client_id, &text));
        crate::live::send(&outbox_frame(&item));
    }

    /// Re-sends a failed message with the same client id (never twice: the server
    /// deduplicates).
    pub fn retry(&self, m: &Msg) {
        let Some(cid) = m.client_id.clone() else {
            return;
        };
        let Some(session_id) = self.current.get_untracked() else {
            return;
        };
        m.delivery.set(Delivery::Pending);
        m.error.set(None);
        let item = OutboxItem {
            client_id: cid,
            session_id,
            message: m.content.get_untracked(),
            bot_id: None,
        };
        let mut ob = outbox_load();
        if !ob.iter().any(|i| i.client_id == item.client_id) {
            ob.push(item.clone());
            outbox_save(&ob);
        }
        crate::live::send(&outbox_frame(&item));
    }

    pub fn regenerate(&self) {
        let Some(session_id) = self.current.get_untracked() else {
            return;
        };
        let client_id = new_id();
        self.regenerating.update_value(|v| v.push(client_id.clone()));
        let frame = json!({"type": "regenerate", "session_id": session_id, "client_id": client_id});
        if !crate::live::send(&frame.to_string()) {
            self.notice
                .set(Some("Not connected: try again when the connection is back.".into()));
        }
    }

    pub fn stop(&self, reply_id: &str) {
        crate::live::send(&json!({"type": "stop", "reply_id": reply_id}).to_string());
    }

    /// After each (re)connection: join the open conversation, resume replies
    /// still streaming from the last `seq` shown, and send the outbox.
    pub fn on_ready(&self) {
        self.on_ready_join();
        for item in outbox_load() {
            crate::live::send(&outbox_frame(&item));
        }
    }

    /// Joins the open conversation and resumes its live replies (also after a
    /// route change while connected).
    pub fn on_ready_join(&self) {
        if let (Some(s), true) = (self.current.get_untracked(), self.current_exists.get_untracked()) {
            crate::live::send(&json!({"type": "join", "session_id": s}).to_string());
        }
        let live: Vec<(String, u64)> = self.messages.with_untracked(|v| {
            v.iter()
                .filter(|m| m.is_live())
                .filter_map(|m| m.id.get_untracked().map(|id| (id, m.seq.get_untracked())))
                .collect()
        });
        for (id, seq) in live {
            crate::live::send(&json!({"type": "resume", "reply_id": id, "after_seq": seq}).to_string());
        }
    }

    /// Applies one frame.
    pub fn on_frame(&self, text: &str) {
        let Ok(f) = serde_json::from_str::<Value>(text) else {
            return;
        };
        let ty = f["type"].as_str().unwrap_or_default();
        let s = |k: &str| f[k].as_str().map(str::to_string);
        let current = self.current.get_untracked();
        let here = |sid: &Option<String>| sid.is_some() && *sid == current;
        match ty {
            "ack" => {
                let cid = s("client_id");
                let reply_id = s("reply_id").unwrap_or_default();
                if let Some(cid) = &cid {
                    outbox_save(
                        &outbox_load()
                            .into_iter()
                            .filter(|i| &i.client_id != cid)
                            .collect::<Vec<_>>(),
                    );
                }
                let regen = cid
                    .as_ref()
                    .is_some_and(|c| self.regenerating.with_value(|v| v.contains(c)));
                if regen {
                    self.regenerating
                        .update_value(|v| v.retain(|c| Some(c) != cid.as_ref()));
                    if here(&s("session_id")) && self.find_reply(&reply_id).is_none() {
                        // The new version replaces the last reply in the list.
                        self.messages.update(|v| {
                            if let Some(i) = v.iter().rposition(|m| m.role == MessageRole::Assistant) {
                                v.remove(i);
                            }
                        });
                        self.ensure_reply(&reply_id, MessageStatus::Queued);
                    }
                    return;
                }
                if let Some(m) = cid
                    .as_ref()
                    .and_then(|c| self.find(|m| m.client_id.as_deref() == Some(c.as_str())))
                {
                    m.id.set(s("message_id"));
                    m.delivery.set(Delivery::Sent);
                    m.error.set(None);
                }
                if here(&s("session_id")) && !reply_id.is_empty() {
                    self.current_exists.set(true);
                    self.ensure_reply(&reply_id, MessageStatus::Queued);
                }
            }
            "stream_start" if here(&s("session_id")) => {
                let m = self.ensure_reply(&s("reply_id").unwrap_or_default(), MessageStatus::Streaming);
                m.status.set(MessageStatus::Streaming);
                if m.seq.get_untracked() == 0 {
                    m.thinking.set(true);
                }
            }
            "token" => {
                let Some(reply_id) = s("reply_id") else {
                    return;
                };
                let Some(m) = self.find_reply(&reply_id) else {
                    if here(&s("session_id")) {
                        let m = self.ensure_reply(&reply_id, MessageStatus::Streaming);
                        self.apply_token(&m, &f);
                    }
                    return;
                };
                self.apply_token(&m, &f);
            }
            "complete" => {
                let Some(reply_id) = s("reply_id") else {
                    return;
                };
                let m = match self.find_reply(&reply_id) {
                    Some(m) => m,
                    None if here(&s("session_id")) => self.ensure_reply(&reply_id, MessageStatus::Streaming),
                    None => return,
                };
                let response = f["response"].as_str().unwrap_or_default().to_string();
                let finish = f["metadata"]["finish_reason"].as_str().unwrap_or("stop");
                let status = match finish {
                    "stopped" => MessageStatus::Stopped,
                    "error" => MessageStatus::Error,
                    "interrupted" => MessageStatus::Interrupted,
                    _ => MessageStatus::Complete,
                };
                let was_live = m.status.get_untracked().is_live();
                m.content.set(response.clone());
                m.thinking.set(false);
                m.status.set(status);
                m.meta.update(|meta| merge(meta, &f["metadata"]));
                self.grew.update(|g| *g += 1);
                if was_live {
                    let short: String = response.chars().take(300).collect();
                    self.announce.set(format!("Reply finished: {short}"));
                }
            }
            "error" => {
                let message = s("error").unwrap_or_else(|| "Something went wrong.".into());
                if let Some(cid) = s("client_id") {
                    outbox_save(
                        &outbox_load()
                            .into_iter()
                            .filter(|i| i.client_id != cid)
                            .collect::<Vec<_>>(),
                    );
                    if self.regenerating.with_value(|v| v.contains(&cid)) {
                        self.regenerating.update_value(|v| v.retain(|c| *c != cid));
                        self.notice.set(Some(message));
                        return;
                    }
                    if let Some(m) = self.find(|m| m.client_id.as_deref() == Some(cid.as_str())) {
                        m.delivery.set(Delivery::Failed);
                        m.error.set(Some(message));
                        return;
                    }
                }
                if let Some(m) = s("reply_id").and_then(|r| self.find_reply(&r)) {
                    m.error.set(Some(message));
                    return;
                }
                self.notice.set(Some(message));
            }
            "send_failed" => {
                // Not sent (the network failed): it stays in the outbox for the next try.
            }
            "message_added" => {
                if !here(&s("session_id")) {
                    return;
                }
                let Ok(msg) = serde_json::from_value::<Message>(f["message"].clone()) else {
                    return;
                };
                if let Some(m) = self.find(|m| m.id.get_untracked().as_deref() == Some(msg.id.as_str())) {
                    if msg.role == MessageRole::Assistant && !msg.status.is_live() {
                        m.content.set(msg.content.clone());
                        m.status.set(msg.status);
                        m.thinking.set(false);
                        m.meta.set(msg.metadata.clone());
                    }
                    return;
                }
                if let Some(cid) = &msg.client_id {
                    if let Some(m) = self.find(|m| m.client_id.as_deref() == Some(cid.as_str())) {
                        m.id.set(Some(msg.id.clone()));
                        m.delivery.set(Delivery::Sent);
                        return;
                    }
                }
                self.push(Msg::from_message(&msg));
            }
            "conversation_updated" => {
                if let Ok(c) = serde_json::from_value::<Conversation>(f["conversation"].clone()) {
                    self.upsert_conversation(c);
                }
            }
            "conversation_deleted" => {
                let sid = s("session_id");
                self.conversations.update(|v| v.retain(|c| Some(&c.id) != sid.as_ref()));
                if here(&sid) {
                    crate::live::navigate_home();
                }
            }
            "joined" => {
                if let Some(r) = f["active_reply"]["reply_id"].as_str() {
                    let m = self.ensure_reply(r, MessageStatus::Streaming);
                    let seq = m.seq.get_untracked();
                    crate::live::send(&json!({"type": "resume", "reply_id": r, "after_seq": seq}).to_string());
                }
            }
            "poll_tick" => crate::live::refresh(*self),
            _ => {}
        }
    }

    fn apply_token(&self, m: &Msg, f: &Value) {
        let seq = f["seq"].as_u64().unwrap_or(0);
        let next = m.seq.get_untracked() + 1;
        if seq != next {
            if seq > next {
                // A gap (should not happen): ask for what is missing.
                if let Some(id) = m.id.get_untracked() {
                    crate::live::send(&json!({"type": "resume", "reply_id": id, "after_seq": next - 1}).to_string());
                }
            }
            return;
        }
        m.seq.set(seq);
        m.thinking.set(false);
        if !m.status.get_untracked().is_live() {
            m.status.set(MessageStatus::Streaming);
        }
        let token = f["token"].as_str().unwrap_or_default();
        m.content.update(|c| c.push_str(token));
        self.grew.update(|g| *g += 1);
    }
}

impl Default for Store {
    fn default() -> Self {
        Store::new()
    }
}

fn merge(into: &mut Value, add: &Value) {
    if let (Value::Object(a), Value::Object(b)) = (into, add) {
        for (k, v) in b {
            a.insert(k.clone(), v.clone());
        }
    }
}

fn outbox_frame(i: &OutboxItem) -> String {
    json!({"type": "message", "message": i.message, "session_id": i.session_id, "client_id": i.client_id, "bot_id": i.bot_id})
        .to_string()
}

/// A random id (client ids and new conversation ids).
pub fn new_id() -> String {
    #[cfg(feature = "hydrate")]
    {
        if let Some(c) = web_sys::window().and_then(|w| w.crypto().ok()) {
            return c.random_uuid();
        }
        format!(
            "{:x}-{:x}",
            js_sys::Date::now() as u64,
            (js_sys::Math::random() * 1e15) as u64
        )
    }
    #[cfg(not(feature = "hydrate"))]
    {
        String::from("server")
    }
}

pub fn outbox_load() -> Vec<OutboxItem> {
    #[cfg(feature = "hydrate")]
    {
        web_sys::window()
            .and_then(|w| w.local_storage().ok().flatten())
            .and_then(|s| s.get_item(OUTBOX_KEY).ok().flatten())
            .and_then(|t| serde_json::from_str(&t).ok())
            .unwrap_or_default()
    }
    #[cfg(not(feature = "hydrate"))]
    {
        Vec::new()
    }
}

pub fn outbox_save(items: &[OutboxItem]) {
    #[cfg(feature = "hydrate")]
    {
        if let Some(s) = web_sys::window().and_then(|w| w.local_storage().ok().flatten()) {
            let _ = s.set_item(
                OUTBOX_KEY,
                &serde_json::to_string(items).unwrap_or_else(|_| "[]".into()),
            );
        }
    }
    #[cfg(not(feature = "hydrate"))]
    {
        let _ = items;
    }
}
