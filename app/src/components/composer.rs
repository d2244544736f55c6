//! The composer: Enter sends, Shift+Enter makes a new line; it grows to a limit
//! and shows the character limit when it is near.

use leptos::html;
use leptos::prelude::*;

use crate::store::Store;

const MAX_HEIGHT_PX: i32 = 220;

#[component]
pub fn Composer(store: Store) -> impl IntoView {
    let text = RwSignal::new(String::new());
    let area = NodeRef::<html::Textarea>::new();
    let limit = move || {
        store
            .session
            .with(|s| s.as_ref().map(|s| s.info.max_message_chars).unwrap_or(16000))
    };
    let count = move || text.with(|t| t.chars().count());
    let near = move || count() * 10 >= limit() * 8;
    let over = move || count() > limit();
    let empty = move || text.with(|t| t.trim().is_empty());
    // The Stop button depends on the open conversation, which the page loads
    // in a `Suspense` the composer is not part of: it shows only once the page
    // is hydrated, so the server's HTML and the first browser render agree
    // (issue 17, fault 3).
    let hydrated = RwSignal::new(false);
    Effect::new(move |_| hydrated.set(true));
    let streaming_reply = move || {
        if !hydrated.get() {
            return None;
        }
        store.messages.with(|v| {
            v.iter()
                .rev()
                .find(|m| m.status.get().is_live())
                .and_then(|m| m.id.get())
        })
    };

    let grow = move || {
        if let Some(el) = area.get_untracked() {
            let style = web_sys::HtmlElement::style(&el);
            let _ = style.set_property("height", "auto");
            let h = el.scroll_height().min(MAX_HEIGHT_PX);
            let _ = style.set_property("height", &format!("{h}px"));
        }
    };
    let send = move || {
        if empty() || over() {
            return;
        }
        let t = text.get_untracked();
        text.set(String::new());
        if let Some(el) = area.get_untracked() {
            el.set_value("");
        }
        grow();
        store.send_message(t);
    };
    let on_keydown = move |ev: leptos::ev::KeyboardEvent| {
        if ev.key() == "Enter" && !ev.shift_key() && !ev.is_composing() {
            ev.prevent_default();
            send();
        }
    };

    view! {
        <form class="composer" on:submit=move |ev| { ev.prevent_default(); send(); }>
            <div class="composer-box" class:over=over>
                <label for="composer-input" class="sr-only">"Message"</label>
                <textarea id="composer-input" node_ref=area rows="1" placeholder="Message Brook…" aria-describedby="composer-hint"
                    on:input=move |ev| { text.set(event_target_value(&ev)); grow(); }
                    on:keydown=on_keydown
                    prop:value=move || text.get()></textarea>
                <div class="composer-actions">
                    <Show when=near>
                        <span class="counter" class:over=over aria-live="polite">{move || format!("{} / {}", count(), limit())}</span>
                    </Show>
                    {move || match streaming_reply() {
                        Some(id) => view! {
                            <button type="button" class="btn stop-btn" id="composer-stop" aria-label="Stop generating"
                                on:click=move |_| store.stop(&id)>"■"</button>
                        }.into_any(),
                        None => ().into_any(),
                    }}
                    <button type="submit" class="btn primary send" id="send" aria-label="Send" disabled=move || empty() || over()>
                        "Send"
                    </button>
                </div>
            </div>
            <p class="composer-hint" id="composer-hint">"Enter to send · Shift+Enter for a new line"</p>
        </form>
    }
}
