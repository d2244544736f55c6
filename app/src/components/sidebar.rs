//! The conversation list: newest activity first, live across tabs, paged as you
//! scroll, with search, rename and delete.

use leptos::prelude::*;
use protocol::objects::Conversation;
use serde_json::json;

use crate::api::load_conversations;
use crate::dates::{group_conversations, Clock, DateGroup};
use crate::rest;
use crate::store::Store;

#[component]
pub fn Sidebar(store: Store, open: RwSignal<bool>) -> impl IntoView {
    let loading_more = RwSignal::new(false);
    let search_gen = StoredValue::new(0u64);

    let load_more = move || {
        let Some(cursor) = store.next_cursor.get_untracked() else {
            return;
        };
        if loading_more.get_untracked() {
            return;
        }
        loading_more.set(true);
        let q = Some(store.query.get_untracked()).filter(|q| !q.is_empty());
        leptos::task::spawn_local(async move {
            if let Ok(list) = load_conversations(Some(cursor), q).await {
                store.conversations.update(|v| {
                    for c in list.conversations {
                        if !v.iter().any(|x| x.id == c.id) {
                            v.push(c);
                        }
                    }
                });
                store.next_cursor.set(list.next_cursor);
            }
            // The sidebar may be gone by now (a route change): try, do not insist.
            loading_more.try_set(false);
        });
    };
    let on_scroll = move |ev: leptos::ev::Event| {
        let el = event_target::<web_sys::HtmlElement>(&ev);
        if el.scroll_height() - el.scroll_top() - el.client_height() < 120 {
            load_more();
        }
    };
    let on_search = move |ev: leptos::ev::Event| {
        let q = event_target_value(&ev);
        store.query.set(q.clone());
        search_gen.update_value(|g| *g += 1);
        let gen = search_gen.get_value();
        leptos::task::spawn_local(async move {
            // Debounce: only the latest keystroke's search runs.
            gloo_timers_sleep(250).await;
            if search_gen.try_get_value() != Some(gen) {
                return;
            }
            let q = Some(q).filter(|q| !q.trim().is_empty());
            if let Ok(list) = load_conversations(None, q).await {
                if search_gen.try_get_value() == Some(gen) {
                    store.conversations.set(list.conversations);
                    store.next_cursor.set(list.next_cursor);
                }
            }
        });
    };
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
        store.session.with(|s| {
            s.as_ref()
                .is_some_and(|s| s.user.role == protocol::objects::Role::Guest)
        })
    };
    // A guest's chats belong to this browser's guest token alone: signing out
    // loses them for good, so it takes a second, explicit step (issue 17).
    let confirming = RwSignal::new(false);
    let cancel_ref = NodeRef::<leptos::html::Button>::new();
    let logout_ref = NodeRef::<leptos::html::Button>::new();
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
    let sign_out = move || {
        // Unsent messages are this user's only: never left for the next one
        // on this browser (issue 11, §4 item 9).
        crate::store::outbox_clear(&store.user_id());
        leptos::task::spawn_local(async move {
            let _ = rest::post::<_, serde_json::Value>("/api/v1/auth/logout", &json!({})).await;
            #[cfg(feature = "hydrate")]
            if let Some(w) = web_sys::window() {
                let _ = w.location().set_href("/login");
            }
        });
    };
    let logout = move |_| {
        if is_guest() && !confirming.get_untracked() {
            confirming.set(true);
        } else {
            sign_out();
        }
    };
    let clock = RwSignal::new(None::<Clock>);
    // Grouping by day needs the reader's clock and time zone: the server
    // renders one ungrouped list, the browser groups it once hydrated (and
    // again each minute, so "Today" moves on at midnight).
    Effect::new(move |_| {
        clock.set(Clock::browser());
        #[cfg(feature = "hydrate")]
        {
            let handle = set_interval_with_handle(
                move || {
                    clock.try_set(Clock::browser());
                },
                std::time::Duration::from_secs(60),
            )
            .ok();
            on_cleanup(move || {
                if let Some(h) = handle {
                    h.clear();
                }
            });
        }
    });
    let groups = Memo::new(move |_| store.conversations.with(|v| group_conversations(v, clock.get())));

    view! {
        <nav class="sidebar" id="sidebar" aria-label="Conversations">
            <div class="sidebar-head">
                <a class="brand" href="/"><span class="logo" aria-hidden="true"></span>"Brook"</a>
                <a class="btn primary new-chat" id="new-chat" href="/?new" on:click=move |_| open.set(false)>
                    <span aria-hidden="true">"+"</span>" New chat"
                </a>
            </div>
            <label class="search">
                <span class="sr-only">"Search conversations"</span>
                <input type="search" id="search" placeholder="Search conversations" on:input=on_search prop:value=move || store.query.get()/>
            </label>
            <ul class="conversations" id="conversation-list" on:scroll=on_scroll>
                <For each=move || groups.get() key=|(g, _)| g.as_ref().map_or_else(|| "all".to_string(), DateGroup::key) let:group>
                    {
                        let (g, _) = group;
                        let key = g.as_ref().map_or_else(|| "all".to_string(), DateGroup::key);
                        let heading = g.as_ref().map(|g| format!("conv-day-{}", g.key()));
                        let label = g.as_ref().map(DateGroup::label);
                        let rows = move || {
                            groups.with(|gs| gs.iter().find(|(x, _)| *x == g).map(|(_, v)| v.clone()).unwrap_or_default())
                        };
                        view! {
                            <li class="conv-group" data-group=key>
                                {label.map(|l| view! { <h2 class="conv-day" id=heading.clone()>{l}</h2> })}
                                <ul class="conv-group-list" aria-labelledby=heading>
                                    <For each=rows key=|c| (c.id.clone(), c.title.clone(), c.updated_at.clone()) let:c>
                                        <ConversationRow store c/>
                                    </For>
                                </ul>
                            </li>
                        }
                    }
                </For>
                <Show when=move || store.conversations.with(Vec::is_empty)>
                    <li class="empty muted">{move || if store.query.get().is_empty() { "No conversations yet." } else { "Nothing found." }}</li>
                </Show>
                <Show when=move || loading_more.get()>
                    <li class="muted loading-more">"Loading…"</li>
                </Show>
            </ul>
            <div class="sidebar-foot">
                <span class="who" title=user_label>{user_label}</span>
                <super::theme_toggle::ThemeToggle/>
                <a class="link-btn" href="/bots" id="bots-link">"Bots"</a>
                <a class="link-btn" href="/settings" id="settings-link">"API keys"</a>
                <button type="button" class="link-btn" id="logout" node_ref=logout_ref on:click=logout
                    aria-expanded=move || is_guest().then(|| confirming.get().to_string())>"Sign out"</button>
                <Show when=move || confirming.get()>
                    <div class="signout-warning" role="alertdialog" aria-labelledby="signout-title" aria-describedby="signout-text"
                        on:keydown=move |ev: leptos::ev::KeyboardEvent| if ev.key() == "Escape" { ev.prevent_default(); keep(); }>
                        <p id="signout-title"><strong>"Sign out of this guest account?"</strong></p>
                        <p id="signout-text">"Guest chats are kept only for this browser's guest session. After you sign out, every chat here is gone for good."</p>
                        <div class="row">
                            <button type="button" class="btn" id="logout-cancel" node_ref=cancel_ref on:click=move |_| keep()>"Keep my chats"</button>
                            <button type="button" class="btn danger" id="logout-confirm" on:click=move |_| sign_out()>"Sign out and lose them"</button>
                        </div>
                    </div>
                </Show>
            </div>
        </nav>
    }
}

