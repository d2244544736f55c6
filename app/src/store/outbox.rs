//! The outbox: messages kept in `localStorage` until the server acknowledges
//! them, sent again after each (re)connection (the server deduplicates by
//! `client_id`). Browser only; on the server it is always empty.
//!
//! Each signed-in user has their own outbox under [`outbox_key`]
//! (`brook.outbox.v2:{user_id}`), every item also names its owner, and only
//! the owner's items are ever read back ([`decode_outbox`]), so on a shared
//! computer one user's unsent messages never go out as another's (issue 11,
//! §4 item 9). The old shared key [`LEGACY_OUTBOX_KEY`] is dropped unread: its
//! items have no owner. Sign out clears the user's outbox ([`outbox_clear`]).

use leptos::prelude::*;
use protocol::frames::{ClientFrame, MessageFrame};

use super::{OutboxItem, Store};

/// The shared key of earlier versions, removed on first use (its items cannot
/// be attributed to a user, so they are never replayed).
pub const LEGACY_OUTBOX_KEY: &str = "brook.outbox.v1";

/// The `localStorage` key of `user_id`'s outbox: `brook.outbox.v2:{user_id}`.
pub fn outbox_key(user_id: &str) -> String {
    format!("brook.outbox.v2:{user_id}")
}

/// The items of stored outbox text that belong to `user_id`, in order.
/// Malformed text reads as an empty outbox; items of any other owner (or of
/// none) are dropped, so they can never be replayed under this identity.
pub fn decode_outbox(text: &str, user_id: &str) -> Vec<OutboxItem> {
    serde_json::from_str::<Vec<OutboxItem>>(text)
        .unwrap_or_default()
        .into_iter()
        .filter(|i| !user_id.is_empty() && i.user_id == user_id)
        .collect()
}

/// The JSON array stored for `items`.
pub fn encode_outbox(items: &[OutboxItem]) -> String {
    serde_json::to_string(items).unwrap_or_else(|_| "[]".into())
}

/// The `message` frame that sends `i` (contract §3.2).
pub fn outbox_frame(i: &OutboxItem) -> ClientFrame {
    ClientFrame::Message(MessageFrame {
        message: i.message.clone(),
        session_id: Some(i.session_id.clone()),
        client_id: Some(i.client_id.clone()),
        bot_id: i.bot_id.clone(),
    })
}

impl Store {
    /// The signed-in user's unsent messages, oldest first: from
    /// `localStorage` in the browser ([`outbox_load`]), from the store's
    /// memory elsewhere (server rendering never has any; host tests do).
    pub fn outbox(&self) -> Vec<OutboxItem> {
        let user = self.user_id();
        if cfg!(feature = "hydrate") {
            return outbox_load(&user);
        }
        self.outbox_mem.with_value(|v| {
            v.iter()
                .filter(|i| !user.is_empty() && i.user_id == user)
                .cloned()
                .collect()
        })
    }

    /// Replaces the signed-in user's outbox with `items` (see [`Store::outbox`]).
    pub(super) fn outbox_write(&self, items: &[OutboxItem]) {
        let user = self.user_id();
        if cfg!(feature = "hydrate") {
            return outbox_save(&user, items);
        }
        let mine: Vec<OutboxItem> = items.iter().filter(|i| i.user_id == user).cloned().collect();
        self.outbox_mem.update_value(|v| {
            v.retain(|i| i.user_id != user);
            v.extend(mine);
        });
    }

    /// Drops an acknowledged or refused message from the user's outbox.
    pub fn outbox_remove(&self, client_id: &str) {
        let rest: Vec<OutboxItem> = self.outbox().into_iter().filter(|i| i.client_id != client_id).collect();
        self.outbox_write(&rest);
    }
}

/// A random id (client ids and new conversation ids): a UUID in the
/// browser, `local-{n}` elsewhere.
pub fn new_id() -> String {
    #[cfg(feature = "hydrate")]
    {
        if let Some(c) = web_sys::window().and_then(|w| w.crypto().ok()) {
            return c.random_uuid();
        }
        format!(
            "{:x}-{:x}",
            js_sys::Date::now() as u64,
            (js_sys::Math::random() * 1e15) as u64
        )
    }
    #[cfg(not(feature = "hydrate"))]
    {
        // No browser (host tests): unique within the process is enough.
        static NEXT: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(1);
        format!("local-{}", NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed))
    }
}

