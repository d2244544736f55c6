//! The owner's inbox for one bot (contract §9): its visitors' conversations,
//! newest first and live, with each visitor's presence, unread counts and
//! mode; the transcript with the AI's replies, operator messages and visitors'
//! feedback; "Take over" / "Hand back"; and a composer for operator messages.
//! Shown on `/bots` under the bot's settings, and usable on a phone (one
//! column there).

use leptos::prelude::*;
use protocol::objects::{ConversationMode, Message, MessageRole, PresenceStatus, Rating, VisitorConversation};
use serde_json::json;

use crate::api::{load_visitor_conversations, load_visitor_transcript};
use crate::rest;

/// How often a generating reply's text is reloaded in the open transcript (ms).
#[cfg(feature = "hydrate")]
const STREAM_POLL_MS: u32 = 700;

/// `/api/v1/bots/{bot}/visitors/{visitor}/conversations/{session}/{what}`.
fn conv_path(bot: &str, visitor: &str, session: &str, what: &str) -> String {
    format!("/api/v1/bots/{bot}/visitors/{visitor}/conversations/{session}/{what}")
}

/// "online", "away", or "offline" with when the visitor was last seen.
pub fn presence_label(c: &VisitorConversation) -> String {
    match c.visitor_status {
        PresenceStatus::Online => "online".into(),
        PresenceStatus::Away => "away".into(),
        PresenceStatus::Offline => match c.last_seen_at.as_deref().and_then(|t| t.get(11..16)) {
            Some(hm) => format!("offline, last seen {hm} UTC"),
            None => "offline".into(),
        },
    }
}

/// The newest visitor message of a transcript (what the owner reads up to).
pub fn last_visitor_message(msgs: &[Message]) -> Option<String> {
    msgs.iter()
        .rev()
        .find(|m| m.role == MessageRole::User)
        .map(|m| m.id.clone())
}

