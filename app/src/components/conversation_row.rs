//! One row of the conversation list: its link (title, preview, unread badge),
//! renaming in place and deleting.

use leptos::prelude::*;
use protocol::objects::Conversation;
use serde_json::json;

use crate::rest;
use crate::store::Store;

#[component]
pub fn ConversationRow(store: Store, c: Conversation) -> impl IntoView {
    let editing = RwSignal::new(false);
    let title = RwSignal::new(c.title.clone());
    let id = c.id.clone();
    let active = {
        let id = id.clone();
        Memo::new(move |_| store.current.get().as_deref() == Some(id.as_str()))
    };
    let delete = {
        let id = id.clone();
        move |_| delete_conversation(store, id.clone())
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
    let href = format!("/c/{}", c.id);
    let preview = c.last_message_preview.clone().unwrap_or_default();
    let (rename_id, original) = (id.clone(), c.title);
    view! {
        <li class="conv" class:active=active data-session-id=id.clone() data-unread=move || unread.get().to_string()>
            <Show when=move || editing.get() fallback={
                let (href, preview) = (href.clone(), preview.clone());
                move || view! { <RowLink href=href.clone() preview=preview.clone() title active unread/> }
            }>
                <RenameInput store id=rename_id.clone() editing title original=original.clone()/>
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

/// The row's link: title, last message's preview, unread badge.
#[component]
fn RowLink(
    href: String,
    preview: String,
    title: RwSignal<String>,
    active: Memo<bool>,
    unread: Memo<u64>,
) -> impl IntoView {
    view! {
        <a class="conv-link" href=href aria-current=move || active.get().then_some("page")>
            <span class="conv-title">{move || title.get()}</span>
            <span class="conv-preview">{preview}</span>
            {move || crate::store::badge_text(unread.get()).map(|t| {
                let label = format!("{} unread", unread.get());
                view! { <span class="conv-unread" aria-label=label>{t}</span> }
            })}
        </a>
    }
}

/// The title being renamed: Enter or leaving the field saves, Escape cancels.
/// It takes the focus as soon as it shows (issue 17, fault 6).
#[component]
fn RenameInput(
    store: Store,
    id: String,
    editing: RwSignal<bool>,
    title: RwSignal<String>,
    original: String,
) -> impl IntoView {
    let input = NodeRef::<leptos::html::Input>::new();
    Effect::new(move |_| {
        if let (true, Some(el)) = (editing.get(), input.get()) {
            let _ = el.focus();
            el.select();
        }
    });
    let save = move || {
        // Enter, then the blur of the removed field: one save, not two.
        // The blur of a field removed with its row comes after the row's
        // signals are gone: nothing to save then.
        if editing.try_get_untracked() != Some(true) {
            return;
        }
        let t = title.get_untracked().trim().to_string();
        editing.set(false);
        if !t.is_empty() {
            rename_conversation(store, id.clone(), t);
        }
    };
    let save_on_blur = save.clone();
    let on_keydown = move |ev: leptos::ev::KeyboardEvent| {
        if ev.key() == "Enter" {
            save();
        }
        if ev.key() == "Escape" {
            // Cancel: the old title stays, nothing is saved, and the phone
            // drawer stays open (prevent_default tells the page's Escape
            // handler it was used).
            ev.prevent_default();
            editing.set(false);
            title.set(original.clone());
        }
    };
    view! {
        <input class="rename-input" aria-label="New title" node_ref=input prop:value=move || title.get()
            on:input=move |ev| title.set(event_target_value(&ev))
            on:keydown=on_keydown
            on:blur=move |_| save_on_blur()/>
    }
}

/// Renames conversation `id` (`PATCH /api/v1/conversations/{id}`).
fn rename_conversation(store: Store, id: String, title: String) {
    leptos::task::spawn_local(async move {
        let url = format!("/api/v1/conversations/{id}");
        match rest::patch::<_, Conversation>(&url, &json!({"title": title})).await {
            Ok(Some(c)) => store.upsert_conversation(c),
            Ok(None) => {}
            Err(e) => store.notice.set(Some(e.message)),
        }
    });
}

/// Deletes conversation `id` after the browser's confirmation (`DELETE
/// /api/v1/conversations/{id}`); when it is the open one, a new chat opens.
fn delete_conversation(store: Store, id: String) {
    #[cfg(feature = "hydrate")]
    {
        let ok = web_sys::window()
            .and_then(|w| w.confirm_with_message("Delete this conversation?").ok())
            .unwrap_or(false);
        if !ok {
            return;
        }
    }
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
