//! The widget's live connection (a `webclient::Client`, whose connection
//! machine decides transports, retries and fallbacks) and what each frame
//! does to the panel. Which tokens are shown is the shared assembler's call.

use std::rc::Rc;

use js_sys::Object;
use wasm_bindgen::prelude::*;
use webclient::js;
use webclient::machine::rules::DEFAULT_UPGRADE_MS;
use webclient::{Client, Config, ConnState, Mode, Status, Verdict};

use crate::session::uuid;
use crate::{md, widget, Widget};
use protocol::names::{client as out, paths, server as frame};

/// A frame's string field, or empty.
fn field(f: &Object, k: &str) -> String {
    js::get_str(f, k).unwrap_or_default()
}

impl Widget {
    pub(crate) fn connect(&self) {
        let token = self.st.borrow().token.clone();
        let client = Client::start(
            Config {
                base: self.host.clone(),
                ws_path: paths::WS_CHAT.into(),
                token: Some(token),
                upgrade_ms: DEFAULT_UPGRADE_MS,
            },
            Rc::new(|t: &str| {
                if let Some(w) = widget() {
                    w.on_frame(t);
                }
            }),
            Rc::new(|s: Status| {
                if let Some(w) = widget() {
                    w.on_status(s);
                }
            }),
            Rc::new(|| {
                if let Some(w) = widget() {
                    w.on_ready();
                }
            }),
        );
        *self.client.borrow_mut() = Some(client);
    }

    /// Sends a frame; `false` when not connected (the caller keeps it).
    pub(crate) fn send(&self, frame: &Object) -> bool {
        let c = self.client.borrow().clone();
        c.is_some_and(|c| c.send(&js::stringify(frame)))
    }

    fn on_status(&self, s: Status) {
        let _ = self.status.set_attribute("data-connection", s.state.as_str());
        let _ = self.status.set_attribute("data-transport", s.mode.as_str());
        let text = match (s.state, s.mode) {
            (ConnState::Connected, Mode::WebSocket) => "Online",
            (ConnState::Connected, _) => "Online (fallback)",
            (ConnState::Connecting, _) => "Connecting…",
            (ConnState::Reconnecting, _) => "Reconnecting…",
            (ConnState::Offline, _) => "Offline",
        };
        self.status_text.set_text_content(Some(text));
    }

    /// Joins the conversation, resumes replies still streaming (a reply that
    /// was streaming when the visitor navigated continues here), sends what waits.
    fn on_ready(&self) {
        let (session, exists, pending) = {
            let st = self.st.borrow();
            let pending: Vec<(String, String)> = st.pending.iter().map(|(c, _, t)| (c.clone(), t.clone())).collect();
            (st.session.clone(), st.exists, pending)
        };
        // Every resume sent before died with the old connection.
        let live = self.st.borrow_mut().assembler.reconnected();
        if exists {
            let f = Object::new();
            js::set(&f, "type", &JsValue::from_str(out::JOIN));
            js::set(&f, "session_id", &JsValue::from_str(&session));
            self.send(&f);
        }
        for (id, seq) in live {
            self.resume(&id, seq);
        }
        for (cid, text) in pending {
            self.send(&self.message_frame(&cid, &text));
        }
    }

    fn resume(&self, reply_id: &str, after_seq: u64) {
        let f = Object::new();
        js::set(&f, "type", &JsValue::from_str(out::RESUME));
        js::set(&f, "reply_id", &JsValue::from_str(reply_id));
        js::set(&f, "after_seq", &JsValue::from_f64(after_seq as f64));
        self.send(&f);
    }

    fn message_frame(&self, client_id: &str, text: &str) -> Object {
        let f = Object::new();
        js::set(&f, "type", &JsValue::from_str(out::MESSAGE));
        js::set(&f, "message", &JsValue::from_str(text));
        js::set(&f, "session_id", &JsValue::from_str(&self.st.borrow().session));
        js::set(&f, "client_id", &JsValue::from_str(client_id));
        f
    }

    /// The visitor sends what is in the text area.
    pub(crate) fn submit(&self) {
        let text = self.input.value();
        if text.trim().is_empty() {
            return;
        }
        self.input.set_value("");
        let b = self.bubble("user");
        let _ = b.class_list().add_1("pending");
        let _ = b.set_attribute("data-delivery", "pending");
        b.set_text_content(Some(&text));
        let cid = uuid();
        self.st.borrow_mut().pending.push((cid.clone(), b, text.clone()));
        self.send(&self.message_frame(&cid, &text));
    }

