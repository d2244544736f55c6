//! The sidebar's foot: who is signed in, the theme, links to bots and API
//! keys, and signing out. A guest's chats belong to this browser's guest
//! token alone: signing out loses them for good, so it takes a second,
//! explicit step (issue 17).

use leptos::prelude::*;
use protocol::objects::Role;
use serde_json::json;

use crate::rest;
use crate::store::Store;

#[component]
pub fn AccountFoot(store: Store) -> impl IntoView {
    let user_label = move || {
        store.session.with(|s| {
            s.as_ref()
                .map(|s| {
                    s.user
                        .name
                        .clone()
                        .or(s.user.email.clone())
                        .unwrap_or_else(|| "Guest".into())
                })
                .unwrap_or_default()
        })
    };
    let is_guest = move || {
        store
            .session
            .with(|s| s.as_ref().is_some_and(|s| s.user.role == Role::Guest))
    };
    let confirming = RwSignal::new(false);
    let logout_ref = NodeRef::<leptos::html::Button>::new();
    let logout = move |_| {
        if is_guest() && !confirming.get_untracked() {
            confirming.set(true);
        } else {
            sign_out(store);
        }
    };
    view! {
        <div class="sidebar-foot">
            <span class="who" title=user_label>{user_label}</span>
            <super::theme_toggle::ThemeToggle/>
            <a class="link-btn" href="/bots" id="bots-link">"Bots"</a>
            <a class="link-btn" href="/settings" id="settings-link">"API keys"</a>
            <button type="button" class="link-btn" id="logout" node_ref=logout_ref on:click=logout
                aria-expanded=move || is_guest().then(|| confirming.get().to_string())>"Sign out"</button>
            <GuestSignOutWarning store confirming logout_ref/>
        </div>
    }
}

/// The guest's second step: keep the chats (the focus goes back to "Sign
/// out"), or sign out and lose them. Escape keeps them.
#[component]
fn GuestSignOutWarning(
    store: Store,
    confirming: RwSignal<bool>,
    logout_ref: NodeRef<leptos::html::Button>,
) -> impl IntoView {
    let cancel_ref = NodeRef::<leptos::html::Button>::new();
    Effect::new(move |_| {
        if let (true, Some(b)) = (confirming.get(), cancel_ref.get()) {
            let _ = b.focus();
        }
    });
    let keep = move || {
        confirming.set(false);
        if let Some(b) = logout_ref.get_untracked() {
            let _ = b.focus();
        }
    };
    view! {
        <Show when=move || confirming.get()>
            <div class="signout-warning" role="alertdialog" aria-labelledby="signout-title" aria-describedby="signout-text"
                on:keydown=move |ev: leptos::ev::KeyboardEvent| if ev.key() == "Escape" { ev.prevent_default(); keep(); }>
                <p id="signout-title"><strong>"Sign out of this guest account?"</strong></p>
                <p id="signout-text">"Guest chats are kept only for this browser's guest session. After you sign out, every chat here is gone for good."</p>
                <div class="row">
                    <button type="button" class="btn" id="logout-cancel" node_ref=cancel_ref on:click=move |_| keep()>"Keep my chats"</button>
                    <button type="button" class="btn danger" id="logout-confirm" on:click=move |_| sign_out(store)>"Sign out and lose them"</button>
                </div>
            </div>
        </Show>
    }
}

/// Signs out (`POST /api/v1/auth/logout`) and goes to `/login`. Unsent
/// messages are this user's only: never left for the next one on this
/// browser (issue 11, §4 item 9).
fn sign_out(store: Store) {
    crate::store::outbox_clear(&store.user_id());
    leptos::task::spawn_local(async move {
        let _ = rest::post::<_, serde_json::Value>("/api/v1/auth/logout", &json!({})).await;
        #[cfg(feature = "hydrate")]
        if let Some(w) = web_sys::window() {
            let _ = w.location().set_href("/login");
        }
    });
}
