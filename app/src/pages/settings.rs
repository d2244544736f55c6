//! `/settings`: the account's settings. Its "API keys" section creates personal
//! API keys (contract §10), shows each new key once, lists them with when they
//! were last used, and revokes them.

use leptos::prelude::*;
use protocol::keys::{ApiKey, CreatedApiKey};
use protocol::objects::Role;
use serde_json::json;

use crate::rest;
use crate::server_fns::{get_session, public_url};

/// The caller's keys, newest first (empty for guests).
#[server]
pub async fn load_api_keys() -> Result<Vec<ApiKey>, ServerFnError> {
    let (engine, who) = crate::server_fns::server::required().await?;
    engine
        .api_keys
        .list(&who)
        .await
        .map_err(crate::server_fns::server::fail)
}

#[component]
pub fn SettingsPage() -> impl IntoView {
    let session = Resource::new(|| (), |_| get_session());
    let keys = Resource::new(|| (), |_| load_api_keys());
    let base = Resource::new(|| (), |_| public_url());
    view! {
        <Suspense fallback=|| view! { <div class="boot">"Loading…"</div> }>
            {move || Suspend::new(async move {
                let Ok(Some(s)) = session.await else {
                    return super::to_login();
                };
                let list = keys.await.unwrap_or_default();
                let base = base.await.unwrap_or_default();
                view! {
                    <div class="page settings-page">
                        <header class="page-head">
                            <a class="brand" href="/"><span class="logo" aria-hidden="true"></span>"Brook"</a>
                            <h1>"Settings"</h1>
                            <a class="btn" href="/">"← Back to chats"</a>
                        </header>
                        <ApiKeys keys=list is_user={s.user.role == Role::User} base/>
                    </div>
                }
                .into_any()
            })}
        </Suspense>
    }
}

/// A time as the list shows it: `2026-11-29 21:05 UTC`.
fn when(rfc3339: &str) -> String {
    let short: String = rfc3339.chars().take(16).collect();
    format!("{} UTC", short.replace('T', " "))
}

#[component]
fn ApiKeys(keys: Vec<ApiKey>, is_user: bool, base: String) -> impl IntoView {
    let keys = RwSignal::new(keys);
    let name = RwSignal::new(String::new());
    let fresh = RwSignal::new(None::<CreatedApiKey>);
    let error = RwSignal::new(None::<String>);
    let create = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        create_key(name, keys, fresh, error);
    };
    let revoke = move |id: String| revoke_key(id, keys, fresh, error);
    view! {
        <section class="card api-keys" id="api-keys">
            <h2>"API keys"</h2>
            <p class="muted">
                "Call your bots from any OpenAI client: base URL " <code>{format!("{base}/v1")}</code>
                ", a key from here, and a bot's name or id as the model."
            </p>
            <Show when=move || is_user fallback=|| view! {
                <p class="muted" id="api-keys-guest">"Guest accounts cannot have API keys. Create an account to get one."</p>
            }>
                <form class="new-key" on:submit=create>
                    <label class="field">"Name"
                        <input type="text" id="api-key-name" maxlength="80" placeholder="e.g. laptop script" bind:value=name/>
                    </label>
                    <button type="submit" class="btn primary" id="create-api-key">"Create key"</button>
                </form>
                <NewKey fresh/>
                <p class="error" role="alert">{move || error.get()}</p>
                <table class="key-list" id="api-key-list">
                    <thead><tr><th>"Name"</th><th>"Created"</th><th>"Last used"</th><th></th></tr></thead>
                    <tbody>
                        <For each=move || keys.get() key=|k| (k.id.clone(), k.last_used_at.clone()) let:k>
                            {
                                let id = k.id.clone();
                                view! {
                                    <tr class="api-key" data-id=k.id.clone()>
                                        <td class="key-name">{k.name.clone()}</td>
                                        <td>{when(&k.created_at)}</td>
                                        <td class="last-used">{k.last_used_at.as_deref().map(when).unwrap_or_else(|| "never".into())}</td>
                                        <td><button type="button" class="btn danger revoke-key" on:click=move |_| revoke(id.clone())>"Revoke"</button></td>
                                    </tr>
                                }
                            }
                        </For>
                    </tbody>
                </table>
                <Show when=move || keys.with(Vec::is_empty)>
                    <p class="muted" id="no-api-keys">"No keys yet."</p>
                </Show>
            </Show>
        </section>
    }
}

/// A key just created, shown once with its secret, until "Done".
#[component]
fn NewKey(fresh: RwSignal<Option<CreatedApiKey>>) -> impl IntoView {
    let copy = move |_| {
        #[cfg(feature = "hydrate")]
        if let (Some(w), Some(k)) = (web_sys::window(), fresh.get_untracked()) {
            let _ = w.navigator().clipboard().write_text(&k.key);
        }
    };
    move || {
        fresh.get().map(|k| {
            view! {
                <div class="new-key-shown" id="new-api-key" role="status">
                    <p><strong>"Copy this key now."</strong>" It will not be shown again."</p>
                    <code class="key" id="new-api-key-value">{k.key.clone()}</code>
                    <div class="actions">
                        <button type="button" class="btn" id="copy-api-key" on:click=copy>"Copy"</button>
                        <button type="button" class="btn" id="hide-api-key" on:click=move |_| fresh.set(None)>"Done"</button>
                    </div>
                </div>
            }
        })
    }
}

/// Creates a key named `name` (`POST /api/v1/keys`): listed first and shown
/// once; a name is required.
fn create_key(
    name: RwSignal<String>,
    keys: RwSignal<Vec<ApiKey>>,
    fresh: RwSignal<Option<CreatedApiKey>>,
    error: RwSignal<Option<String>>,
) {
    let n = name.get_untracked();
    if n.trim().is_empty() {
        error.set(Some(
            "Give the key a name, e.g. the machine or tool that will use it.".into(),
        ));
        return;
    }
    leptos::task::spawn_local(async move {
        match rest::post::<_, CreatedApiKey>("/api/v1/keys", &json!({"name": n})).await {
            Ok(Some(k)) => {
                let listed = ApiKey {
                    id: k.id.clone(),
                    name: k.name.clone(),
                    created_at: k.created_at.clone(),
                    last_used_at: None,
                };
                keys.update(|v| v.insert(0, listed));
                fresh.set(Some(k));
                name.set(String::new());
                error.set(None);
            }
            Ok(None) => {}
            Err(e) => error.set(Some(e.message)),
        }
    });
}

/// Revokes key `id` (`DELETE /api/v1/keys/{id}`) and drops it from the list.
fn revoke_key(
    id: String,
    keys: RwSignal<Vec<ApiKey>>,
    fresh: RwSignal<Option<CreatedApiKey>>,
    error: RwSignal<Option<String>>,
) {
    leptos::task::spawn_local(async move {
        match rest::delete(&format!("/api/v1/keys/{id}")).await {
            Ok(()) => {
                keys.update(|v| v.retain(|k| k.id != id));
                fresh.update(|f| {
                    if f.as_ref().is_some_and(|k| k.id == id) {
                        *f = None;
                    }
                });
                error.set(None);
            }
            Err(e) => error.set(Some(e.message)),
        }
    });
}
