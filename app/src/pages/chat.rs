//! `/` and `/c/{session_id}`: the chat. The server renders the conversation's
//! latest page; the browser then hydrates it and goes live.

use leptos::prelude::*;
use leptos_router::components::Outlet;
use leptos_router::hooks::use_location;
use leptos_router::location::Url;
use serde::{Deserialize, Serialize};

use protocol::objects::Bot;
use protocol::rest::ConversationList;

use crate::components::composer::Composer;
use crate::components::connection::ConnectionIndicator;
use crate::components::export::ExportMenu;
use crate::components::messages::MessageList;
use crate::components::sidebar::Sidebar;
use crate::server_fns::{get_session, load_bots, load_conversations};
use crate::store::Store;

/// The conversation a route shows.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Opened {
    pub session_id: Option<String>,
    pub bot_id: Option<String>,
    pub title: Option<String>,
    pub page: Option<protocol::rest::MessageList>,
}

/// `/` shows the latest conversation (or a new chat); `/c/{id}` that one;
/// `/?new` a new chat.
#[server]
pub async fn open_conversation(id: Option<String>, new: bool) -> Result<Opened, ServerFnError> {
    let (engine, who) = crate::server_fns::server::required().await?;
    let id = match (id, new) {
        (Some(id), _) => Some(id),
        (None, true) => None,
        (None, false) => engine
            .conversations
            .list(&who, 1, None, None)
            .await
            .ok()
            .and_then(|l| l.conversations.into_iter().next())
            .map(|c| c.id),
    };
    let Some(id) = id else {
        return Ok(Opened {
            session_id: None,
            bot_id: None,
            title: None,
            page: None,
        });
    };
    let conv = engine.conversations.get(&who, &id).await.ok();
    let page = match &conv {
        Some(_) => engine.conversations.messages(&who, &id, 40, None).await.ok(),
        None => None,
    };
    Ok(Opened {
        session_id: Some(id),
        bot_id: conv.as_ref().map(|c| c.bot_id.clone()),
        title: conv.map(|c| c.title),
        page,
    })
}

#[component]
pub fn ChatPage() -> impl IntoView {
    let store = Store::expect();
    // Known already after the first route of this page: no second fetch, no
    // "Loading…" flash when `/?new` becomes `/c/{id}`.
    let session = Resource::new(
        || (),
        move |_| {
            let known = store.session.get_untracked();
            async move {
                match known {
                    Some(s) => Ok(Some(s)),
                    None => get_session().await,
                }
            }
        },
    );
    view! {
        <Suspense fallback=|| view! { <div class="boot">"Loading…"</div> }>
            {move || Suspend::new(async move {
                match session.await {
                    Ok(Some(s)) => {
                        store.session.set(Some(s));
                        view! { <ChatLayout store/> }.into_any()
                    }
                    _ => super::to_login(),
                }
            })}
        </Suspense>
    }
}

/// The conversation a chat path names: `/c/{id}` → `id` (decoded), `/` → none.
fn conversation_in(path: &str) -> Option<String> {
    path.strip_prefix("/c/")
        .map(|id| id.trim_end_matches('/'))
        .filter(|id| !id.is_empty())
        .map(Url::unescape)
}

/// The drawer's toggle on phones (it gets the focus back when the drawer closes).
type MenuRef = NodeRef<leptos::html::Button>;

#[component]
fn ChatLayout(store: Store) -> impl IntoView {
    let sidebar_open = RwSignal::new(false);
    let convs = conversations_resource(store);
    let bots = bots_resource(store);
    let opened = opened_resource(store);
    Effect::new(move |_| crate::live::start(store));
    // Read receipts (§9.3): the open conversation is read while it is on
    // screen in a visible tab; runs again as its unread count changes.
    Effect::new(move |_| {
        store.current.track();
        store.conversations.track();
        store.grew.track();
        crate::actions::read_if_unread(store);
    });
    // The phone drawer: Escape closes it and gives the focus back to its
    // toggle; opening it moves the focus into it (issue 17, fault 8).
    let menu_ref = MenuRef::new();
    let on_keydown = move |ev: leptos::ev::KeyboardEvent| {
        // An inner control that used Escape itself (renaming a chat, the
        // sign-out warning) marks it handled: the drawer stays open.
        if ev.key() == "Escape" && !ev.default_prevented() && sidebar_open.get_untracked() {
            close_drawer(sidebar_open, menu_ref);
        }
    };
    view! {
        <div class="app" class:sidebar-open=move || sidebar_open.get() on:keydown=on_keydown>
            // `target="_self"`: the router leaves the link alone (it would push
            // `#composer-input` as a navigation and only scroll); the click
            // moves the focus itself, so Enter on the link lands in the box.
            <a class="skip-link" href="#composer-input" target="_self" on:click=skip_to_composer>"Skip to the message box"</a>
            <Suspense fallback=|| ()>
                {move || Suspend::new(async move {
                    keep_lists(store, convs.await, bots.await);
                    view! { <Sidebar store open=sidebar_open/> }
                })}
            </Suspense>
            <div class="scrim" on:click=move |_| close_drawer(sidebar_open, menu_ref)></div>
            <main class="pane">
                // Everything that depends on the open conversation renders once it
                // is loaded, so the server's HTML and the hydrated page agree.
                <Suspense fallback=|| view! { <div class="messages"></div> }>
                    {move || Suspend::new(async move {
                        // The bot picker lists the bots: they must be there on the
                        // server and in the first browser render alike.
                        if let Ok(b) = bots.await {
                            store.bots.set(b);
                        }
                        let fresh = opened.await.unwrap_or(Some(Opened { session_id: None, bot_id: None, title: None, page: None }));
                        let o = show_opened(store, fresh.clone());
                        sidebar_open.try_set(false);
                        let exists = o.page.is_some() || (fresh.is_none() && store.current_exists.get_untracked());
                        view! {
                            <TopBar store title=o.title.clone() bot_id=o.bot_id.clone() exists sidebar_open menu_ref/>
                            <DemoNote store/>
                            <MessageList store/>
                            <AfterOpen store exists=exists && fresh.is_some() fresh=fresh.is_some()/>
                        }
                    })}
                </Suspense>
                <Composer store/>
                <div class="sr-only" aria-live="polite" aria-atomic="true" id="announcer">{move || store.announce.get()}</div>
            </main>
            // The child routes (`/`, `/c/:id`) render nothing of their own.
            <Outlet/>
        </div>
    }
}

