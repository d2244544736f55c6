//! `/bots`: create and edit bots (name, system prompt, model, temperature,
//! greeting), their widget (enabled, allowed origins, theme), the paste-able
//! snippet, and the conversations the bot's website visitors have, live.

use leptos::prelude::*;
use protocol::objects::Bot;
use serde_json::json;

use crate::pages::inbox::Inbox;
use crate::rest;
use crate::server_fns::{get_session, load_bots, public_url, Session};

#[component]
pub fn BotsPage() -> impl IntoView {
    let session = Resource::new(|| (), |_| get_session());
    let bots = Resource::new(|| (), |_| load_bots());
    let base = Resource::new(|| (), |_| public_url());
    view! {
        <Suspense fallback=|| view! { <div class="boot">"Loading…"</div> }>
            {move || Suspend::new(async move {
                let Ok(Some(s)) = session.await else {
                    return super::to_login();
                };
                let list = bots.await.unwrap_or_default();
                let base = base.await.unwrap_or_default();
                view! { <BotsView session=s bots=list base/> }.into_any()
            })}
        </Suspense>
    }
}

#[component]
fn BotsView(session: Session, bots: Vec<Bot>, base: String) -> impl IntoView {
    let bots = RwSignal::new(bots);
    let selected = RwSignal::new(bots.with_untracked(|b| b.first().map(|b| b.id.clone())));
    let models = session.info.models.clone();
    let new_name = RwSignal::new(String::new());
    let error = RwSignal::new(None::<String>);
    let create = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        let name = new_name.get_untracked();
        if name.trim().is_empty() {
            return;
        }
        leptos::task::spawn_local(async move {
            match rest::post::<_, Bot>("/api/v1/bots", &json!({"name": name})).await {
                Ok(Some(b)) => {
                    selected.set(Some(b.id.clone()));
                    bots.update(|v| v.push(b));
                    new_name.set(String::new());
                    error.set(None);
                }
                Ok(None) => {}
                Err(e) => error.set(Some(e.message)),
            }
        });
    };
    view! {
        <div class="page bots-page">
            <header class="page-head">
                <a class="brand" href="/"><span class="logo" aria-hidden="true"></span>"Brook"</a>
                <h1>"Bots"</h1>
                <a class="btn" href="/">"← Back to chats"</a>
            </header>
            <main class="bots-layout">
                <aside class="bot-list">
                    <ul>
                        <For each=move || bots.get() key=|b| (b.id.clone(), b.name.clone()) let:b>
                            {
                                let id = b.id.clone();
                                let id2 = b.id.clone();
                                view! {
                                    <li>
                                        <button type="button" class="bot-item" class:active=move || selected.get().as_deref() == Some(id.as_str())
                                            on:click=move |_| selected.set(Some(id2.clone()))>
                                            <span class="bot-name">{b.name.clone()}</span>
                                            <span class="muted small">{b.model.clone()}{if b.widget.enabled { " · widget on" } else { "" }}</span>
                                        </button>
                                    </li>
                                }
                            }
                        </For>
                    </ul>
                    <form class="new-bot" on:submit=create>
                        <label class="field">"New bot"
                            <input type="text" id="new-bot-name" placeholder="Name, e.g. Support" bind:value=new_name/>
                        </label>
                        <button type="submit" class="btn primary" id="create-bot">"Create bot"</button>
                        <p class="error" role="alert">{move || error.get()}</p>
                    </form>
                </aside>
                <section class="bot-detail">
                    {move || {
                        // Only a change of selection rebuilds the editor. Saving
                        // updates `bots` too, and rebuilding then threw away the
                        // editor's "Saved." before anyone could see it (issue 17).
                        let id = selected.get()?;
                        let bot = bots.with_untracked(|v| v.iter().find(|b| b.id == id).cloned())?;
                        Some(view! { <BotEditor bot bots selected models=models.clone() base=base.clone()/> })
                    }}
                </section>
            </main>
        </div>
    }
}

/// The editor's fields, one signal each, as the form shows them.
#[derive(Clone, Copy)]
struct BotDraft {
    name: RwSignal<String>,
    prompt: RwSignal<String>,
    model: RwSignal<String>,
    /// Unset by default: gpt-5 and o-series models refuse any temperature.
    temp_set: RwSignal<bool>,
    temperature: RwSignal<String>,
    greeting: RwSignal<String>,
    enabled: RwSignal<bool>,
    origins: RwSignal<String>,
    color: RwSignal<String>,
    position: RwSignal<String>,
    wtitle: RwSignal<String>,
}

