//! What the chat's controls do. Each action asks the [`Store`] to change the
//! page's state and say what to send, then sends it: frames through
//! [`crate::live`] (the one owner of the connection), REST requests and the
//! clipboard from here. Components call these; the store itself does no I/O
//! but `localStorage`.

use leptos::prelude::*;
use protocol::frames::{ClientFrame, StopFrame};
use protocol::objects::Rating;
use protocol::rest::VersionList;

use crate::live;
use crate::rest;
use crate::store::{Msg, RatingRequest, Store};

/// Sends the composer's text (see [`Store::send_message`]).
pub fn send_message(store: Store, text: String) {
    let frame = store.send_message(text);
    live::send(store, &frame);
}

/// Sends a failed message again (see [`Store::retry`]).
pub fn retry(store: Store, m: &Msg) {
    live::send_all(store, store.retry(m));
}

/// Asks for a new version of the last reply.
pub fn regenerate(store: Store) {
    live::send_all(store, store.regenerate());
}

/// Sends the edited last user message (see [`Store::save_edit`]).
pub fn save_edit(store: Store) {
    live::send_all(store, store.save_edit());
}

/// Stops a reply that is generating (`stop`, contract §3.2).
pub fn stop(store: Store, reply_id: &str) {
    let frame = ClientFrame::Stop(StopFrame {
        reply_id: reply_id.to_string(),
    });
    live::send(store, &frame);
}

/// Reports the open conversation read, when it has unread messages.
pub fn read_if_unread(store: Store) {
    live::send_all(store, store.read_if_unread());
}

/// A conversation was opened: join it and resume its live replies.
pub fn on_open(store: Store) {
    live::send_all(store, store.on_open());
}

/// Thumbs up or down (contract §9.4): shown at once, stored by `PUT` or
/// `DELETE /api/v1/messages/{id}/feedback`, put back if the server refuses.
pub fn rate(store: Store, m: &Msg, clicked: Rating) {
    if let Some(req) = store.rate(m, clicked) {
        store_rating(store, m, req);
    }
}

/// "Send" on a rating's comment form: the rating again, with the comment.
pub fn send_comment(store: Store, m: &Msg) {
    if let Some(req) = store.send_comment(m) {
        store_rating(store, m, req);
    }
}

/// Sends a [`RatingRequest`]; a refusal puts the bubble back as it was.
fn store_rating(store: Store, m: &Msg, req: RatingRequest) {
    let m = m.clone();
    leptos::task::spawn_local(async move {
        let url = format!("/api/v1/messages/{}/feedback", req.message_id);
        let res = match req.rating {
            Some(r) => {
                let body = serde_json::json!({"rating": r.as_str(), "comment": req.comment});
                rest::put::<_, serde_json::Value>(&url, &body).await.map(|_| ())
            }
            None => rest::delete(&url).await,
        };
        if let Err(e) = res {
            store.rating_refused(&m, &req, e.message);
        }
    });
}

/// Shows the previous (`delta = -1`) or next (`+1`) version of a reply,
/// loading the versions (`GET /api/v1/messages/{id}/versions`) the first time.
pub fn browse_version(store: Store, m: &Msg, delta: i64) {
    let m = m.clone();
    leptos::task::spawn_local(async move {
        if m.versions.with_untracked(Vec::is_empty) {
            let Some(id) = m.id.get_untracked() else {
                return;
            };
            match rest::get::<VersionList>(&format!("/api/v1/messages/{id}/versions")).await {
                Ok(Some(list)) => {
                    m.versions.try_set(list.versions);
                }
                Ok(None) => return,
                Err(e) => {
                    let text = format!("Could not load the other versions: {}", e.message);
                    store.notice.set(Some(text));
                    return;
                }
            }
        }
        store.step_version(&m, delta);
    });
}

/// Copies the text a reply shows (its markdown source) to the clipboard;
/// the bubble says "Copied" for a moment, or that the browser refused.
pub fn copy_reply(store: Store, m: &Msg, text: String) {
    #[cfg(feature = "hydrate")]
    {
        let m = m.clone();
        leptos::task::spawn_local(async move {
            let done = match web_sys::window() {
                Some(w) => wasm_bindgen_futures::JsFuture::from(w.navigator().clipboard().write_text(&text))
                    .await
                    .is_ok(),
                None => false,
            };
            m.copied.try_set(Some(done));
            let said = if done {
                "Reply copied."
            } else {
                "Could not copy the reply."
            };
            store.announce.set(said.into());
            crate::timers::sleep_ms(1500).await;
            m.copied.try_set(None);
        });
    }
    #[cfg(not(feature = "hydrate"))]
    let _ = (store, m, text);
}
