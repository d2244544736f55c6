//! The connection state machine. See the crate docs for the behaviour.

use std::cell::RefCell;
use std::rc::{Rc, Weak};

use js_sys::Object;
use wasm_bindgen::closure::Closure;
use wasm_bindgen::{JsCast, JsValue};
use web_sys::{CloseEvent, EventSource, MessageEvent, WebSocket};

use crate::js;
use crate::map::SmallMap;

/// Which transport carries the chat.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Mode {
    WebSocket,
    Sse,
    Poll,
}

impl Mode {
    pub fn as_str(self) -> &'static str {
        match self {
            Mode::WebSocket => "websocket",
            Mode::Sse => "sse",
            Mode::Poll => "poll",
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ConnState {
    Connecting,
    Connected,
    Reconnecting,
    Offline,
}

impl ConnState {
    pub fn as_str(self) -> &'static str {
        match self {
            ConnState::Connecting => "connecting",
            ConnState::Connected => "connected",
            ConnState::Reconnecting => "reconnecting",
            ConnState::Offline => "offline",
        }
    }
}

/// What the owner shows: state, transport, and when the next retry happens.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Status {
    pub state: ConnState,
    pub mode: Mode,
    /// `Date.now()` of the next reconnect attempt, while reconnecting.
    pub retry_at: Option<f64>,
}

pub struct Config {
    /// `""` for the page's own origin, else `https://chat.example.com`.
    pub base: String,
    pub ws_path: String,
    /// A bearer token (the widget's visitor token); the app uses its cookie.
    pub token: Option<String>,
    /// How often to try the WebSocket again while on a fallback, in ms (a random
    /// point in `[upgrade_ms, 2 × upgrade_ms]`).
    pub upgrade_ms: u32,
}

type Cb = Closure<dyn FnMut(JsValue)>;

struct Ws {
    id: u32,
    socket: WebSocket,
    authed: bool,
    _cbs: Vec<Cb>,
}

struct Es {
    source: EventSource,
    _cbs: Vec<Cb>,
}

impl Drop for Es {
    fn drop(&mut self) {
        self.source.close();
    }
}

/// Closes an EventSource now (so it fires nothing more) and frees it later.
fn retire_es(es: Option<Es>) {
    if let Some(es) = es {
        es.source.close();
        es.retire();
    }
}

struct Follow {
    seq: u64,
    es: Option<Es>,
    errors: u32,
    progress_at: f64,
    poll_gen: u32,
}

struct Inner {
    cfg: Config,
    on_frame: Rc<dyn Fn(&str)>,
    on_status: Rc<dyn Fn(Status)>,
    on_ready: Rc<dyn Fn()>,
    status: Status,
    ws: Option<Ws>,
    probe: Option<Ws>,
    next_id: u32,
    failures: u32,
    backoff: u32,
    joined: Option<String>,
    live: Option<Es>,
    follows: SmallMap<Follow>,
    timer: Option<i32>,
    upgrade_timer: Option<i32>,
    tick_timer: Option<i32>,
    _window_cbs: Vec<Cb>,
    stopped: bool,
}

/// A cloneable handle on the connection.
#[derive(Clone)]
pub struct Client(Rc<RefCell<Inner>>);

fn weak(c: &Client) -> Weak<RefCell<Inner>> {
    Rc::downgrade(&c.0)
}

fn upgrade(w: &Weak<RefCell<Inner>>) -> Option<Client> {
    w.upgrade().map(Client)
}

impl Ws {
    /// Closes the socket and frees its callbacks on a later tick: a socket may
    /// be retired from inside one of its own callbacks, and a callback must not
    /// be freed while it runs or be called once freed.
    fn retire(self) {
        self.socket.set_onmessage(None);
        self.socket.set_onclose(None);
        let _ = self.socket.close();
        set_timeout(move || drop(self), 0.0);
    }
}

impl Es {
    fn retire(self) {
        set_timeout(move || drop(self), 0.0);
    }
}

