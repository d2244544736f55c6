//! The connection indicator: state and transport, in words and as
//! `data-connection` / `data-transport` (contract §6), with "retry now".

use leptos::prelude::*;

use crate::store::Store;

#[component]
pub fn ConnectionIndicator(store: Store) -> impl IntoView {
    // A clock for the countdown to the next retry.
    let now = RwSignal::new(0f64);
    #[cfg(feature = "hydrate")]
    {
        now.set(js_sys::Date::now());
        let handle = set_interval_with_handle(
            move || now.set(js_sys::Date::now()),
            std::time::Duration::from_millis(500),
        )
        .ok();
        on_cleanup(move || {
            if let Some(h) = handle {
                h.clear();
            }
        });
    }
    let text = move || {
        let c = store.conn.get();
        let via = match c.mode {
            "sse" => "SSE",
            "poll" => "long polling",
            _ => "WebSocket",
        };
        match c.state {
            "connected" => format!("Connected via {via}"),
            "connecting" => "Connecting…".to_string(),
            "reconnecting" => match c.retry_at {
                Some(at) => {
                    // `try_`: this text may be asked for once more while a route
                    // change disposes the indicator (issue 17, fault 2); a stale
                    // countdown in a view being removed is harmless.
                    let secs = ((at - now.try_get().unwrap_or(at)) / 1000.0).ceil().max(0.0) as u64;
                    format!("Reconnecting in {secs} s…")
                }
                None => "Reconnecting…".to_string(),
            },
            _ => "Offline: messages wait until you are back".to_string(),
        }
    };
    let can_retry = move || matches!(store.conn.get().state, "reconnecting" | "offline");
    view! {
        <div class="conn" role="status" id="connection"
            data-connection=move || store.conn.get().state
            data-transport=move || store.conn.get().mode>
            <span class="dot" aria-hidden="true"></span>
            <span class="conn-text">{text}</span>
            <Show when=can_retry>
                <button type="button" class="link-btn" id="retry-now" on:click=move |_| crate::live::retry_now()>"Retry now"</button>
            </Show>
        </div>
    }
}
