//! `/login`: sign in, sign up, or continue as a guest.

use leptos::prelude::*;
use leptos_router::components::Redirect;
use protocol::rest::AuthResponse;
use serde_json::json;

use crate::rest;
use crate::server_fns::{get_session, guests_allowed};

#[derive(Clone, Copy, PartialEq, Eq)]
enum Tab {
    SignIn,
    SignUp,
}

fn go_home() {
    #[cfg(feature = "hydrate")]
    if let Some(w) = web_sys::window() {
        let _ = w.location().set_href("/");
    }
}

#[component]
pub fn LoginPage() -> impl IntoView {
    let session = Resource::new(|| (), |_| get_session());
    let guests = Resource::new(|| (), |_| guests_allowed());
    view! {
        <Suspense fallback=|| ()>
            {move || Suspend::new(async move {
                let signed_in = matches!(session.await, Ok(Some(_)));
                let guests = guests.await.unwrap_or(true);
                if signed_in {
                    #[cfg(feature = "ssr")]
                    leptos_axum::redirect("/");
                    view! { <Redirect path="/"/> }.into_any()
                } else {
                    view! { <LoginForm guests/> }.into_any()
                }
            })}
        </Suspense>
    }
}

#[component]
fn LoginForm(guests: bool) -> impl IntoView {
    let tab = RwSignal::new(Tab::SignIn);
    let email = RwSignal::new(String::new());
    let password = RwSignal::new(String::new());
    let name = RwSignal::new(String::new());
    let error = RwSignal::new(None::<String>);
    let busy = RwSignal::new(false);

    let submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        if busy.get_untracked() {
            return;
        }
        busy.set(true);
        error.set(None);
        let (url, body) = match tab.get_untracked() {
            Tab::SignIn => (
                "/api/v1/auth/login",
                json!({"email": email.get_untracked(), "password": password.get_untracked()}),
            ),
            Tab::SignUp => (
                "/api/v1/auth/register",
                json!({"email": email.get_untracked(), "password": password.get_untracked(), "name": name.get_untracked()}),
            ),
        };
        authenticate(url, body, error, busy);
    };
    let guest = move |_| {
        busy.set(true);
        error.set(None);
        authenticate("/api/v1/auth/guest", json!({}), error, busy);
    };

    view! {
        <main class="center-page login">
            <div class="card narrow">
                <h1 class="brand big"><span class="logo" aria-hidden="true"></span>"Brook"</h1>
                <p class="muted tagline">"Chat with AI, in real time."</p>
                <AuthTabs tab error/>
                <form class="stack" on:submit=submit>
                    <Show when=move || tab.get() == Tab::SignUp>
                        <label class="field">"Name"
                            <input type="text" name="name" autocomplete="name" bind:value=name placeholder="Ada Lovelace"/>
                        </label>
                    </Show>
                    <label class="field">"Email"
                        <input type="email" name="email" autocomplete="email" required bind:value=email placeholder="you@example.com"/>
                    </label>
                    <label class="field">"Password"
                        <input type="password" name="password" required minlength="8" bind:value=password
                            autocomplete=move || if tab.get() == Tab::SignUp { "new-password" } else { "current-password" }
                            placeholder=move || if tab.get() == Tab::SignUp { "At least 8 characters" } else { "" }/>
                    </label>
                    <p class="error" role="alert">{move || error.get()}</p>
                    <button type="submit" id="auth-submit" class="btn primary wide" disabled=move || busy.get()>
                        {move || if tab.get() == Tab::SignIn { "Sign in" } else { "Create account" }}
                    </button>
                </form>
                <Show when=move || guests>
                    <div class="divider"><span>"or"</span></div>
                    <button type="button" id="guest" class="btn wide" on:click=guest disabled=move || busy.get()>"Continue as guest"</button>
                </Show>
            </div>
        </main>
    }
}

/// Sign in or create an account; switching clears the error shown.
#[component]
fn AuthTabs(tab: RwSignal<Tab>, error: RwSignal<Option<String>>) -> impl IntoView {
    view! {
        <div class="tabs" role="tablist">
            <button type="button" role="tab" id="tab-signin" aria-selected=move || (tab.get() == Tab::SignIn).to_string()
                class:active=move || tab.get() == Tab::SignIn on:click=move |_| { tab.set(Tab::SignIn); error.set(None); }>"Sign in"</button>
            <button type="button" role="tab" id="tab-signup" aria-selected=move || (tab.get() == Tab::SignUp).to_string()
                class:active=move || tab.get() == Tab::SignUp on:click=move |_| { tab.set(Tab::SignUp); error.set(None); }>"Create account"</button>
        </div>
    }
}

/// Posts `body` to the auth endpoint `url`: home on success, else the
/// contract's error message, and the form can be sent again.
fn authenticate(url: &'static str, body: serde_json::Value, error: RwSignal<Option<String>>, busy: RwSignal<bool>) {
    leptos::task::spawn_local(async move {
        match rest::post::<_, AuthResponse>(url, &body).await {
            Ok(_) => go_home(),
            Err(e) => {
                error.set(Some(e.message));
                busy.set(false);
            }
        }
    });
}
