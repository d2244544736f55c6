//! The inbox's state and what its controls do (REST calls of contract §9).
//! Every live event reloads the list and the open transcript. Events come in
//! bursts, and answers can arrive out of order: only the newest load of each
//! kind is applied. A reply generating in the open transcript is followed
//! token by token on the owner's own connection ([`Follow`]).

use leptos::prelude::*;
use protocol::objects::{ConversationMode, Message, MessageRole, VisitorConversation};
use serde_json::json;

use protocol::frames::{ClientFrame, ResumeFrame};
use send_wrapper::SendWrapper;

use super::dom::{follows_bottom, js_now, scroll_to_bottom, visible};
use super::follow::{Follow, Resume};
use crate::rest;
use crate::server_fns::{load_visitor_conversations, load_visitor_transcript};

/// `/api/v1/bots/{bot}/visitors/{visitor}/conversations/{session}/{what}`.
fn conv_path(bot: &str, visitor: &str, session: &str, what: &str) -> String {
    format!("/api/v1/bots/{bot}/visitors/{visitor}/conversations/{session}/{what}")
}

/// The newest visitor message of a transcript (what the owner reads up to).
pub fn last_visitor_message(msgs: &[Message]) -> Option<String> {
    msgs.iter()
        .rev()
        .find(|m| m.role == MessageRole::User)
        .map(|m| m.id.clone())
}

/// At most one `typing` `true` this often while the owner types (ms).
const TYPING_EVERY_MS: f64 = 3000.0;

/// One bot's inbox: signals and load counters, all `Copy`.
#[derive(Clone, Copy)]
pub(super) struct InboxState {
    pub bot: StoredValue<String>,
    pub list: RwSignal<Vec<VisitorConversation>>,
    /// The open conversation: `(visitor_id, session_id)`.
    pub open: RwSignal<Option<(String, String)>>,
    pub transcript: RwSignal<Vec<Message>>,
    pub draft: RwSignal<String>,
    pub error: RwSignal<String>,
    list_gen: StoredValue<u64>,
    transcript_gen: StoredValue<u64>,
    /// When the last `typing` was sent (ms since the epoch).
    last_typing: StoredValue<f64>,
    /// The open transcript's replies followed live, and their texts.
    pub follow: StoredValue<Follow>,
    /// Changes whenever a followed text does (the rows read [`Follow`] then).
    pub tick: RwSignal<u64>,
    /// The owner's connection that follows replies (browser only).
    pub client: StoredValue<Option<SendWrapper<webclient::Client>>>,
    /// Whether that connection is up (else checkpoints are reloaded).
    #[cfg_attr(not(feature = "hydrate"), allow(dead_code))]
    pub connected: StoredValue<bool>,
    /// A scroll to the end is on its way (one per burst of tokens).
    #[cfg_attr(not(feature = "hydrate"), allow(dead_code))]
    scrolling: StoredValue<bool>,
}

impl InboxState {
    pub fn new(bot_id: String) -> InboxState {
        InboxState {
            bot: StoredValue::new(bot_id),
            list: RwSignal::new(Vec::new()),
            open: RwSignal::new(None),
            transcript: RwSignal::new(Vec::new()),
            draft: RwSignal::new(String::new()),
            error: RwSignal::new(String::new()),
            list_gen: StoredValue::new(0),
            transcript_gen: StoredValue::new(0),
            last_typing: StoredValue::new(0.0),
            follow: StoredValue::new(Follow::new()),
            tick: RwSignal::new(0),
            client: StoredValue::new(None),
            connected: StoredValue::new(false),
            scrolling: StoredValue::new(false),
        }
    }

    /// The open conversation's mode (`ai` when none is open).
    pub fn mode(self) -> ConversationMode {
        let o = self.open.get();
        self.list.with(|l| {
            o.and_then(|(v, s)| {
                l.iter()
                    .find(|c| c.visitor_id == v && c.session_id == s)
                    .map(|c| c.mode)
            })
            .unwrap_or_default()
        })
    }

    /// `{conversation path}/{what}` of the open conversation.
    fn path(self, what: &str) -> Option<String> {
        let (v, s) = self.open.get_untracked()?;
        Some(conv_path(&self.bot.get_value(), &v, &s, what))
    }

    /// Reads the open transcript up to its newest visitor message.
    fn mark_read(self) {
        let Some(path) = self.path("read") else { return };
        let Some(last) = self.transcript.with_untracked(|t| last_visitor_message(t)) else {
            return;
        };
        leptos::task::spawn_local(async move {
            let _ = rest::post::<_, serde_json::Value>(&path, &json!({ "message_id": last })).await;
        });
    }

    /// Reloads the open transcript (the newest load wins), following its end
    /// when the owner was there, and reads it when the tab is visible.
    pub fn load_transcript(self) {
        let Some((v, s)) = self.open.get_untracked() else {
            return;
        };
        self.transcript_gen.update_value(|g| *g += 1);
        let gen = self.transcript_gen.get_value();
        leptos::task::spawn_local(async move {
            let Ok(t) = load_visitor_transcript(self.bot.get_value(), v.clone(), s.clone()).await else {
                return;
            };
            let current = self.open.try_get_untracked().flatten() == Some((v, s));
            if self.transcript_gen.try_get_value() != Some(gen) || !current {
                return;
            }
            let follow = follows_bottom();
            let resumes = self.follow.try_update_value(|f| f.on_transcript(&t.messages));
            self.transcript.set(t.messages);
            self.tick.try_update(|n| *n += 1);
            self.send_resumes(resumes.unwrap_or_default());
            if follow {
                scroll_to_bottom().await;
            }
            if visible() {
                self.mark_read();
            }
        });
    }