/// The conversation list, loaded once per page; after a route change the
/// store's live copies are used.
fn conversations_resource(store: Store) -> Resource<Result<ConversationList, ServerFnError>> {
    Resource::new(
        || (),
        move |_| {
            let kept = store.list_loaded.get_untracked().then(|| ConversationList {
                conversations: store.conversations.get_untracked(),
                next_cursor: store.next_cursor.get_untracked(),
            });
            async move {
                match kept {
                    Some(list) => Ok(list),
                    None => load_conversations(None, None).await,
                }
            }
        },
    )
}

/// The bots, loaded once per page like the list.
fn bots_resource(store: Store) -> Resource<Result<Vec<Bot>, ServerFnError>> {
    Resource::new(
        || (),
        move |_| {
            let kept = store.list_loaded.get_untracked().then(|| store.bots.get_untracked());
            async move {
                match kept {
                    Some(b) => Ok(b),
                    None => load_bots().await,
                }
            }
        },
    )
}

/// The conversation the route names, loaded; `None`: the store already shows
/// it (a new chat that just got its id, so `/?new` became `/c/{id}`):
/// nothing to load, nothing on the page is rebuilt. A route change to the
/// one the store already shows keeps the previous value; the third field
/// counts loads, so a later "+ New chat" still loads.
fn opened_resource(store: Store) -> Resource<Result<Option<Opened>, ServerFnError>> {
    let location = use_location();
    let wanted = Memo::new(move |prev: Option<&(Option<String>, bool, u64)>| {
        let id = conversation_in(&location.pathname.read());
        let new = location.query.read().get("new").is_some();
        match prev {
            Some(p) if id.is_some() && id == store.current.get_untracked() => p.clone(),
            _ => (id, new, prev.map_or(0, |p| p.2 + 1)),
        }
    });
    Resource::new(
        move || wanted.get(),
        move |(id, new, _)| {
            let shown = id.is_some() && store.current.get_untracked() == id;
            async move {
                if shown {
                    return Ok(None);
                }
                open_conversation(id, new).await.map(Some)
            }
        },
    )
}

/// Keeps the loaded list and bots in the store. Loaded once per page:
/// afterwards live events keep the list current, and a route change must not
/// replace it with an older copy (a new chat's row could vanish).
fn keep_lists(store: Store, list: Result<ConversationList, ServerFnError>, bots: Result<Vec<Bot>, ServerFnError>) {
    if let (Ok(list), false) = (list, store.list_loaded.get_untracked()) {
        store.conversations.set(list.conversations);
        store.next_cursor.set(list.next_cursor);
    }
    if let Ok(b) = bots {
        if store.selected_bot.get_untracked().is_none() {
            store.selected_bot.set(b.first().map(|b| b.id.clone()));
        }
        store.bots.set(b);
    }
    store.list_loaded.set(true);
}

/// Shows a freshly loaded conversation (`Some`), or describes the one the
/// store already shows (`None`).
fn show_opened(store: Store, fresh: Option<Opened>) -> Opened {
    match fresh {
        Some(o) => {
            store.open(o.session_id.clone(), o.page.clone());
            o
        }
        None => Opened {
            session_id: store.current.get_untracked(),
            bot_id: store.selected_bot.get_untracked(),
            title: None,
            page: None,
        },
    }
}

/// Closes the phone drawer and gives the focus back to its toggle.
fn close_drawer(sidebar_open: RwSignal<bool>, menu_ref: MenuRef) {
    sidebar_open.set(false);
    if let Some(b) = menu_ref.get_untracked() {
        let _ = b.focus();
    }
}

