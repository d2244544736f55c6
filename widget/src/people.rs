//! The widget's side of contract §9 (people in the loop): who answers (the
//! operator's name on their bubbles, a notice when a person joins or leaves,
//! their typing), "Seen" under the visitor's message once the operator read
//! it, whether a person is available, the visitor's tab `presence`, and the
//! server's unread count on the launcher badge. Feedback is in `feedback`.

use js_sys::Object;
use wasm_bindgen::prelude::*;
use web_sys::Element;
use webclient::js;

use crate::dom::{doc, el, on};
use crate::{md, Widget};
use protocol::names::{client as out, server as frame};

impl Widget {
    /// Handles a §9 frame; `false` when `ty` is not one (or not for this widget).
    pub(crate) fn on_people_frame(&self, ty: &str, f: &Object, mine: bool) -> bool {
        let s = |k: &str| js::get_str(f, k).unwrap_or_default();
        match ty {
            frame::HANDOFF if mine => {
                let name = js::get(f, "operator")
                    .dyn_into::<Object>()
                    .ok()
                    .and_then(|o| js::get_str(&o, "name"));
                let text = match (s("mode").as_str(), name) {
                    ("human", Some(n)) => format!("{n} joined the chat"),
                    ("human", None) => "A person joined the chat".to_string(),
                    _ => "The assistant answers again".to_string(),
                };
                let n = self.bubble("notice");
                let _ = n.set_attribute("data-handoff", &s("mode"));
                n.set_text_content(Some(&text));
                self.typing.set_hidden(true);
            }
            frame::TYPING if mine && s("actor") == "operator" => {
                let on = js::get(f, "is_typing").as_bool().unwrap_or(false);
                let _ = self.typing.set_attribute("aria-label", "Someone is typing");
                self.typing.set_hidden(!on);
            }
            frame::READ if mine && s("reader") == "operator" => self.mark_seen(&s("message_id")),
            frame::PRESENCE if s("actor") == "operator" => {
                let online = s("status") == "online";
                let a = self.availability();
                let _ = a.set_attribute("data-operator", &s("status"));
                a.set_text_content(Some(if online { "A person is available" } else { "" }));
            }
            _ => return false,
        }
        true
    }

    /// A message of a person answering for the bot, with their name.
    pub(crate) fn operator_bubble(&self, m: &Object) {
        let id = js::get_str(m, "id").unwrap_or_default();
        if self
            .log
            .query_selector(&format!("[data-message-id=\"{id}\"]"))
            .ok()
            .flatten()
            .is_some()
        {
            return;
        }
        let b = self.bubble("assistant operator");
        let _ = b.set_attribute("data-role", "operator");
        let _ = b.set_attribute("data-message-id", &id);
        let name = js::get(m, "metadata")
            .dyn_into::<Object>()
            .ok()
            .and_then(|meta| js::get(&meta, "author").dyn_into::<Object>().ok())
            .and_then(|a| js::get_str(&a, "name"))
            .unwrap_or_else(|| "Operator".into());
        let by = el("div", "by");
        by.set_text_content(Some(&name));
        let _ = b.append_child(&by);
        let body = el("div", "");
        md::render(&body, &js::get_str(m, "content").unwrap_or_default());
        let _ = b.append_child(&body);
        self.add_thumbs(&b, m);
        self.typing.set_hidden(true);
        if js::get(m, "read_at").is_null() && !self.st.borrow().open {
            self.bump_unread();
        }
    }

    /// "Seen" under the visitor's message `message_id` (and only the newest).
    pub(crate) fn mark_seen(&self, message_id: &str) {
        if let Ok(Some(old)) = self.log.query_selector(".seen") {
            old.remove();
        }
        let Ok(Some(b)) = self
            .log
            .query_selector(&format!(".m.user[data-message-id=\"{message_id}\"]"))
        else {
            return;
        };
        let seen = el("div", "seen");
        seen.set_text_content(Some("Seen"));
        let _ = b.after_with_node_1(&seen);
        self.scroll();
    }

    /// The head's line saying whether a person is available.
    fn availability(&self) -> Element {
        if let Ok(Some(a)) = self.panel.query_selector(".avail") {
            return a;
        }
        let a = el("div", "avail");
        if let Ok(Some(t)) = self.panel.query_selector(".t") {
            let _ = t.append_child(&a);
        }
        a
    }

    pub(crate) fn bump_unread(&self) {
        let n = {
            let mut st = self.st.borrow_mut();
            st.unread += 1;
            st.unread
        };
        self.show_unread(n);
    }

    pub(crate) fn show_unread(&self, n: u32) {
        self.badge.set_text_content(Some(&n.to_string()));
        self.badge.set_hidden(n == 0);
    }

    /// The launcher badge from the server's `unread_count`, so it survives reloads.
    pub(crate) async fn load_unread(&self) {
        let (session, token) = {
            let st = self.st.borrow();
            (st.session.clone(), st.token.clone())
        };
        let url = format!("{}/api/v1/conversations/{}", self.host, js::encode(&session));
        let (status, text) = js::fetch("GET", &url, None, Some(&token)).await;
        let Some(c) = js::parse(&text).filter(|_| status == 200) else {
            return;
        };
        let n = js::get_f64(&c, "unread_count").unwrap_or(0.0) as u32;
        if !self.st.borrow().open {
            self.st.borrow_mut().unread = n;
            self.show_unread(n);
        }
    }

    /// Tells the server the visitor read everything shown (the panel is open).
    pub(crate) fn read_all(&self) {
        let last = self
            .log
            .query_selector_all(".m.assistant[data-message-id]")
            .ok()
            .and_then(|l| l.item(l.length().checked_sub(1)?))
            .and_then(|n| n.dyn_into::<Element>().ok())
            .and_then(|e| e.get_attribute("data-message-id"));
        let Some(id) = last.filter(|i| !i.is_empty()) else {
            return;
        };
        let f = Object::new();
        js::set(&f, "type", &JsValue::from_str(out::READ));
        js::set(&f, "session_id", &JsValue::from_str(&self.st.borrow().session));
        js::set(&f, "message_id", &JsValue::from_str(&id));
        self.send(&f);
    }

    /// Sends `presence` `away`/`online` as the host page's tab is hidden or shown.
    pub(crate) fn watch_visibility() {
        on(doc().unchecked_ref(), "visibilitychange", |_| {
            let Some(w) = crate::widget() else { return };
            let f = Object::new();
            js::set(&f, "type", &JsValue::from_str(out::PRESENCE));
            let status = if doc().hidden() { "away" } else { "online" };
            js::set(&f, "status", &JsValue::from_str(status));
            w.send(&f);
            if !doc().hidden() && w.st.borrow().open {
                w.read_all();
            }
        });
    }
}