impl BotDraft {
    fn new(bot: &Bot) -> BotDraft {
        BotDraft {
            name: RwSignal::new(bot.name.clone()),
            prompt: RwSignal::new(bot.system_prompt.clone()),
            model: RwSignal::new(bot.model.clone()),
            temp_set: RwSignal::new(bot.temperature.is_some()),
            temperature: RwSignal::new(format!("{:.1}", bot.temperature.unwrap_or(0.7))),
            greeting: RwSignal::new(bot.greeting.clone()),
            enabled: RwSignal::new(bot.widget.enabled),
            origins: RwSignal::new(bot.widget.allowed_origins.join("\n")),
            color: RwSignal::new(bot.widget.theme.color.clone()),
            position: RwSignal::new(bot.widget.theme.position.clone()),
            wtitle: RwSignal::new(bot.widget.theme.title.clone()),
        }
    }

    /// The `PATCH /api/v1/bots/{id}` body; origins one per non-empty line.
    fn body(&self) -> serde_json::Value {
        json!({
            "name": self.name.get_untracked(),
            "system_prompt": self.prompt.get_untracked(),
            "model": self.model.get_untracked(),
            "temperature": self.temp_set
                .get_untracked()
                .then(|| self.temperature.get_untracked().parse::<f32>().unwrap_or(0.7)),
            "greeting": self.greeting.get_untracked(),
            "widget": {
                "enabled": self.enabled.get_untracked(),
                "allowed_origins": self.origins.get_untracked().lines().map(str::trim).filter(|l| !l.is_empty()).collect::<Vec<_>>(),
                "theme": {"color": self.color.get_untracked(), "position": self.position.get_untracked(), "title": self.wtitle.get_untracked()},
            },
        })
    }
}

#[component]
fn BotEditor(
    bot: Bot,
    bots: RwSignal<Vec<Bot>>,
    selected: RwSignal<Option<String>>,
    models: Vec<String>,
    base: String,
) -> impl IntoView {
    let id = bot.id.clone();
    let draft = BotDraft::new(&bot);
    let name = draft.name;
    let saved = RwSignal::new(None::<String>);
    let error = RwSignal::new(None::<String>);
    let snippet = format!(
        "<script src=\"{base}/widget.js\" data-bot-key=\"{}\" async></script>",
        bot.widget.public_key
    );
    let save = {
        let id = id.clone();
        move |ev: leptos::ev::SubmitEvent| {
            ev.prevent_default();
            save_bot(id.clone(), draft.body(), bots, saved, error);
        }
    };
    // Deleting takes two steps: "Delete bot…", then a confirmation naming it.
    let confirm_delete = RwSignal::new(false);
    let mut model_options = models;
    if !model_options.contains(&bot.model) {
        model_options.push(bot.model.clone());
    }
    view! {
        <form class="card bot-form" on:submit=save>
            <h2>{move || name.get()}</h2>
            <BotFields draft model_options/>
            <WidgetSettings draft snippet saved/>
            <div class="row">
                <button type="submit" class="btn primary" id="save-bot">"Save"</button>
                <span class="saved" role="status" id="bot-saved">{move || saved.get()}</span>
                <span class="error" role="alert">{move || error.get()}</span>
                <button type="button" class="btn danger bot-delete" id="delete-bot" aria-expanded=move || confirm_delete.get().to_string()
                    on:click=move |_| { saved.set(None); confirm_delete.update(|c| *c = !*c); }>"Delete bot…"</button>
            </div>
            <ConfirmDelete id=id.clone() name bots selected confirm_delete error/>
        </form>
        <Inbox bot_id=id/>
    }
}

/// The bot's own settings: name, model, system prompt, temperature, greeting.
#[component]
fn BotFields(draft: BotDraft, model_options: Vec<String>) -> impl IntoView {
    let BotDraft {
        name,
        prompt,
        model,
        temp_set,
        temperature,
        greeting,
        ..
    } = draft;
    view! {
        <div class="grid2">
            <label class="field">"Name"<input type="text" id="bot-name" bind:value=name/></label>
            <label class="field">"Model"
                <select id="bot-model" on:change=move |ev| model.set(event_target_value(&ev)) prop:value=move || model.get()>
                    {model_options.into_iter().map(|m| view! { <option value=m.clone()>{m.clone()}</option> }).collect_view()}
                </select>
            </label>
        </div>
        <label class="field">"System prompt"<textarea id="bot-prompt" rows="4" bind:value=prompt></textarea></label>
        <div class="grid2">
            <div class="field">
                <label class="check"><input type="checkbox" id="bot-temperature-set" bind:checked=temp_set/>
                    {move || if temp_set.get() { format!(" Temperature: {}", temperature.get()) } else { " Temperature: model default".to_string() }}
                </label>
                <input type="range" id="bot-temperature" min="0" max="2" step="0.1" aria-label="Temperature"
                    bind:value=temperature prop:disabled=move || !temp_set.get()/>
            </div>
            <label class="field">"Greeting"<input type="text" id="bot-greeting" bind:value=greeting placeholder="Hi! How can I help?"/></label>
        </div>
    }
}