/// Moves the focus into an element by id (browser only).
fn focus_by_id(id: &str) {
    #[cfg(feature = "hydrate")]
    if let Some(el) = document().get_element_by_id(id) {
        use wasm_bindgen::JsCast;
        if let Ok(el) = el.dyn_into::<web_sys::HtmlElement>() {
            let _ = el.focus();
        }
    }
    #[cfg(not(feature = "hydrate"))]
    let _ = id;
}

fn skip_to_composer(ev: leptos::ev::MouseEvent) {
    ev.prevent_default();
    focus_by_id("composer-input");
}

/// The conversation's bar: the drawer's toggle, the live title, the bot,
/// export and the connection.
#[component]
fn TopBar(
    store: Store,
    title: Option<String>,
    bot_id: Option<String>,
    exists: bool,
    sidebar_open: RwSignal<bool>,
    menu_ref: MenuRef,
) -> impl IntoView {
    let toggle_drawer = move |_| {
        let open = !sidebar_open.get_untracked();
        sidebar_open.set(open);
        if open {
            focus_by_id("new-chat");
        }
    };
    let fallback = title.unwrap_or_else(|| "New chat".into());
    // Live: renames and the first message's title arrive as conversation_updated.
    let title = move || {
        let current = store.current.get();
        store
            .conversations
            .with(|v| {
                v.iter()
                    .find(|c| Some(&c.id) == current.as_ref())
                    .map(|c| c.title.clone())
            })
            .unwrap_or_else(|| fallback.clone())
    };
    view! {
        <header class="topbar">
            <button type="button" class="icon-btn menu" aria-label="Conversation list" node_ref=menu_ref
                aria-controls="sidebar" aria-expanded=move || sidebar_open.get().to_string()
                on:click=toggle_drawer>
                <span class="burger" aria-hidden="true"></span>
            </button>
            <h1 class="title" id="conversation-title">{title}</h1>
            <BotPicker store exists bot_of_conversation=bot_id/>
            <ExportMenu store/>
            <ConnectionIndicator store/>
        </header>
    }
}

/// Runs once a conversation is loaded, in the browser: its unsent messages come
/// back from the outbox and, when connected, it is joined and its replies still
/// streaming are resumed from what the page shows. Nothing to do when the route
/// changed to a conversation the store already showed (`fresh` false).
#[component]
fn AfterOpen(store: Store, exists: bool, fresh: bool) -> impl IntoView {
    Effect::new(move |_| {
        if fresh {
            store.restore_outbox();
        }
        if exists {
            crate::actions::on_open(store);
        }
    });
}

/// Which bot a new chat talks to; an existing conversation shows its bot.
#[component]
fn BotPicker(store: Store, exists: bool, bot_of_conversation: Option<String>) -> impl IntoView {
    let bot_name = move |id: &str| {
        store
            .bots
            .with_untracked(|b| b.iter().find(|x| x.id == id).map(|x| x.name.clone()))
    };
    view! {
        {move || {
            if exists || store.current_exists.get() {
                let name = bot_of_conversation.clone().and_then(|id| bot_name(&id)).unwrap_or_else(|| "Assistant".into());
                view! { <span class="bot-tag" title="The bot of this conversation">{name}</span> }.into_any()
            } else {
                view! {
                    <label class="bot-picker">
                        <span class="sr-only">"Bot"</span>
                        <select id="bot-picker" on:change=move |ev| store.selected_bot.set(Some(event_target_value(&ev)))
                            prop:value=move || store.selected_bot.get().unwrap_or_default()>
                            <For each=move || store.bots.get() key=|b| b.id.clone() let:b>
                                <option value=b.id.clone()>{b.name.clone()}</option>
                            </For>
                        </select>
                    </label>
                }
                .into_any()
            }
        }}
    }
}

/// Says so when the server runs the built-in demo model, and how to use a real
/// one. It can be dismissed; the connection indicator keeps saying "demo".
#[component]
fn DemoNote(store: Store) -> impl IntoView {
    let hidden = RwSignal::new(false);
    let demo = move || {
        // `try_`: see the connection indicator; a note being removed stays hidden.
        !hidden.try_get().unwrap_or(true)
            && store
                .session
                .with(|s| s.as_ref().is_some_and(|s| s.info.provider == "demo"))
    };
    view! {
        <Show when=demo>
            <div class="demo-note" role="note" id="demo-note">
                <span><strong>"Demo model."</strong>" Replies are canned so you can try Brook offline. For a real model set "
                <code>"OPENAI_API_KEY"</code>" (or "<code>"OPENAI_BASE_URL"</code>" for Ollama, vLLM or any OpenAI-compatible server) and restart Brook."</span>
                <button type="button" class="icon-btn" aria-label="Hide this note" on:click=move |_| hidden.set(true)>"×"</button>
            </div>
        </Show>
    }
}
