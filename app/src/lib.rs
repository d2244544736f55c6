//! Brook's web UI, rendered on the server and hydrated in the browser.

use leptos::prelude::*;
use leptos_meta::{provide_meta_context, MetaTags, Stylesheet, Title};
use leptos_router::components::{Route, Router, Routes};
use leptos_router::StaticSegment;

/// The HTML document around the app; only the server renders it.
pub fn shell(options: LeptosOptions) -> impl IntoView {
    view! {
        <!DOCTYPE html>
        <html lang="en">
            <head>
                <meta charset="utf-8"/>
                <meta name="viewport" content="width=device-width, initial-scale=1"/>
                <link rel="icon" href="data:,"/>
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
    view! {
        <Stylesheet id="leptos" href="/pkg/brook.css"/>
        <Title text="Brook"/>
        <Router>
            <Routes fallback=|| view! { <p class="not-found">"Page not found."</p> }>
                <Route path=StaticSegment("") view=Home/>
            </Routes>
        </Router>
    }
}

/// Placeholder home page: checks the server's health from the browser.
#[component]
fn Home() -> impl IntoView {
    let (status, set_status) = signal(None::<String>);
    let check = move |_| {
        set_status.set(Some("Checking…".into()));
        leptos::task::spawn_local(async move {
            let text = match gloo_net::http::Request::get("/health").send().await {
                Ok(r) if r.ok() => "Server is healthy".to_string(),
                Ok(r) => format!("Server answered {}", r.status()),
                Err(e) => format!("Server unreachable: {e}"),
            };
            set_status.set(Some(text));
        });
    };
    view! {
        <main class="home">
            <h1>"Brook"</h1>
            <p>"Real-time AI chat."</p>
            <button id="health-check" on:click=check>"Check server"</button>
            <p id="health-status" role="status">{move || status.get()}</p>
        </main>
    }
}
