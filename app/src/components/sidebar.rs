//! The conversation list: newest activity first, live across tabs, paged as you
//! scroll, with search; each row renames and deletes ([`super::conversation_row`]),
//! the foot holds the account ([`super::account`]).

use leptos::prelude::*;

use super::account::AccountFoot;
use super::conversation_row::ConversationRow;
use crate::dates::{group_conversations, Clock, DateGroup};
use crate::server_fns::load_conversations;
use crate::store::Store;

/// How far from the list's end (px) the next page starts loading.
const LOAD_MORE_PX: i32 = 120;
/// How long typing must pause (ms) before a search runs.
const SEARCH_DEBOUNCE_MS: u32 = 250;

#[component]
pub fn Sidebar(store: Store, open: RwSignal<bool>) -> impl IntoView {
    let loading_more = RwSignal::new(false);
    let search_gen = StoredValue::new(0u64);
    let on_scroll = move |ev: leptos::ev::Event| {
        let el = event_target::<web_sys::HtmlElement>(&ev);
        if el.scroll_height() - el.scroll_top() - el.client_height() < LOAD_MORE_PX {
            load_more(store, loading_more);
        }
    };
    let on_search = move |ev: leptos::ev::Event| search(store, search_gen, event_target_value(&ev));
    let clock = day_clock();
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
                    <ConversationGroup store groups group=group.0/>
                </For>
                <Show when=move || store.conversations.with(Vec::is_empty)>
                    <li class="empty muted">{move || if store.query.get().is_empty() { "No conversations yet." } else { "Nothing found." }}</li>
                </Show>
                <Show when=move || loading_more.get()>
                    <li class="muted loading-more">"Loading…"</li>
                </Show>
            </ul>
            <AccountFoot store/>
        </nav>
    }
}

/// The conversations of one day group (`None`: the server's ungrouped list).
#[component]
fn ConversationGroup(
    store: Store,
    groups: Memo<Vec<(Option<DateGroup>, Vec<protocol::objects::Conversation>)>>,
    group: Option<DateGroup>,
) -> impl IntoView {
    let key = group.as_ref().map_or_else(|| "all".to_string(), DateGroup::key);
    let heading = group.as_ref().map(|g| format!("conv-day-{}", g.key()));
    let label = group.as_ref().map(DateGroup::label);
    let rows = move || {
        groups.with(|gs| {
            gs.iter()
                .find(|(x, _)| *x == group)
                .map(|(_, v)| v.clone())
                .unwrap_or_default()
        })
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

/// The reader's clock for grouping by day. Grouping needs the reader's clock
/// and time zone: the server renders one ungrouped list (`None`), the browser
/// groups it once hydrated (and again each minute, so "Today" moves on at
/// midnight).
fn day_clock() -> RwSignal<Option<Clock>> {
    let clock = RwSignal::new(None::<Clock>);
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
    clock
}

/// Loads the next page of the list (of the search, when searching), once at a time.
fn load_more(store: Store, loading_more: RwSignal<bool>) {
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
}

/// Searches the conversations for `q` (all of them when blank); debounced:
/// only the latest keystroke's search runs and shows.
fn search(store: Store, search_gen: StoredValue<u64>, q: String) {
    store.query.set(q.clone());
    search_gen.update_value(|g| *g += 1);
    let gen = search_gen.get_value();
    leptos::task::spawn_local(async move {
        crate::timers::sleep_ms(SEARCH_DEBOUNCE_MS).await;
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
}
