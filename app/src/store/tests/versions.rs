//! Regenerate and edit: the last reply is replaced by its new version.

use protocol::frames::RegenerateFrame;
use protocol::objects::MessageRole;

use super::*;

/// A finished exchange: user message `u1`, reply `a1` (its only version).
fn answered(store: Store) {
    open(
        store,
        vec![
            message("u1", "user", "hello", "complete", 0),
            message("a1", "assistant", "Hi!", "complete", 2),
        ],
    );
}

/// The `client_id` of a `regenerate` frame; panics on any other frame.
fn regenerate_id(f: &ClientFrame) -> String {
    match f {
        ClientFrame::Regenerate(RegenerateFrame {
            session_id,
            client_id: Some(c),
            ..
        }) if session_id == S => c.clone(),
        other => panic!("not a regenerate of {S}: {other:?}"),
    }
}

fn roles(store: Store) -> Vec<(MessageRole, Option<String>)> {
    store
        .messages
        .with_untracked(|v| v.iter().map(|m| (m.role, m.id.get_untracked())).collect())
}

#[test]
fn regenerate_replaces_the_last_reply_with_its_next_version() {
    with_store(|store| {
        answered(store);
        let frame = store.regenerate().expect("a regenerate frame");
        assert!(matches!(&frame, ClientFrame::Regenerate(r) if r.content.is_none()));
        let cid = regenerate_id(&frame);
        assert!(recv(store, ack(&cid, "u1", Some("a2"))).is_empty());
        assert_eq!(
            roles(store),
            vec![
                (MessageRole::User, Some("u1".into())),
                (MessageRole::Assistant, Some("a2".into()))
            ]
        );
        let m = reply(store, "a2");
        assert_eq!(Msg::version_of(&m.meta.get_untracked()), Some((2, 2)));
        assert_eq!(store.last_reply_key.get_untracked().as_deref(), Some("a2"));
        // The new version streams like any reply.
        recv(store, token("a2", 1, "Hello"));
        assert_eq!(text(store, "a2"), "Hello");
        // The same ack again (another tab, a replay) replaces nothing more.
        recv(store, ack(&cid, "u1", Some("a2")));
        assert_eq!(shown(store), 2);
    });
}

#[test]
fn late_frames_of_the_replaced_reply_do_not_bring_it_back() {
    with_store(|store| {
        answered(store);
        let cid = regenerate_id(&store.regenerate().expect("frame"));
        recv(store, ack(&cid, "u1", Some("a2")));
        assert!(recv(store, token("a1", 3, "late")).is_empty());
        assert!(recv(store, complete("a1", "Hi!", "stopped")).is_empty());
        assert!(store.find_reply("a1").is_none());
        assert_eq!(shown(store), 2);
    });
}

#[test]
fn a_regenerate_that_could_not_be_sent_is_forgotten_with_a_notice() {
    with_store(|store| {
        answered(store);
        let frame = store.regenerate().expect("frame");
        store.not_sent(&frame);
        assert!(store.notice.get_untracked().is_some());
        // Its id is no longer a regenerate: an ack for it replaces nothing.
        recv(store, ack(&regenerate_id(&frame), "u1", None));
        assert!(store.find_reply("a1").is_some());
    });
}

#[test]
fn editing_the_last_user_message_sends_its_new_text_and_shows_it_once() {
    with_store(|store| {
        answered(store);
        store.editing.set(Some("u1".into()));
        store.edit_draft.set("   ".into());
        assert_eq!(store.save_edit(), None, "an empty edit is not sent");
        store.edit_draft.set("hello there".into());
        let frame = store.save_edit().expect("a regenerate frame");
        assert!(matches!(&frame, ClientFrame::Regenerate(r) if r.content.as_deref() == Some("hello there")));
        assert_eq!(store.editing.get_untracked(), None, "the editor closes");
        recv(store, ack(&regenerate_id(&frame), "u1", Some("a2")));
        // The server announces the edited message under its own id.
        recv(
            store,
            message_added(&message("u1", "user", "hello there", "complete", 0)),
        );
        assert_eq!(
            roles(store),
            vec![
                (MessageRole::User, Some("u1".into())),
                (MessageRole::Assistant, Some("a2".into()))
            ]
        );
        let user = store.find(|m| m.role == MessageRole::User).expect("the user message");
        assert_eq!(user.content.get_untracked(), "hello there");
    });
}
