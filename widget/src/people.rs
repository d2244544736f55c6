//! The widget's side of contract §9 (people in the loop): who answers (the
//! operator's name on their bubbles, a notice when a person joins or leaves,
//! their typing), "Seen" under the visitor's message once the operator read
//! it, whether a person is available, the visitor's tab `presence`, and the
//! server's unread count on the launcher badge.

use js_sys::Object;
use wasm_bindgen::prelude::*;
use web_sys::Element;
use webclient::js;

use crate::dom::{doc, el, on};
use crate::{md, Widget};
use protocol::names::{client as out, server as frame};

/// A thumb (up; the down one is turned over by the stylesheet).
const THUMB: &str = "<svg viewBox=\"0 0 24 24\" width=\"14\" height=\"14\" fill=\"none\" stroke=\"currentColor\" stroke-width=\"2\" stroke-linejoin=\"round\" aria-hidden=\"true\"><path d=\"M7 10v11H3V10zM7 10l4-8a3 3 0 0 1 3 3v4h6a2 2 0 0 1 2 2.3l-1.4 8A2 2 0 0 1 18.6 21H7\"/></svg>";

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
        self.add_thumbs(&b, &rating_of(m));
        self.typing.set_hidden(true);
        if js::get(m, "read_at").is_null() && !self.st.borrow().open {
            self.bump_unread();
        }
    }

    /// Thumbs up and down under a finished reply or an operator message
    /// (§9.4), pressed as `rating` says (`up`, `down` or empty). Once per bubble.
    pub(crate) fn add_thumbs(&self, b: &Element, rating: &str) {
        let id = b.get_attribute("data-message-id").unwrap_or_default();
        let next = b.next_element_sibling();
        if id.is_empty() || next.as_ref().is_some_and(|n| n.class_name() == "fb") {
            return;
        }
        let fb = el("div", "fb");
        let _ = fb.set_attribute("data-for", &id);
        for (r, label) in [("up", "Good reply"), ("down", "Bad reply")] {
            let t = el("button", "thumb");
            let _ = t.set_attribute("type", "button");
            let _ = t.set_attribute("data-rating", r);
            let _ = t.set_attribute("aria-label", label);
            let _ = t.set_attribute("aria-pressed", if rating == r { "true" } else { "false" });
            // A drawn thumb: emoji fonts are missing on some systems.
            t.set_inner_html(THUMB);
            let _ = fb.append_child(&t);
        }
        let _ = b.after_with_node_1(&fb);
    }

    /// A click on a thumb (delegated from the log): the same rating again
    /// clears it, another replaces it; the buttons change once the server agreed.
    pub(crate) fn on_thumb(&self, t: Element) {
        let Some(fb) = t.parent_element() else { return };
        let id = fb.get_attribute("data-for").unwrap_or_default();
        let rating = t.get_attribute("data-rating").unwrap_or_default();
        let clear = t.get_attribute("aria-pressed").as_deref() == Some("true");
        let url = format!("{}/api/v1/messages/{}/feedback", self.host, js::encode(&id));
        let token = self.st.borrow().token.clone();
        wasm_bindgen_futures::spawn_local(async move {
            let body = format!("{{\"rating\":\"{rating}\"}}");
            let (status, _) = if clear {
                js::fetch("DELETE", &url, None, Some(&token)).await
            } else {
                js::fetch("PUT", &url, Some(&body), Some(&token)).await
            };
            if !(200..300).contains(&status) {
                return;
            }
            let Ok(all) = fb.query_selector_all(".thumb") else {
                return;
            };
            for i in 0..all.length() {
                if let Some(b) = all.item(i).and_then(|n| n.dyn_into::<Element>().ok()) {
                    let on = !clear && b.get_attribute("data-rating").as_deref() == Some(rating.as_str());
                    let _ = b.set_attribute("aria-pressed", if on { "true" } else { "false" });
                }
            }
        });
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

    /// Watches the log for clicks on thumbs (one listener for every bubble).
    pub(crate) fn watch_thumbs(&self) {
        on(self.log.unchecked_ref(), "click", |e| {
            let t = e
                .target()
                .and_then(|t| t.dyn_into::<Element>().ok())
                .and_then(|t| t.closest(".thumb").ok().flatten());
            if let (Some(t), Some(w)) = (t, crate::widget()) {
                w.on_thumb(t);
            }
        });
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

/// A message's `feedback.rating` (`up`, `down`), or empty.
pub(crate) fn rating_of(m: &Object) -> String {
    js::get(m, "feedback")
        .dyn_into::<Object>()
        .ok()
        .and_then(|f| js::get_str(&f, "rating"))
        .unwrap_or_default()
}
