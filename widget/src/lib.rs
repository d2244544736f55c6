//! Brook's embeddable widget (contract §7).
//!
//! The loader (`/widget.js`) makes a Shadow DOM host and calls [`start`]. The
//! widget asks for a visitor session (refused: one console warning, nothing
//! drawn), then draws a launcher and a panel, shows the visitor's history, and
//! goes live through `webclient` (the web app's own transport, so it reconnects
//! and falls back to SSE and long polling the same way). Markdown is turned into
//! DOM nodes with `textContent`; nothing from a reply is ever parsed as HTML.
//!
//! Size matters here (≤ 60 KB gzipped with the loader and CSS): no serde, no
//! Leptos, frames are read with `JSON.parse`.

mod dom;
pub mod md;
mod people;

// A tiny allocator: the default one is several kilobytes of the budget, and the
// widget allocates little and lives on one thread.
#[cfg(target_arch = "wasm32")]
#[global_allocator]
static ALLOC: lol_alloc::AssumeSingleThreaded<lol_alloc::FreeListAllocator> =
    unsafe { lol_alloc::AssumeSingleThreaded::new(lol_alloc::FreeListAllocator::new()) };

use std::cell::RefCell;
use std::rc::Rc;

use js_sys::Object;
use wasm_bindgen::prelude::*;
use web_sys::{Element, HtmlElement, HtmlTextAreaElement, ShadowRoot};
use webclient::js;
use webclient::{Assembler, Client, Config, ConnState, Mode, SmallMap, Status, Verdict};

use dom::{el, on};
use protocol::names::{client as out, paths, server as frame};

/// A reply's bubble; its text and `seq` are in [`State::assembler`].
struct Reply {
    body: Element,
}

struct State {
    token: String,
    visitor_id: String,
    session: String,
    exists: bool,
    open: bool,
    unread: u32,
    replies: SmallMap<Reply>,
    /// Which tokens are shown and which `resume` fills a gap (shared with the app).
    assembler: Assembler,
    /// Sent but not acknowledged: client id → (bubble, text).
    pending: Vec<(String, Element, String)>,
}

struct Widget {
    host: String,
    bot_key: String,
    key: String,
    launcher: HtmlElement,
    badge: HtmlElement,
    panel: HtmlElement,
    log: Element,
    typing: HtmlElement,
    status: Element,
    status_text: Element,
    input: HtmlTextAreaElement,
    st: RefCell<State>,
    client: RefCell<Option<Client>>,
}

thread_local! {
    static W: RefCell<Option<Rc<Widget>>> = const { RefCell::new(None) };
}

fn widget() -> Option<Rc<Widget>> {
    W.with(|w| w.borrow().clone())
}

fn opt(o: &JsValue, k: &str) -> String {
    o.dyn_ref::<Object>()
        .and_then(|o| js::get_str(o, k))
        .unwrap_or_default()
}

fn storage() -> Option<web_sys::Storage> {
    web_sys::window()?.local_storage().ok()?
}

fn uuid() -> String {
    web_sys::window()
        .and_then(|w| w.crypto().ok())
        .map(|c| c.random_uuid())
        .unwrap_or_else(|| format!("{}", js::now_ms() as u64))
}

/// Starts the widget in `root`, a Shadow DOM created by the loader.
#[wasm_bindgen]
pub fn start(root: ShadowRoot, host: String, opts: JsValue) {
    wasm_bindgen_futures::spawn_local(async move {
        init(root, host, opts).await;
    });
}

#[wasm_bindgen]
pub fn open() {
    if let Some(w) = widget() {
        w.set_open(true);
    }
}

#[wasm_bindgen]
pub fn close() {
    if let Some(w) = widget() {
        w.set_open(false);
    }
}

#[wasm_bindgen]
pub fn toggle() {
    if let Some(w) = widget() {
        let o = w.st.borrow().open;
        w.set_open(!o);
    }
}

