//! A user bubble's body: the message as plain text, or the edit box while the
//! reader edits it (the last user message, issue 17).

use leptos::prelude::*;

use crate::store::{Msg, Store};

/// Plain text, or the edit box (Enter sends, Shift+Enter breaks the line,
/// Escape cancels).
#[component]
pub fn UserBody(store: Store, msg: Msg) -> impl IntoView {
    let editing = {
        let key = msg.key.clone();
        move || store.editing.with(|e| e.as_deref() == Some(key.as_str()))
    };
    let on_key = move |ev: leptos::ev::KeyboardEvent| {
        if ev.key() == "Enter" && !ev.shift_key() && !ev.is_composing() {
            ev.prevent_default();
            crate::actions::save_edit(store);
        } else if ev.key() == "Escape" {
            // Marked used: the page's Escape handler leaves the drawer alone.
            ev.prevent_default();
            store.editing.set(None);
        }
    };
    view! {
        <Show when=editing fallback=move || view! { <div class="plain">{move || msg.content.get()}</div> }>
            <div class="edit-box">
                <label for="edit-input" class="sr-only">"Edit your message"</label>
                <textarea id="edit-input" rows="3"
                    prop:value=move || store.edit_draft.get()
                    on:input=move |ev| store.edit_draft.set(event_target_value(&ev))
                    on:keydown=on_key></textarea>
                <div class="row">
                    <button type="button" class="btn" id="edit-cancel" on:click=move |_| store.editing.set(None)>"Cancel"</button>
                    <button type="button" class="btn primary" id="edit-save"
                        disabled=move || store.edit_draft.with(|t| t.trim().is_empty())
                        on:click=move |_| crate::actions::save_edit(store)>"Send"</button>
                </div>
            </div>
        </Show>
    }
}
