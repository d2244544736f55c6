//! The conversation: bubbles, older pages on scroll-up without the view jumping,
//! following the stream only while the reader is at the bottom.

use leptos::html;
use leptos::prelude::*;

use super::bubble::Bubble;
use crate::server_fns::load_messages;
use crate::store::Store;

#[component]
pub fn MessageList(store: Store) -> impl IntoView {
    let scroller = NodeRef::<html::Div>::new();
    let at_bottom = RwSignal::new(true);
    let loading_older = RwSignal::new(false);

    // Called from animation frames and tasks, which may run after this view
    // was disposed (a route change): every access here may find nothing.
    let scroll_to_bottom = move || {
        if let Some(el) = scroller.try_get_untracked().flatten() {
            el.set_scroll_top(el.scroll_height());
        }
    };
    // Follow the stream while at the bottom.
    Effect::new(move |_| {
        store.grew.track();
        if at_bottom.get_untracked() {
            request_animation_frame(scroll_to_bottom);
        }
    });

    // Sending goes to the bottom, even when scrolled up (issue 17, fault 5).
    Effect::new(move |first: Option<()>| {
        store.sent.track();
        if first.is_some() {
            at_bottom.set(true);
            request_animation_frame(scroll_to_bottom);
        }
    });

    // A scroll event is dispatched on the frame after the scroll, so it can
    // reach this list after a route change disposed it: nothing to do then.
    let on_scroll = move |_| {
        let Some(el) = scroller.try_get_untracked().flatten() else {
            return;
        };
        let near_bottom = el.scroll_height() - el.scroll_top() - el.client_height() < 48;
        let Some(was) = at_bottom.try_get_untracked() else {
            return;
        };
        if near_bottom != was {
            at_bottom.set(near_bottom);
        }
        if el.scroll_top() < 200 {
            load_older(store, scroller, loading_older);
        }
    };

    view! {
        <div class="messages" id="messages" node_ref=scroller on:scroll=on_scroll on:click=copy_code_block>
            <div class="thread">
                <Show when=move || loading_older.get()>
                    <div class="older muted">"Loading earlier messages…"</div>
                </Show>
                <Show when=move || store.messages.with(Vec::is_empty)>
                    <div class="welcome">
                        <h2>"How can I help?"</h2>
                        <p class="muted">"Ask anything. Replies stream in as they are written."</p>
                    </div>
                </Show>
                <For each=move || store.messages.get() key=|m| m.key.clone() let:m>
                    <Bubble store msg=m/>
                </For>
            </div>
            <Show when=move || !at_bottom.get()>
                <button type="button" class="jump" id="jump-to-latest" on:click=move |_| {
                    at_bottom.set(true);
                    scroll_to_bottom();
                }>"Jump to latest ↓"</button>
            </Show>
            <Notice store/>
        </div>
    }
}

/// The store's notice (a refused action, a lost connection's advice), until dismissed.
#[component]
fn Notice(store: Store) -> impl IntoView {
    view! {
        <Show when=move || store.notice.get().is_some()>
            <div class="notice" role="alert">
                <span>{move || store.notice.get()}</span>
                <button type="button" class="link-btn" on:click=move |_| store.notice.set(None)>"Dismiss"</button>
            </div>
        </Show>
    }
}

/// Loads the page before the first message shown, keeping what the reader
/// sees in place; once at a time, and only while there is more.
fn load_older(store: Store, scroller: NodeRef<html::Div>, loading_older: RwSignal<bool>) {
    if loading_older.get_untracked() || !store.has_more.get_untracked() {
        return;
    }
    let (Some(session), Some(first)) = (
        store.current.get_untracked(),
        store
            .messages
            .with_untracked(|v| v.first().and_then(|m| m.id.get_untracked())),
    ) else {
        return;
    };
    loading_older.set(true);
    leptos::task::spawn_local(async move {
        if let Ok(Some(page)) = load_messages(session, Some(first)).await {
            // Keep what the reader sees in place: restore the distance from the bottom.
            let before = scroller
                .try_get_untracked()
                .flatten()
                .map(|el| el.scroll_height() - el.scroll_top());
            store.prepend(page);
            request_animation_frame(move || {
                if let (Some(el), Some(d)) = (scroller.try_get_untracked().flatten(), before) {
                    el.set_scroll_top(el.scroll_height() - d);
                }
                loading_older.try_set(false);
            });
        } else {
            loading_older.try_set(false);
        }
    });
}

/// Copy buttons of code blocks, by delegation (the HTML comes from markdown):
/// a click on `[data-copy]` copies its block's `pre` text.
fn copy_code_block(ev: leptos::ev::MouseEvent) {
    #[cfg(feature = "hydrate")]
    {
        use wasm_bindgen::JsCast;
        let Some(target) = ev.target().and_then(|t| t.dyn_into::<web_sys::Element>().ok()) else {
            return;
        };
        let Ok(Some(button)) = target.closest("[data-copy]") else {
            return;
        };
        let Some(code) = button
            .closest(".code")
            .ok()
            .flatten()
            .and_then(|c| c.query_selector("pre").ok().flatten())
        else {
            return;
        };
        let text = code.text_content().unwrap_or_default();
        if let Some(w) = web_sys::window() {
            let _ = w.navigator().clipboard().write_text(&text);
        }
        button.set_text_content(Some("Copied"));
        let b = button.clone();
        set_timeout(
            move || b.set_text_content(Some("Copy")),
            std::time::Duration::from_millis(1500),
        );
    }
    #[cfg(not(feature = "hydrate"))]
    let _ = ev;
}
