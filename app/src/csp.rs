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
    let wasm = if wasm { " 'wasm-unsafe-eval'" } else { "" };
    format!(
        "default-src 'self'; script-src 'self' 'nonce-{nonce}'{wasm}; style-src 'self' 'nonce-{nonce}'; \
         img-src 'self' data:; connect-src 'self'; font-src 'self'; object-src 'none'; base-uri 'none'; \
         form-action 'self'; frame-ancestors 'none'"
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
    if let Ok(v) = axum::http::HeaderValue::from_str(&policy(&nonce, true)) {
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
    }
}
