//! The outbox: messages kept in `localStorage` until the server acknowledges
//! them, sent again after each (re)connection (the server deduplicates by
//! `client_id`). Browser only; on the server it is always empty.

use serde_json::json;

use super::OutboxItem;

pub const OUTBOX_KEY: &str = "brook.outbox.v1";

pub fn outbox_frame(i: &OutboxItem) -> String {
    json!({"type": "message", "message": i.message, "session_id": i.session_id, "client_id": i.client_id, "bot_id": i.bot_id})
        .to_string()
}

/// A random id (client ids and new conversation ids).
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
        String::from("server")
    }
}

pub fn outbox_load() -> Vec<OutboxItem> {
    #[cfg(feature = "hydrate")]
    {
        web_sys::window()
            .and_then(|w| w.local_storage().ok().flatten())
            .and_then(|s| s.get_item(OUTBOX_KEY).ok().flatten())
            .and_then(|t| serde_json::from_str(&t).ok())
            .unwrap_or_default()
    }
    #[cfg(not(feature = "hydrate"))]
    {
        Vec::new()
    }
}

pub fn outbox_save(items: &[OutboxItem]) {
    #[cfg(feature = "hydrate")]
    {
        if let Some(s) = web_sys::window().and_then(|w| w.local_storage().ok().flatten()) {
            let _ = s.set_item(
                OUTBOX_KEY,
                &serde_json::to_string(items).unwrap_or_else(|_| "[]".into()),
            );
        }
    }
    #[cfg(not(feature = "hydrate"))]
    {
        let _ = items;
    }
}