#[component]
pub fn Inbox(bot_id: String) -> impl IntoView {
    let list = RwSignal::new(Vec::<VisitorConversation>::new());
    let open = RwSignal::new(None::<(String, String)>);
    let transcript = RwSignal::new(Vec::<Message>::new());
    let draft = RwSignal::new(String::new());
    let error = RwSignal::new(String::new());
    let mode = Memo::new(move |_| {
        let o = open.get();
        list.with(|l| {
            o.and_then(|(v, s)| {
                l.iter()
                    .find(|c| c.visitor_id == v && c.session_id == s)
                    .map(|c| c.mode)
            })
            .unwrap_or_default()
        })
    });
    let bot = StoredValue::new(bot_id.clone());

    // Reads the open transcript up to its newest visitor message.
    let mark_read = move || {
        let Some((v, s)) = open.get_untracked() else { return };
        let Some(last) = transcript.with_untracked(|t| last_visitor_message(t)) else {
            return;
        };
        let path = conv_path(&bot.get_value(), &v, &s, "read");
        leptos::task::spawn_local(async move {
            let _ = rest::post::<_, serde_json::Value>(&path, &json!({ "message_id": last })).await;
        });
    };
    // Every live event reloads the list and the open transcript. Events come
    // in bursts, and answers can arrive out of order: only the newest load of
    // each kind is applied.
    let list_gen = StoredValue::new(0u64);
    let transcript_gen = StoredValue::new(0u64);
    let load_transcript = move || {
        let Some((v, s)) = open.get_untracked() else { return };
        transcript_gen.update_value(|g| *g += 1);
        let gen = transcript_gen.get_value();
        leptos::task::spawn_local(async move {
            let Ok(t) = load_visitor_transcript(bot.get_value(), v.clone(), s.clone()).await else {
                return;
            };
            let current = open.try_get_untracked().flatten() == Some((v, s));
            if transcript_gen.try_get_value() != Some(gen) || !current {
                return;
            }
            let follow = follows_bottom();
            transcript.set(t.messages);
            if follow {
                scroll_to_bottom().await;
            }
            if visible() {
                mark_read();
            }
        });
    };
    let refresh = move || {
        list_gen.update_value(|g| *g += 1);
        let gen = list_gen.get_value();
        leptos::task::spawn_local(async move {
            if let Ok(l) = load_visitor_conversations(bot.get_value()).await {
                if list_gen.try_get_value() == Some(gen) {
                    list.set(l.conversations);
                }
            }
        });
        load_transcript();
    };
    Effect::new(move |_| refresh());
    #[cfg(feature = "hydrate")]
    {
        // Live: the bot's events stream (its visitors' events, presence, reads).
        use wasm_bindgen::closure::Closure;
        use wasm_bindgen::JsCast;
        if let Ok(es) = web_sys::EventSource::new(&format!("/api/v1/bots/{bot_id}/events")) {
            let cb = Closure::<dyn FnMut(web_sys::Event)>::new(move |_| refresh());
            for name in [
                "conversation_updated",
                "message_added",
                "stream_start",
                "complete",
                "presence",
                "read",
                "handoff",
            ] {
                let _ = es.add_event_listener_with_callback(name, cb.as_ref().unchecked_ref());
            }
            let held = send_wrapper::SendWrapper::new((es, cb));
            on_cleanup(move || {
                let (es, cb) = held.take();
                es.close();
                drop(cb);
            });
        }
        // The bot's events stream carries no tokens: while a reply in the open
        // transcript generates, it is reloaded from its checkpoints (the
        // server saves the text every second) so the owner watches it grow.
        leptos::task::spawn_local(async move {
            loop {
                crate::components::sidebar::gloo_timers_sleep(STREAM_POLL_MS).await;
                let Some(live) = transcript.try_with_untracked(|t| t.iter().any(|m| m.status.is_live())) else {
                    break; // the inbox is gone
                };
                if live {
                    load_transcript();
                }
            }
        });
    }
    let show = move |v: String, s: String| {
        open.set(Some((v, s)));
        transcript.set(Vec::new());
        load_transcript();
    };
    let set_mode = move |m: ConversationMode| {
        let Some((v, s)) = open.get_untracked() else { return };
        let path = conv_path(&bot.get_value(), &v, &s, "handoff");
        leptos::task::spawn_local(async move {
            match rest::post::<_, serde_json::Value>(&path, &json!({ "mode": m.as_str() })).await {
                Ok(_) => {
                    error.set(String::new());
                    refresh();
                }
                Err(e) => error.set(e.message),
            }
        });
    };
    // Typing: at most one `true` every 3 s while the owner types.
    let last_typing = StoredValue::new(0.0f64);
    let on_input = move |value: String| {
        draft.set(value);
        let now = js_now();
        if now - last_typing.get_value() < 3000.0 {
            return;
        }
        last_typing.set_value(now);
        let Some((v, s)) = open.get_untracked() else { return };
        let path = conv_path(&bot.get_value(), &v, &s, "typing");
        leptos::task::spawn_local(async move {
            let _ = rest::post::<_, serde_json::Value>(&path, &json!({ "is_typing": true })).await;
        });
    };
    let send = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        let text = draft.get_untracked();
        let Some((v, s)) = open.get_untracked() else { return };
        if text.trim().is_empty() {
            return;
        }
        let path = conv_path(&bot.get_value(), &v, &s, "messages");
        let client_id = format!("op-{}", js_now() as u64);
        last_typing.set_value(0.0);
        leptos::task::spawn_local(async move {
            match rest::post::<_, Message>(&path, &json!({ "message": text, "client_id": client_id })).await {
                Ok(_) => {
                    draft.set(String::new());
                    error.set(String::new());
                    refresh();
                }
                Err(e) => error.set(e.message),
            }
        });
    };

    view! {
        <section class="card visitors inbox" id="inbox">
            <h2>"Inbox"</h2>
            <Show when=move || list.with(Vec::is_empty) fallback=|| ()>
                <p class="muted">"No visitor has written yet. Paste the snippet into your site to start."</p>
            </Show>
            <div class="visitor-grid">
                <ul class="visitor-list" id="visitor-conversations">
                    <For each=move || list.get() key=|c| (c.visitor_id.clone(), c.session_id.clone(), c.updated_at.clone(), c.unread_count, c.visitor_status, c.mode) let:c>
                        {
                            let (v, s) = (c.visitor_id.clone(), c.session_id.clone());
                            let (v2, s2) = (v.clone(), s.clone());
                            let selected = move || open.get().is_some_and(|(a, b)| a == v2 && b == s2);
                            let label = presence_label(&c);
                            view! {
                                <li>
                                    <button type="button" class="visitor-item" class:selected=selected
                                        data-session-id=c.session_id.clone() data-presence=c.visitor_status.as_str()
                                        data-mode=c.mode.as_str() data-unread=c.unread_count.to_string()
                                        on:click=move |_| show(v.clone(), s.clone())>
                                        <span class="conv-title">
                                            <i class="presence-dot" title=label.clone() aria-label=label.clone()></i>
                                            {c.title.clone()}
                                            {(c.mode == ConversationMode::Human).then(|| view! { <span class="tag">"you"</span> })}
                                            {(c.unread_count > 0).then(|| view! { <span class="unread" aria-label="unread">{c.unread_count}</span> })}
                                        </span>
                                        <span class="conv-preview">{c.last_message_preview.clone().unwrap_or_default()}</span>
                                        <span class="conv-presence muted">{label}</span>
                                    </button>
                                </li>
                            }
                        }
                    </For>
                </ul>
                <div class="inbox-pane">
                    <Show when=move || open.get().is_some() fallback=|| view! { <p class="muted">"Pick a conversation."</p> }>
                        <div class="inbox-bar">
                            <span class="muted" id="inbox-mode">{move || match mode.get() {
                                ConversationMode::Human => "You are answering",
                                ConversationMode::Ai => "The assistant is answering",
                            }}</span>
                            {move || match mode.get() {
                                ConversationMode::Ai => view! {
                                    <button type="button" class="btn primary" id="take-over" on:click=move |_| set_mode(ConversationMode::Human)>"Take over"</button>
                                }.into_any(),
                                ConversationMode::Human => view! {
                                    <button type="button" class="btn" id="hand-back" on:click=move |_| set_mode(ConversationMode::Ai)>"Hand back"</button>
                                }.into_any(),
                            }}
                        </div>
                    </Show>
                    <div class="transcript" id="transcript">
                        <For each=move || transcript.get() key=|m| (m.id.clone(), m.content.len(), m.status, m.feedback.clone().map(|f| f.rating)) let:m>
                            <TranscriptMessage m/>
                        </For>
                    </div>
                    <Show when=move || open.get().is_some() fallback=|| ()>
                        <form class="inbox-composer" on:submit=send>
                            <textarea id="operator-input" rows="2" placeholder="Write to the visitor…"
                                prop:value=move || draft.get() on:input=move |ev| on_input(event_target_value(&ev))></textarea>
                            <button type="submit" class="btn primary" id="operator-send">"Send"</button>
                        </form>
                        <span class="error" role="alert">{move || error.get()}</span>
                    </Show>
                </div>
            </div>
        </section>
    }
}

