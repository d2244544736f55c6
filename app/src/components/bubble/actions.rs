//! The buttons in a bubble's footer: stop while streaming, the versions
//! switcher, copy, edit (the last user message), thumbs, and regenerate (the
//! last reply). Each shows only when it applies.

use leptos::prelude::*;
use protocol::objects::{MessageRole, MessageStatus, Rating};

use super::shown::shown_text;
use crate::store::{can_edit, Delivery, Msg, Store};

/// `■ Stop` while the reply streams.
#[component]
pub fn StopButton(store: Store, msg: Msg) -> impl IntoView {
    let streaming = move || msg.status.get().is_live();
    view! {
        <Show when=streaming>
            {
                let m = msg.clone();
                view! {
                    <button type="button" class="chip stop" id="stop" on:click=move |_| {
                        if let Some(id) = m.id.get_untracked() { crate::actions::stop(store, &id); }
                    }>"■ Stop"</button>
                }
            }
        </Show>
    }
}

/// `‹ 2/3 ›` when the reply has versions and is not streaming (1-based).
#[component]
pub fn VersionSwitch(store: Store, msg: Msg) -> impl IntoView {
    // (shown, count), 1-based.
    let version = {
        let msg = msg.clone();
        move || {
            if msg.status.get().is_live() {
                return None;
            }
            let (own, n) = msg.meta.with(Msg::version_of)?;
            let loaded = msg.versions.with(Vec::len) as u64;
            let at = msg.version_at.get().map_or(own, |i| i as u64 + 1);
            Some((at, n.max(loaded)))
        }
    };
    move || {
        version().map(|(at, n)| {
            let (p, q) = (msg.clone(), msg.clone());
            view! {
                <span class="versions" role="group" aria-label="Reply versions" data-version=format!("{at}/{n}")>
                    <button type="button" class="icon-btn version-prev" aria-label="Previous version"
                        disabled={at <= 1} on:click=move |_| crate::actions::browse_version(store, &p, -1)>"‹"</button>
                    <span class="version-count">{format!("{at}/{n}")}</span>
                    <button type="button" class="icon-btn version-next" aria-label="Next version"
                        disabled={at >= n} on:click=move |_| crate::actions::browse_version(store, &q, 1)>"›"</button>
                </span>
            }
        })
    }
}

/// Copies the version on screen of a finished reply.
#[component]
pub fn CopyButton(store: Store, msg: Msg) -> impl IntoView {
    let role = msg.role;
    let streaming = move || msg.status.get().is_live();
    view! {
        <Show when=move || role == MessageRole::Assistant && !streaming()>
            {
                let m = msg.clone();
                view! {
                    <button type="button" class="chip copy-reply" on:click=move |_| crate::actions::copy_reply(store, &m, shown_text(&m))>{
                        move || match msg.copied.get() {
                            Some(true) => "✓ Copied",
                            Some(false) => "Copy failed",
                            None => "Copy",
                        }
                    }</button>
                }
            }
        </Show>
    }
}

/// `✎ Edit` on the last user message, once sent, while nothing streams.
#[component]
pub fn EditButton(store: Store, msg: Msg) -> impl IntoView {
    let role = msg.role;
    let editable = {
        let key = msg.key.clone();
        move || {
            role == MessageRole::User
                && can_edit(
                    store.last_user_key.with(|k| k.as_deref() == Some(key.as_str())),
                    msg.id.with(Option::is_some) && msg.delivery.get() == Delivery::Sent,
                    store.any_live.get(),
                    store.editing.with(Option::is_some),
                )
        }
    };
    view! {
        <Show when=editable>
            {
                let m = msg.clone();
                view! {
                    <button type="button" class="chip edit-message" on:click=move |_| {
                        store.edit_draft.set(m.content.get_untracked());
                        store.editing.set(Some(m.key.clone()));
                        #[cfg(feature = "hydrate")]
                        request_animation_frame(|| {
                            use wasm_bindgen::JsCast;
                            if let Some(el) = document()
                                .get_element_by_id("edit-input")
                                .and_then(|e| e.dyn_into::<web_sys::HtmlTextAreaElement>().ok())
                            {
                                let _ = el.focus();
                            }
                        });
                    }>"✎ Edit"</button>
                }
            }
        </Show>
    }
}

/// A drawn thumb (emoji fonts are missing on some systems, where 👍 shows as
/// an empty box); the thumb-down button turns it over in CSS.
#[component]
fn ThumbIcon() -> impl IntoView {
    view! {
        <svg viewBox="0 0 24 24" width="14" height="14" fill="none" stroke="currentColor" stroke-width="2"
            stroke-linejoin="round" aria-hidden="true">
            <path d="M7 10v11H3V10zM7 10l4-8a3 3 0 0 1 3 3v4h6a2 2 0 0 1 2 2.3l-1.4 8A2 2 0 0 1 18.6 21H7"/>
        </svg>
    }
}

/// Thumbs up and down on a stored, finished reply (contract §9.4).
#[component]
pub fn FeedbackButtons(store: Store, msg: Msg) -> impl IntoView {
    let role = msg.role;
    let streaming = move || msg.status.get().is_live();
    view! {
        <Show when=move || role == MessageRole::Assistant && !streaming() && msg.id.get().is_some()>
            {
                let (up, down) = (msg.clone(), msg.clone());
                let pressed = move |r: Rating| (msg.feedback.get() == Some(r)).to_string();
                view! {
                    <span class="feedback-btns" role="group" aria-label="Rate this reply"
                        data-rating=move || msg.feedback.get().map(Rating::as_str)>
                        <button type="button" class="icon-btn thumb thumb-up" aria-label="Good reply" title="Good reply"
                            aria-pressed=move || pressed(Rating::Up) on:click=move |_| crate::actions::rate(store, &up, Rating::Up)><ThumbIcon/></button>
                        <button type="button" class="icon-btn thumb thumb-down" aria-label="Bad reply" title="Bad reply"
                            aria-pressed=move || pressed(Rating::Down) on:click=move |_| crate::actions::rate(store, &down, Rating::Down)><ThumbIcon/></button>
                    </span>
                }
            }
        </Show>
    }
}

/// `↻ Regenerate` on the last reply once finished (`↻ Retry` after a model failure).
#[component]
pub fn RegenerateButton(store: Store, msg: Msg) -> impl IntoView {
    let role = msg.role;
    let is_last = {
        let key = msg.key.clone();
        move || store.last_reply_key.with(|k| k.as_deref() == Some(key.as_str()))
    };
    let streaming = move || msg.status.get().is_live();
    view! {
        <Show when=move || role == MessageRole::Assistant && is_last() && !streaming()>
            <button type="button" class="chip regenerate" id="regenerate" on:click=move |_| crate::actions::regenerate(store)>{
                // After a model failure the same action reads as what it is for the user.
                move || if msg.status.get() == MessageStatus::Error { "↻ Retry" } else { "↻ Regenerate" }
            }</button>
        </Show>
    }
}
