//! The light/dark/system toggle in the sidebar's footer. One button cycles
//! through the three choices; its label says the current one. See
//! [`crate::theme`] for where the choice is kept.

use leptos::prelude::*;

use crate::theme;

/// A button that cycles system → light → dark. Server and client start from the
/// same value (the cookie on the server, `<html data-theme>` in the browser), so
/// hydration agrees.
#[component]
pub fn ThemeToggle() -> impl IntoView {
    let current = RwSignal::new(theme::of_request());
    let toggle = move |_| {
        let next = current.get_untracked().next();
        theme::apply(next);
        current.set(next);
    };
    view! {
        <button type="button" class="link-btn theme-toggle" id="theme-toggle"
            data-theme-choice=move || current.get().as_str()
            aria-label=move || current.get().aria_label()
            title=move || current.get().aria_label()
            on:click=toggle>
            {move || current.get().label()}
        </button>
    }
}