fn set_timeout(f: impl FnOnce() + 'static, ms: f64) -> Option<i32> {
    let cb = Closure::once_into_js(f);
    js::window()?
        .set_timeout_with_callback_and_timeout_and_arguments_0(cb.unchecked_ref(), ms as i32)
        .ok()
}

fn clear_timeout(id: Option<i32>) {
    if let (Some(id), Some(w)) = (id, js::window()) {
        w.clear_timeout_with_handle(id);
    }
}

impl Client {
    /// Creates the client and starts connecting. `on_frame` gets every frame as
    /// JSON text; `on_ready` runs after each (re)connection or transport switch,
    /// which is when the owner re-joins its conversation and resumes replies.
    pub fn start(
        cfg: Config,
        on_frame: Rc<dyn Fn(&str)>,
        on_status: Rc<dyn Fn(Status)>,
        on_ready: Rc<dyn Fn()>,
    ) -> Client {
        let c = Client(Rc::new(RefCell::new(Inner {
            cfg,
            on_frame,
            on_status,
            on_ready,
            status: Status {
                state: ConnState::Connecting,
                mode: Mode::WebSocket,
                retry_at: None,
            },
            ws: None,
            probe: None,
            next_id: 1,
            failures: 0,
            backoff: 0,
            joined: None,
            live: None,
            follows: SmallMap::new(),
            timer: None,
            upgrade_timer: None,
            tick_timer: None,
            _window_cbs: Vec::new(),
            stopped: false,
        })));
        c.watch_network();
        c.emit_status();
        c.connect();
        c
    }

    pub fn status(&self) -> Status {
        self.0.borrow().status
    }

    fn emit_status(&self) {
        let (cb, s) = {
            let i = self.0.borrow();
            (i.on_status.clone(), i.status)
        };
        cb(s);
    }

    fn set_status(&self, state: ConnState, mode: Mode, retry_at: Option<f64>) {
        let changed = {
            let mut i = self.0.borrow_mut();
            let s = Status { state, mode, retry_at };
            let changed = i.status != s;
            i.status = s;
            changed
        };
        if changed {
            self.emit_status();
        }
    }

    fn frame(&self, text: &str) {
        let cb = self.0.borrow().on_frame.clone();
        cb(text);
    }

    fn ready(&self) {
        let cb = self.0.borrow().on_ready.clone();
        cb();
    }

    fn watch_network(&self) {
        let Some(w) = js::window() else { return };
        let me = weak(self);
        let offline: Cb = Closure::new(move |_| {
            if let Some(c) = upgrade(&me) {
                c.go_offline();
            }
        });
        let me = weak(self);
        let online: Cb = Closure::new(move |_| {
            if let Some(c) = upgrade(&me) {
                c.retry_now();
            }
        });
        let _ = w.add_event_listener_with_callback("offline", offline.as_ref().unchecked_ref());
        let _ = w.add_event_listener_with_callback("online", online.as_ref().unchecked_ref());
        self.0.borrow_mut()._window_cbs = vec![offline, online];
    }

    fn ws_url(&self) -> String {
        let i = self.0.borrow();
        let base = if i.cfg.base.is_empty() {
            js::window()
                .and_then(|w| w.location().origin().ok())
                .unwrap_or_default()
        } else {
            i.cfg.base.clone()
        };
        let base = match base.strip_prefix("http") {
            Some(rest) => format!("ws{rest}"),
            None => base,
        };
        match &i.cfg.token {
            Some(t) => format!("{base}{}?token={}", i.cfg.ws_path, js::encode(t)),
            None => format!("{base}{}", i.cfg.ws_path),
        }
    }

