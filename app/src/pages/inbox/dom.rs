//! The inbox's reads of the page (browser only; neutral answers on the server).

#[cfg(feature = "hydrate")]
use leptos::prelude::*;

/// Milliseconds since the epoch (0 on the server).
pub(super) fn js_now() -> f64 {
    #[cfg(feature = "hydrate")]
    {
        js_sys::Date::now()
    }
    #[cfg(not(feature = "hydrate"))]
    {
        0.0
    }
}

/// Whether the transcript shows its end (or is empty): then it keeps
/// following what arrives; an owner reading older messages is left there.
pub(super) fn follows_bottom() -> bool {
    #[cfg(feature = "hydrate")]
    {
        document().get_element_by_id("transcript").is_none_or(|el| {
            el.scroll_height() - el.scroll_top() - el.client_height() < 80 || el.child_element_count() == 0
        })
    }
    #[cfg(not(feature = "hydrate"))]
    {
        false
    }
}

/// Scrolls the transcript to its end once the new messages are drawn.
pub(super) async fn scroll_to_bottom() {
    crate::timers::sleep_ms(30).await;
    #[cfg(feature = "hydrate")]
    if let Some(el) = document().get_element_by_id("transcript") {
        el.set_scroll_top(el.scroll_height());
    }
}

/// Whether the tab is visible (reads count only then).
pub(super) fn visible() -> bool {
    #[cfg(feature = "hydrate")]
    {
        web_sys::window()
            .and_then(|w| w.document())
            .is_some_and(|d| !d.hidden())
    }
    #[cfg(not(feature = "hydrate"))]
    {
        false
    }
}