async fn init(root: ShadowRoot, host: String, opts: JsValue) {
    let bot_key = opt(&opts, "botKey");
    let key = format!("brook:{bot_key}");
    // The visitor's previous token (never its id alone) brings it back.
    let saved = storage()
        .and_then(|s| s.get_item(&key).ok().flatten())
        .and_then(|t| js::parse(&t));
    let prev_token = saved.as_ref().and_then(|o| js::get_str(o, "token"));
    let body = Object::new();
    js::set(&body, "bot_key", &JsValue::from_str(&bot_key));
    if let Some(t) = &prev_token {
        js::set(&body, "token", &JsValue::from_str(t));
    }
    let (status, text) = js::fetch(
        "POST",
        &format!("{host}{}", paths::WIDGET_SESSION),
        Some(&js::stringify(&body)),
        Some(""),
    )
    .await;
    let Some(answer) = js::parse(&text).filter(|_| status == 200) else {
        web_sys::console::warn_1(&JsValue::from_str(
            "Brook widget: this site may not use this bot (its widget is off, or this origin is not in its allowed origins).",
        ));
        return;
    };
    let token = js::get_str(&answer, "token").unwrap_or_default();
    let visitor_id = js::get_str(&answer, "visitor_id").unwrap_or_default();
    // Same visitor: keep its conversation; a new visitor starts a new one.
    let same = saved
        .as_ref()
        .filter(|o| js::get_str(o, "visitor_id").as_deref() == Some(visitor_id.as_str()));
    let session = same.and_then(|o| js::get_str(o, "session")).unwrap_or_else(uuid);
    let exists = same.is_some_and(|o| js::get(o, "exists").as_bool() == Some(true));
    let bot = js::get(&answer, "bot");
    let bot = bot.dyn_ref::<Object>().cloned().unwrap_or_default();
    let name = js::get_str(&bot, "name").unwrap_or_else(|| "Chat".into());
    let greeting = js::get_str(&bot, "greeting").unwrap_or_default();
    let theme = js::get(&bot, "theme").dyn_into::<Object>().unwrap_or_default();
    let pick = |attr: String, theme_key: &str| {
        if attr.is_empty() {
            js::get_str(&theme, theme_key).unwrap_or_default()
        } else {
            attr
        }
    };
    let color = pick(opt(&opts, "color"), "color");
    let position = pick(opt(&opts, "position"), "position");
    let title = pick(opt(&opts, "title"), "title");
    let title = if title.is_empty() { name } else { title };

    let w = Rc::new(build(&root, host, bot_key, key, &title, &color, &position));
    {
        let mut st = w.st.borrow_mut();
        st.token = token;
        st.visitor_id = visitor_id;
        st.session = session;
        st.exists = exists;
    }
    w.save();
    W.with(|x| *x.borrow_mut() = Some(w.clone()));
    if !greeting.is_empty() {
        let b = w.bubble("assistant");
        md::render(&b, &greeting);
    }
    w.load_history().await;
    if exists {
        w.load_unread().await;
    }
    w.connect();
    Widget::watch_visibility();
    w.watch_thumbs();
    if opts
        .dyn_ref::<Object>()
        .is_some_and(|o| js::get(o, "open").as_bool() == Some(true))
    {
        w.set_open(true);
    }
}