    fn open_socket(&self) -> Option<Ws> {
        let url = self.ws_url();
        let socket = WebSocket::new(&url).ok()?;
        let id = {
            let mut i = self.0.borrow_mut();
            i.next_id += 1;
            i.next_id
        };
        let me = weak(self);
        let on_message: Cb = Closure::new(move |e: JsValue| {
            let Some(text) = e.dyn_ref::<MessageEvent>().and_then(|m| m.data().as_string()) else {
                return;
            };
            if let Some(c) = upgrade(&me) {
                c.on_ws_text(id, &text);
            }
        });
        let me = weak(self);
        let on_close: Cb = Closure::new(move |e: JsValue| {
            let code = e.dyn_ref::<CloseEvent>().map(|c| c.code()).unwrap_or(1006);
            if let Some(c) = upgrade(&me) {
                c.on_ws_close(id, code);
            }
        });
        socket.set_onmessage(Some(on_message.as_ref().unchecked_ref()));
        socket.set_onclose(Some(on_close.as_ref().unchecked_ref()));
        Some(Ws {
            id,
            socket,
            authed: false,
            _cbs: vec![on_message, on_close],
        })
    }

    fn connect(&self) {
        {
            let i = self.0.borrow();
            if i.stopped || i.ws.is_some() {
                return;
            }
        }
        let mode = self.0.borrow().status.mode;
        let state = self.0.borrow().status.state;
        if mode == Mode::WebSocket && state != ConnState::Reconnecting {
            self.set_status(ConnState::Connecting, Mode::WebSocket, None);
        }
        let ws = self.open_socket();
        let failed = ws.is_none();
        self.0.borrow_mut().ws = ws;
        if failed {
            self.on_ws_close(0, 1006);
        }
    }

    fn on_ws_text(&self, id: u32, text: &str) {
        let (is_main, is_probe, authed) = {
            let i = self.0.borrow();
            (
                i.ws.as_ref().is_some_and(|w| w.id == id),
                i.probe.as_ref().is_some_and(|w| w.id == id),
                i.ws.as_ref().is_some_and(|w| w.authed),
            )
        };
        if is_probe {
            let ty = js::parse(text).and_then(|o| js::get_str(&o, "type"));
            match ty.as_deref() {
                Some("auth_success") => self.promote_probe(),
                Some("auth_error") => {
                    let probe = self.0.borrow_mut().probe.take();
                    if let Some(p) = probe {
                        p.retire();
                    }
                }
                _ => {}
            }
            return;
        }
        if !is_main {
            return;
        }
        if !authed {
            let ty = js::parse(text).and_then(|o| js::get_str(&o, "type"));
            match ty.as_deref() {
                Some("auth_success") => {
                    {
                        let mut i = self.0.borrow_mut();
                        if let Some(w) = i.ws.as_mut() {
                            w.authed = true;
                        }
                        i.failures = 0;
                        i.backoff = 0;
                    }
                    self.leave_fallback();
                    self.set_status(ConnState::Connected, Mode::WebSocket, None);
                    self.frame(text);
                    self.ready();
                }
                Some("auth_error") => {
                    self.frame(text);
                    let ws = self.0.borrow_mut().ws.take();
                    if let Some(w) = ws {
                        w.retire();
                    }
                    self.failed_attempt();
                }
                _ => self.frame(text),
            }
            return;
        }
        self.frame(text);
    }

    fn on_ws_close(&self, id: u32, _code: u16) {
        let (was_main, was_authed, was_probe) = {
            let mut i = self.0.borrow_mut();
            if i.probe.as_ref().is_some_and(|w| w.id == id) {
                if let Some(p) = i.probe.take() {
                    p.retire();
                }
                (false, false, true)
            } else if id == 0 || i.ws.as_ref().is_some_and(|w| w.id == id) {
                let authed = i.ws.as_ref().is_some_and(|w| w.authed);
                if let Some(w) = i.ws.take() {
                    w.retire();
                }
                (true, authed, false)
            } else {
                (false, false, false)
            }
        };
        if was_probe {
            self.schedule_upgrade();
            return;
        }
        if !was_main {
            return;
        }
        let (stopped, state) = {
            let i = self.0.borrow();
            (i.stopped, i.status.state)
        };
        if stopped || state == ConnState::Offline {
            return;
        }
        if was_authed {
            // A live connection dropped: reconnect with backoff (replies resume).
            self.0.borrow_mut().failures = 0;
            self.schedule_reconnect();
        } else {
            self.failed_attempt();
        }
    }

