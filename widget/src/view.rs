//! The widget's DOM: the launcher with its unread badge, the panel (head with
//! the connection status, the log of bubbles, the typing dots, the form), and
//! opening and closing it.

use std::cell::RefCell;

use wasm_bindgen::prelude::*;
use web_sys::{Element, HtmlElement, HtmlTextAreaElement, ShadowRoot};

use crate::dom::{el, on};
use crate::{close, toggle, widget, Reply, State, Widget};

const CHAT_ICON: &str = "<svg viewBox=\"0 0 24 24\" fill=\"none\" stroke=\"currentColor\" stroke-width=\"2\" stroke-linecap=\"round\" stroke-linejoin=\"round\" aria-hidden=\"true\"><path d=\"M21 15a2 2 0 0 1-2 2H7l-4 4V5a2 2 0 0 1 2-2h14a2 2 0 0 1 2 2z\"/></svg>";

fn append(parent: &Element, children: &[&Element]) {
    for c in children {
        let _ = parent.append_child(c);
    }
}

/// The launcher button and its badge.
fn launcher(title: &str) -> (HtmlElement, HtmlElement) {
    let launcher: HtmlElement = el("button", "launcher").unchecked_into();
    let _ = launcher.set_attribute("type", "button");
    let _ = launcher.set_attribute("aria-label", &format!("Open chat: {title}"));
    let _ = launcher.set_attribute("aria-expanded", "false");
    launcher.set_inner_html(CHAT_ICON);
    let badge: HtmlElement = el("span", "badge").unchecked_into();
    badge.set_hidden(true);
    let _ = badge.set_attribute("aria-label", "unread replies");
    let _ = launcher.append_child(&badge);
    (launcher, badge)
}

/// The panel's head: the title, the connection status (its element and its
/// text), and the close button.
fn head(title: &str) -> (Element, Element, Element, Element) {
    let head = el("div", "head");
    let t = el("div", "t");
    let n = el("div", "name");
    n.set_text_content(Some(title));
    let status = el("div", "status");
    let _ = status.set_attribute("role", "status");
    let _ = status.append_child(&el("i", ""));
    let status_text = el("span", "");
    status_text.set_text_content(Some("Connecting…"));
    let _ = status.append_child(&status_text);
    append(&t, &[&n, &status]);
    let x = el("button", "x");
    let _ = x.set_attribute("type", "button");
    let _ = x.set_attribute("aria-label", "Close chat");
    x.set_text_content(Some("×"));
    append(&head, &[&t, &x]);
    (head, status, status_text, x)
}

/// The typing dots.
fn typing() -> HtmlElement {
    let typing: HtmlElement = el("div", "typing").unchecked_into();
    typing.set_hidden(true);
    let _ = typing.set_attribute("aria-label", "Assistant is typing");
    for _ in 0..3 {
        let _ = typing.append_child(&el("span", ""));
    }
    typing
}

/// The form with its text area.
fn foot() -> (Element, HtmlTextAreaElement) {
    let foot = el("form", "foot");
    let input: HtmlTextAreaElement = el("textarea", "").unchecked_into();
    input.set_rows(1);
    input.set_placeholder("Write a message…");
    let _ = input.set_attribute("aria-label", "Message");
    let send = el("button", "send");
    let _ = send.set_attribute("type", "submit");
    send.set_text_content(Some("Send"));
    append(&foot, &[&input, &send]);
    (foot, input)
}

fn submit() {
    if let Some(w) = widget() {
        w.submit();
    }
}

/// Clicks, Enter to send (Shift+Enter for a new line), Escape to close.
fn wire(wrap: &Element, launcher: &HtmlElement, x: &Element, foot: &Element, input: &HtmlTextAreaElement) {
    on(launcher, "click", |_| toggle());
    on(x, "click", |_| close());
    on(foot, "submit", |e| {
        e.prevent_default();
        submit();
    });
    on(input, "keydown", |e| {
        let Some(k) = e.dyn_ref::<web_sys::KeyboardEvent>() else {
            return;
        };
        if k.key() == "Enter" && !k.shift_key() && !k.is_composing() {
            k.prevent_default();
            submit();
        }
    });
    on(wrap, "keydown", |e| {
        if e.dyn_ref::<web_sys::KeyboardEvent>()
            .is_some_and(|k| k.key() == "Escape")
        {
            close();
        }
    });
}

