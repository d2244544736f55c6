//! The owner's inbox for one bot (contract §9): its visitors' conversations,
//! newest first and live, with each visitor's presence, unread counts and
//! mode; the transcript with the AI's replies, operator messages and visitors'
//! feedback (rating and comment); "Take over" / "Hand back"; and a composer
//! for operator messages. A reply that generates is followed token by token
//! on the owner's own connection ([`follow`]), and reloaded from its
//! checkpoints only while that fails.
//! Shown on `/bots` under the bot's settings, and usable on a phone (one
//! column there).

mod dom;
// Driven by the browser's connection only; the host tests drive it with frames.
#[cfg_attr(not(feature = "hydrate"), allow(dead_code))]
mod follow;
mod state;

use leptos::prelude::*;
use protocol::objects::{ConversationMode, Message, MessageRole, PresenceStatus, Rating, VisitorConversation};

use crate::components::bubble::StreamedMarkdown;
pub use state::last_visitor_message;
use state::InboxState;

/// How often a generating reply's text is reloaded in the open transcript
/// while it cannot be followed live (ms).
#[cfg(feature = "hydrate")]
const STREAM_POLL_MS: u32 = 700;

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

#[component]
pub fn Inbox(bot_id: String) -> impl IntoView {
    let state = InboxState::new(bot_id.clone());
    let mode = Memo::new(move |_| state.mode());
    Effect::new(move |_| state.refresh());
    watch_live(state, &bot_id);
    let InboxState {
        list,
        open,
        transcript,
        error,
        ..
    } = state;
    view! {
        <section class="card visitors inbox" id="inbox">
            <h2>"Inbox"</h2>
            <Show when=move || list.with(Vec::is_empty) fallback=|| ()>
                <p class="muted">"No visitor has written yet. Paste the snippet into your site to start."</p>
            </Show>
            <div class="visitor-grid">
                <ul class="visitor-list" id="visitor-conversations">
                    <For each=move || list.get() key=|c| (c.visitor_id.clone(), c.session_id.clone(), c.updated_at.clone(), c.unread_count, c.visitor_status, c.mode) let:c>
                        <VisitorItem state c/>
                    </For>
                </ul>
                <div class="inbox-pane">
                    <Show when=move || open.get().is_some() fallback=|| view! { <p class="muted">"Pick a conversation."</p> }>
                        <InboxBar state mode/>
                    </Show>
                    <div class="transcript" id="transcript">
                        <For each=move || transcript.get() key=|m| (m.id.clone(), m.content.len(), m.status, m.feedback.clone().map(|f| (f.rating, f.comment))) let:m>
                            <TranscriptMessage state m/>
                        </For>
                    </div>
                    <Show when=move || open.get().is_some() fallback=|| ()>
                        <OperatorComposer state/>
                        <span class="error" role="alert">{move || error.get()}</span>
                    </Show>
                </div>
            </div>
        </section>
    }
}