#[component]
fn ConversationRow(store: Store, c: Conversation) -> impl IntoView {
    let editing = RwSignal::new(false);
    let title = RwSignal::new(c.title.clone());
    let original = StoredValue::new(c.title.clone());
    let input = NodeRef::<leptos::html::Input>::new();
    // The rename field takes the focus as soon as it shows (issue 17, fault 6).
    Effect::new(move |_| {
        if let (true, Some(el)) = (editing.get(), input.get()) {
            let _ = el.focus();
            el.select();
        }
    });
    let id = c.id.clone();
    let href = format!("/c/{}", c.id);
    let active = {
        let id = id.clone();
        Memo::new(move |_| store.current.get().as_deref() == Some(id.as_str()))
    };
    let save = {
        let id = id.clone();
        move || {
            // Enter, then the blur of the removed field: one save, not two.
            // The blur of a field removed with its row comes after the row's
            // signals are gone: nothing to save then.
            if editing.try_get_untracked() != Some(true) {
                return;
            }
            let t = title.get_untracked().trim().to_string();
            editing.set(false);
            if t.is_empty() {
                return;
            }
            let id = id.clone();
            leptos::task::spawn_local(async move {
                match rest::patch::<_, Conversation>(&format!("/api/v1/conversations/{id}"), &json!({"title": t})).await
                {
                    Ok(Some(c)) => store.upsert_conversation(c),
                    Ok(None) => {}
                    Err(e) => store.notice.set(Some(e.message)),
                }
            });
        }
    };
    let delete = {
        let id = id.clone();
        move |_| {
            #[cfg(feature = "hydrate")]
            {
                let ok = web_sys::window()
                    .and_then(|w| w.confirm_with_message("Delete this conversation?").ok())
                    .unwrap_or(false);
                if !ok {
                    return;
                }
            }
            let id = id.clone();
            leptos::task::spawn_local(async move {
                match rest::delete(&format!("/api/v1/conversations/{id}")).await {
                    Ok(()) => {
                        store.conversations.update(|v| v.retain(|c| c.id != id));
                        if store.current.get_untracked().as_deref() == Some(id.as_str()) {
                            // The open chat is gone: a new chat, not another old one.
                            store.go_to.set(Some(crate::navigation::Go::replace("/?new".into())));
                        }
                    }
                    Err(e) => store.notice.set(Some(e.message)),
                }
            });
        }
    };
    // The server's count (§9.3), live: `conversation_updated` brings it to
    // every tab of the identity, so they all agree.
    let unread = {
        let id = id.clone();
        Memo::new(move |_| {
            store
                .conversations
                .with(|v| v.iter().find(|x| x.id == id).map_or(0, |x| x.unread_count))
        })
    };
    let save_on_enter = save.clone();
    let save_on_blur = save;
    let preview = c.last_message_preview.clone().unwrap_or_default();
    view! {
        <li class="conv" class:active=active data-session-id=id.clone() data-unread=move || unread.get().to_string()>
            <Show when=move || editing.get() fallback={
                let href = href.clone();
                let preview = preview.clone();
                move || view! {
                    <a class="conv-link" href=href.clone() aria-current=move || active.get().then_some("page")>
                        <span class="conv-title">{move || title.get()}</span>
                        <span class="conv-preview">{preview.clone()}</span>
                        {move || crate::store::badge_text(unread.get()).map(|t| {
                            let label = format!("{} unread", unread.get());
                            view! { <span class="conv-unread" aria-label=label>{t}</span> }
                        })}
                    </a>
                }
            }>
                <input class="rename-input" aria-label="New title" node_ref=input prop:value=move || title.get()
                    on:input=move |ev| title.set(event_target_value(&ev))
                    on:keydown={
                        let save = save_on_enter.clone();
                        move |ev: leptos::ev::KeyboardEvent| {
                            if ev.key() == "Enter" { save(); }
                            if ev.key() == "Escape" {
                                // Cancel: the old title stays, nothing is saved,
                                // and the phone drawer stays open (prevent_default
                                // tells the page's Escape handler it was used).
                                ev.prevent_default();
                                editing.set(false);
                                title.set(original.get_value());
                            }
                        }
                    }
                    on:blur={
                        let save = save_on_blur.clone();
                        move |_| save()
                    }/>
            </Show>
            <div class="conv-actions">
                <button type="button" class="icon-btn rename" aria-label="Rename" title="Rename" on:click=move |_| editing.set(true)>
                    <svg viewBox="0 0 24 24" width="15" height="15" aria-hidden="true"><path fill="none" stroke="currentColor" stroke-width="2" stroke-linecap="round" stroke-linejoin="round" d="M12 20h9M16.5 3.5a2.1 2.1 0 0 1 3 3L7 19l-4 1 1-4z"/></svg>
                </button>
                <button type="button" class="icon-btn delete" aria-label="Delete" title="Delete" on:click=delete>
                    <svg viewBox="0 0 24 24" width="15" height="15" aria-hidden="true"><path fill="none" stroke="currentColor" stroke-width="2" stroke-linecap="round" stroke-linejoin="round" d="M3 6h18M8 6V4h8v2M19 6l-1 14H6L5 6M10 11v6M14 11v6"/></svg>
                </button>
            </div>
        </li>
    }
}

/// A timer future (works in the browser; resolves at once on the server).
pub async fn gloo_timers_sleep(ms: u32) {
    #[cfg(feature = "hydrate")]
    {
        let p = js_sys::Promise::new(&mut |resolve, _| {
            if let Some(w) = web_sys::window() {
                let _ = w.set_timeout_with_callback_and_timeout_and_arguments_0(&resolve, ms as i32);
            }
        });
        let _ = wasm_bindgen_futures::JsFuture::from(p).await;
    }
    #[cfg(not(feature = "hydrate"))]
    let _ = ms;
}