    /// An attempt that never got authenticated. After two quick ones, if the
    /// server answers plain HTTP, its WebSocket is blocked: fall back.
    fn failed_attempt(&self) {
        let failures = {
            let mut i = self.0.borrow_mut();
            i.failures += 1;
            i.failures
        };
        if failures < 2 {
            let me = weak(self);
            let t = set_timeout(
                move || {
                    if let Some(c) = upgrade(&me) {
                        c.connect()
                    }
                },
                400.0,
            );
            self.0.borrow_mut().timer = t;
            return;
        }
        let me = weak(self);
        let base = self.0.borrow().cfg.base.clone();
        wasm_bindgen_futures::spawn_local(async move {
            let (status, _) = js::fetch("GET", &format!("{base}/health"), None, None).await;
            let Some(c) = upgrade(&me) else { return };
            if status == 200 {
                c.enter_fallback(Mode::Sse);
            } else {
                c.schedule_reconnect();
            }
        });
    }

    fn schedule_reconnect(&self) {
        let attempt = {
            let mut i = self.0.borrow_mut();
            i.backoff = (i.backoff + 1).min(6);
            i.backoff
        };
        // 1, 2, 4 … 30 s, with ±30 % jitter so a restarted server is not stampeded.
        let base = (1000.0 * 2f64.powi(attempt as i32 - 1)).min(30_000.0);
        let jitter = base * 0.3 * (js_sys::Math::random() * 2.0 - 1.0);
        let delay = (base + jitter).max(250.0);
        let retry_at = js::now_ms() + delay;
        let mode = self.0.borrow().status.mode;
        self.set_status(ConnState::Reconnecting, mode, Some(retry_at));
        let me = weak(self);
        let t = set_timeout(
            move || {
                if let Some(c) = upgrade(&me) {
                    c.connect()
                }
            },
            delay,
        );
        let old = self.0.borrow_mut().timer.replace(t.unwrap_or_default());
        clear_timeout(old);
    }

    /// "Retry now", and the browser coming back online.
    pub fn retry_now(&self) {
        let (mode, state) = {
            let i = self.0.borrow();
            (i.status.mode, i.status.state)
        };
        clear_timeout(self.0.borrow_mut().timer.take());
        if mode != Mode::WebSocket && state == ConnState::Connected {
            self.probe_now();
            return;
        }
        {
            let mut i = self.0.borrow_mut();
            i.failures = 0;
            if let Some(w) = i.ws.take() {
                w.retire();
            }
        }
        self.set_status(ConnState::Connecting, Mode::WebSocket, None);
        self.connect();
    }

    fn go_offline(&self) {
        {
            let mut i = self.0.borrow_mut();
            clear_timeout(i.timer.take());
            if let Some(w) = i.ws.take() {
                w.retire();
            }
            retire_es(i.live.take());
            for f in i.follows.values_mut() {
                retire_es(f.es.take());
                f.poll_gen += 1;
            }
        }
        let mode = self.0.borrow().status.mode;
        self.set_status(ConnState::Offline, mode, None);
    }

    fn enter_fallback(&self, mode: Mode) {
        self.set_status(ConnState::Connected, mode, None);
        self.schedule_upgrade();
        if mode == Mode::Poll {
            self.schedule_tick();
        }
        // The identity's live events (new chats, titles, deletions) flow even
        // before a conversation is joined, like on a WebSocket (issue 17, fault 4).
        self.open_live();
        self.ready();
    }

    fn leave_fallback(&self) {
        let mut i = self.0.borrow_mut();
        retire_es(i.live.take());
        for f in i.follows.values_mut() {
            retire_es(f.es.take());
            f.poll_gen += 1;
        }
        for (_, mut f) in i.follows.drain() {
            retire_es(f.es.take());
        }
        clear_timeout(i.upgrade_timer.take());
        clear_timeout(i.tick_timer.take());
    }

