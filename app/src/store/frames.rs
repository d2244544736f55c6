//! How each server frame (contract §3.3) changes the store: one small handler
//! per frame type. Tokens go through the shared [`webclient::Assembler`], which
//! decides whether they are shown and which one `resume` fills a gap.
//!
//! Handlers never send anything: they return the frames the page should send
//! in answer (a `resume` for a gap, for a reply announced by `joined`), and
//! [`crate::live`] sends them.

use leptos::prelude::*;
use protocol::frames::{Ack, ClientFrame, Complete, ErrorFrame, ServerFrame};
use protocol::objects::{Conversation, FinishReason, Message, MessageRole, MessageStatus};
use serde_json::Value;
use webclient::Verdict;

use super::{resume_frame, Delivery, Msg, Store};
use crate::navigation::Go;

/// Adds `add`'s fields to `into` (both JSON objects), replacing same-named ones.
pub(super) fn merge(into: &mut Value, add: &Value) {
    if let (Value::Object(a), Value::Object(b)) = (into, add) {
        for (k, v) in b {
            a.insert(k.clone(), v.clone());
        }
    }
}

/// The status a finished reply takes from its `finish_reason` (contract §5).
fn finished_status(reason: FinishReason) -> MessageStatus {
    match reason {
        FinishReason::Stopped => MessageStatus::Stopped,
        FinishReason::Error => MessageStatus::Error,
        FinishReason::Interrupted => MessageStatus::Interrupted,
        FinishReason::Stop | FinishReason::Length => MessageStatus::Complete,
    }
}

impl Store {
    /// Applies one server frame and returns what to send in answer (usually
    /// nothing; a `resume` when a token shows a gap or `joined` names a reply
    /// still generating). Frames of no concern to the page are ignored.
    pub fn on_frame(&self, frame: ServerFrame) -> Vec<ClientFrame> {
        match frame {
            ServerFrame::Ack(a) => self.on_ack(&a),
            ServerFrame::StreamStart {
                reply_id, session_id, ..
            } if self.is_open(&session_id) => self.on_stream_start(&reply_id),
            ServerFrame::Token {
                token,
                reply_id,
                session_id,
                seq,
            } => return self.on_token(&reply_id, &session_id, seq, &token).into_iter().collect(),
            ServerFrame::Complete(c) => self.on_complete(&c),
            ServerFrame::Error(e) => self.on_error(&e),
            ServerFrame::MessageAdded { session_id, message } if self.is_open(&session_id) => {
                self.apply_message(&message)
            }
            ServerFrame::ConversationUpdated { conversation } => self.upsert_conversation(conversation),
            ServerFrame::ConversationDeleted { session_id } => self.on_deleted(&session_id),
            ServerFrame::Joined {
                active_reply: Some(r), ..
            } => {
                self.ensure_reply(&r.reply_id, MessageStatus::Streaming);
                return self.resume(&r.reply_id).into_iter().collect();
            }
            _ => {}
        }
        Vec::new()
    }

    /// Whether `session_id` is the open conversation.
    fn is_open(&self, session_id: &str) -> bool {
        !session_id.is_empty() && self.current.with_untracked(|c| c.as_deref() == Some(session_id))
    }

    fn on_stream_start(&self, reply_id: &str) {
        let m = self.ensure_reply(reply_id, MessageStatus::Streaming);
        m.status.set(MessageStatus::Streaming);
        if m.seq.get_untracked() == 0 {
            m.thinking.set(true);
        }
    }

    fn on_deleted(&self, session_id: &str) {
        self.conversations.update(|v| v.retain(|c| c.id != session_id));
        if self.is_open(session_id) {
            self.go_to.set(Some(Go::replace("/?new".into())));
        }
    }

    fn on_ack(&self, a: &Ack) {
        let cid = a.client_id.as_deref();
        let reply_id = a.reply_id.as_deref().unwrap_or_default();
        if let Some(cid) = cid {
            self.outbox_remove(cid);
        }
        if let Some(c) = cid.filter(|c| self.regenerating.with_value(|v| v.iter().any(|x| x == c))) {
            self.regenerating.update_value(|v| v.retain(|x| x != c));
            if self.is_open(&a.session_id) && !reply_id.is_empty() && self.find_reply(reply_id).is_none() {
                self.replace_last_reply(reply_id);
            }
            return;
        }
        if let Some(m) = cid.and_then(|c| self.find(|m| m.client_id.as_deref() == Some(c))) {
            m.id.set(Some(a.message_id.clone()));
            m.delivery.set(Delivery::Sent);
            m.error.set(None);
        }
        if self.is_open(&a.session_id) && !reply_id.is_empty() {
            self.current_exists.set(true);
            self.ensure_reply(reply_id, MessageStatus::Queued);
        }
    }

