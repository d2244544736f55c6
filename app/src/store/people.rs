//! The web app's side of contract §9 for its own conversations: read receipts
//! (the open conversation is read while the tab is visible, §9.3), the
//! sidebar's unread badges (from the server's `unread_count`, which every tab
//! of the identity receives in `conversation_updated`), thumbs up/down on
//! replies (§9.4), and the tab's `presence` (§9.2).
//!
//! The decisions are pure functions ([`read_target`], [`next_rating`],
//! [`badge_text`]) so that they are tested on the host; the [`Store`] methods
//! only wire them to signals and return the frames and requests to send
//! ([`crate::actions`] and [`crate::live`] send them).

use leptos::prelude::*;
use protocol::frames::{ClientFrame, ClientPresence, PresenceFrame, ReadFrame};
use protocol::objects::{MessageRole, MessageStatus, Rating};

use super::{Msg, Store};

/// The message to report as read: the newest one the server knows (it has
/// an id) that is no longer generating. A reply still streaming is left for
/// later, when it completes (its `conversation_updated` brings the count back
/// above 0 and the read is sent again). `None` when nothing qualifies.
///
/// `msgs` is `(role, id, status)` oldest first, as the store holds them.
pub fn read_target(msgs: &[(MessageRole, Option<String>, MessageStatus)]) -> Option<String> {
    msgs.iter()
        .rev()
        .filter(|(role, _, status)| !(*role == MessageRole::Assistant && status.is_live()))
        .find_map(|(_, id, _)| id.clone().filter(|i| !i.is_empty()))
}

/// What a click on a thumb does: the same rating again clears it (`None`),
/// another rating replaces it.
pub fn next_rating(current: Option<Rating>, clicked: Rating) -> Option<Rating> {
    (current != Some(clicked)).then_some(clicked)
}

/// The badge's text for `n` unread messages: nothing at 0, `99+` above 99.
pub fn badge_text(n: u64) -> Option<String> {
    match n {
        0 => None,
        1..=99 => Some(n.to_string()),
        _ => Some("99+".into()),
    }
}

/// Whether the page's tab is visible (reads count only then, §9.3). Always
/// `false` on the server.
pub fn tab_visible() -> bool {
    #[cfg(feature = "hydrate")]
    {
        web_sys::window()
            .and_then(|w| w.document())
            .is_some_and(|d| !d.hidden())
    }
    #[cfg(not(feature = "hydrate"))]
    {
        false
    }
}

/// A rating to store on the server (contract §9.4): `PUT
/// /api/v1/messages/{message_id}/feedback` with `rating` and `comment`, or
/// `DELETE` when `rating` is `None`. `before` and `before_comment` are what
/// the bubble showed, put back if the server refuses.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RatingRequest {
    pub message_id: String,
    pub rating: Option<Rating>,
    pub comment: Option<String>,
    pub before: Option<Rating>,
    pub before_comment: Option<String>,
}

/// The comment that "Send" stores with a rating: the trimmed draft, or none
/// when it is blank. Over 2000 characters (§9.4) it is not sent: `Err` says why.
pub fn comment_to_send(draft: &str) -> Result<Option<String>, String> {
    use protocol::feedback::{comment, Comment, MAX_COMMENT_CHARS};
    match comment(draft) {
        Comment::None => Ok(None),
        Comment::Text(t) => Ok(Some(t.to_string())),
        Comment::TooLong { chars } => Err(format!(
            "The comment has {chars} characters; at most {MAX_COMMENT_CHARS} are kept."
        )),
    }
}

impl Store {
    /// The open conversation's `unread_count` as the server last said.
    pub fn current_unread(&self) -> u64 {
        let Some(id) = self.current.get_untracked() else {
            return 0;
        };
        self.conversations
            .with_untracked(|v| v.iter().find(|c| c.id == id).map_or(0, |c| c.unread_count))
    }

    /// The `read` frame for the open conversation when the server counts
    /// unread messages in it and the tab is visible. Untracked: the chat
    /// page's effect asks whenever the list, the open conversation or its
    /// messages change; the connection asks once it is ready.
    pub fn read_if_unread(&self) -> Option<ClientFrame> {
        if self.current_unread() == 0 || !tab_visible() {
            return None;
        }
        let session_id = self.current.get_untracked()?;
        let items: Vec<_> = self.messages.with_untracked(|v| {
            v.iter()
                .map(|m| (m.role, m.id.get_untracked(), m.status.get_untracked()))
                .collect()
        });
        let message_id = read_target(&items)?;
        Some(ClientFrame::Read(ReadFrame { session_id, message_id }))
    }

    /// The tab was hidden or shown: `presence` `away`/`online`, and a shown
    /// tab reads what arrived while it was hidden.
    pub fn on_visibility(&self, visible: bool) -> Vec<ClientFrame> {
        let status = if visible {
            ClientPresence::Online
        } else {
            ClientPresence::Away
        };
        let mut out = vec![ClientFrame::Presence(PresenceFrame { status })];
        if visible {
            out.extend(self.read_if_unread());
        }
        out
    }