    /// A frame from the client (contract §3.3, §9).
    fn on_frame(&self, text: &str) {
        let Some(f) = js::parse(text) else { return };
        let ty = field(&f, "type");
        let mine = field(&f, "session_id") == self.st.borrow().session;
        if self.on_people_frame(&ty, &f, mine) {
            return;
        }
        match ty.as_str() {
            frame::ACK => self.on_ack(&f, mine),
            frame::TYPING if mine && field(&f, "actor") == "assistant" => {
                let _ = self.typing.set_attribute("aria-label", "Assistant is typing");
                self.typing
                    .set_hidden(!js::get(&f, "is_typing").as_bool().unwrap_or(false));
            }
            frame::TOKEN if mine => self.on_token(&f),
            frame::COMPLETE if mine => self.on_complete(&f),
            frame::ERROR => self.on_error(&f),
            frame::MESSAGE_ADDED if mine => self.on_message_added(&f),
            frame::AUTH_ERROR => {
                // An expired token: get a fresh one for the same visitor, then reconnect.
                wasm_bindgen_futures::spawn_local(async {
                    if let Some(w) = widget() {
                        w.refresh_token().await;
                    }
                });
            }
            _ => {}
        }
    }

    /// Takes a pending message out of the outbox by its client id.
    fn take_pending(&self, cid: &str) -> Option<web_sys::Element> {
        let mut st = self.st.borrow_mut();
        let i = st.pending.iter().position(|(c, _, _)| c == cid)?;
        Some(st.pending.remove(i).1)
    }

    fn on_ack(&self, f: &Object, mine: bool) {
        let first = {
            let mut st = self.st.borrow_mut();
            !std::mem::replace(&mut st.exists, true)
        };
        let found = self.take_pending(&field(f, "client_id"));
        if first {
            self.save();
        }
        if let Some(b) = found {
            let _ = b.class_list().remove_1("pending");
            let _ = b.set_attribute("data-delivery", "sent");
            let _ = b.set_attribute("data-message-id", &field(f, "message_id"));
        }
        // In `human` mode no reply follows (`reply_id: null`, §9.1).
        let reply_id = field(f, "reply_id");
        if mine && !reply_id.is_empty() {
            self.reply(&reply_id);
            self.typing.set_hidden(false);
            self.scroll();
        }
    }

    fn on_token(&self, f: &Object) {
        let id = field(f, "reply_id");
        let body = self.reply(&id);
        let seq = js::get_f64(f, "seq").unwrap_or(0.0) as u64;
        let verdict = self.st.borrow_mut().assembler.token(&id, seq, &field(f, "token"));
        match verdict {
            Verdict::Accepted => {}
            Verdict::Gap { resume_after } => return self.resume(&id, resume_after),
            Verdict::Duplicate | Verdict::Awaiting => return,
        }
        self.typing.set_hidden(true);
        let _ = body.set_attribute("data-streaming", "true");
        {
            // Borrowed, not copied: a copy per token would grow with the reply.
            let st = self.st.borrow();
            md::render(&body, st.assembler.text(&id).unwrap_or_default());
        }
        self.scroll();
    }

    fn on_complete(&self, f: &Object) {
        let id = field(f, "reply_id");
        let body = self.reply(&id);
        let response = field(f, "response");
        self.st.borrow_mut().assembler.complete(&id, &response);
        let _ = body.remove_attribute("data-streaming");
        md::render(&body, &response);
        self.add_thumbs(&body, &Object::new());
        self.typing.set_hidden(true);
        self.scroll();
        let open = self.st.borrow().open;
        if open {
            self.read_all();
        } else {
            self.bump_unread();
        }
    }

    fn on_error(&self, f: &Object) {
        if let Some(b) = self.take_pending(&field(f, "client_id")) {
            let _ = b.class_list().remove_1("pending");
            let _ = b.class_list().add_1("failed");
            let _ = b.set_attribute("data-delivery", "failed");
        }
        let note = self.bubble("note");
        let _ = note.set_attribute("class", "note");
        note.set_text_content(Some(&field(f, "error")));
        self.typing.set_hidden(true);
    }

    fn on_message_added(&self, f: &Object) {
        let m = js::get(f, "message").dyn_into::<Object>().unwrap_or_default();
        match js::get_str(&m, "role").as_deref() {
            Some("user") => {
                let b = self.bubble("user");
                let _ = b.set_attribute("data-message-id", &field(&m, "id"));
                b.set_text_content(Some(&field(&m, "content")));
            }
            Some("operator") => {
                self.operator_bubble(&m);
                if self.st.borrow().open {
                    self.read_all();
                }
            }
            _ => {}
        }
    }
}
