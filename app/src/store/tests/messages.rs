//! `message_added` and other frames that must never duplicate or break the page.

use protocol::objects::MessageStatus;

use super::*;

#[test]
fn message_added_for_a_reply_already_shown_updates_it_in_place() {
    with_store(|store| {
        open(
            store,
            vec![
                message("u1", "user", "hi", "complete", 0),
                message("a1", "assistant", "ab", "streaming", 2),
            ],
        );
        recv(store, message_added(&message("a1", "assistant", "abc", "complete", 3)));
        recv(store, message_added(&message("a1", "assistant", "abc", "complete", 3)));
        assert_eq!(shown(store), 2);
        let m = reply(store, "a1");
        assert_eq!(m.content.get_untracked(), "abc");
        assert_eq!(m.status.get_untracked(), MessageStatus::Complete);
        // Its late tokens are duplicates now.
        assert!(recv(store, token("a1", 3, "c")).is_empty());
        assert_eq!(text(store, "a1"), "abc");
    });
}

#[test]
fn message_added_for_this_pages_pending_message_gives_it_its_id() {
    with_store(|store| {
        open(store, Vec::new());
        let frame = store.send_message("hello".into());
        let ClientFrame::Message(sent) = frame.clone() else {
            panic!("not a message: {frame:?}")
        };
        let mut stored = message("m1", "user", "hello", "complete", 0);
        stored.client_id = sent.client_id.clone();
        recv(store, message_added(&stored));
        assert_eq!(shown(store), 1);
        let m = store.find(|m| m.client_id == sent.client_id).expect("shown");
        assert_eq!(m.id.get_untracked().as_deref(), Some("m1"));
    });
}

#[test]
fn a_new_message_from_another_tab_is_added_once() {
    with_store(|store| {
        open(store, vec![message("u1", "user", "hi", "complete", 0)]);
        let other_tab = message("u2", "user", "from my phone", "complete", 0);
        recv(store, message_added(&other_tab));
        recv(store, message_added(&other_tab));
        assert_eq!(shown(store), 2);
        let mut elsewhere = message("x1", "user", "elsewhere", "complete", 0);
        elsewhere.session_id = "s2".into();
        recv(store, message_added(&elsewhere));
        assert_eq!(shown(store), 2, "another conversation's message is not shown here");
    });
}

#[test]
fn frames_of_no_concern_change_nothing() {
    with_store(|store| {
        streaming(store);
        for f in [
            json!({"type": "pong", "ts": 1}),
            json!({"type": "typing", "session_id": S, "actor": "assistant", "is_typing": true}),
            json!({"type": "progress", "step": "generating", "message": "…"}),
        ] {
            assert!(recv(store, f).is_empty());
        }
        assert_eq!(shown(store), 2);
        assert_eq!(decode(r#"{"type":"brand_new","x":1}"#), Incoming::Ignored);
    });
}
