//! Browsing a reply's versions (contract §5: `regenerate` keeps earlier
//! replies as versions, `GET /api/v1/messages/{id}/versions` lists them;
//! [`crate::actions`] loads them).

use leptos::prelude::*;
use protocol::objects::Message;

use super::{Msg, Store};

/// The index of the version shown after a step of `delta` from `at` among `n`
/// versions; `None` when that leaves the list (the arrows are disabled there).
pub fn step(at: usize, n: usize, delta: i64) -> Option<usize> {
    let next = at as i64 + delta;
    (0..n as i64).contains(&next).then_some(next as usize)
}

/// Where `m` itself is among `versions` (oldest first); the newest when absent.
pub fn own_index(versions: &[Message], id: Option<&str>) -> usize {
    id.and_then(|id| versions.iter().position(|v| v.id == id))
        .unwrap_or(versions.len().saturating_sub(1))
}

/// The question an earlier version answered, when the user has since edited
/// it (the server's `metadata.prompt`, set on edit); `None` otherwise.
pub fn earlier_prompt(version: &Message) -> Option<&str> {
    version
        .metadata
        .get("prompt")
        .and_then(serde_json::Value::as_str)
        .filter(|p| !p.trim().is_empty())
}

/// Whether the Edit control shows on a user message: the last one, sent and
/// stored, with no reply generating and no other edit open.
pub fn can_edit(is_last_user: bool, stored: bool, any_live: bool, editing_other: bool) -> bool {
    is_last_user && stored && !any_live && !editing_other
}

impl Store {
    /// Shows the previous (`delta = -1`) or next (`+1`) of a reply's
    /// versions, once they are loaded into `m.versions` (see
    /// [`crate::actions::browse_version`]); nothing past either end.
    pub fn step_version(&self, m: &Msg, delta: i64) {
        let Some(versions) = m.versions.try_get_untracked() else {
            return;
        };
        let own = own_index(&versions, m.id.get_untracked().as_deref());
        let at = m.version_at.get_untracked().unwrap_or(own);
        if let Some(next) = step(at, versions.len(), delta) {
            m.version_at.try_set((next != own).then_some(next));
            let shown = next + 1;
            self.announce.set(format!("Version {shown} of {}", versions.len()));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn msg(id: &str) -> Message {
        serde_json::from_value(serde_json::json!({
            "id": id, "session_id": "s", "role": "assistant", "content": id, "status": "complete",
            "client_id": null, "created_at": "2026-11-30T00:00:00Z", "reply_id": id, "metadata": {}
        }))
        .expect("message")
    }

    #[test]
    fn steps_stay_inside_the_versions() {
        assert_eq!(step(2, 3, -1), Some(1));
        assert_eq!(step(0, 3, -1), None);
        assert_eq!(step(2, 3, 1), None);
        assert_eq!(step(0, 3, 1), Some(1));
        assert_eq!(step(0, 0, 1), None);
    }

    #[test]
    fn a_reply_finds_itself_among_its_versions() {
        let v = vec![msg("a"), msg("b"), msg("c")];
        assert_eq!(own_index(&v, Some("b")), 1);
        assert_eq!(own_index(&v, Some("zzz")), 2);
        assert_eq!(own_index(&v, None), 2);
        assert_eq!(own_index(&[], Some("a")), 0);
    }

    #[test]
    fn an_old_version_names_the_question_it_answered() {
        let mut v = msg("a");
        assert_eq!(earlier_prompt(&v), None);
        v.metadata = serde_json::json!({"prompt": "tell me about cats"});
        assert_eq!(earlier_prompt(&v), Some("tell me about cats"));
        v.metadata = serde_json::json!({"prompt": "  "});
        assert_eq!(earlier_prompt(&v), None);
        v.metadata = serde_json::json!({"prompt": 3});
        assert_eq!(earlier_prompt(&v), None);
    }

    #[test]
    fn edit_shows_only_on_the_last_stored_message_when_nothing_runs() {
        assert!(can_edit(true, true, false, false));
        assert!(!can_edit(false, true, false, false));
        assert!(!can_edit(true, false, false, false), "not yet acknowledged");
        assert!(!can_edit(true, true, true, false), "a reply is generating");
        assert!(!can_edit(true, true, false, true), "another edit is open");
    }

    #[test]
    fn version_of_reads_the_metadata() {
        use serde_json::json;
        assert_eq!(Msg::version_of(&json!({"version": 2, "versions": 3})), Some((2, 3)));
        assert_eq!(Msg::version_of(&json!({"version": 1, "versions": 1})), None);
        assert_eq!(Msg::version_of(&json!({"versions": 2})), Some((2, 2)));
        assert_eq!(Msg::version_of(&json!({})), None);
        assert_eq!(Msg::version_of(&json!({"version": 9, "versions": 2})), Some((2, 2)));
    }
}
