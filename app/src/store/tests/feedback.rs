//! Thumbs and their optional comment (contract §9.4): the comment form's
//! state, what each click sends, and what a refusal puts back.

use protocol::objects::{Feedback, Rating};

use super::*;

/// A finished reply `r1` on screen, with `feedback` as stored.
fn rated_reply(store: Store, feedback: Option<Feedback>) -> Msg {
    let mut m = message("r1", "assistant", "An answer", "complete", 3);
    m.feedback = feedback;
    open(store, vec![m]);
    reply(store, "r1")
}

#[test]
fn a_thumb_opens_the_form_and_send_stores_the_trimmed_comment() {
    with_store(|store| {
        let m = rated_reply(store, None);
        let req = store.rate(&m, Rating::Down).expect("a request");
        assert_eq!((req.rating, req.comment.as_deref()), (Some(Rating::Down), None));
        assert_eq!(
            m.comment_draft.get_untracked().as_deref(),
            Some(""),
            "the form opens empty"
        );
        m.comment_draft.set(Some("  It missed the question. \n".into()));
        let req = store.send_comment(&m).expect("a request");
        assert_eq!(req.message_id, "r1");
        assert_eq!(req.rating, Some(Rating::Down));
        assert_eq!(req.comment.as_deref(), Some("It missed the question."));
        assert_eq!(req.before_comment, None);
        assert_eq!(m.comment_draft.get_untracked(), None, "the form closes");
        assert_eq!(m.comment.get_untracked().as_deref(), Some("It missed the question."));
    });
}

#[test]
fn another_thumb_keeps_the_comment_and_the_same_thumb_clears_both() {
    with_store(|store| {
        let m = rated_reply(
            store,
            Some(Feedback {
                rating: Rating::Down,
                comment: Some("Too long".into()),
            }),
        );
        assert_eq!(
            m.comment.get_untracked().as_deref(),
            Some("Too long"),
            "shown from the stored message"
        );
        assert_eq!(m.comment_draft.get_untracked(), None);
        let req = store.rate(&m, Rating::Up).expect("a request");
        assert_eq!(
            (req.rating, req.comment.as_deref()),
            (Some(Rating::Up), Some("Too long"))
        );
        assert_eq!(
            m.comment_draft.get_untracked().as_deref(),
            Some("Too long"),
            "the form holds it"
        );
        store.close_comment(&m);
        assert_eq!(m.comment_draft.get_untracked(), None);
        assert_eq!(m.comment.get_untracked().as_deref(), Some("Too long"), "skip keeps it");
        let req = store.rate(&m, Rating::Up).expect("a request");
        assert_eq!((req.rating, req.comment), (None, None), "DELETE");
        assert_eq!(m.comment.get_untracked(), None);
        assert_eq!(m.comment_draft.get_untracked(), None);
        // Without a rating there is nothing to comment on.
        store.edit_comment(&m);
        assert_eq!(m.comment_draft.get_untracked(), None);
        assert_eq!(store.send_comment(&m), None);
    });
}

#[test]
fn a_blank_comment_removes_it_and_a_too_long_one_is_not_sent() {
    with_store(|store| {
        let m = rated_reply(
            store,
            Some(Feedback {
                rating: Rating::Up,
                comment: Some("Nice".into()),
            }),
        );
        store.edit_comment(&m);
        assert_eq!(m.comment_draft.get_untracked().as_deref(), Some("Nice"));
        m.comment_draft.set(Some("é".repeat(2001)));
        assert_eq!(store.send_comment(&m), None, "not sent");
        let why = m.comment_error.get_untracked().expect("a reason");
        assert!(why.contains("2001"), "{why}");
        assert!(m.comment_draft.get_untracked().is_some(), "the form stays open");
        m.type_comment("   ".into());
        assert_eq!(m.comment_error.get_untracked(), None, "typing clears the reason");
        let req = store.send_comment(&m).expect("a request");
        assert_eq!((req.rating, req.comment), (Some(Rating::Up), None));
        assert_eq!(m.comment_error.get_untracked(), None);
        assert_eq!(m.comment.get_untracked(), None);
    });
}

#[test]
fn a_refusal_puts_back_the_rating_and_the_comment() {
    with_store(|store| {
        let m = rated_reply(
            store,
            Some(Feedback {
                rating: Rating::Down,
                comment: Some("Wrong".into()),
            }),
        );
        store.edit_comment(&m);
        m.comment_draft.set(Some("Wrong and slow".into()));
        let req = store.send_comment(&m).expect("a request");
        store.rating_refused(&m, &req, "Not found".into());
        assert_eq!(m.feedback.get_untracked(), Some(Rating::Down));
        assert_eq!(m.comment.get_untracked().as_deref(), Some("Wrong"));
        let req = store.rate(&m, Rating::Down).expect("a request");
        store.rating_refused(&m, &req, "Not found".into());
        assert_eq!(m.feedback.get_untracked(), Some(Rating::Down));
        assert_eq!(m.comment.get_untracked().as_deref(), Some("Wrong"));
        assert_eq!(store.notice.get_untracked().as_deref(), Some("Not found"));
    });
}