    /// Thumbs up or down on a reply: shown at once; returns the request that
    /// stores it (`None` for a reply the server does not know yet). Another
    /// thumb keeps the comment; the same thumb again clears both. After a
    /// rating the comment form opens (with the comment so far), to send or skip.
    pub fn rate(&self, m: &Msg, clicked: Rating) -> Option<RatingRequest> {
        let message_id = m.id.get_untracked()?;
        let before = m.feedback.get_untracked();
        let before_comment = m.comment.get_untracked();
        let rating = next_rating(before, clicked);
        let comment = rating.and(before_comment.clone());
        m.feedback.set(rating);
        m.comment.set(comment.clone());
        m.comment_draft.set(rating.map(|_| comment.clone().unwrap_or_default()));
        m.comment_error.set(None);
        Some(RatingRequest {
            message_id,
            rating,
            comment,
            before,
            before_comment,
        })
    }

    /// "Send" on the comment form: the rating with the draft as its comment
    /// (blank: none). A draft over the limit stays open with the reason, and
    /// nothing is sent (`None`, as without a rating).
    pub fn send_comment(&self, m: &Msg) -> Option<RatingRequest> {
        let message_id = m.id.get_untracked()?;
        let rating = m.feedback.get_untracked()?;
        let draft = m.comment_draft.get_untracked()?;
        let comment = match comment_to_send(&draft) {
            Ok(c) => c,
            Err(why) => {
                m.comment_error.set(Some(why));
                return None;
            }
        };
        let before_comment = m.comment.get_untracked();
        m.comment.set(comment.clone());
        m.comment_draft.set(None);
        m.comment_error.set(None);
        Some(RatingRequest {
            message_id,
            rating: Some(rating),
            comment,
            before: Some(rating),
            before_comment,
        })
    }

    /// "Skip" (or "Cancel"): the form closes; the rating stays as stored.
    pub fn close_comment(&self, m: &Msg) {
        m.comment_draft.set(None);
        m.comment_error.set(None);
    }

    /// "Edit" on a stored comment: the form opens with it.
    pub fn edit_comment(&self, m: &Msg) {
        if m.feedback.get_untracked().is_some() {
            m.comment_draft.set(Some(m.comment.get_untracked().unwrap_or_default()));
        }
    }

    /// The server refused `req`: the bubble shows what it had, with a notice.
    pub fn rating_refused(&self, m: &Msg, req: &RatingRequest, error: String) {
        m.feedback.try_set(req.before);
        m.comment.try_set(req.before_comment.clone());
        self.notice.set(Some(error));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use MessageRole::{Assistant, User};
    use MessageStatus::{Complete, Queued, Streaming};

    fn item(
        role: MessageRole,
        id: Option<&str>,
        status: MessageStatus,
    ) -> (MessageRole, Option<String>, MessageStatus) {
        (role, id.map(str::to_string), status)
    }

    #[test]
    fn reads_up_to_the_newest_finished_message() {
        let v = vec![item(User, Some("u1"), Complete), item(Assistant, Some("a1"), Complete)];
        assert_eq!(read_target(&v).as_deref(), Some("a1"));
    }

    #[test]
    fn a_streaming_reply_is_not_read_yet() {
        let v = vec![
            item(Assistant, Some("a1"), Complete),
            item(User, Some("u2"), Complete),
            item(Assistant, Some("a2"), Streaming),
        ];
        assert_eq!(read_target(&v).as_deref(), Some("u2"));
        let queued = vec![item(Assistant, Some("a1"), Queued)];
        assert_eq!(read_target(&queued), None);
    }

    #[test]
    fn a_message_without_an_id_is_skipped() {
        // A pending user message (not acknowledged yet) is unknown to the server.
        let v = vec![item(Assistant, Some("a1"), Complete), item(User, None, Complete)];
        assert_eq!(read_target(&v).as_deref(), Some("a1"));
        assert_eq!(read_target(&[]), None);
    }

    #[test]
    fn the_same_thumb_again_clears_it() {
        assert_eq!(next_rating(None, Rating::Up), Some(Rating::Up));
        assert_eq!(next_rating(Some(Rating::Up), Rating::Up), None);
        assert_eq!(next_rating(Some(Rating::Up), Rating::Down), Some(Rating::Down));
        assert_eq!(next_rating(Some(Rating::Down), Rating::Down), None);
    }

    #[test]
    fn comments_are_trimmed_blank_is_none_and_the_limit_holds() {
        assert_eq!(comment_to_send("  slow \n"), Ok(Some("slow".to_string())));
        assert_eq!(comment_to_send("   "), Ok(None));
        assert!(comment_to_send(&"a".repeat(2000)).is_ok());
        let e = comment_to_send(&"a".repeat(2001)).unwrap_err();
        assert!(e.contains("2001") && e.contains("2000"), "{e}");
    }

    #[test]
    fn badge_texts() {
        assert_eq!(badge_text(0), None);
        assert_eq!(badge_text(1).as_deref(), Some("1"));
        assert_eq!(badge_text(99).as_deref(), Some("99"));
        assert_eq!(badge_text(100).as_deref(), Some("99+"));
    }
}
