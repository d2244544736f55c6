//! How each server frame (contract §3.3) changes the store: one small handler
//! per frame type. Tokens go through the shared [`webclient::Assembler`], which
//! decides whether they are shown and which one `resume` fills a gap.

use leptos::prelude::*;
use protocol::objects::{Conversation, Message, MessageRole, MessageStatus};
use serde_json::Value;
use webclient::Verdict;

use super::{send_resume, Delivery, Msg, Store};
use crate::navigation::Go;

/// A string field of a frame.
fn field(f: &Value, k: &str) -> Option<String> {
    f[k].as_str().map(str::to_string)
}

fn merge(into: &mut Value, add: &Value) {
    if let (Value::Object(a), Value::Object(b)) = (into, add) {
        for (k, v) in b {
            a.insert(k.clone(), v.clone());
        }
    }
}

impl Store {
    /// Applies one frame (JSON text); unknown types and malformed frames are ignored.
    pub fn on_frame(&self, text: &str) {
        let Ok(f) = serde_json::from_str::<Value>(text) else {
            return;
        };
        match f["type"].as_str().unwrap_or_default() {
            "ack" => self.on_ack(&f),
            "stream_start" if self.is_open(&f) => {
                let m = self.ensure_reply(&field(&f, "reply_id").unwrap_or_default(), MessageStatus::Streaming);
                m.status.set(MessageStatus::Streaming);
                if m.seq.get_untracked() == 0 {
                    m.thinking.set(true);
                }
            }
            "token" => self.on_token(&f),
            "complete" => self.on_complete(&f),
            "error" => self.on_error(&f),
            "message_added" if self.is_open(&f) => self.on_message_added(&f),
            "conversation_updated" => {
                if let Ok(c) = serde_json::from_value::<Conversation>(f["conversation"].clone()) {
                    self.upsert_conversation(c);
                }
            }
            "conversation_deleted" => {
                let sid = field(&f, "session_id");
                self.conversations.update(|v| v.retain(|c| Some(&c.id) != sid.as_ref()));
                if self.is_open(&f) {
                    self.go_to.set(Some(Go::replace("/?new".into())));
                }
            }
            "joined" => {
                if let Some(r) = f["active_reply"]["reply_id"].as_str() {
                    self.ensure_reply(r, MessageStatus::Streaming);
                    self.resume(r);
                }
            }
            "poll_tick" => crate::live::refresh(*self),
            // `send_failed`: not sent (the network failed); it stays in the outbox.
            _ => {}
        }
    }

    /// Whether the frame's `session_id` is the open conversation.
    fn is_open(&self, f: &Value) -> bool {
        let sid = field(f, "session_id");
        sid.is_some() && sid == self.current.get_untracked()
    }

    fn on_ack(&self, f: &Value) {
        let cid = field(f, "client_id");
        let reply_id = field(f, "reply_id").unwrap_or_default();
        if let Some(cid) = &cid {
            self.outbox_remove(cid);
        }
        let regen = cid
            .as_ref()
            .is_some_and(|c| self.regenerating.with_value(|v| v.contains(c)));
        if regen {
            self.regenerating
                .update_value(|v| v.retain(|c| Some(c) != cid.as_ref()));
            if self.is_open(f) && self.find_reply(&reply_id).is_none() {
                self.replace_last_reply(&reply_id);
            }
            return;
        }
        if let Some(m) = cid
            .as_ref()
            .and_then(|c| self.find(|m| m.client_id.as_deref() == Some(c.as_str())))
        {
            m.id.set(field(f, "message_id"));
            m.delivery.set(Delivery::Sent);
            m.error.set(None);
        }
        if self.is_open(f) && !reply_id.is_empty() {
            self.current_exists.set(true);
            self.ensure_reply(&reply_id, MessageStatus::Queued);
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

    fn on_token(&self, f: &Value) {
        let Some(reply_id) = field(f, "reply_id") else {
            return;
        };
        let m = match self.find_reply(&reply_id) {
            Some(m) => m,
            None if self.is_open(f) => self.ensure_reply(&reply_id, MessageStatus::Streaming),
            // Another conversation's reply: opening it later resumes it.
            None => return,
        };
        let seq = f["seq"].as_u64().unwrap_or(0);
        let token = f["token"].as_str().unwrap_or_default();
        let verdict = self
            .assembler
            .try_update_value(|a| a.token(&reply_id, seq, token))
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
            }
            Verdict::Gap { resume_after } => send_resume(&reply_id, resume_after),
            Verdict::Duplicate | Verdict::Awaiting => {}
        }
    }

    fn on_complete(&self, f: &Value) {
        let Some(reply_id) = field(f, "reply_id") else {
            return;
        };
        let m = match self.find_reply(&reply_id) {
            Some(m) => m,
            None if self.is_open(f) => self.ensure_reply(&reply_id, MessageStatus::Streaming),
            None => return,
        };
        let response = f["response"].as_str().unwrap_or_default().to_string();
        self.assembler.update_value(|a| a.complete(&reply_id, &response));
        let status = match f["metadata"]["finish_reason"].as_str().unwrap_or("stop") {
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

    fn on_error(&self, f: &Value) {
        let message = field(f, "error").unwrap_or_else(|| "Something went wrong.".into());
        if let Some(cid) = field(f, "client_id") {
            self.outbox_remove(&cid);
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
        if let Some(m) = field(f, "reply_id").and_then(|r| self.find_reply(&r)) {
            m.error.set(Some(message));
            return;
        }
        self.notice.set(Some(message));
    }

    fn on_message_added(&self, f: &Value) {
        let Ok(msg) = serde_json::from_value::<Message>(f["message"].clone()) else {
            return;
        };
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
                .update_value(|a| a.show(&msg.id, Msg::seq_of(&msg), &msg.content, msg.status.is_live()));
        }
        self.push(self.in_bubbles(|| Msg::from_message(&msg)));
    }
}