    fn schedule_upgrade(&self) {
        let ms = self.0.borrow().cfg.upgrade_ms as f64;
        let delay = ms + js_sys::Math::random() * ms;
        let me = weak(self);
        let t = set_timeout(
            move || {
                if let Some(c) = upgrade(&me) {
                    c.probe_now()
                }
            },
            delay,
        );
        let old = std::mem::replace(&mut self.0.borrow_mut().upgrade_timer, t);
        clear_timeout(old);
    }

    fn probe_now(&self) {
        if self.0.borrow().probe.is_some() || self.0.borrow().status.mode == Mode::WebSocket {
            return;
        }
        let p = self.open_socket();
        let none = p.is_none();
        self.0.borrow_mut().probe = p;
        if none {
            self.schedule_upgrade();
        }
    }

    /// The background WebSocket authenticated: move everything back onto it.
    fn promote_probe(&self) {
        {
            let mut i = self.0.borrow_mut();
            let Some(mut p) = i.probe.take() else { return };
            p.authed = true;
            if let Some(old) = i.ws.replace(p) {
                old.retire();
            }
            i.failures = 0;
            i.backoff = 0;
        }
        self.leave_fallback();
        self.set_status(ConnState::Connected, Mode::WebSocket, None);
        self.ready();
    }

    fn schedule_tick(&self) {
        let me = weak(self);
        let t = set_timeout(
            move || {
                if let Some(c) = upgrade(&me) {
                    if c.status().mode == Mode::Poll {
                        // A client reduced to long polling refreshes from REST every 10 s.
                        c.frame("{\"type\":\"poll_tick\"}");
                        c.schedule_tick();
                    }
                }
            },
            10_000.0,
        );
        self.0.borrow_mut().tick_timer = t;
    }

    fn token(&self) -> Option<String> {
        self.0.borrow().cfg.token.clone()
    }

    fn url(&self, path: &str) -> String {
        format!("{}{}", self.0.borrow().cfg.base, path)
    }

    fn with_token(&self, url: String) -> String {
        match self.token() {
            Some(t) => format!(
                "{url}{}token={}",
                if url.contains('?') { '&' } else { '?' },
                js::encode(&t)
            ),
            None => url,
        }
    }

    /// Sends a client frame (JSON text). On the WebSocket it goes as is; on a
    /// fallback the same request is made over HTTP and the answer comes back
    /// as frames. `false`: not connected now (keep it for later).
    pub fn send(&self, frame: &str) -> bool {
        let status = self.status();
        if status.state != ConnState::Connected {
            return false;
        }
        if status.mode == Mode::WebSocket {
            let i = self.0.borrow();
            return match &i.ws {
                Some(w) if w.authed => w.socket.send_with_str(frame).is_ok(),
                _ => false,
            };
        }
        let Some(obj) = js::parse(frame) else {
            return false;
        };
        let ty = js::get_str(&obj, "type").unwrap_or_default();
        match ty.as_str() {
            "message" => self.http_send(obj, "/api/v1/chat/messages"),
            "regenerate" => self.http_send(obj, "/api/v1/chat/regenerate"),
            "stop" => {
                if let Some(id) = js::get_str(&obj, "reply_id") {
                    let (url, token) = (
                        self.url(&format!("/api/v1/chat/replies/{}/stop", js::encode(&id))),
                        self.token(),
                    );
                    wasm_bindgen_futures::spawn_local(async move {
                        js::fetch("POST", &url, Some("{}"), token.as_deref()).await;
                    });
                }
            }
            "resume" => {
                if let Some(id) = js::get_str(&obj, "reply_id") {
                    let after = js::get_f64(&obj, "after_seq").unwrap_or(0.0) as u64;
                    self.follow(&id, after);
                }
            }
            "join" => {
                if let Some(s) = js::get_str(&obj, "session_id") {
                    let same = {
                        let i = self.0.borrow();
                        i.joined.as_deref() == Some(s.as_str()) && i.live.is_some()
                    };
                    if !same {
                        self.0.borrow_mut().joined = Some(s);
                        self.open_live();
                    }
                }
            }
            "leave" => {
                self.0.borrow_mut().joined = None;
                self.open_live();
            }
            _ => {}
        }
        true
    }

