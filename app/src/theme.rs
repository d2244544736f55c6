//! The colour theme: light, dark, or the system's (issue 17, "a light/dark/system
//! theme toggle").
//!
//! The choice lives in the `brook_theme` cookie (`light`, `dark`; absent or
//! anything else means `system`), so the server renders `<html data-theme=…>`
//! before the first paint and a reload never flashes the other scheme. The
//! stylesheet reads `data-theme` and falls back to `prefers-color-scheme`.

/// The cookie that holds the choice: `brook_theme=light|dark`, path `/`, one year.
pub const COOKIE: &str = "brook_theme";

/// A theme choice.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Theme {
    /// Follow `prefers-color-scheme`.
    #[default]
    System,
    Light,
    Dark,
}

impl Theme {
    /// Every choice, in the order the toggle cycles through them.
    pub const ALL: [Theme; 3] = [Theme::System, Theme::Light, Theme::Dark];

    /// The `data-theme` attribute's value (`system`, `light`, `dark`).
    pub fn as_str(self) -> &'static str {
        match self {
            Theme::System => "system",
            Theme::Light => "light",
            Theme::Dark => "dark",
        }
    }

    /// Parses an attribute or cookie value; anything unknown is `System`.
    pub fn parse(value: &str) -> Theme {
        match value.trim() {
            "light" => Theme::Light,
            "dark" => Theme::Dark,
            _ => Theme::System,
        }
    }

    /// The theme named in a `Cookie` header (`a=1; brook_theme=dark`).
    pub fn from_cookie_header(header: &str) -> Theme {
        header
            .split(';')
            .filter_map(|pair| pair.split_once('='))
            .find(|(name, _)| name.trim() == COOKIE)
            .map(|(_, value)| Theme::parse(value))
            .unwrap_or_default()
    }

    /// The next choice when the toggle is pressed: system → light → dark → system.
    pub fn next(self) -> Theme {
        match self {
            Theme::System => Theme::Light,
            Theme::Light => Theme::Dark,
            Theme::Dark => Theme::System,
        }
    }

    /// The toggle's visible label: short, the sidebar's footer is narrow.
    pub fn label(self) -> &'static str {
        match self {
            Theme::System => "◐ Auto",
            Theme::Light => "☀ Light",
            Theme::Dark => "☾ Dark",
        }
    }

    /// The toggle's accessible name.
    pub fn aria_label(self) -> &'static str {
        match self {
            Theme::System => "Colour theme: the system's. Switch to light",
            Theme::Light => "Colour theme: light. Switch to dark",
            Theme::Dark => "Colour theme: dark. Switch to the system's",
        }
    }

    /// The `Set-Cookie`-style string `document.cookie` takes to remember the
    /// choice for a year (`system` deletes the cookie).
    pub fn cookie_assignment(self) -> String {
        match self {
            Theme::System => format!("{COOKIE}=; Path=/; Max-Age=0; SameSite=Lax"),
            t => format!("{COOKIE}={}; Path=/; Max-Age=31536000; SameSite=Lax", t.as_str()),
        }
    }
}

/// The theme of the request being rendered, from its `Cookie` header.
#[cfg(feature = "ssr")]
pub fn of_request() -> Theme {
    leptos::prelude::use_context::<axum::http::request::Parts>()
        .and_then(|parts| {
            parts
                .headers
                .get_all(axum::http::header::COOKIE)
                .iter()
                .filter_map(|v| v.to_str().ok())
                .map(Theme::from_cookie_header)
                .find(|t| *t != Theme::System)
        })
        .unwrap_or_default()
}

/// The theme the page was rendered with (`<html data-theme>`).
#[cfg(not(feature = "ssr"))]
pub fn of_request() -> Theme {
    web_sys::window()
        .and_then(|w| w.document())
        .and_then(|d| d.document_element())
        .and_then(|e| e.get_attribute("data-theme"))
        .map(|v| Theme::parse(&v))
        .unwrap_or_default()
}

/// Applies a choice to the open page and remembers it in the cookie.
#[cfg(not(feature = "ssr"))]
pub fn apply(theme: Theme) {
    use wasm_bindgen::JsCast;
    let Some(doc) = web_sys::window().and_then(|w| w.document()) else {
        return;
    };
    if let Some(root) = doc.document_element() {
        let _ = root.set_attribute("data-theme", theme.as_str());
    }
    if let Ok(html) = doc.dyn_into::<web_sys::HtmlDocument>() {
        let _ = html.set_cookie(&theme.cookie_assignment());
    }
}

/// On the server there is no page to change.
#[cfg(feature = "ssr")]
pub fn apply(_theme: Theme) {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_cookie_names_the_theme_and_anything_else_is_system() {
        assert_eq!(Theme::from_cookie_header("brook_theme=dark"), Theme::Dark);
        assert_eq!(Theme::from_cookie_header("a=1; brook_theme=light; b=2"), Theme::Light);
        assert_eq!(Theme::from_cookie_header("a=1"), Theme::System);
        assert_eq!(Theme::from_cookie_header("brook_theme=purple"), Theme::System);
        assert_eq!(Theme::from_cookie_header("xbrook_theme=dark"), Theme::System);
        assert_eq!(Theme::from_cookie_header(""), Theme::System);
    }

    #[test]
    fn the_toggle_cycles_through_every_choice_and_back() {
        let mut t = Theme::System;
        let mut seen = vec![];
        for _ in 0..3 {
            t = t.next();
            seen.push(t);
        }
        assert_eq!(seen, vec![Theme::Light, Theme::Dark, Theme::System]);
        for t in Theme::ALL {
            assert_eq!(Theme::parse(t.as_str()), t);
        }
    }

    #[test]
    fn system_clears_the_cookie_and_the_others_keep_it_a_year() {
        assert!(Theme::System.cookie_assignment().contains("Max-Age=0"));
        assert!(Theme::Dark.cookie_assignment().starts_with("brook_theme=dark;"));
        assert!(Theme::Light.cookie_assignment().contains("Max-Age=31536000"));
    }
}