/// The website widget's settings and the snippet that embeds it.
#[component]
fn WidgetSettings(draft: BotDraft, snippet: String, saved: RwSignal<Option<String>>) -> impl IntoView {
    let BotDraft {
        enabled,
        origins,
        color,
        position,
        wtitle,
        ..
    } = draft;
    let copy_snippet = {
        let s = snippet.clone();
        move |_| {
            #[cfg(feature = "hydrate")]
            if let Some(w) = web_sys::window() {
                let _ = w.navigator().clipboard().write_text(&s);
            }
            #[cfg(not(feature = "hydrate"))]
            let _ = &s;
            saved.set(Some("Snippet copied.".into()));
        }
    };
    view! {
        <fieldset class="widget-settings">
            <legend>"Website widget"</legend>
            <label class="check"><input type="checkbox" id="widget-enabled" bind:checked=enabled/>" Enabled"</label>
            <label class="field">"Allowed origins (one per line, or * for any)"
                <textarea id="widget-origins" rows="3" bind:value=origins placeholder="https://www.example.com"></textarea>
            </label>
            <div class="grid3">
                <label class="field">"Color"<input type="color" id="widget-color" bind:value=color/></label>
                <label class="field">"Position"
                    <select id="widget-position" on:change=move |ev| position.set(event_target_value(&ev)) prop:value=move || position.get()>
                        <option value="right">"Right"</option>
                        <option value="left">"Left"</option>
                    </select>
                </label>
                <label class="field">"Title"<input type="text" id="widget-title" bind:value=wtitle placeholder="Chat with us"/></label>
            </div>
            <div class="snippet">
                <code id="widget-snippet">{snippet}</code>
                <button type="button" class="btn" id="copy-snippet" on:click=copy_snippet>"Copy snippet"</button>
            </div>
        </fieldset>
    }
}

/// The second step of deleting a bot: a confirmation naming it. The editor
/// goes with the bot (another one is selected); a refusal says why.
#[component]
fn ConfirmDelete(
    id: String,
    name: RwSignal<String>,
    bots: RwSignal<Vec<Bot>>,
    selected: RwSignal<Option<String>>,
    confirm_delete: RwSignal<bool>,
    error: RwSignal<Option<String>>,
) -> impl IntoView {
    let deleting = RwSignal::new(false);
    let delete = move |_| {
        let id = id.clone();
        deleting.set(true);
        leptos::task::spawn_local(async move {
            match rest::delete(&format!("/api/v1/bots/{id}")).await {
                Ok(()) => {
                    bots.update(|v| v.retain(|b| b.id != id));
                    selected.set(bots.with_untracked(|v| v.first().map(|b| b.id.clone())));
                }
                Err(e) => {
                    deleting.try_set(false);
                    confirm_delete.try_set(false);
                    let message = if e.code == "CONFLICT" {
                        "This is your default bot: it cannot be deleted.".to_string()
                    } else {
                        e.message
                    };
                    error.try_set(Some(message));
                }
            }
        });
    };
    view! {
        <Show when=move || confirm_delete.get()>
            <div class="confirm-delete" id="confirm-delete" role="group" aria-label="Confirm deleting this bot">
                <p>{move || format!("Delete “{}”? Its widget stops working on every site. This cannot be undone.", name.get())}</p>
                <div class="row">
                    <button type="button" class="btn" id="delete-bot-cancel" on:click=move |_| confirm_delete.set(false)>"Cancel"</button>
                    <button type="button" class="btn danger" id="delete-bot-confirm" on:click=delete.clone() disabled=move || deleting.get()>"Delete this bot"</button>
                </div>
            </div>
        </Show>
    }
}

/// Saves the editor (`PATCH /api/v1/bots/{id}` with `body`): the list takes
/// the stored bot and the editor says "Saved.", or shows the refusal.
fn save_bot(
    id: String,
    body: serde_json::Value,
    bots: RwSignal<Vec<Bot>>,
    saved: RwSignal<Option<String>>,
    error: RwSignal<Option<String>>,
) {
    leptos::task::spawn_local(async move {
        match rest::patch::<_, Bot>(&format!("/api/v1/bots/{id}"), &body).await {
            Ok(Some(b)) => {
                bots.update(|v| {
                    if let Some(x) = v.iter_mut().find(|x| x.id == b.id) {
                        *x = b;
                    }
                });
                error.set(None);
                saved.set(Some("Saved.".into()));
            }
            Ok(None) => {}
            Err(e) => {
                saved.set(None);
                error.set(Some(e.message));
            }
        }
    });
}
