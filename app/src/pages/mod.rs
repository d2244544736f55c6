//! The routes of contract §6.

pub mod bots;
pub mod chat;
pub mod inbox;
pub mod login;
pub mod settings;

use leptos::prelude::*;
use leptos_router::components::Redirect;

/// The view of a page that needs a session when there is none: an HTTP
/// redirect to `/login` during SSR (a 302 before any HTML), and the router's
/// client-side redirect after hydration. Contract §6.
pub fn to_login() -> AnyView {
    #[cfg(feature = "ssr")]
    leptos_axum::redirect("/login");
    view! { <Redirect path="/login"/> }.into_any()
}

#[component]
pub fn NotFound() -> impl IntoView {
    #[cfg(feature = "ssr")]
    {
        if let Some(res) = use_context::<leptos_axum::ResponseOptions>() {
            res.set_status(axum::http::StatusCode::NOT_FOUND);
        }
    }
    view! {
        <main class="center-page">
            <div class="card narrow">
                <h1>"Page not found"</h1>
                <p class="muted">"There is nothing at this address."</p>
                <a class="btn primary" href="/">"Go to your chats"</a>
            </div>
        </main>
    }
}