    fn http_send(&self, frame: Object, path: &str) {
        let body = js::stringify(&frame);
        let client_id = js::get_str(&frame, "client_id");
        let (url, token) = (self.url(path), self.token());
        let me = weak(self);
        wasm_bindgen_futures::spawn_local(async move {
            let (status, text) = js::fetch("POST", &url, Some(&body), token.as_deref()).await;
            let Some(c) = upgrade(&me) else { return };
            let answer = js::parse(&text).unwrap_or_default();
            let out = Object::new();
            if let Some(cid) = &client_id {
                js::set(&out, "client_id", &JsValue::from_str(cid));
            } else {
                js::set(&out, "client_id", &JsValue::NULL);
            }
            if status == 0 {
                // Not sent at all: the owner keeps it and tries again when ready.
                js::set(&out, "type", &JsValue::from_str("send_failed"));
                c.frame(&js::stringify(&out));
                return;
            }
            if (200..300).contains(&status) {
                js::set(&out, "type", &JsValue::from_str("ack"));
                for k in ["message_id", "session_id", "reply_id"] {
                    let v = js::get(&answer, k);
                    let v = if v.is_undefined() { JsValue::NULL } else { v };
                    js::set(&out, k, &v);
                }
                js::set(
                    &out,
                    "created_at",
                    &JsValue::from_str(&js_sys::Date::new_0().to_iso_string().as_string().unwrap_or_default()),
                );
                c.frame(&js::stringify(&out));
                // Sending joins the conversation, as on a WebSocket (contract §3.2).
                let session = js::get_str(&answer, "session_id");
                if session.is_some() && c.0.borrow().joined != session {
                    c.0.borrow_mut().joined = session;
                    c.open_live();
                }
                if let Some(reply) = js::get_str(&answer, "reply_id") {
                    c.follow(&reply, 0);
                }
            } else {
                js::set(&out, "type", &JsValue::from_str("error"));
                js::set(&out, "error", &js::get(&answer, "error"));
                js::set(&out, "code", &js::get(&answer, "code"));
                c.frame(&js::stringify(&out));
            }
        });
    }

    /// The identity's live events over SSE, and those of the joined
    /// conversation if any; replies it announces are followed. Reopened when
    /// the joined conversation changes.
    fn open_live(&self) {
        if self.status().mode != Mode::Sse {
            return;
        }
        let path = match self.0.borrow().joined.clone() {
            Some(session) => format!("/api/v1/chat/events?session_id={}", js::encode(&session)),
            None => "/api/v1/chat/events".to_string(),
        };
        let url = self.with_token(self.url(&path));
        let Ok(source) = EventSource::new(&url) else {
            return;
        };
        let mut cbs = Vec::new();
        for name in [
            "message_added",
            "conversation_updated",
            "conversation_deleted",
            "stream_start",
            "typing",
            "complete",
        ] {
            let me = weak(self);
            let cb: Cb = Closure::new(move |e: JsValue| {
                let Some(data) = e.dyn_ref::<MessageEvent>().and_then(|m| m.data().as_string()) else {
                    return;
                };
                let Some(c) = upgrade(&me) else { return };
                if name == "stream_start" {
                    if let Some(id) = js::parse(&data).and_then(|o| js::get_str(&o, "reply_id")) {
                        c.follow(&id, 0);
                    }
                }
                c.frame(&data);
            });
            let _ = source.add_event_listener_with_callback(name, cb.as_ref().unchecked_ref());
            cbs.push(cb);
        }
        let old = self.0.borrow_mut().live.replace(Es { source, _cbs: cbs });
        retire_es(old);
    }