fn build(
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
    let launcher: HtmlElement = el("button", "launcher").unchecked_into();
    let _ = launcher.set_attribute("type", "button");
    let _ = launcher.set_attribute("aria-label", &format!("Open chat: {title}"));
    let _ = launcher.set_attribute("aria-expanded", "false");
    launcher.set_inner_html(
        "<svg viewBox=\"0 0 24 24\" fill=\"none\" stroke=\"currentColor\" stroke-width=\"2\" stroke-linecap=\"round\" stroke-linejoin=\"round\" aria-hidden=\"true\"><path d=\"M21 15a2 2 0 0 1-2 2H7l-4 4V5a2 2 0 0 1 2-2h14a2 2 0 0 1 2 2z\"/></svg>",
    );
    let badge: HtmlElement = el("span", "badge").unchecked_into();
    badge.set_hidden(true);
    let _ = badge.set_attribute("aria-label", "unread replies");
    let _ = launcher.append_child(&badge);

    let panel: HtmlElement = el("div", "panel").unchecked_into();
    panel.set_hidden(true);
    let _ = panel.set_attribute("role", "dialog");
    let _ = panel.set_attribute("aria-label", title);
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
    let _ = t.append_child(&n);
    let _ = t.append_child(&status);
    let x = el("button", "x");
    let _ = x.set_attribute("type", "button");
    let _ = x.set_attribute("aria-label", "Close chat");
    x.set_text_content(Some("×"));
    let _ = head.append_child(&t);
    let _ = head.append_child(&x);
    let log = el("div", "log");
    let _ = log.set_attribute("aria-live", "polite");
    let typing: HtmlElement = el("div", "typing").unchecked_into();
    typing.set_hidden(true);
    let _ = typing.set_attribute("aria-label", "Assistant is typing");
    for _ in 0..3 {
        let _ = typing.append_child(&el("span", ""));
    }
    let foot = el("form", "foot");
    let input: HtmlTextAreaElement = el("textarea", "").unchecked_into();
    input.set_rows(1);
    input.set_placeholder("Write a message…");
    let _ = input.set_attribute("aria-label", "Message");
    let send = el("button", "send");
    let _ = send.set_attribute("type", "submit");
    send.set_text_content(Some("Send"));
    let _ = foot.append_child(&input);
    let _ = foot.append_child(&send);
    let _ = panel.append_child(&head);
    let _ = panel.append_child(&log);
    let _ = panel.append_child(&foot);
    let _ = wrap.append_child(&panel);
    let _ = wrap.append_child(&launcher);
    let _ = root.append_child(&wrap);

    on(&launcher, "click", |_| toggle());
    on(&x, "click", |_| close());
    on(&foot, "submit", |e| {
        e.prevent_default();
        if let Some(w) = widget() {
            w.submit();
        }
    });
    on(&input, "keydown", |e| {
        let Some(k) = e.dyn_ref::<web_sys::KeyboardEvent>() else {
            return;
        };
        if k.key() == "Enter" && !k.shift_key() && !k.is_composing() {
            k.prevent_default();
            if let Some(w) = widget() {
                w.submit();
            }
        }
    });
    on(&wrap, "keydown", |e| {
        if e.dyn_ref::<web_sys::KeyboardEvent>()
            .is_some_and(|k| k.key() == "Escape")
        {
            close();
        }
    });
    // Phones: keep the panel above the on-screen keyboard.
    if let Some(vv) = web_sys::window().and_then(|w| w.visual_viewport()) {
        on(&vv, "resize", |_| {
            if let (Some(w), Some(vv)) = (widget(), web_sys::window().and_then(|w| w.visual_viewport())) {
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
            }
        });
    }
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
        st: RefCell::new(State {
            token: String::new(),
            visitor_id: String::new(),
            session: String::new(),
            exists: false,
            open: false,
            unread: 0,
            replies: SmallMap::new(),
            assembler: Assembler::new(),
            pending: Vec::new(),
        }),
        client: RefCell::new(None),
    }
}

impl Widget {
    fn save(&self) {
        let st = self.st.borrow();
        let o = Object::new();
        js::set(&o, "token", &JsValue::from_str(&st.token));
        js::set(&o, "visitor_id", &JsValue::from_str(&st.visitor_id));
        js::set(&o, "session", &JsValue::from_str(&st.session));
        js::set(&o, "exists", &JsValue::from_bool(st.exists));
        if let Some(s) = storage() {
            let _ = s.set_item(&self.key, &js::stringify(&o));
        }
    }

