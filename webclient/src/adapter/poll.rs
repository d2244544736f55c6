//! One long poll of a reply (contract §4, `GET …/replies/{id}/poll`): its
//! answer is turned into frames in the WebSocket's shape and reported.

use js_sys::{Array, Object};
use wasm_bindgen::{JsCast, JsValue};

use super::report::Report;
use crate::js;
use crate::machine::{Event, PollAnswer, ReplyFrame, ReplyFrameKind, RequestId};

/// Polls `url` once and reports [`Event::PollAnswered`] for `request`.
pub fn poll(url: String, reply_id: String, request: RequestId, report: Report) {
    wasm_bindgen_futures::spawn_local(async move {
        let (status, text) = js::fetch("GET", &url, None, None).await;
        let answer = translate(status, &text, &reply_id);
        report.event(Event::PollAnswered {
            reply_id,
            request,
            answer,
        });
    });
}

/// `{tokens: [{seq, token}], status, complete}` → `token` frames, then the
/// `complete` frame; a refusal → an `error` frame naming the reply.
fn translate(status: u16, text: &str, reply_id: &str) -> PollAnswer {
    if status == 0 {
        return PollAnswer::Unreachable;
    }
    let Some(answer) = js::parse(text) else {
        return PollAnswer::Unreachable;
    };
    if !(200..300).contains(&status) {
        js::set(&answer, "type", &JsValue::from_str("error"));
        js::set(&answer, "reply_id", &JsValue::from_str(reply_id));
        return PollAnswer::Refused {
            frame: js::stringify(&answer),
        };
    }
    let complete = js::get(&answer, "complete").dyn_into::<Object>().ok();
    // Tokens carry the conversation only once the reply finished (the poll
    // answer has no `session_id` of its own).
    let session = complete
        .as_ref()
        .map(|c| js::get(c, "session_id"))
        .unwrap_or(JsValue::UNDEFINED);
    let mut frames = Vec::new();
    if let Ok(tokens) = js::get(&answer, "tokens").dyn_into::<Array>() {
        for t in tokens.iter() {
            let Ok(t) = t.dyn_into::<Object>() else { continue };
            js::set(&t, "type", &JsValue::from_str("token"));
            js::set(&t, "reply_id", &JsValue::from_str(reply_id));
            if !session.is_undefined() {
                js::set(&t, "session_id", &session);
            }
            let seq = js::get_f64(&t, "seq").unwrap_or(0.0) as u64;
            frames.push(ReplyFrame {
                kind: ReplyFrameKind::Token { seq },
                text: js::stringify(&t),
            });
        }
    }
    if let Some(done) = complete {
        js::set(&done, "type", &JsValue::from_str("complete"));
        frames.push(ReplyFrame {
            kind: ReplyFrameKind::Complete,
            text: js::stringify(&done),
        });
    }
    PollAnswer::Frames(frames)
}
