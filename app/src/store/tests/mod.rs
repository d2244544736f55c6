//! The store's reducer on the host (`cargo test`, no browser): frames in,
//! signals and frames to send out. The store's signals work natively under a
//! Leptos [`Owner`]; frames are decoded from their wire text, as the live
//! connection hands them over.

mod feedback;
mod messages;
mod outbox;
mod tokens;
mod versions;

use leptos::prelude::*;
use protocol::frames::{ClientFrame, ResumeFrame};
use protocol::objects::{Me, Message, Role};
use protocol::rest::{MessageList, ServerInfo};
use serde_json::{json, Value};

use super::{decode, Incoming, Msg, Store};
use crate::server_fns::Session;

/// The open conversation of every test.
const S: &str = "s1";

/// Runs `f` with a fresh store under its own owner, signed in as `u1`.
fn with_store(f: impl FnOnce(Store)) {
    let owner = Owner::new();
    owner.with(|| {
        let store = Store::new();
        sign_in(store, "u1");
        f(store);
    });
    owner.cleanup();
}

fn sign_in(store: Store, user_id: &str) {
    store.session.set(Some(Session {
        user: Me {
            id: user_id.into(),
            email: None,
            name: None,
            role: Role::User,
        },
        info: ServerInfo {
            provider: "demo".into(),
            model: "demo".into(),
            models: Vec::new(),
            max_message_chars: 10_000,
            guests: true,
        },
    }));
}

/// A stored message of conversation [`S`]; `seq` is a reply's `metadata.seq`.
fn message(id: &str, role: &str, content: &str, status: &str, seq: u64) -> Message {
    serde_json::from_value(json!({
        "id": id, "session_id": S, "role": role, "content": content, "status": status,
        "client_id": null, "created_at": "2026-11-30T00:00:00Z", "reply_id": null,
        "metadata": {"seq": seq}
    }))
    .expect("a message")
}

/// Opens [`S`] showing `messages`, as the chat page does after loading it.
fn open(store: Store, messages: Vec<Message>) {
    store.open(
        Some(S.into()),
        Some(MessageList {
            messages,
            has_more: false,
        }),
    );
}

/// Hands one frame's wire text to the store, as [`crate::live::receive`]
/// does; returns what the store answers.
fn recv(store: Store, frame: Value) -> Vec<ClientFrame> {
    let text = frame.to_string();
    match decode(&text) {
        Incoming::Server(f) => store.on_frame(*f),
        other => panic!("{text} decoded as {other:?}"),
    }
}

fn token(reply_id: &str, seq: u64, text: &str) -> Value {
    json!({"type": "token", "token": text, "reply_id": reply_id, "session_id": S, "seq": seq})
}

fn stream_start(reply_id: &str) -> Value {
    json!({"type": "stream_start", "reply_id": reply_id, "session_id": S, "message_id": reply_id})
}

/// `complete` with `finish_reason` `reason` (`stop`, `stopped`, …).
fn complete(reply_id: &str, response: &str, reason: &str) -> Value {
    json!({"type": "complete", "response": response, "session_id": S, "reply_id": reply_id,
        "message_id": reply_id, "metadata": {"agent": "a", "model": "m", "finish_reason": reason,
        "usage": {"prompt_tokens": 1, "completion_tokens": 2, "total_tokens": 3},
        "ttft_ms": null, "duration_ms": null}})
}

fn ack(client_id: &str, message_id: &str, reply_id: Option<&str>) -> Value {
    json!({"type": "ack", "client_id": client_id, "message_id": message_id, "session_id": S,
        "created_at": "2026-11-30T00:00:00Z", "reply_id": reply_id})
}

fn message_added(m: &Message) -> Value {
    json!({"type": "message_added", "session_id": m.session_id, "message": m})
}

fn resume(reply_id: &str, after_seq: u64) -> ClientFrame {
    ClientFrame::Resume(ResumeFrame {
        reply_id: reply_id.into(),
        after_seq,
    })
}

/// The bubble of reply `id`; panics when the page does not show it.
fn reply(store: Store, id: &str) -> Msg {
    store
        .find_reply(id)
        .unwrap_or_else(|| panic!("reply {id} is not shown"))
}

fn text(store: Store, id: &str) -> String {
    reply(store, id).content.get_untracked()
}

/// How many bubbles the page shows.
fn shown(store: Store) -> usize {
    store.messages.with_untracked(Vec::len)
}

/// A conversation where the user asked and reply `r1` was announced (`ack`)
/// and started: what every token test starts from.
fn streaming(store: Store) {
    open(store, vec![message("u1", "user", "hi", "complete", 0)]);
    recv(
        store,
        json!({"type": "ack", "client_id": null, "message_id": "u1", "session_id": S,
        "created_at": "2026-11-30T00:00:00Z", "reply_id": "r1"}),
    );
    assert!(recv(store, stream_start("r1")).is_empty());
}