    /// Streams a reply's tokens after `after` over SSE or long polling. Like a
    /// WebSocket `resume` (contract §3.3), a lower `after` than this client
    /// already passed on restarts the stream from there: the owner dropped
    /// what it showed and asks for it again.
    fn follow(&self, reply_id: &str, after: u64) {
        let mode = self.status().mode;
        if mode == Mode::WebSocket {
            return;
        }
        {
            let mut i = self.0.borrow_mut();
            if let Some(f) = i.follows.get_mut(reply_id) {
                if after >= f.seq {
                    f.seq = after;
                    return;
                }
                f.seq = after;
                f.progress_at = js::now_ms();
                drop(i);
                return match mode {
                    Mode::Sse => self.follow_sse(reply_id),
                    _ => self.follow_poll(reply_id),
                };
            }
            i.follows.insert(
                reply_id.to_string(),
                Follow {
                    seq: after,
                    es: None,
                    errors: 0,
                    progress_at: js::now_ms(),
                    poll_gen: 0,
                },
            );
        }
        match mode {
            Mode::Sse => self.follow_sse(reply_id),
            _ => self.follow_poll(reply_id),
        }
    }

    fn follow_sse(&self, reply_id: &str) {
        let after = self.0.borrow().follows.get(reply_id).map_or(0, |f| f.seq);
        let url = self.with_token(self.url(&format!(
            "/api/v1/chat/replies/{}/events?after_seq={after}",
            js::encode(reply_id)
        )));
        let Ok(source) = EventSource::new(&url) else {
            return self.to_poll();
        };
        let mut cbs = Vec::new();
        for name in ["token", "complete", "error"] {
            let me = weak(self);
            let id = reply_id.to_string();
            let cb: Cb = Closure::new(move |e: JsValue| {
                let Some(c) = upgrade(&me) else { return };
                let data = e.dyn_ref::<MessageEvent>().and_then(|m| m.data().as_string());
                match (name, data) {
                    ("error", None) => c.sse_trouble(&id),
                    (_, Some(data)) => c.on_reply_frame(&id, &data),
                    _ => {}
                }
            });
            let _ = source.add_event_listener_with_callback(name, cb.as_ref().unchecked_ref());
            cbs.push(cb);
        }
        let old = match self.0.borrow_mut().follows.get_mut(reply_id) {
            Some(f) => f.es.replace(Es { source, _cbs: cbs }),
            None => Some(Es { source, _cbs: cbs }),
        };
        retire_es(old);
        // A stream that shows nothing for a long while is treated as blocked.
        let me = weak(self);
        let id = reply_id.to_string();
        set_timeout(
            move || {
                if let Some(c) = upgrade(&me) {
                    let stale =
                        c.0.borrow()
                            .follows
                            .get(&id)
                            .is_some_and(|f| f.es.is_some() && js::now_ms() - f.progress_at > 19_000.0);
                    if stale {
                        c.to_poll();
                    }
                }
            },
            20_000.0,
        );
    }

    fn sse_trouble(&self, reply_id: &str) {
        let give_up = {
            let mut i = self.0.borrow_mut();
            match i.follows.get_mut(reply_id) {
                Some(f) => {
                    f.errors += 1;
                    f.errors >= 2 && js::now_ms() - f.progress_at > 3000.0
                }
                None => false,
            }
        };
        if give_up {
            self.to_poll();
        }
    }

    /// SSE made no progress: move every followed reply to long polling.
    fn to_poll(&self) {
        if self.status().mode == Mode::Poll {
            return;
        }
        let ids: Vec<String> = {
            let mut i = self.0.borrow_mut();
            retire_es(i.live.take());
            for f in i.follows.values_mut() {
                retire_es(f.es.take());
            }
            i.follows.keys().cloned().collect()
        };
        self.set_status(ConnState::Connected, Mode::Poll, None);
        self.schedule_tick();
        for id in ids {
            self.follow_poll(&id);
        }
    }

