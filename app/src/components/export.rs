//! The open conversation's export menu (contract §9.4): the whole
//! conversation as a Markdown or JSON download, from
//! `GET /api/v1/conversations/{id}/export?format=…` with the session cookie.

use leptos::prelude::*;

use crate::store::Store;

/// The export address of conversation `id` in `format` (`markdown` or
/// `json`). Ids are opaque and may be chosen by clients, so every byte but
/// the unreserved ones (RFC 3986) is percent-encoded.
pub fn export_url(id: &str, format: &str) -> String {
    let mut enc = String::with_capacity(id.len());
    for b in id.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~') {
            enc.push(b as char);
        } else {
            enc.push_str(&format!("%{b:02X}"));
        }
    }
    format!("/api/v1/conversations/{enc}/export?format={format}")
}

/// "Export" with its two formats; shown once the conversation exists on the server.
#[component]
pub fn ExportMenu(store: Store) -> impl IntoView {
    move || {
        let id = store.current.get().filter(|_| store.current_exists.get())?;
        Some(view! {
            <details class="export-menu" id="export-menu">
                <summary class="icon-btn" aria-label="Export this conversation" title="Export">
                    <svg viewBox="0 0 24 24" width="17" height="17" aria-hidden="true"><path fill="none" stroke="currentColor" stroke-width="2" stroke-linecap="round" stroke-linejoin="round" d="M12 3v12m0 0-4-4m4 4 4-4M4 17v3h16v-3"/></svg>
                </summary>
                <div class="export-items" role="menu">
                    <a role="menuitem" id="export-markdown" href=export_url(&id, "markdown") download>"Markdown"</a>
                    <a role="menuitem" id="export-json" href=export_url(&id, "json") download>"JSON"</a>
                </div>
            </details>
        })
    }
}

#[cfg(test)]
mod tests {
    use super::export_url;

    #[test]
    fn ids_are_encoded_in_the_path() {
        assert_eq!(
            export_url("abc-1_2.x~", "json"),
            "/api/v1/conversations/abc-1_2.x~/export?format=json"
        );
        assert_eq!(
            export_url("a b/c?d", "markdown"),
            "/api/v1/conversations/a%20b%2Fc%3Fd/export?format=markdown"
        );
        assert_eq!(
            export_url("é", "json"),
            "/api/v1/conversations/%C3%A9/export?format=json"
        );
    }
}
