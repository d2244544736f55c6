//! One bubble's state: signals the views read, changed only by the store.

use leptos::prelude::*;
use protocol::objects::{Message, MessageRole, MessageStatus, Rating};
use serde_json::{json, Value};

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
    /// An assistant reply's versions (`GET /api/v1/messages/{id}/versions`),
    /// oldest first; empty until the reader first browses them.
    pub versions: RwSignal<Vec<Message>>,
    /// The version shown (index into `versions`); `None`: this reply itself.
    pub version_at: RwSignal<Option<usize>>,
    /// After "Copy": `Some(true)` copied, `Some(false)` the browser refused.
    pub copied: RwSignal<Option<bool>>,
    /// The reader's thumbs up or down on a reply (contract §9.4).
    pub feedback: RwSignal<Option<Rating>>,
    /// The rating's stored comment (§9.4), if any.
    pub comment: RwSignal<Option<String>>,
    /// The comment form's text while it is open (`None`: closed).
    pub comment_draft: RwSignal<Option<String>>,
    /// Why the comment was not sent (too long, or the server refused).
    pub comment_error: RwSignal<Option<String>>,
}

impl Msg {
    /// The comment form's text changed: the new draft, and the reason a
    /// previous one was refused no longer applies.
    pub fn type_comment(&self, text: String) {
        self.comment_draft.set(Some(text));
        self.comment_error.set(None);
    }

    /// The last token `seq` a stored reply's text holds (`metadata.seq`).
    pub fn seq_of(m: &Message) -> u64 {
        m.metadata.get("seq").and_then(Value::as_u64).unwrap_or(0)
    }

    /// A bubble for a stored message. The same on the server and in the
    /// browser (both render from the same page), so hydration agrees.
    pub fn from_message(m: &Message) -> Msg {
        let seq = Msg::seq_of(m);
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
            // Queued, or generating without text yet: the thinking dots show.
            thinking: RwSignal::new(m.status.is_live() && m.content.is_empty()),
            seq: RwSignal::new(seq),
            versions: RwSignal::new(Vec::new()),
            version_at: RwSignal::new(None),
            copied: RwSignal::new(None),
            feedback: RwSignal::new(m.feedback.as_ref().map(|f| f.rating)),
            comment: RwSignal::new(m.feedback.as_ref().and_then(|f| f.comment.clone())),
            comment_draft: RwSignal::new(None),
            comment_error: RwSignal::new(None),
        }
    }

    pub(super) fn pending_user(client_id: &str, text: &str) -> Msg {
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
            versions: RwSignal::new(Vec::new()),
            version_at: RwSignal::new(None),
            copied: RwSignal::new(None),
            feedback: RwSignal::new(None),
            comment: RwSignal::new(None),
            comment_draft: RwSignal::new(None),
            comment_error: RwSignal::new(None),
        }
    }

    pub(super) fn reply(reply_id: &str, status: MessageStatus) -> Msg {
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
            versions: RwSignal::new(Vec::new()),
            version_at: RwSignal::new(None),
            copied: RwSignal::new(None),
            feedback: RwSignal::new(None),
            comment: RwSignal::new(None),
            comment_draft: RwSignal::new(None),
            comment_error: RwSignal::new(None),
        }
    }

    /// `(version, versions)` of a reply from its metadata (1-based), when it
    /// has more than one version (contract §5).
    pub fn version_of(meta: &Value) -> Option<(u64, u64)> {
        let n = meta.get("versions").and_then(Value::as_u64)?;
        let v = meta.get("version").and_then(Value::as_u64).unwrap_or(n);
        (n > 1).then_some((v.clamp(1, n), n))
    }

    pub fn is_live(&self) -> bool {
        self.role == MessageRole::Assistant && self.status.get_untracked().is_live()
    }
}