    fn on_reply_frame(&self, reply_id: &str, data: &str) {
        let Some(o) = js::parse(data) else { return };
        let ty = js::get_str(&o, "type").unwrap_or_default();
        {
            let mut i = self.0.borrow_mut();
            let Some(f) = i.follows.get_mut(reply_id) else {
                return;
            };
            f.progress_at = js::now_ms();
            f.errors = 0;
            if ty == "token" {
                let seq = js::get_f64(&o, "seq").unwrap_or(0.0) as u64;
                if seq <= f.seq {
                    return;
                }
                f.seq = seq;
            }
            if ty == "complete" {
                if let Some(mut f) = i.follows.remove(reply_id) {
                    retire_es(f.es.take());
                }
            }
        }
        self.frame(data);
    }

    fn follow_poll(&self, reply_id: &str) {
        let gen = {
            let mut i = self.0.borrow_mut();
            let Some(f) = i.follows.get_mut(reply_id) else {
                return;
            };
            f.poll_gen += 1;
            f.poll_gen
        };
        let me = weak(self);
        let id = reply_id.to_string();
        wasm_bindgen_futures::spawn_local(async move {
            loop {
                let Some(c) = upgrade(&me) else { return };
                let after = match c.0.borrow().follows.get(&id) {
                    Some(f) if f.poll_gen == gen => f.seq,
                    _ => return,
                };
                let url = c.with_token(c.url(&format!(
                    "/api/v1/chat/replies/{}/poll?after_seq={after}&wait_ms=25000",
                    js::encode(&id)
                )));
                drop(c);
                let (status, text) = js::fetch("GET", &url, None, None).await;
                let Some(c) = upgrade(&me) else { return };
                if c.0.borrow().follows.get(&id).is_none_or(|f| f.poll_gen != gen) {
                    return;
                }
                if status == 0 {
                    js::sleep(2000).await;
                    continue;
                }
                let Some(answer) = js::parse(&text) else {
                    return;
                };
                if !(200..300).contains(&status) {
                    let gone = c.0.borrow_mut().follows.remove(&id);
                    if let Some(mut f) = gone {
                        retire_es(f.es.take());
                    }
                    js::set(&answer, "type", &JsValue::from_str("error"));
                    js::set(&answer, "reply_id", &JsValue::from_str(&id));
                    c.frame(&js::stringify(&answer));
                    return;
                }
                let tokens = js::get(&answer, "tokens");
                let session = js::get(
                    &js::get(&answer, "complete").dyn_into::<Object>().unwrap_or_default(),
                    "session_id",
                );
                if let Ok(arr) = tokens.dyn_into::<js_sys::Array>() {
                    for t in arr.iter() {
                        let Ok(t) = t.dyn_into::<Object>() else {
                            continue;
                        };
                        js::set(&t, "type", &JsValue::from_str("token"));
                        js::set(&t, "reply_id", &JsValue::from_str(&id));
                        if !session.is_undefined() {
                            js::set(&t, "session_id", &session);
                        }
                        c.on_reply_frame(&id, &js::stringify(&t));
                    }
                }
                let complete = js::get(&answer, "complete");
                if let Ok(done) = complete.dyn_into::<Object>() {
                    js::set(&done, "type", &JsValue::from_str("complete"));
                    c.on_reply_frame(&id, &js::stringify(&done));
                    return;
                }
            }
        });
    }

    /// Closes everything (the page is going away).
    pub fn stop(&self) {
        let mut i = self.0.borrow_mut();
        i.stopped = true;
        clear_timeout(i.timer.take());
        clear_timeout(i.upgrade_timer.take());
        clear_timeout(i.tick_timer.take());
        if let Some(w) = i.ws.take() {
            w.retire();
        }
        if let Some(w) = i.probe.take() {
            w.retire();
        }
        retire_es(i.live.take());
        for (_, mut f) in i.follows.drain() {
            retire_es(f.es.take());
        }
    }
}
