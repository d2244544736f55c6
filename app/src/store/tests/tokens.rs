//! Tokens, duplicates, gaps and their one `resume`, `complete` and `stop`
//! (contract §3.3).

use protocol::objects::MessageStatus;
use serde_json::json;

use super::*;

#[test]
fn tokens_in_order_are_shown_in_order() {
    with_store(|store| {
        streaming(store);
        assert!(
            reply(store, "r1").thinking.get_untracked(),
            "thinking until the first token"
        );
        for (seq, t) in [(1, "Hel"), (2, "lo, "), (3, "world")] {
            assert!(recv(store, token("r1", seq, t)).is_empty());
        }
        let m = reply(store, "r1");
        assert_eq!(m.content.get_untracked(), "Hello, world");
        assert_eq!(m.seq.get_untracked(), 3);
        assert_eq!(m.status.get_untracked(), MessageStatus::Streaming);
        assert!(!m.thinking.get_untracked());
        assert!(store.any_live.get_untracked());
    });
}

#[test]
fn a_duplicate_token_is_dropped() {
    with_store(|store| {
        streaming(store);
        recv(store, token("r1", 1, "a"));
        recv(store, token("r1", 2, "b"));
        assert!(recv(store, token("r1", 2, "b")).is_empty());
        assert!(recv(store, token("r1", 1, "a")).is_empty());
        assert_eq!(text(store, "r1"), "ab");
        assert_eq!(reply(store, "r1").seq.get_untracked(), 2);
    });
}

#[test]
fn a_gap_answers_exactly_one_resume_and_never_loops() {
    with_store(|store| {
        streaming(store);
        recv(store, token("r1", 1, "a"));
        // Tokens 2 and 3 were lost: the first early token asks once…
        assert_eq!(recv(store, token("r1", 4, "d")), vec![resume("r1", 1)]);
        // …and live tokens arriving while the resume is on its way ask nothing.
        let more: Vec<_> = (5..40).flat_map(|seq| recv(store, token("r1", seq, "x"))).collect();
        assert!(more.is_empty(), "{more:?}");
        assert_eq!(text(store, "r1"), "a", "nothing past the gap is shown");
        // The resume's answer fills the gap, then live tokens follow.
        for (seq, t) in [(2, "b"), (3, "c"), (4, "d"), (5, "e")] {
            assert!(recv(store, token("r1", seq, t)).is_empty());
        }
        assert_eq!(text(store, "r1"), "abcde");
        // A later gap costs its own single resume, from the new place.
        assert_eq!(recv(store, token("r1", 9, "i")), vec![resume("r1", 5)]);
        assert!(recv(store, token("r1", 10, "j")).is_empty());
    });
}

#[test]
fn complete_after_a_gap_shows_the_final_text() {
    with_store(|store| {
        streaming(store);
        recv(store, token("r1", 1, "a"));
        assert_eq!(recv(store, token("r1", 3, "c")), vec![resume("r1", 1)]);
        assert!(recv(store, complete("r1", "abc", "stop")).is_empty());
        let m = reply(store, "r1");
        assert_eq!(m.content.get_untracked(), "abc");
        assert_eq!(m.status.get_untracked(), MessageStatus::Complete);
        assert_eq!(m.meta.get_untracked()["model"], "m");
        assert_eq!(store.announce.get_untracked(), "Reply finished: abc");
        // The resume's late answer changes nothing, asks nothing.
        assert!(recv(store, token("r1", 2, "b")).is_empty());
        assert!(recv(store, token("r1", 5, "e")).is_empty());
        assert_eq!(text(store, "r1"), "abc");
        // A finished reply is not resumed on reconnect.
        assert!(!store.on_ready().iter().any(|f| matches!(f, ClientFrame::Resume(_))));
        assert!(!store.any_live.get_untracked());
    });
}

#[test]
fn a_stop_during_a_resume_ends_the_reply_where_the_server_stopped_it() {
    with_store(|store| {
        streaming(store);
        recv(store, token("r1", 1, "a"));
        assert_eq!(recv(store, token("r1", 4, "d")), vec![resume("r1", 1)]);
        // The user pressed stop while the resume was on its way: the server
        // answers `complete` with `stopped` and the text it kept.
        assert!(recv(store, complete("r1", "ab", "stopped")).is_empty());
        // The resume's tokens arrive after it: dropped, no new resume.
        for (seq, t) in [(2, "b"), (3, "c"), (4, "d"), (5, "e")] {
            assert!(recv(store, token("r1", seq, t)).is_empty());
        }
        let m = reply(store, "r1");
        assert_eq!(m.content.get_untracked(), "ab");
        assert_eq!(m.status.get_untracked(), MessageStatus::Stopped);
        assert!(store.on_open().iter().all(|f| !matches!(f, ClientFrame::Resume(_))));
    });
}

#[test]
fn joined_with_an_active_reply_resumes_it_once_from_what_is_shown() {
    with_store(|store| {
        open(
            store,
            vec![
                message("u1", "user", "hi", "complete", 0),
                message("r1", "assistant", "abc", "streaming", 3),
            ],
        );
        let joined = json!({"type": "joined", "session_id": S, "active_reply": {"reply_id": "r1", "seq": 7}});
        assert_eq!(recv(store, joined.clone()), vec![resume("r1", 3)]);
        assert!(recv(store, joined).is_empty(), "the same resume is on its way");
        assert_eq!(shown(store), 2);
    });
}

#[test]
fn another_conversations_tokens_are_left_for_later() {
    with_store(|store| {
        streaming(store);
        let other = json!({"type": "token", "token": "x", "reply_id": "r9", "session_id": "s2", "seq": 1});
        assert!(recv(store, other).is_empty());
        assert!(store.find_reply("r9").is_none());
        assert_eq!(shown(store), 2);
    });
}
