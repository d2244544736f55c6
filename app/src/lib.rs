//! Brook's web UI, rendered on the server and hydrated in the browser.
//!
//! History comes through server functions (so a reload shows the conversation
//! before any WASM runs); live traffic runs over the WebSocket protocol, or its
//! HTTP fallbacks, through `webclient`. Mutations use the REST API.

// Leptos view types nest deeply; the compiler needs more room to lay them out.
#![recursion_limit = "512"]

pub mod actions;
pub mod components;
pub mod csp;
pub mod dates;
pub mod live;
pub mod navigation;
pub mod pages;
pub mod rest;
pub mod server_fns;
pub mod store;
pub mod theme;
pub mod timers;

use leptos::prelude::*;
use leptos_meta::{provide_meta_context, HashedStylesheet, MetaTags, Title};
use leptos_router::components::{ParentRoute, Route, Router, Routes};
use leptos_router::{path, SsrMode};

/// The HTML document around the app; only the server renders it.
pub fn shell(options: LeptosOptions) -> impl IntoView {
    #[cfg(feature = "ssr")]
    csp::send_for_page();
    let theme = theme::of_request();
    let scheme = match theme {
        theme::Theme::System => "light dark",
        theme::Theme::Light => "light",
        theme::Theme::Dark => "dark",
    };
    view! {
        <!DOCTYPE html>
        <html lang="en" data-theme=theme.as_str()>
            <head>
                <meta charset="utf-8"/>
                <meta name="viewport" content="width=device-width, initial-scale=1, viewport-fit=cover"/>
                <meta name="color-scheme" content=scheme/>
                <link rel="icon" href="data:,"/>
                // The bundle's names carry content hashes when built with them
                // (cargo-leptos `hash-files`, scripts/build-site.sh): a deploy
                // never leaves a browser on an old bundle (issue 15).
                <HashedStylesheet options=options.clone() id="leptos"/>
                // Live reload under `cargo leptos watch` (`make dev`) only.
                <AutoReload options=options.clone()/>
                <HydrationScripts options/>
                <MetaTags/>
            </head>
            <body>
                <App/>
            </body>
        </html>
    }
}

#[component]
pub fn App() -> impl IntoView {
    provide_meta_context();
    // The page's live state belongs to the app, not to a route: it survives
    // every navigation, and the live connection's callbacks never hold a
    // disposed signal (issue 17, fault 2).
    let store = store::Store::new();
    provide_context(store);
    view! {
        <Title text="Brook"/>
        <Router>
            <navigation::FollowNavigation go_to=store.go_to/>
            <Routes fallback=|| view! { <pages::NotFound/> }>
                // One chat page for `/` and `/c/:id`: moving between them (a new
                // chat getting its id, a click in the sidebar) keeps the page
                // mounted; the page reads the open conversation from the URL.
                <ParentRoute path=path!("") view=pages::chat::ChatPage ssr=SsrMode::Async>
                    <Route path=path!("/") view=|| ()/>
                    <Route path=path!("/c/:id") view=|| ()/>
                </ParentRoute>
                <Route path=path!("/login") view=pages::login::LoginPage ssr=SsrMode::Async/>
                <Route path=path!("/bots") view=pages::bots::BotsPage ssr=SsrMode::Async/>
                <Route path=path!("/settings") view=pages::settings::SettingsPage ssr=SsrMode::Async/>
            </Routes>
        </Router>
    }
}
