//! A bubble's footer: a user message's delivery state, a reply's status notes,
//! its actions ([`super::actions`]) and the details line of the version on screen.

use leptos::prelude::*;
use protocol::objects::{MessageRole, MessageStatus};

use super::actions::{CopyButton, EditButton, FeedbackButtons, RegenerateButton, StopButton, VersionSwitch};
use crate::store::{Delivery, Msg, Store};

/// The footer under one bubble.
#[component]
pub fn MsgFoot(store: Store, msg: Msg) -> impl IntoView {
    let role = msg.role;
    let user = role == MessageRole::User;
    let assistant = role == MessageRole::Assistant;
    let note = move || match msg.status.get() {
        MessageStatus::Stopped => Some("Stopped"),
        MessageStatus::Interrupted => Some("Interrupted: the server restarted while writing this"),
        MessageStatus::Error => Some("The model failed; this is what it wrote before"),
        _ => None,
    };
    view! {
        <div class="msg-foot">
            {user.then(|| view! { <DeliveryState store msg=msg.clone()/> })}
            {move || note().map(|n| view! { <span class="status-note">{n}</span> })}
            {move || assistant.then(|| msg.error.get().map(|e| view! { <span class="status-note error">{e}</span> }))}
            <StopButton store msg=msg.clone()/>
            <VersionSwitch store msg=msg.clone()/>
            <CopyButton store msg=msg.clone()/>
            <EditButton store msg=msg.clone()/>
            <FeedbackButtons store msg=msg.clone()/>
            <RegenerateButton store msg=msg.clone()/>
            {assistant.then(|| view! { <ReplyMeta msg=msg.clone()/> })}
        </div>
    }
}

/// A user message's way to the server: sending, sent, or not sent with Retry.
#[component]
fn DeliveryState(store: Store, msg: Msg) -> impl IntoView {
    let retry_msg = msg.clone();
    move || match msg.delivery.get() {
        Delivery::Pending => {
            view! { <span class="delivery pending" title="Waiting to be sent">"Sending…"</span> }.into_any()
        }
        Delivery::Sent => view! { <span class="delivery sent" title="Delivered">"✓ Sent"</span> }.into_any(),
        Delivery::Failed => {
            let m = retry_msg.clone();
            view! {
                <span class="delivery failed">"Not sent"{move || msg.error.get().map(|e| format!(": {e}"))}</span>
                <button type="button" class="link-btn retry" on:click=move |_| crate::actions::retry(store, &m)>"Retry"</button>
            }
            .into_any()
        }
    }
}

/// The details line: model, tokens, timing, and which version, of the version
/// on screen (not always the newest).
#[component]
fn ReplyMeta(msg: Msg) -> impl IntoView {
    let shown_meta = move || match msg.version_at.get() {
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
    };
    move || shown_meta().map(|d| view! { <span class="reply-meta" tabindex="0">{d}</span> })
}

/// `Model m · N tokens · first token T ms · S s · version v of n`, each part
/// when the reply's metadata has it; `None` without a model.
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