/// Phones: keep the panel above the on-screen keyboard.
fn follow_viewport() {
    let Some(vv) = web_sys::window().and_then(|w| w.visual_viewport()) else {
        return;
    };
    on(&vv, "resize", |_| {
        let (Some(w), Some(vv)) = (widget(), web_sys::window().and_then(|w| w.visual_viewport())) else {
            return;
        };
        let small = web_sys::window()
            .and_then(|x| x.inner_width().ok())
            .and_then(|v| v.as_f64())
            .is_some_and(|v| v <= 480.0);
        let style = w.panel.style();
        if small {
            // Whole pixels: formatting floats would cost the bundle kilobytes.
            let _ = style.set_property("height", &format!("{}px", vv.height() as i32));
            let _ = style.set_property("top", &format!("{}px", vv.offset_top() as i32));
        } else {
            let _ = style.remove_property("height");
            let _ = style.remove_property("top");
        }
    });
}

/// Draws the widget in `root` (closed) and wires its controls.
pub(crate) fn build(
    root: &ShadowRoot,
    host: String,
    bot_key: String,
    key: String,
    title: &str,
    color: &str,
    position: &str,
) -> Widget {
    let wrap = el("div", "root");
    if position == "left" {
        let _ = wrap.class_list().add_1("left");
    }
    if !color.is_empty() {
        let _ = wrap.unchecked_ref::<HtmlElement>().style().set_property("--c", color);
    }
    let (launcher, badge) = launcher(title);
    let panel: HtmlElement = el("div", "panel").unchecked_into();
    panel.set_hidden(true);
    let _ = panel.set_attribute("role", "dialog");
    let _ = panel.set_attribute("aria-label", title);
    let (head, status, status_text, x) = head(title);
    let log = el("div", "log");
    let _ = log.set_attribute("aria-live", "polite");
    let typing = typing();
    let (foot, input) = foot();
    append(&panel, &[&head, &log, &foot]);
    append(&wrap, &[&panel, &launcher]);
    let _ = root.append_child(&wrap);
    wire(&wrap, &launcher, &x, &foot, &input);
    follow_viewport();
    Widget {
        host,
        bot_key,
        key,
        launcher,
        badge,
        panel,
        log,
        typing,
        status,
        status_text,
        input,
        st: RefCell::new(State::new()),
        client: RefCell::new(None),
    }
}

impl Widget {
    pub(crate) fn set_open(&self, open: bool) {
        self.st.borrow_mut().open = open;
        self.panel.set_hidden(!open);
        if let Some(root) = self.panel.parent_element() {
            let _ = root.class_list().toggle_with_force("open", open);
        }
        let _ = self
            .launcher
            .set_attribute("aria-expanded", if open { "true" } else { "false" });
        if open {
            self.st.borrow_mut().unread = 0;
            self.badge.set_hidden(true);
            self.read_all();
            let _ = self.input.focus();
            self.scroll();
        } else {
            let _ = self.launcher.focus();
        }
    }

    /// Scrolls the log to its end, at most once per animation frame: reading `scrollHeight` forces a
    /// layout of the whole log, which per token made a long reply's cost per
    /// token grow with its length (issue 12).
    pub(crate) fn scroll(&self) {
        thread_local! {
            static SCHEDULED: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
        }
        if SCHEDULED.with(|s| s.replace(true)) {
            return;
        }
        let log = self.log.clone();
        let later = wasm_bindgen::closure::Closure::once_into_js(move || {
            SCHEDULED.with(|s| s.set(false));
            log.set_scroll_top(log.scroll_height());
        });
        let asked = web_sys::window().is_some_and(|w| {
            w.request_animation_frame(wasm_bindgen::JsCast::unchecked_ref(&later))
                .is_ok()
        });
        if !asked {
            SCHEDULED.with(|s| s.set(false));
            self.log.set_scroll_top(self.log.scroll_height());
        }
    }

    /// A bubble at the end of the log. `role` is one word (`user`,
    /// `assistant`, `note`): `data-role` is the message's role, never a
    /// delivery state (issue 17: a sent bubble kept `pending` in its role).
    pub(crate) fn bubble(&self, role: &str) -> Element {
        let b = el("div", &format!("m {role}"));
        let _ = b.set_attribute("data-role", role);
        let _ = self.log.append_child(&b);
        // The typing dots stay last.
        let _ = self.log.append_child(&self.typing);
        self.scroll();
        b
    }

    /// A reply's bubble, made (and its reply followed) on first use.
    pub(crate) fn reply(&self, id: &str) -> Element {
        if let Some(r) = self.st.borrow().replies.get(id) {
            return r.body.clone();
        }
        let b = self.bubble("assistant");
        let _ = b.set_attribute("data-message-id", id);
        let mut st = self.st.borrow_mut();
        st.replies.insert(id.to_string(), Reply { body: b.clone() });
        st.assembler.expect(id);
        b
    }
}