    /// Reloads the list (the newest load wins) and the open transcript.
    pub fn refresh(self) {
        self.list_gen.update_value(|g| *g += 1);
        let gen = self.list_gen.get_value();
        leptos::task::spawn_local(async move {
            if let Ok(l) = load_visitor_conversations(self.bot.get_value()).await {
                if self.list_gen.try_get_value() == Some(gen) {
                    self.list.set(l.conversations);
                }
            }
        });
        self.load_transcript();
    }

    /// Opens visitor `v`'s conversation `s`.
    pub fn show(self, v: String, s: String) {
        self.follow.update_value(Follow::clear);
        self.open.set(Some((v, s)));
        self.transcript.set(Vec::new());
        self.load_transcript();
    }

    /// Sends `resume` frames on the owner's connection. One that cannot go now
    /// (the connection is down) goes on the next [`InboxState::on_ready`].
    fn send_resumes(self, resumes: Vec<Resume>) {
        let Some(Some(client)) = self.client.try_with_value(|c| c.as_ref().map(|c| (**c).clone())) else {
            return;
        };
        for (reply_id, after_seq) in resumes {
            let frame = ClientFrame::Resume(ResumeFrame { reply_id, after_seq });
            client.send(&frame.to_json());
        }
    }

    /// The owner's connection (re)opened: every followed reply is resumed
    /// after what the transcript shows.
    #[cfg_attr(not(feature = "hydrate"), allow(dead_code))] // called by the browser's connection
    pub fn on_ready(self) {
        self.connected.try_set_value(true);
        if let Some(resumes) = self.follow.try_update_value(Follow::reconnected) {
            self.send_resumes(resumes);
        }
    }

    /// A frame on the owner's connection: a followed reply's token, `complete`
    /// or refusal. The transcript follows its end when the owner was there.
    #[cfg_attr(not(feature = "hydrate"), allow(dead_code))] // called by the browser's connection
    pub fn on_frame(self, text: &str) {
        let crate::store::Incoming::Server(f) = crate::store::decode(text) else {
            return;
        };
        let Some(out) = self.follow.try_update_value(|fl| fl.on_frame(&f)) else {
            return;
        };
        if let Some(r) = out.resume {
            self.send_resumes(vec![r]);
        }
        if out.changed.is_none() {
            return;
        }
        let follow = follows_bottom();
        self.tick.try_update(|n| *n += 1);
        if follow && self.scrolling.try_get_value() == Some(false) {
            self.scrolling.set_value(true);
            leptos::task::spawn_local(async move {
                scroll_to_bottom().await;
                self.scrolling.try_set_value(false);
            });
        }
    }

    /// Whether the open transcript must be reloaded from its checkpoints
    /// (see [`Follow::needs_checkpoints`]); `None` once the inbox is gone.
    #[cfg_attr(not(feature = "hydrate"), allow(dead_code))] // called by the browser's connection
    pub fn needs_checkpoints(self) -> Option<bool> {
        let connected = self.connected.try_get_value()?;
        let t = self.transcript.try_with_untracked(|t| t.clone())?;
        self.follow.try_with_value(|f| f.needs_checkpoints(&t, connected))
    }

    /// "Take over" (`human`) or "Hand back" (`ai`), contract §9.1.
    pub fn set_mode(self, m: ConversationMode) {
        let Some(path) = self.path("handoff") else { return };
        leptos::task::spawn_local(async move {
            match rest::post::<_, serde_json::Value>(&path, &json!({ "mode": m.as_str() })).await {
                Ok(_) => {
                    self.error.set(String::new());
                    self.refresh();
                }
                Err(e) => self.error.set(e.message),
            }
        });
    }

    /// The owner typed: the draft, and `typing` at most every [`TYPING_EVERY_MS`].
    pub fn on_input(self, value: String) {
        self.draft.set(value);
        let now = js_now();
        if now - self.last_typing.get_value() < TYPING_EVERY_MS {
            return;
        }
        self.last_typing.set_value(now);
        let Some(path) = self.path("typing") else { return };
        leptos::task::spawn_local(async move {
            let _ = rest::post::<_, serde_json::Value>(&path, &json!({ "is_typing": true })).await;
        });
    }

    /// Sends the draft as an operator message.
    pub fn send(self) {
        let text = self.draft.get_untracked();
        if text.trim().is_empty() {
            return;
        }
        let Some(path) = self.path("messages") else { return };
        let client_id = format!("op-{}", js_now() as u64);
        self.last_typing.set_value(0.0);
        leptos::task::spawn_local(async move {
            match rest::post::<_, Message>(&path, &json!({ "message": text, "client_id": client_id })).await {
                Ok(_) => {
                    self.draft.set(String::new());
                    self.error.set(String::new());
                    self.refresh();
                }
                Err(e) => self.error.set(e.message),
            }
        });
    }
}
