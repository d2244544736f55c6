//! The WebSockets the machine opens (the main one and background probes):
//! each reports its text frames and its close, by the machine's socket id.

use std::cell::RefCell;

use wasm_bindgen::closure::Closure;
use wasm_bindgen::{JsCast, JsValue};
use web_sys::{MessageEvent, WebSocket};

use super::report::Report;
use super::timers::after;
use crate::js;
use crate::machine::{Event, FrameKind, SocketId};

type Cb = Closure<dyn FnMut(JsValue)>;

struct Ws {
    id: SocketId,
    socket: WebSocket,
    _cbs: Vec<Cb>,
}

impl Ws {
    /// Closes the socket and frees its callbacks on a later tick: a socket may
    /// be closed from inside one of its own callbacks, and a callback must not
    /// be freed while it runs or be called once freed.
    fn retire(self) {
        self.socket.set_onmessage(None);
        self.socket.set_onclose(None);
        let _ = self.socket.close();
        after(0, move || drop(self));
    }
}

/// What the machine needs to know of a frame: only `auth_success` and
/// `auth_error` matter, so only a frame that mentions `auth_` is parsed.
/// (A byte scan: `str::contains` would bring the two-way searcher and its
/// panic formatting, kilobytes of the widget's budget.)
fn frame_kind(text: &str) -> FrameKind {
    if !text.as_bytes().windows(5).any(|w| w == b"auth_") {
        return FrameKind::Other;
    }
    match js::parse(text).and_then(|o| js::get_str(&o, "type")).as_deref() {
        Some("auth_success") => FrameKind::AuthSuccess,
        Some("auth_error") => FrameKind::AuthError,
        _ => FrameKind::Other,
    }
}

fn open(id: SocketId, url: &str, report: &Report) -> Option<Ws> {
    let socket = WebSocket::new(url).ok()?;
    let r = report.clone();
    let on_message: Cb = Closure::new(move |e: JsValue| {
        if let Some(text) = e.dyn_ref::<MessageEvent>().and_then(|m| m.data().as_string()) {
            let kind = frame_kind(&text);
            r.event(Event::SocketFrame { socket: id, kind, text });
        }
    });
    let r = report.clone();
    let on_close: Cb = Closure::new(move |_: JsValue| r.event(Event::SocketClosed { socket: id }));
    socket.set_onmessage(Some(on_message.as_ref().unchecked_ref()));
    socket.set_onclose(Some(on_close.as_ref().unchecked_ref()));
    Some(Ws {
        id,
        socket,
        _cbs: vec![on_message, on_close],
    })
}

/// The open WebSockets.
#[derive(Default)]
pub struct Sockets {
    list: RefCell<Vec<Ws>>,
}

impl Sockets {
    /// Opens socket `id`; one that cannot even be created is reported closed.
    pub fn open(&self, id: SocketId, url: &str, report: &Report) {
        match open(id, url, report) {
            Some(ws) => self.list.borrow_mut().push(ws),
            None => report.event(Event::SocketClosed { socket: id }),
        }
    }

    pub fn close(&self, id: SocketId) {
        let ws = {
            let mut list = self.list.borrow_mut();
            let i = list.iter().position(|w| w.id == id);
            i.map(|i| list.remove(i))
        };
        if let Some(ws) = ws {
            ws.retire();
        }
    }

    pub fn send(&self, id: SocketId, text: &str) {
        if let Some(w) = self.list.borrow().iter().find(|w| w.id == id) {
            let _ = w.socket.send_with_str(text);
        }
    }

    pub fn close_all(&self) {
        let all: Vec<Ws> = self.list.borrow_mut().drain(..).collect();
        for ws in all {
            ws.retire();
        }
    }
}

impl Drop for Sockets {
    fn drop(&mut self) {
        self.close_all();
    }
}