    fn set_open(&self, open: bool) {
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

    fn scroll(&self) {
        self.log.set_scroll_top(self.log.scroll_height());
    }

    /// A bubble at the end of the log. `role` is one word (`user`,
    /// `assistant`, `note`): `data-role` is the message's role, never a
    /// delivery state (issue 17: a sent bubble kept `pending` in its role).
    fn bubble(&self, role: &str) -> Element {
        let b = el("div", &format!("m {role}"));
        let _ = b.set_attribute("data-role", role);
        let _ = self.log.append_child(&b);
        // The typing dots stay last.
        let _ = self.log.append_child(&self.typing);
        self.scroll();
        b
    }

    fn reply(&self, id: &str) -> Element {
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

    async fn load_history(&self) {
        let (session, token, exists) = {
            let st = self.st.borrow();
            (st.session.clone(), st.token.clone(), st.exists)
        };
        // A conversation this visitor never started: nothing to ask for (and no
        // 404 in the host page's console).
        if !exists {
            return;
        }
        let url = format!(
            "{}/api/v1/conversations/{}/messages?limit=50",
            self.host,
            js::encode(&session)
        );
        let (status, text) = js::fetch("GET", &url, None, Some(&token)).await;
        if status != 200 {
            return;
        }
        self.st.borrow_mut().exists = true;
        let Some(page) = js::parse(&text) else { return };
        let Ok(list) = js::get(&page, "messages").dyn_into::<js_sys::Array>() else {
            return;
        };
        for m in list.iter() {
            let Ok(m) = m.dyn_into::<Object>() else {
                continue;
            };
            let role = js::get_str(&m, "role").unwrap_or_default();
            let content = js::get_str(&m, "content").unwrap_or_default();
            let id = js::get_str(&m, "id").unwrap_or_default();
            if role == "user" {
                let b = self.bubble("user");
                let _ = b.set_attribute("data-message-id", &id);
                b.set_text_content(Some(&content));
                if !js::get(&m, "read_at").is_null() && !js::get(&m, "read_at").is_undefined() {
                    self.mark_seen(&id);
                }
            } else if role == "operator" {
                self.operator_bubble(&m);
            } else {
                let status = js::get_str(&m, "status").unwrap_or_default();
                let live = status == "queued" || status == "streaming";
                let seq = js::get_f64(&js::get(&m, "metadata").dyn_into::<Object>().unwrap_or_default(), "seq")
                    .unwrap_or(0.0) as u64;
                let b = self.reply(&id);
                md::render(&b, &content);
                self.st.borrow_mut().assembler.show(&id, seq, &content, live);
                if !live {
                    self.add_thumbs(&b, &people::rating_of(&m));
                }
            }
        }
        self.scroll();
    }

    fn connect(&self) {
        let token = self.st.borrow().token.clone();
        let client = Client::start(
            Config {
                base: self.host.clone(),
                ws_path: paths::WS_CHAT.into(),
                token: Some(token),
                upgrade_ms: 30_000,
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

    fn send(&self, frame: &Object) -> bool {
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

    fn submit(&self) {
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

    fn on_frame(&self, text: &str) {
        let Some(f) = js::parse(text) else { return };
        let ty = js::get_str(&f, "type").unwrap_or_default();
        let s = |k: &str| js::get_str(&f, k).unwrap_or_default();
        let mine = s("session_id") == self.st.borrow().session;
        if self.on_people_frame(&ty, &f, mine) {
            return;
        }
        match ty.as_str() {
            frame::ACK => {
                let cid = s("client_id");
                let (found, first) = {
                    let mut st = self.st.borrow_mut();
                    let first = !st.exists;
                    st.exists = true;
                    let i = st.pending.iter().position(|(c, _, _)| *c == cid);
                    (i.map(|i| st.pending.remove(i)), first)
                };
                if first {
                    self.save();
                }
                if let Some((_, b, _)) = found {
                    let _ = b.class_list().remove_1("pending");
                    let _ = b.set_attribute("data-delivery", "sent");
                    let _ = b.set_attribute("data-message-id", &s("message_id"));
                }
                // In `human` mode no reply follows (`reply_id: null`, §9.1).
                if mine && !s("reply_id").is_empty() {
                    self.reply(&s("reply_id"));
                    self.typing.set_hidden(false);
                    self.scroll();
                }
            }
            frame::TYPING if mine && s("actor") == "assistant" => {
                let _ = self.typing.set_attribute("aria-label", "Assistant is typing");
                self.typing
                    .set_hidden(!js::get(&f, "is_typing").as_bool().unwrap_or(false));
            }
            frame::TOKEN if mine => {
                let id = s("reply_id");
                let body = self.reply(&id);
                let seq = js::get_f64(&f, "seq").unwrap_or(0.0) as u64;
                let verdict = self.st.borrow_mut().assembler.token(&id, seq, &s("token"));
                match verdict {
                    Verdict::Accepted => {}
                    Verdict::Gap { resume_after } => return self.resume(&id, resume_after),
                    Verdict::Duplicate | Verdict::Awaiting => return,
                }
                let text = self.st.borrow().assembler.text(&id).unwrap_or_default().to_string();
                self.typing.set_hidden(true);
                let _ = body.set_attribute("data-streaming", "true");
                md::render(&body, &text);
                self.scroll();
            }
            frame::COMPLETE if mine => {
                let id = s("reply_id");
                let body = self.reply(&id);
                let response = s("response");
                self.st.borrow_mut().assembler.complete(&id, &response);
                let _ = body.remove_attribute("data-streaming");
                md::render(&body, &response);
                self.add_thumbs(&body, "");
                self.typing.set_hidden(true);
                self.scroll();
                let open = self.st.borrow().open;
                if open {
                    self.read_all();
                } else {
                    self.bump_unread();
                }
            }
            frame::ERROR => {
                let cid = s("client_id");
                let found = {
                    let mut st = self.st.borrow_mut();
                    let i = st.pending.iter().position(|(c, _, _)| *c == cid);
                    i.map(|i| st.pending.remove(i))
                };
                if let Some((_, b, _)) = found {
                    let _ = b.class_list().remove_1("pending");
                    let _ = b.class_list().add_1("failed");
                    let _ = b.set_attribute("data-delivery", "failed");
                }
                let note = self.bubble("note");
                let _ = note.set_attribute("class", "note");
                note.set_text_content(Some(&s("error")));
                self.typing.set_hidden(true);
            }
            frame::MESSAGE_ADDED if mine => {
                let m = js::get(&f, "message").dyn_into::<Object>().unwrap_or_default();
                match js::get_str(&m, "role").as_deref() {
                    Some("user") => {
                        let b = self.bubble("user");
                        let _ = b.set_attribute("data-message-id", &js::get_str(&m, "id").unwrap_or_default());
                        b.set_text_content(Some(&js::get_str(&m, "content").unwrap_or_default()));
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

    async fn refresh_token(&self) {
        let body = Object::new();
        js::set(&body, "bot_key", &JsValue::from_str(&self.bot_key));
        js::set(&body, "token", &JsValue::from_str(&self.st.borrow().token));
        let (status, text) = js::fetch(
            "POST",
            &format!("{}{}", self.host, paths::WIDGET_SESSION),
            Some(&js::stringify(&body)),
            Some(""),
        )
        .await;
        let Some(a) = js::parse(&text).filter(|_| status == 200) else {
            return;
        };
        self.st.borrow_mut().token = js::get_str(&a, "token").unwrap_or_default();
        self.save();
        if let Some(c) = self.client.borrow_mut().take() {
            c.stop();
        }
        self.connect();
    }
}
