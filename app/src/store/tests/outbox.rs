//! The outbox: unsent messages go again after each (re)connection, once each,
//! until acknowledged; only their author's.

use protocol::frames::{MessageFrame, SessionFrame};

use super::*;
use crate::store::Delivery;

/// The `(client_id, text)` of each `message` frame in `frames`.
fn messages_in(frames: &[ClientFrame]) -> Vec<(String, String)> {
    frames
        .iter()
        .filter_map(|f| match f {
            ClientFrame::Message(MessageFrame {
                message,
                client_id: Some(c),
                session_id: Some(s),
                ..
            }) if s == S => Some((c.clone(), message.clone())),
            _ => None,
        })
        .collect()
}

fn client_id(f: &ClientFrame) -> String {
    messages_in(std::slice::from_ref(f)).remove(0).0
}

#[test]
fn on_ready_replays_the_queued_messages_once_until_acknowledged() {
    with_store(|store| {
        open(store, vec![message("u0", "user", "earlier", "complete", 0)]);
        // Written while the connection was down: shown pending, kept.
        let one = client_id(&store.send_message("one".into()));
        let two = client_id(&store.send_message("two".into()));
        assert_ne!(one, two);
        assert_eq!(shown(store), 3);
        let ready = store.on_ready();
        assert_eq!(ready[0], ClientFrame::Join(SessionFrame { session_id: S.into() }));
        assert_eq!(
            messages_in(&ready),
            vec![(one.clone(), "one".into()), (two.clone(), "two".into())]
        );
        // `one` is acknowledged; the next reconnection sends only `two`.
        recv(store, ack(&one, "m1", Some("r1")));
        let pending = store
            .find(|m| m.client_id.as_deref() == Some(one.as_str()))
            .expect("shown");
        assert_eq!(pending.delivery.get_untracked(), Delivery::Sent);
        assert_eq!(messages_in(&store.on_ready()), vec![(two.clone(), "two".into())]);
        // Replays never add bubbles: one per message, plus r1's.
        assert_eq!(shown(store), 4);
    });
}

#[test]
fn a_refused_message_leaves_the_outbox_and_shows_why() {
    with_store(|store| {
        open(store, Vec::new());
        let cid = client_id(&store.send_message("too long".into()));
        let refused = json!({"type": "error", "error": "Too long.", "code": "MESSAGE_TOO_LONG", "client_id": cid});
        recv(store, refused);
        let m = store
            .find(|m| m.client_id.as_deref() == Some(cid.as_str()))
            .expect("shown");
        assert_eq!(m.delivery.get_untracked(), Delivery::Failed);
        assert_eq!(m.error.get_untracked().as_deref(), Some("Too long."));
        assert!(messages_in(&store.on_ready()).is_empty());
        // Retry puts it back, with the same client id.
        let again = store.retry(&m).expect("a message frame");
        assert_eq!(client_id(&again), cid);
        assert_eq!(messages_in(&store.on_ready()), vec![(cid, "too long".into())]);
    });
}

#[test]
fn another_users_outbox_is_never_replayed() {
    with_store(|store| {
        open(store, Vec::new());
        store.send_message("mine".into());
        sign_in(store, "u2");
        assert!(messages_in(&store.on_ready()).is_empty());
        sign_in(store, "u1");
        assert_eq!(messages_in(&store.on_ready()).len(), 1);
    });
}
