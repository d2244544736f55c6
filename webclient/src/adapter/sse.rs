//! The EventSources the machine opens: the identity's live events, and one
//! stream per followed reply (contract §4).

use std::cell::RefCell;

use wasm_bindgen::closure::Closure;
use wasm_bindgen::{JsCast, JsValue};
use web_sys::{EventSource, MessageEvent};

use super::report::Report;
use super::timers::after;
use crate::js;
use crate::machine::{Event, ReplyFrame, ReplyFrameKind};

type Cb = Closure<dyn FnMut(JsValue)>;

/// The live stream's event names (contract §4, `GET /api/v1/chat/events`).
const LIVE_EVENTS: [&str; 6] = [
    "message_added",
    "conversation_updated",
    "conversation_deleted",
    "stream_start",
    "typing",
    "complete",
];

/// A reply stream's event names (contract §4, `…/replies/{id}/events`).
const REPLY_EVENTS: [&str; 3] = ["token", "complete", "error"];

struct Es {
    source: EventSource,
    _cbs: Vec<Cb>,
}

impl Es {
    /// Closes it now (it fires nothing more) and frees its callbacks on a
    /// later tick (it may be closed from inside one of them).
    fn retire(self) {
        self.source.close();
        after(0, move || drop(self));
    }
}

fn data(e: &JsValue) -> Option<String> {
    e.dyn_ref::<MessageEvent>().and_then(|m| m.data().as_string())
}

fn listen(
    source: &EventSource,
    names: &[&'static str],
    f: impl Fn(&'static str, Option<String>) + Clone + 'static,
) -> Vec<Cb> {
    let mut cbs = Vec::new();
    for &name in names {
        let f = f.clone();
        let cb: Cb = Closure::new(move |e: JsValue| f(name, data(&e)));
        let _ = source.add_event_listener_with_callback(name, cb.as_ref().unchecked_ref());
        cbs.push(cb);
    }
    cbs
}

/// A reply frame's meaning for the machine: its `type`, and `seq` of a token.
fn reply_frame(text: String) -> Option<ReplyFrame> {
    let o = js::parse(&text)?;
    let kind = match js::get_str(&o, "type").as_deref() {
        Some("token") => ReplyFrameKind::Token {
            seq: js::get_f64(&o, "seq").unwrap_or(0.0) as u64,
        },
        Some("complete") => ReplyFrameKind::Complete,
        _ => ReplyFrameKind::Other,
    };
    Some(ReplyFrame { kind, text })
}

/// The open EventSources.
#[derive(Default)]
pub struct Streams {
    live: RefCell<Option<Es>>,
    replies: RefCell<Vec<(String, Es)>>,
}

impl Streams {
    /// Opens the live stream at `url`, replacing the open one.
    pub fn open_live(&self, url: &str, report: &Report) {
        let Ok(source) = EventSource::new(url) else {
            return;
        };
        let r = report.clone();
        let cbs = listen(&source, &LIVE_EVENTS, move |name, data| {
            let Some(text) = data else { return };
            let stream_start = match name {
                "stream_start" => js::parse(&text).and_then(|o| js::get_str(&o, "reply_id")),
                _ => None,
            };
            r.event(Event::LiveFrame { text, stream_start });
        });
        let old = self.live.borrow_mut().replace(Es { source, _cbs: cbs });
        if let Some(es) = old {
            es.retire();
        }
    }

    pub fn close_live(&self) {
        let old = self.live.borrow_mut().take();
        if let Some(es) = old {
            es.retire();
        }
    }

    /// Opens `reply_id`'s stream at `url`, replacing its open one.
    pub fn open_reply(&self, reply_id: &str, url: &str, report: &Report) {
        self.close_reply(reply_id);
        let Ok(source) = EventSource::new(url) else {
            return report.event(Event::ReplyStreamUnavailable {
                reply_id: reply_id.to_string(),
            });
        };
        let r = report.clone();
        let id = reply_id.to_string();
        let cbs = listen(&source, &REPLY_EVENTS, move |name, data| {
            let reply_id = id.clone();
            match (name, data) {
                (_, Some(text)) => {
                    if let Some(frame) = reply_frame(text) {
                        r.event(Event::ReplyFrame { reply_id, frame });
                    }
                }
                // No data: the browser's own `error` (the connection dropped).
                ("error", None) => r.event(Event::ReplyStreamError { reply_id }),
                _ => {}
            }
        });
        self.replies
            .borrow_mut()
            .push((reply_id.to_string(), Es { source, _cbs: cbs }));
    }

    pub fn close_reply(&self, reply_id: &str) {
        let old = {
            let mut list = self.replies.borrow_mut();
            let i = list.iter().position(|(id, _)| id == reply_id);
            i.map(|i| list.remove(i).1)
        };
        if let Some(es) = old {
            es.retire();
        }
    }

    pub fn close_all(&self) {
        self.close_live();
        let all: Vec<(String, Es)> = self.replies.borrow_mut().drain(..).collect();
        for (_, es) in all {
            es.retire();
        }
    }
}

impl Drop for Streams {
    fn drop(&mut self) {
        self.close_all();
    }
}