#[cfg(feature = "hydrate")]
fn storage() -> Option<web_sys::Storage> {
    let s = web_sys::window().and_then(|w| w.local_storage().ok().flatten())?;
    let _ = s.remove_item(LEGACY_OUTBOX_KEY);
    Some(s)
}

/// `user_id`'s unsent messages (empty without a user, or on the server).
pub fn outbox_load(user_id: &str) -> Vec<OutboxItem> {
    #[cfg(feature = "hydrate")]
    {
        if user_id.is_empty() {
            return Vec::new();
        }
        storage()
            .and_then(|s| s.get_item(&outbox_key(user_id)).ok().flatten())
            .map(|t| decode_outbox(&t, user_id))
            .unwrap_or_default()
    }
    #[cfg(not(feature = "hydrate"))]
    {
        let _ = user_id;
        Vec::new()
    }
}

/// Replaces `user_id`'s outbox with those of `items` that belong to them.
pub fn outbox_save(user_id: &str, items: &[OutboxItem]) {
    #[cfg(feature = "hydrate")]
    {
        if user_id.is_empty() {
            return;
        }
        let mine: Vec<OutboxItem> = items.iter().filter(|i| i.user_id == user_id).cloned().collect();
        if let Some(s) = storage() {
            let _ = s.set_item(&outbox_key(user_id), &encode_outbox(&mine));
        }
    }
    #[cfg(not(feature = "hydrate"))]
    {
        let _ = (user_id, items);
    }
}

/// Forgets `user_id`'s outbox (on sign out).
pub fn outbox_clear(user_id: &str) {
    #[cfg(feature = "hydrate")]
    if let Some(s) = storage() {
        let _ = s.remove_item(&outbox_key(user_id));
    }
    #[cfg(not(feature = "hydrate"))]
    let _ = user_id;
}

#[cfg(test)]
mod tests {
    use super::*;

    fn item(user: &str, cid: &str) -> OutboxItem {
        OutboxItem {
            user_id: user.into(),
            client_id: cid.into(),
            session_id: "s1".into(),
            message: format!("hello from {user}"),
            bot_id: None,
        }
    }

    #[test]
    fn each_user_has_their_own_key() {
        assert_eq!(outbox_key("u-a"), "brook.outbox.v2:u-a");
        assert_ne!(outbox_key("u-a"), outbox_key("u-b"));
        assert_ne!(outbox_key("u-a"), LEGACY_OUTBOX_KEY);
    }

    #[test]
    fn only_the_owners_items_are_read_back() {
        let text = encode_outbox(&[item("u-a", "c1"), item("u-b", "c2"), item("u-a", "c3")]);
        let a: Vec<String> = decode_outbox(&text, "u-a").into_iter().map(|i| i.client_id).collect();
        assert_eq!(a, ["c1", "c3"]);
        let b: Vec<String> = decode_outbox(&text, "u-b").into_iter().map(|i| i.client_id).collect();
        assert_eq!(b, ["c2"]);
        assert!(decode_outbox(&text, "u-c").is_empty());
        assert!(decode_outbox(&text, "").is_empty());
    }

    #[test]
    fn legacy_items_without_an_owner_are_never_replayed() {
        let v1 = r#"[{"client_id":"c1","session_id":"s1","message":"old","bot_id":null}]"#;
        assert!(decode_outbox(v1, "u-a").is_empty());
        assert!(decode_outbox(v1, "").is_empty());
    }

    #[test]
    fn malformed_text_is_an_empty_outbox() {
        assert!(decode_outbox("not json", "u-a").is_empty());
        assert!(decode_outbox("{\"a\":1}", "u-a").is_empty());
    }

    #[test]
    fn encode_then_decode_keeps_order_and_fields() {
        let items = vec![item("u-a", "c1"), item("u-a", "c2")];
        assert_eq!(decode_outbox(&encode_outbox(&items), "u-a"), items);
    }
}