#[component]
fn TranscriptMessage(m: Message) -> impl IntoView {
    let author = m
        .metadata
        .pointer("/author/name")
        .and_then(|n| n.as_str())
        .map(str::to_string);
    let feedback = m.feedback.clone().map(|f| {
        let thumb = match f.rating {
            Rating::Up => "Rated good",
            Rating::Down => "Rated bad",
        };
        let text = match f.comment {
            Some(c) => format!("{thumb}: {c}"),
            None => thumb.to_string(),
        };
        view! { <div class="feedback" data-rating=f.rating.as_str()>{text}</div> }
    });
    let streaming = m.status.is_live();
    view! {
        <div class="msg" class:user=m.role == MessageRole::User data-role=m.role.as_str()
            data-message-id=m.id.clone() data-streaming=streaming.then_some("true")>
            <div class="bubble">
                {author.map(|a| view! { <div class="author">{a}</div> })}
                {if m.role == MessageRole::User {
                    view! { <div class="plain">{m.content.clone()}</div> }.into_any()
                } else {
                    view! { <div class="md" inner_html=markdown::to_html(&m.content)></div> }.into_any()
                }}
                {feedback}
            </div>
        </div>
    }
}

fn js_now() -> f64 {
    #[cfg(feature = "hydrate")]
    {
        js_sys::Date::now()
    }
    #[cfg(not(feature = "hydrate"))]
    {
        0.0
    }
}

/// Whether the transcript shows its end (or is empty): then it keeps
/// following what arrives; an owner reading older messages is left there.
fn follows_bottom() -> bool {
    #[cfg(feature = "hydrate")]
    {
        document().get_element_by_id("transcript").is_none_or(|el| {
            el.scroll_height() - el.scroll_top() - el.client_height() < 80 || el.child_element_count() == 0
        })
    }
    #[cfg(not(feature = "hydrate"))]
    {
        false
    }
}

/// Scrolls the transcript to its end once the new messages are drawn.
async fn scroll_to_bottom() {
    crate::components::sidebar::gloo_timers_sleep(30).await;
    #[cfg(feature = "hydrate")]
    if let Some(el) = document().get_element_by_id("transcript") {
        el.set_scroll_top(el.scroll_height());
    }
}

/// Whether the tab is visible (reads count only then).
fn visible() -> bool {
    #[cfg(feature = "hydrate")]
    {
        web_sys::window()
            .and_then(|w| w.document())
            .is_some_and(|d| !d.hidden())
    }
    #[cfg(not(feature = "hydrate"))]
    {
        false
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn item(status: PresenceStatus, seen: Option<&str>) -> VisitorConversation {
        VisitorConversation {
            visitor_id: "v".into(),
            session_id: "s".into(),
            title: "t".into(),
            updated_at: String::new(),
            last_message_preview: None,
            unread_count: 0,
            mode: ConversationMode::Ai,
            visitor_status: status,
            last_seen_at: seen.map(str::to_string),
        }
    }

    #[test]
    fn presence_labels() {
        assert_eq!(presence_label(&item(PresenceStatus::Online, None)), "online");
        assert_eq!(presence_label(&item(PresenceStatus::Away, None)), "away");
        assert_eq!(
            presence_label(&item(PresenceStatus::Offline, Some("2026-11-30T01:02:03.000000Z"))),
            "offline, last seen 01:02 UTC"
        );
        assert_eq!(presence_label(&item(PresenceStatus::Offline, None)), "offline");
    }

    #[test]
    fn reads_up_to_the_newest_visitor_message() {
        let msg = |id: &str, role| Message {
            id: id.into(),
            session_id: "s".into(),
            role,
            content: String::new(),
            status: protocol::objects::MessageStatus::Complete,
            client_id: None,
            created_at: String::new(),
            reply_id: None,
            metadata: serde_json::Value::Null,
            read_at: None,
            feedback: None,
        };
        let t = vec![
            msg("a", MessageRole::User),
            msg("b", MessageRole::User),
            msg("c", MessageRole::Operator),
        ];
        assert_eq!(last_visitor_message(&t).as_deref(), Some("b"));
        assert_eq!(last_visitor_message(&t[2..]), None);
    }
}