    /// A regenerated reply replaces the last one in the list (the old one
    /// stays on the server as a version).
    /// The new reply is its answer's newest version: one more than the
    /// replaced reply had (the server's `metadata.versions`, §5), so the
    /// `‹ n/n ›` switcher shows at once.
    fn replace_last_reply(&self, reply_id: &str) {
        let mut old = None;
        self.messages.update(|v| {
            if let Some(i) = v.iter().rposition(|m| m.role == MessageRole::Assistant) {
                let m = v.remove(i);
                let had = m
                    .meta
                    .with_untracked(|meta| meta.get("versions").and_then(Value::as_u64))
                    .unwrap_or(1);
                old = m.id.get_untracked().map(|id| (id, had));
            }
        });
        if let Some((old, _)) = &old {
            self.assembler.update_value(|a| a.forget(old));
        }
        let m = self.ensure_reply(reply_id, MessageStatus::Queued);
        if let Some((_, had)) = old {
            let n = had + 1;
            m.meta
                .update(|meta| merge(meta, &serde_json::json!({"version": n, "versions": n})));
        }
    }

    /// The reply's bubble when the page shows it, or a new one when its
    /// conversation is open; `None` for another conversation's reply (opening
    /// that one later resumes it) and for a finished reply the page no longer
    /// shows (replaced by its regenerated version: its late `complete` or
    /// tokens must not bring it back).
    fn reply_for(&self, reply_id: &str, session_id: &str) -> Option<Msg> {
        if let Some(m) = self.find_reply(reply_id) {
            return Some(m);
        }
        let dropped = self
            .assembler
            .with_value(|a| a.text(reply_id).is_some() && !a.is_live(reply_id));
        (self.is_open(session_id) && !dropped).then(|| self.ensure_reply(reply_id, MessageStatus::Streaming))
    }

    fn on_token(&self, reply_id: &str, session_id: &str, seq: u64, token: &str) -> Option<ClientFrame> {
        let m = self.reply_for(reply_id, session_id)?;
        let verdict = self
            .assembler
            .try_update_value(|a| a.token(reply_id, seq, token))
            .unwrap_or(Verdict::Duplicate);
        match verdict {
            Verdict::Accepted => {
                m.seq.set(seq);
                m.thinking.set(false);
                if !m.status.get_untracked().is_live() {
                    m.status.set(MessageStatus::Streaming);
                }
                m.content.update(|c| c.push_str(token));
                self.grew.update(|g| *g += 1);
                None
            }
            Verdict::Gap { resume_after } => Some(resume_frame(reply_id, resume_after)),
            Verdict::Duplicate | Verdict::Awaiting => None,
        }
    }

    fn on_complete(&self, c: &Complete) {
        let Some(m) = self.reply_for(&c.reply_id, &c.session_id) else {
            return;
        };
        self.assembler.update_value(|a| a.complete(&c.reply_id, &c.response));
        let was_live = m.status.get_untracked().is_live();
        m.content.set(c.response.clone());
        m.thinking.set(false);
        m.status.set(finished_status(c.metadata.finish_reason));
        if let Ok(meta) = serde_json::to_value(&c.metadata) {
            m.meta.update(|into| merge(into, &meta));
        }
        self.grew.update(|g| *g += 1);
        if was_live {
            let short: String = c.response.chars().take(300).collect();
            self.announce.set(format!("Reply finished: {short}"));
        }
    }

    fn on_error(&self, e: &ErrorFrame) {
        let message = e.error.clone();
        if let Some(cid) = &e.client_id {
            self.outbox_remove(cid);
            if self.regenerating.with_value(|v| v.contains(cid)) {
                self.regenerating.update_value(|v| v.retain(|c| c != cid));
                self.notice.set(Some(message));
                return;
            }
            if let Some(m) = self.find(|m| m.client_id.as_ref() == Some(cid)) {
                m.delivery.set(Delivery::Failed);
                m.error.set(Some(message));
                return;
            }
        }
        if let Some(m) = e.reply_id.as_deref().and_then(|r| self.find_reply(r)) {
            m.error.set(Some(message));
            return;
        }
        self.notice.set(Some(message));
    }

    /// Shows a stored message of the open conversation (`message_added`, or a
    /// REST refresh in long-poll mode): new ones are added once, a reply
    /// shown while it streamed takes its final text, an edited user message
    /// its new text, a pending message of this page its id.
    pub fn apply_message(&self, msg: &Message) {
        if let Some(m) = self.find(|m| m.id.get_untracked().as_deref() == Some(msg.id.as_str())) {
            if msg.role == MessageRole::Assistant && !msg.status.is_live() {
                self.assembler.update_value(|a| a.complete(&msg.id, &msg.content));
                m.content.set(msg.content.clone());
                m.status.set(msg.status);
                m.thinking.set(false);
                m.meta.set(msg.metadata.clone());
            }
            if msg.role == MessageRole::User {
                // An edit (issue 17): the same message with its new text.
                m.content.set(msg.content.clone());
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
        if msg.role == MessageRole::Assistant {
            self.assembler
                .update_value(|a| a.show(&msg.id, Msg::seq_of(msg), &msg.content, msg.status.is_live()));
        }
        self.push(self.in_bubbles(|| Msg::from_message(msg)));
    }

    /// A conversation's new state (`conversation_updated`): kept in the list,
    /// newest first; a filtered list only updates the rows it shows.
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
        if self.is_open(&c.id) {
            self.current_exists.set(true);
        }
        self.conversations.update(|v| {
            v.retain(|x| x.id != c.id);
            let at = v.iter().position(|x| x.updated_at <= c.updated_at).unwrap_or(v.len());
            v.insert(at, c);
        });
    }
}
