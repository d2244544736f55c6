//! The page's live connection (browser only): one `webclient::Client` for the
//! whole page, the only place that sends frames. It decodes what arrives
//! ([`crate::store::decode`]), hands server frames to the [`Store`] and sends
//! the store's answers; in long-poll mode it refreshes from REST itself
//! ([`refresh`]). The store never calls back in here. On the server every
//! function is a no-op, so components can call them unconditionally.

use protocol::frames::ClientFrame;

use crate::store::{Incoming, Store};

#[cfg(feature = "hydrate")]
mod imp {
    use std::cell::RefCell;
    use std::rc::Rc;

    use leptos::prelude::*;
    use webclient::{Client, Config, ConnState, Mode, Status};

    use crate::store::{ConnView, Store};

    thread_local! {
        static CLIENT: RefCell<Option<Client>> = const { RefCell::new(None) };
    }

    fn upgrade_ms() -> u32 {
        // A debugging knob (also used by the browser tests): how soon to try the
        // WebSocket again while on a fallback. The default is 30–60 s.
        web_sys::window()
            .and_then(|w| w.local_storage().ok().flatten())
            .and_then(|s| s.get_item("brook.upgrade_ms").ok().flatten())
            .and_then(|v| v.parse().ok())
            .unwrap_or(30_000)
    }

    fn conn_view(s: Status) -> ConnView {
        let state = match s.state {
            ConnState::Connecting => "connecting",
            ConnState::Connected => "connected",
            ConnState::Reconnecting => "reconnecting",
            ConnState::Offline => "offline",
        };
        let mode = match s.mode {
            Mode::WebSocket => "websocket",
            Mode::Sse => "sse",
            Mode::Poll => "poll",
        };
        ConnView {
            state,
            mode,
            retry_at: s.retry_at,
        }
    }

    pub fn start(store: Store) {
        if CLIENT.with(|c| c.borrow().is_some()) {
            return;
        }
        let on_frame = Rc::new(move |text: &str| super::receive(store, text));
        let on_status = Rc::new(move |s: Status| store.conn.set(conn_view(s)));
        let on_ready = Rc::new(move || super::send_all(store, store.on_ready()));
        let client = Client::start(
            Config {
                base: String::new(),
                ws_path: "/api/v1/chat/ws".into(),
                token: None,
                upgrade_ms: upgrade_ms(),
            },
            on_frame,
            on_status,
            on_ready,
        );
        CLIENT.with(|c| *c.borrow_mut() = Some(client));
        watch_visibility(store);
    }

    /// `presence` `away`/`online` as the tab is hidden or shown (§9.2); once
    /// per page, like the client.
    fn watch_visibility(store: Store) {
        use wasm_bindgen::closure::Closure;
        use wasm_bindgen::JsCast;
        let Some(doc) = web_sys::window().and_then(|w| w.document()) else {
            return;
        };
        let cb = Closure::<dyn FnMut(web_sys::Event)>::new(move |_| {
            super::send_all(store, store.on_visibility(crate::store::tab_visible()));
        });
        let _ = doc.add_event_listener_with_callback("visibilitychange", cb.as_ref().unchecked_ref());
        // The listener lives as long as the page, like the connection.
        cb.forget();
    }

    pub fn send(frame: &str) -> bool {
        CLIENT.with(|c| c.borrow().as_ref().is_some_and(|c| c.send(frame)))
    }

    pub fn retry_now() {
        let client = CLIENT.with(|c| c.borrow().clone());
        if let Some(c) = client {
            c.retry_now();
        }
    }

    /// See [`super::refresh`].
    pub fn refresh(store: Store) {
        leptos::task::spawn_local(async move {
            if let Ok(list) = crate::server_fns::load_conversations(None, None).await {
                if store.query.get_untracked().is_empty() {
                    store.conversations.set(list.conversations);
                    store.next_cursor.set(list.next_cursor);
                }
            }
            if let Some(s) = store.current.get_untracked() {
                if let Ok(Some(page)) = crate::server_fns::load_messages(s.clone(), None).await {
                    // Still the open conversation: the answer may come late.
                    if store.current.get_untracked().as_deref() == Some(s.as_str()) {
                        page.messages.iter().for_each(|m| store.apply_message(m));
                    }
                }
            }
        });
    }
}

/// Starts the live connection (once per page).
pub fn start(store: Store) {
    #[cfg(feature = "hydrate")]
    imp::start(store);
    #[cfg(not(feature = "hydrate"))]
    let _ = store;
}

/// One text frame from the client: a server frame goes to the store and its
/// answers go out; the long poll's tick refreshes from REST.
pub fn receive(store: Store, text: &str) {
    match crate::store::decode(text) {
        Incoming::Server(f) => send_all(store, store.on_frame(*f)),
        Incoming::PollTick => refresh(store),
        // An unsent message stays in the outbox; the next ready sends it.
        Incoming::SendFailed | Incoming::Ignored => {}
    }
}

/// Sends `frame`; `false` when not connected (the store is told, see
/// [`Store::not_sent`]).
pub fn send(store: Store, frame: &ClientFrame) -> bool {
    #[cfg(feature = "hydrate")]
    let sent = imp::send(&frame.to_json());
    #[cfg(not(feature = "hydrate"))]
    let sent = false;
    if !sent {
        store.not_sent(frame);
    }
    sent
}

/// Sends each of `frames`, in order.
pub fn send_all(store: Store, frames: impl IntoIterator<Item = ClientFrame>) {
    for f in frames {
        send(store, &f);
    }
}

/// Tries to reconnect now (the indicator's "Retry now").
pub fn retry_now() {
    #[cfg(feature = "hydrate")]
    imp::retry_now();
}

/// Refreshes the list and the open conversation from the REST endpoints (the
/// long-polling fallback does this every 10 s instead of live events).
pub fn refresh(store: Store) {
    #[cfg(feature = "hydrate")]
    imp::refresh(store);
    #[cfg(not(feature = "hydrate"))]
    let _ = store;
}
