//! Feedback in the widget (contract §9.4): thumbs up and down under a finished
//! reply or an operator message, then an optional comment to send or skip.
//! The stored comment shows under the thumbs with "Edit"; the same thumb again
//! clears the rating and its comment (`DELETE`). Buttons change once the
//! server agreed (no state to roll back). The rating and comment live on the
//! `.fb` row (`aria-pressed`, `data-comment`), so a thumb that replaces the
//! rating keeps the comment.

use js_sys::Object;
use protocol::feedback::{comment, Comment, MAX_COMMENT_CHARS};
use wasm_bindgen::prelude::*;
use web_sys::{Element, HtmlTextAreaElement};
use webclient::js;

use crate::dom::{el, on};
use crate::Widget;

/// A thumb (up; the down one is turned over by the stylesheet).
const THUMB: &str = "<svg viewBox=\"0 0 24 24\" width=\"14\" height=\"14\" fill=\"none\" stroke=\"currentColor\" stroke-width=\"2\" stroke-linejoin=\"round\" aria-hidden=\"true\"><path d=\"M7 10v11H3V10zM7 10l4-8a3 3 0 0 1 3 3v4h6a2 2 0 0 1 2 2.3l-1.4 8A2 2 0 0 1 18.6 21H7\"/></svg>";

impl Widget {
    /// Thumbs under bubble `b`, pressed as message `m`'s `feedback` says
    /// (an empty object: none), with its comment. Once per bubble.
    pub(crate) fn add_thumbs(&self, b: &Element, m: &Object) {
        let id = b.get_attribute("data-message-id").unwrap_or_default();
        let next = b.next_element_sibling();
        if id.is_empty() || next.as_ref().is_some_and(|n| n.class_name() == "fb") {
            return;
        }
        let f = js::get(m, "feedback").dyn_into::<Object>().ok();
        let rating = f.as_ref().and_then(|f| js::get_str(f, "rating")).unwrap_or_default();
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
        if let Some(c) = f.and_then(|f| js::get_str(&f, "comment")) {
            show_comment(&fb, &c);
        }
    }

    /// A click in the log: a thumb, or a button of the comment form or note.
    fn on_feedback_click(&self, target: Element) {
        let Ok(Some(t)) = target.closest(".thumb,.fbs,.fbk,.fbe") else {
            return;
        };
        let fb = thumbs_of(&t);
        match t.class_name().as_str() {
            "thumb" => self.on_thumb(t),
            "fbs" => {
                if let (Some(fb), Some(form)) = (fb, t.closest(".fbf").ok().flatten()) {
                    self.send_comment(fb, form);
                }
            }
            "fbk" => remove_next(&fb, "fbf"),
            _ => {
                if let Some(fb) = fb {
                    open_form(&fb);
                }
            }
        }
    }

