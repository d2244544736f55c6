//! One message bubble. Assistant text is markdown, rendered to safe HTML (raw
//! HTML from the model is escaped, never executed); the bubble shows a thinking
//! indicator until the first token, stop while streaming, regenerate on the last
//! reply, edit on the last user message, and the reply's metadata on hover or
//! focus.

use leptos::prelude::*;
use protocol::objects::{MessageRole, MessageStatus, Rating};

use crate::store::{can_edit, earlier_prompt, Delivery, Msg, Store};

fn describe(meta: &serde_json::Value) -> Option<String> {
    let model = meta.get("model")?.as_str()?;
    let mut parts = vec![format!("Model {model}")];
    if let Some(t) = meta.pointer("/usage/completion_tokens").and_then(|v| v.as_u64()) {
        parts.push(format!("{t} tokens"));
    }
    if let Some(ms) = meta.get("ttft_ms").and_then(|v| v.as_u64()) {
        parts.push(format!("first token {ms} ms"));
    }
    if let Some(ms) = meta.get("duration_ms").and_then(|v| v.as_u64()) {
        parts.push(format!("{:.1} s", ms as f64 / 1000.0));
    }
    if let (Some(v), Some(n)) = (
        meta.get("version").and_then(|v| v.as_u64()),
        meta.get("versions").and_then(|v| v.as_u64()),
    ) {
        if n > 1 {
            parts.push(format!("version {v} of {n}"));
        }
    }
    Some(parts.join(" · "))
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

/// One message bubble.
///
/// Every closure here reads only the store's signals and the bubble's own
/// (owned by the store, see `store::BubbleOwners`), never a value created by
/// the list or the row: when a route change disposes the list, a row's effects
/// can still run once more, and a value of the list would be gone by then
/// (issue 17, fault 2).
#[component]
pub fn Bubble(store: Store, msg: Msg) -> impl IntoView {
    let role = msg.role;
    let is_last = {
        let key = msg.key.clone();
        move || store.last_reply_key.with(|k| k.as_deref() == Some(key.as_str()))
    };
    let streaming = move || msg.status.get().is_live();
    let id = move || msg.id.get().unwrap_or_default();
    // The text shown: this reply, or the earlier version the reader browsed to.
    let shown = {
        let msg = msg.clone();
        move || match msg.version_at.get() {
            Some(i) => msg
                .versions
                .with(|v| v.get(i).map(|m| m.content.clone()))
                .unwrap_or_else(|| msg.content.get()),
            None => msg.content.get(),
        }
    };
    // `‹ 2/3 ›` when the reply has versions and is not streaming: (shown, count), 1-based.
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
    // The question an earlier version answered, when it was edited since.
    let prompt = {
        let msg = msg.clone();
        move || {
            let i = msg.version_at.get()?;
            msg.versions
                .with(|v| v.get(i).and_then(earlier_prompt).map(str::to_string))
        }
    };
    let editing = {
        let key = msg.key.clone();
        move || store.editing.with(|e| e.as_deref() == Some(key.as_str()))
    };
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
    let body = if role == MessageRole::Assistant {
        view! {
            {move || prompt().map(|p| view! {
                <p class="earlier-prompt">"Answer to an earlier wording: “"{p}"”"</p>
            })}
            <div class="md" inner_html=move || markdown::to_html(&shown())></div>
            <Show when=move || msg.thinking.get()>
                <div class="thinking" aria-label="Thinking"><span></span><span></span><span></span></div>
            </Show>
        }
        .into_any()
    } else {
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
        .into_any()
    };
    let edit_msg = msg.clone();
    // The details line describes the version on screen (model, tokens, timing).
    let shown_meta = {
        let msg = msg.clone();
        move || match msg.version_at.get() {
            Some(i) => msg.versions.with(|v| {
                v.get(i).and_then(|m| {
                    let mut meta = m.metadata.clone();
                    if let serde_json::Value::Object(o) = &mut meta {
                        o.insert("version".into(), (i as u64 + 1).into());
                        o.insert("versions".into(), (v.len() as u64).into());
                    }
                    describe(&meta)
                })
            }),
            None => msg.meta.with(describe),
        }
    };
    let delivery = move || match msg.delivery.get() {
        Delivery::Pending => "pending",
        Delivery::Sent => "sent",
        Delivery::Failed => "failed",
    };
    let note = move || match msg.status.get() {
        MessageStatus::Stopped => Some("Stopped"),
        MessageStatus::Interrupted => Some("Interrupted: the server restarted while writing this"),
        MessageStatus::Error => Some("The model failed; this is what it wrote before"),
        _ => None,
    };
    let stop_msg = msg.clone();
    let retry_msg = msg.clone();
    let copy_msg = msg.clone();
    let rate_msg = msg.clone();
    let prev_msg = msg.clone();
    let next_msg = msg.clone();
    view! {
        <article class="msg" class:user=role == MessageRole::User class:assistant=role == MessageRole::Assistant
            data-role=role.as_str()
            data-message-id=id
            data-streaming=move || streaming().then_some("true")
            data-delivery=move || (role == MessageRole::User).then(delivery)
            data-status=move || msg.status.get().as_str()>
            <div class="bubble">{body}</div>
            <div class="msg-foot">
                {move || (role == MessageRole::User).then(|| match msg.delivery.get() {
                    Delivery::Pending => view! { <span class="delivery pending" title="Waiting to be sent">"Sending…"</span> }.into_any(),
                    Delivery::Sent => view! { <span class="delivery sent" title="Delivered">"✓ Sent"</span> }.into_any(),
                    Delivery::Failed => {
                        let m = retry_msg.clone();
                        view! {
                            <span class="delivery failed">"Not sent"{move || msg.error.get().map(|e| format!(": {e}"))}</span>
                            <button type="button" class="link-btn retry" on:click=move |_| crate::actions::retry(store, &m)>"Retry"</button>
                        }.into_any()
                    }
                })}
                {move || note().map(|n| view! { <span class="status-note">{n}</span> })}
                {move || (role == MessageRole::Assistant).then(|| msg.error.get().map(|e| view! { <span class="status-note error">{e}</span> }))}
                <Show when=streaming>
                    {
                        let m = stop_msg.clone();
                        view! {
                            <button type="button" class="chip stop" id="stop" on:click=move |_| {
                                if let Some(id) = m.id.get_untracked() { crate::actions::stop(store, &id); }
                            }>"■ Stop"</button>
                        }
                    }
                </Show>
                {move || version().map(|(at, n)| {
                    let (p, q) = (prev_msg.clone(), next_msg.clone());
                    view! {
                        <span class="versions" role="group" aria-label="Reply versions" data-version=format!("{at}/{n}")>
                            <button type="button" class="icon-btn version-prev" aria-label="Previous version"
                                disabled={at <= 1} on:click=move |_| crate::actions::browse_version(store, &p, -1)>"‹"</button>
                            <span class="version-count">{format!("{at}/{n}")}</span>
                            <button type="button" class="icon-btn version-next" aria-label="Next version"
                                disabled={at >= n} on:click=move |_| crate::actions::browse_version(store, &q, 1)>"›"</button>
                        </span>
                    }
                })}
                <Show when=move || role == MessageRole::Assistant && !streaming()>
                    {
                        let m = copy_msg.clone();
                        let shown = shown;
                        view! {
                            <button type="button" class="chip copy-reply" on:click=move |_| crate::actions::copy_reply(store, &m, shown())>{
                                move || match msg.copied.get() {
                                    Some(true) => "✓ Copied",
                                    Some(false) => "Copy failed",
                                    None => "Copy",
                                }
                            }</button>
                        }
                    }
                </Show>
                <Show when=editable.clone()>
                    {
                        let m = edit_msg.clone();
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
                <Show when=move || role == MessageRole::Assistant && !streaming() && msg.id.get().is_some()>
                    {
                        let (up, down) = (rate_msg.clone(), rate_msg.clone());
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
                <Show when=move || role == MessageRole::Assistant && is_last() && !streaming()>
                    <button type="button" class="chip regenerate" id="regenerate" on:click=move |_| crate::actions::regenerate(store)>{
                        // After a model failure the same action reads as what it is for the user.
                        move || if msg.status.get() == MessageStatus::Error { "↻ Retry" } else { "↻ Regenerate" }
                    }</button>
                </Show>
                {move || (role == MessageRole::Assistant).then(&shown_meta).flatten().map(|d| view! {
                    <span class="reply-meta" tabindex="0">{d}</span>
                })}
            </div>
        </article>
    }
}
