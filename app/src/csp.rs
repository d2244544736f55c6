//! The Content-Security-Policy of Brook's pages (issue 11 §5), sent as a
//! header with the nonce Leptos puts on its own scripts during server rendering.
//!
//! - scripts: only those carrying this response's nonce (Leptos's hydration
//!   script and resource data) and Brook's own files (`/pkg/brook.js` is
//!   imported by the nonced script); `'wasm-unsafe-eval'` lets the app compile
//!   its WebAssembly and nothing else (no `eval`);
//! - styles: Brook's stylesheet; the app changes styles only through the CSSOM,
//!   which CSP does not restrict;
//! - connections: Brook itself (`'self'` covers its `ws:`/`wss:` in CSP 3);
//! - `frame-ancestors 'none'`: no site may frame Brook (the widget runs in a
//!   Shadow DOM on the host page, not in a frame); `object-src`/`base-uri` off.

/// The policy for a page whose inline scripts carry `nonce`. `wasm` allows
/// WebAssembly compilation (the app's pages; not the diagnostics page).
pub fn policy(nonce: &str, wasm: bool) -> String {
    policy_with(nonce, wasm, None)
}

/// As [`policy`]; `live_reload` is the port of cargo-leptos's live-reload
/// socket (`make dev`), which pages may then connect to.
pub fn policy_with(nonce: &str, wasm: bool, live_reload: Option<u32>) -> String {
    let wasm = if wasm { " 'wasm-unsafe-eval'" } else { "" };
    let reload = live_reload
        .map(|p| format!(" ws://*:{p} wss://*:{p}"))
        .unwrap_or_default();
    format!(
        "default-src 'self'; script-src 'self' 'nonce-{nonce}'{wasm}; style-src 'self' 'nonce-{nonce}'; \
         img-src 'self' data:; connect-src 'self'{reload}; font-src 'self'; object-src 'none'; base-uri 'none'; \
         form-action 'self'; frame-ancestors 'none'"
    )
}

/// The live-reload port while `cargo leptos watch` runs the server (it sets
/// `LEPTOS_WATCH`), as Leptos's `AutoReload` picks it.
#[cfg(feature = "ssr")]
fn live_reload_port() -> Option<u32> {
    std::env::var("LEPTOS_WATCH").ok()?;
    let port = |k: &str| std::env::var(k).ok().and_then(|v| v.trim().parse::<u32>().ok());
    Some(
        port("LEPTOS_RELOAD_EXTERNAL_PORT")
            .or_else(|| port("LEPTOS_RELOAD_PORT"))
            .unwrap_or(3001),
    )
}

/// Puts the policy on the page being rendered (server side only).
#[cfg(feature = "ssr")]
pub fn send_for_page() {
    use leptos::prelude::use_context;
    let (Some(nonce), Some(res)) = (
        leptos::nonce::use_nonce(),
        use_context::<leptos_axum::ResponseOptions>(),
    ) else {
        return;
    };
    if let Ok(v) = axum::http::HeaderValue::from_str(&policy_with(&nonce, true, live_reload_port())) {
        res.insert_header(axum::http::header::CONTENT_SECURITY_POLICY, v);
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn strict_and_nonced() {
        let p = super::policy("abc123", true);
        assert!(
            p.contains("script-src 'self' 'nonce-abc123' 'wasm-unsafe-eval';"),
            "{p}"
        );
        assert!(p.contains("frame-ancestors 'none'"));
        assert!(!p.contains("unsafe-inline") && !p.contains("'unsafe-eval'"), "{p}");
        assert!(!super::policy("n", false).contains("wasm-unsafe-eval"));
        assert!(
            p.contains("connect-src 'self';"),
            "no live reload outside `make dev`: {p}"
        );
        let dev = super::policy_with("n", true, Some(3001));
        assert!(dev.contains("connect-src 'self' ws://*:3001 wss://*:3001;"), "{dev}");
    }
}