    /// A thumb: the same rating again clears it (and its comment), another
    /// replaces it (keeping the comment); then the comment form opens.
    fn on_thumb(&self, t: Element) {
        let Some(fb) = t.parent_element() else { return };
        let rating = t.get_attribute("data-rating").unwrap_or_default();
        let clear = t.get_attribute("aria-pressed").as_deref() == Some("true");
        let kept = fb.get_attribute("data-comment");
        let req = self.store(&fb, (!clear).then_some(rating.as_str()), kept.as_deref());
        wasm_bindgen_futures::spawn_local(async move {
            if !send(req).await {
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
            if clear {
                let _ = fb.remove_attribute("data-comment");
                remove_next(&Some(fb.clone()), "fbf");
                remove_next(&Some(fb), "fbn");
            } else {
                open_form(&fb);
            }
        });
    }

    /// "Send": the rating again with the comment (blank: none); too long
    /// (§9.4) stays in the form with the reason.
    fn send_comment(&self, fb: Element, form: Element) {
        let draft = form
            .query_selector("textarea")
            .ok()
            .flatten()
            .and_then(|t| t.dyn_into::<HtmlTextAreaElement>().ok())
            .map(|t| t.value())
            .unwrap_or_default();
        let text = match comment(&draft) {
            Comment::None => None,
            Comment::Text(t) => Some(t.to_string()),
            Comment::TooLong { chars } => {
                if let Ok(Some(x)) = form.query_selector(".fbx") {
                    x.set_text_content(Some(&format!("{chars} characters: at most {MAX_COMMENT_CHARS}")));
                }
                return;
            }
        };
        let rating = pressed(&fb);
        let req = self.store(&fb, rating.as_deref(), text.as_deref());
        wasm_bindgen_futures::spawn_local(async move {
            if !send(req).await {
                return;
            }
            form.remove();
            remove_next(&Some(fb.clone()), "fbn");
            match text {
                Some(c) => show_comment(&fb, &c),
                None => {
                    let _ = fb.remove_attribute("data-comment");
                }
            }
        });
    }

    /// The request that stores a rating with `comment` (`PUT`), or clears
    /// it without a rating (`DELETE`); [`send`] sends it.
    fn store(&self, fb: &Element, rating: Option<&str>, comment: Option<&str>) -> Request {
        let id = fb.get_attribute("data-for").unwrap_or_default();
        let body = rating.map(|r| {
            let o = Object::new();
            js::set(&o, "rating", &JsValue::from_str(r));
            if let Some(c) = comment {
                js::set(&o, "comment", &JsValue::from_str(c));
            }
            js::stringify(&o)
        });
        Request {
            url: format!("{}/api/v1/messages/{}/feedback", self.host, js::encode(&id)),
            token: self.st.borrow().token.clone(),
            body,
        }
    }

    /// Watches the log for clicks on thumbs and comment buttons, and for
    /// typing in a comment, which clears the form's "too long" reason (one
    /// listener each, for the page's lifetime).
    pub(crate) fn watch_thumbs(&self) {
        on(self.log.unchecked_ref(), "click", |e| {
            let t = e.target().and_then(|t| t.dyn_into::<Element>().ok());
            if let (Some(t), Some(w)) = (t, crate::widget()) {
                w.on_feedback_click(t);
            }
        });
        on(self.log.unchecked_ref(), "input", |e| {
            let form = e
                .target()
                .and_then(|t| t.dyn_into::<Element>().ok())
                .and_then(|t| t.closest(".fbf").ok().flatten());
            if let Some(Ok(Some(x))) = form.map(|f| f.query_selector(".fbx")) {
                x.set_text_content(None);
            }
        });
    }
}

/// A feedback request: `PUT` with `body`, or `DELETE` without one.
struct Request {
    url: String,
    token: String,
    body: Option<String>,
}

/// Sends `r`; whether the server agreed.
async fn send(r: Request) -> bool {
    let (status, _) = match &r.body {
        Some(b) => js::fetch("PUT", &r.url, Some(b), Some(&r.token)).await,
        None => js::fetch("DELETE", &r.url, None, Some(&r.token)).await,
    };
    (200..300).contains(&status)
}

/// The thumbs row a form or note button belongs to (the form and the note
/// follow it).
fn thumbs_of(button: &Element) -> Option<Element> {
    let mut e = button.closest(".fbf,.fbn").ok().flatten()?.previous_element_sibling();
    while let Some(x) = e {
        if x.class_name() == "fb" {
            return Some(x);
        }
        e = x.previous_element_sibling();
    }
    None
}

/// The pressed thumb's rating.
fn pressed(fb: &Element) -> Option<String> {
    fb.query_selector(".thumb[aria-pressed=true]")
        .ok()
        .flatten()
        .and_then(|t| t.get_attribute("data-rating"))
}

/// Removes the element of class `class` that follows `fb`, if any (the form
/// `fbf` and the note `fbn` sit right after the thumbs, in that order).
fn remove_next(fb: &Option<Element>, class: &str) {
    let mut n = fb.as_ref().and_then(|f| f.next_element_sibling());
    while let Some(e) = n {
        if e.class_name() == class {
            e.remove();
            return;
        }
        if e.class_name() != "fbf" && e.class_name() != "fbn" {
            return;
        }
        n = e.next_element_sibling();
    }
}

/// The stored comment under the thumbs, with "Edit".
fn show_comment(fb: &Element, c: &str) {
    let _ = fb.set_attribute("data-comment", c);
    let n = el("div", "fbn");
    let q = el("q", "");
    q.set_text_content(Some(c));
    let e = el("button", "fbe");
    let _ = e.set_attribute("type", "button");
    e.set_text_content(Some("Edit"));
    let _ = n.append_child(&q);
    let _ = n.append_child(&e);
    let _ = fb.after_with_node_1(&n);
}

/// The comment form after the thumbs (once), holding the comment so far.
fn open_form(fb: &Element) {
    let fb2 = Some(fb.clone());
    remove_next(&fb2, "fbf");
    let down = pressed(fb).as_deref() == Some("down");
    let f = el("div", "fbf");
    let t = el("textarea", "");
    let _ = t.set_attribute("rows", "2");
    let _ = t.set_attribute("aria-label", "Comment");
    let hint = if down {
        "What went wrong? (optional)"
    } else {
        "What was good? (optional)"
    };
    let _ = t.set_attribute("placeholder", hint);
    if let Ok(t) = t.clone().dyn_into::<HtmlTextAreaElement>() {
        t.set_value(&fb.get_attribute("data-comment").unwrap_or_default());
    }
    let x = el("div", "fbx");
    let row = el("div", "");
    for (class, label) in [("fbk", "Skip"), ("fbs", "Send")] {
        let b = el("button", class);
        let _ = b.set_attribute("type", "button");
        b.set_text_content(Some(label));
        let _ = row.append_child(&b);
    }
    let _ = f.append_child(&t);
    let _ = f.append_child(&x);
    let _ = f.append_child(&row);
    let _ = fb.after_with_node_1(&f);
    if let Ok(t) = t.dyn_into::<web_sys::HtmlElement>() {
        let _ = t.focus();
    }
}
