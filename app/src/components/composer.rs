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
    focus_on_open(store, area);
    let grow = move || fit_height(area);
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
        crate::actions::send_message(store, t);
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
                <textarea id="composer-input" node_ref=area rows="1" placeholder="Message Brook…"
                    aria-describedby=move || if over() { "composer-too-long composer-hint" } else { "composer-hint" }
                    aria-invalid=move || over().then_some("true")
                    on:input=move |ev| { text.set(event_target_value(&ev)); grow(); }
                    on:keydown=on_keydown
                    prop:value=move || text.get()></textarea>
                <div class="composer-actions">
                    <Show when=near>
                        <span class="counter" class:over=over aria-live="polite">{move || format!("{} / {}", count(), limit())}</span>
                    </Show>
                    <StopButton store/>
                    <button type="submit" class="btn primary send" id="send" aria-label="Send" disabled=move || empty() || over()
                        aria-describedby=move || over().then_some("composer-too-long")>
                        "Send"
                    </button>
                </div>
            </div>
            // Over the limit, said in words, not only by the counter's colour (issue 17).
            <Show when=over>
                <p class="too-long" id="composer-too-long" role="status">{move || too_long_text(count(), limit())}</p>
            </Show>
            <p class="composer-hint" id="composer-hint">"Enter to send · Shift+Enter for a new line"</p>
        </form>
    }
}

/// Stops the reply generating in the open conversation, shown while one is.
/// It depends on the open conversation, which the page loads in a `Suspense`
/// the composer is not part of: it shows only once the page is hydrated, so
/// the server's HTML and the first browser render agree (issue 17, fault 3).
#[component]
fn StopButton(store: Store) -> impl IntoView {
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
    move || match streaming_reply() {
        Some(id) => view! {
            <button type="button" class="btn stop-btn" id="composer-stop" aria-label="Stop generating"
                on:click=move |_| crate::actions::stop(store, &id)>"■"</button>
        }
        .into_any(),
        None => ().into_any(),
    }
}

/// The composer has the focus when the page loads and when another
/// conversation opens, as in ChatGPT (issue 17). Not on narrow screens:
/// there the focus would pop up the on-screen keyboard over the thread.
fn focus_on_open(store: Store, area: NodeRef<html::Textarea>) {
    Effect::new(move |_| {
        store.current.track();
        let wide = web_sys::window()
            .and_then(|w| w.inner_width().ok())
            .and_then(|w| w.as_f64())
            .is_some_and(|w| w > 760.0);
        if let (true, Some(el)) = (wide, area.get()) {
            let _ = el.focus();
        }
    });
}

/// Fits the box's height to its text, up to [`MAX_HEIGHT_PX`].
fn fit_height(area: NodeRef<html::Textarea>) {
    if let Some(el) = area.get_untracked() {
        let style = web_sys::HtmlElement::style(&el);
        let _ = style.set_property("height", "auto");
        let h = el.scroll_height().min(MAX_HEIGHT_PX);
        let _ = style.set_property("height", &format!("{h}px"));
    }
}

/// What the composer says when a message is over the limit (`limit` is
/// `BROOK_MAX_MESSAGE_CHARS`, counted in Unicode scalar values as the server
/// counts them, contract §3).
pub fn too_long_text(count: usize, limit: usize) -> String {
    let over = count.saturating_sub(limit);
    let chars = |n: usize| if n == 1 { "character" } else { "characters" };
    format!(
        "Too long to send: {} characters, and the limit is {}. Remove {} {} to send it.",
        group_digits(count),
        group_digits(limit),
        group_digits(over),
        chars(over)
    )
}

/// `16000` → `16,000`.
fn group_digits(n: usize) -> String {
    let s = n.to_string();
    let mut out = String::new();
    for (i, c) in s.chars().enumerate() {
        if i > 0 && (s.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn too_long_says_by_how_much() {
        assert_eq!(
            too_long_text(16_500, 16_000),
            "Too long to send: 16,500 characters, and the limit is 16,000. Remove 500 characters to send it."
        );
        assert_eq!(
            too_long_text(1_001, 1_000),
            "Too long to send: 1,001 characters, and the limit is 1,000. Remove 1 character to send it."
        );
        assert_eq!(group_digits(0), "0");
        assert_eq!(group_digits(999), "999");
        assert_eq!(group_digits(1_234_567), "1,234,567");
    }
}
