//! Requests over plain HTTP on a fallback (contract §4): a `message` or
//! `regenerate` POSTed, whose answer becomes the frame a WebSocket would have
//! sent (`ack` or `error`, or `send_failed` when it never reached the server);
//! a reply's `stop`; and `GET /health`.

use js_sys::Object;
use wasm_bindgen::JsValue;

use super::report::Report;
use crate::js;
use crate::machine::{Accepted, Event};

/// POSTs `body` to `url` and reports [`Event::HttpAnswered`].
pub fn send(url: String, body: String, client_id: Option<String>, token: Option<String>, report: Report) {
    wasm_bindgen_futures::spawn_local(async move {
        let (status, text) = js::fetch("POST", &url, Some(&body), token.as_deref()).await;
        let (frame, accepted) = translate(status, &text, client_id.as_deref());
        report.event(Event::HttpAnswered { frame, accepted });
    });
}

/// The answer as a frame, and what was accepted if it was.
fn translate(status: u16, text: &str, client_id: Option<&str>) -> (String, Option<Accepted>) {
    let answer = js::parse(text).unwrap_or_default();
    let out = Object::new();
    js::set(&out, "client_id", &client_id.map_or(JsValue::NULL, JsValue::from_str));
    if status == 0 {
        // Not sent at all: the owner keeps it and tries again when ready.
        js::set(&out, "type", &JsValue::from_str("send_failed"));
        return (js::stringify(&out), None);
    }
    if !(200..300).contains(&status) {
        js::set(&out, "type", &JsValue::from_str("error"));
        js::set(&out, "error", &js::get(&answer, "error"));
        js::set(&out, "code", &js::get(&answer, "code"));
        return (js::stringify(&out), None);
    }
    js::set(&out, "type", &JsValue::from_str("ack"));
    for k in ["message_id", "session_id", "reply_id"] {
        let v = js::get(&answer, k);
        let v = if v.is_undefined() { JsValue::NULL } else { v };
        js::set(&out, k, &v);
    }
    let now = js_sys::Date::new_0().to_iso_string().as_string().unwrap_or_default();
    js::set(&out, "created_at", &JsValue::from_str(&now));
    let accepted = Accepted {
        session_id: js::get_str(&answer, "session_id"),
        reply_id: js::get_str(&answer, "reply_id"),
    };
    (js::stringify(&out), Some(accepted))
}

/// POSTs a reply's `stop`; the answer does not matter (the reply's stream
/// shows the outcome).
pub fn stop(url: String, token: Option<String>) {
    wasm_bindgen_futures::spawn_local(async move {
        js::fetch("POST", &url, Some("{}"), token.as_deref()).await;
    });
}

/// `GET /health`, reported as [`Event::HealthChecked`].
pub fn health(url: String, report: Report) {
    wasm_bindgen_futures::spawn_local(async move {
        let (status, _) = js::fetch("GET", &url, None, None).await;
        report.event(Event::HealthChecked { ok: status == 200 });
    });
}