/// Live updates (browser only): the bot's events stream reloads the inbox; a
/// reply generating in the open transcript is followed token by token on the
/// owner's connection, and reloaded from its checkpoints only while it cannot be.
fn watch_live(state: InboxState, bot_id: &str) {
    #[cfg(feature = "hydrate")]
    {
        // Live: the bot's events stream (its visitors' events, presence, reads).
        use wasm_bindgen::closure::Closure;
        use wasm_bindgen::JsCast;
        if let Ok(es) = web_sys::EventSource::new(&format!("/api/v1/bots/{bot_id}/events")) {
            let cb = Closure::<dyn FnMut(web_sys::Event)>::new(move |_| state.refresh());
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
        follow_replies(state);
        // The fallback: while a generating reply is not followed live, it is
        // reloaded from its checkpoints (the server saves the text every second).
        leptos::task::spawn_local(async move {
            loop {
                crate::timers::sleep_ms(STREAM_POLL_MS).await;
                match state.needs_checkpoints() {
                    None => break, // the inbox is gone
                    Some(true) => state.load_transcript(),
                    Some(false) => {}
                }
            }
        });
    }
    #[cfg(not(feature = "hydrate"))]
    let _ = (state, bot_id);
}

/// The owner's own connection (the chat's `webclient`, so it reconnects and
/// falls back to SSE and polling like the chat): it `resume`s the replies of
/// the open transcript (the server lets a bot's owner follow its visitors'
/// replies; decisions.md, issue 14).
#[cfg(feature = "hydrate")]
fn follow_replies(state: InboxState) {
    use std::rc::Rc;
    use webclient::{Client, Config, ConnState};
    let client = Client::start(
        Config {
            base: String::new(),
            ws_path: "/api/v1/chat/ws".into(),
            token: None,
            upgrade_ms: 30_000,
        },
        Rc::new(move |text: &str| state.on_frame(text)),
        Rc::new(move |s: webclient::Status| {
            state.connected.try_set_value(s.state == ConnState::Connected);
        }),
        Rc::new(move || state.on_ready()),
    );
    state.client.set_value(Some(send_wrapper::SendWrapper::new(client)));
    on_cleanup(move || {
        if let Some(Some(c)) = state.client.try_update_value(Option::take) {
            c.take().stop();
        }
    });
}

/// One visitor conversation in the list: title, presence, mode, unread.
#[component]
fn VisitorItem(state: InboxState, c: VisitorConversation) -> impl IntoView {
    let (v, s) = (c.visitor_id.clone(), c.session_id.clone());
    let (v2, s2) = (v.clone(), s.clone());
    let selected = move || state.open.get().is_some_and(|(a, b)| a == v2 && b == s2);
    let label = presence_label(&c);
    view! {
        <li>
            <button type="button" class="visitor-item" class:selected=selected
                data-session-id=c.session_id.clone() data-presence=c.visitor_status.as_str()
                data-mode=c.mode.as_str() data-unread=c.unread_count.to_string()
                on:click=move |_| state.show(v.clone(), s.clone())>
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

/// Who answers the open conversation, and the button that changes it.
#[component]
fn InboxBar(state: InboxState, mode: Memo<ConversationMode>) -> impl IntoView {
    view! {
        <div class="inbox-bar">
            <span class="muted" id="inbox-mode">{move || match mode.get() {
                ConversationMode::Human => "You are answering",
                ConversationMode::Ai => "The assistant is answering",
            }}</span>
            {move || match mode.get() {
                ConversationMode::Ai => view! {
                    <button type="button" class="btn primary" id="take-over" on:click=move |_| state.set_mode(ConversationMode::Human)>"Take over"</button>
                }.into_any(),
                ConversationMode::Human => view! {
                    <button type="button" class="btn" id="hand-back" on:click=move |_| state.set_mode(ConversationMode::Ai)>"Hand back"</button>
                }.into_any(),
            }}
        </div>
    }
}

/// The owner's message box for the open conversation.
#[component]
fn OperatorComposer(state: InboxState) -> impl IntoView {
    let send = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        state.send();
    };
    view! {
        <form class="inbox-composer" on:submit=send>
            <textarea id="operator-input" rows="2" placeholder="Write to the visitor…"
                prop:value=move || state.draft.get() on:input=move |ev| state.on_input(event_target_value(&ev))></textarea>
            <button type="submit" class="btn primary" id="operator-send">"Send"</button>
        </form>
    }
}

/// One message of the transcript. A reply followed live shows the text of
/// [`follow::Follow`], through the chat bubble's streaming markdown path.
#[component]
fn TranscriptMessage(state: InboxState, m: Message) -> impl IntoView {
    let author = m
        .metadata
        .pointer("/author/name")
        .and_then(|n| n.as_str())
        .map(str::to_string);
    let feedback = m.feedback.clone().map(|f| {
        let thumb = match f.rating {
            Rating::Up => "The visitor rated this good",
            Rating::Down => "The visitor rated this bad",
        };
        view! {
            <div class="feedback" data-rating=f.rating.as_str()>
                <span class="feedback-rating">{thumb}</span>
                {f.comment.map(|c| view! { <q class="feedback-comment-text">{c}</q> })}
            </div>
        }
    });
    let was_live = m.status.is_live();
    let id = StoredValue::new(m.id.clone());
    let live = Signal::derive(move || {
        state.tick.track();
        was_live && !id.with_value(|id| state.follow.try_with_value(|f| f.finished(id)).unwrap_or(true))
    });
    let body = match m.role {
        MessageRole::User => view! { <div class="plain">{m.content.clone()}</div> }.into_any(),
        _ if !was_live => view! { <div class="md" inner_html=markdown::to_html(&m.content)></div> }.into_any(),
        _ => {
            let content = m.content.clone();
            let text = Signal::derive(move || {
                state.tick.track();
                id.with_value(|id| state.follow.try_with_value(|f| f.text(id).map(str::to_string)))
                    .flatten()
                    .unwrap_or_else(|| content.clone())
            });
            view! { <StreamedMarkdown text live/> }.into_any()
        }
    };
    view! {
        <div class="msg" class:user=m.role == MessageRole::User data-role=m.role.as_str()
            data-message-id=m.id.clone() data-streaming=move || live.get().then_some("true")>
            <div class="bubble">
                {author.map(|a| view! { <div class="author">{a}</div> })}
                {body}
                {feedback}
            </div>
        </div>
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
