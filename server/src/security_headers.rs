//! Headers every response carries (issue 11 §5): `X-Content-Type-Options:
//! nosniff` (a file is only ever what its `Content-Type` says), a
//! `Referrer-Policy` that sends other sites the origin alone (conversation ids
//! in paths stay home), and for any HTML page that did not set its own policy
//! a strict `Content-Security-Policy` without scripts and with
//! `frame-ancestors 'none'`. Pages set their nonced policy themselves
//! ([`app::csp`]). HTML is `Cache-Control: no-cache` unless it says otherwise.

use axum::extract::Request;
use axum::http::{header, HeaderValue};
use axum::middleware::Next;
use axum::response::Response;

/// The policy for an HTML response that brought none: nothing runs.
pub const FALLBACK_CSP: &str =
    "default-src 'none'; style-src 'self'; img-src 'self' data:; base-uri 'none'; form-action 'self'; frame-ancestors 'none'";

pub const REFERRER_POLICY: &str = "strict-origin-when-cross-origin";

pub async fn add(req: Request, next: Next) -> Response {
    let mut res = next.run(req).await;
    let h = res.headers_mut();
    h.insert(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    h.entry(header::REFERRER_POLICY)
        .or_insert(HeaderValue::from_static(REFERRER_POLICY));
    let html = h
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|ct| ct.trim_start().to_ascii_lowercase().starts_with("text/html"));
    if html && !h.contains_key(header::CONTENT_SECURITY_POLICY) {
        h.insert(header::CONTENT_SECURITY_POLICY, HeaderValue::from_static(FALLBACK_CSP));
    }
    // A page names the current bundle's hashed files: never serve a stale one
    // from a cache without asking (issue 15).
    if html {
        h.entry(header::CACHE_CONTROL)
            .or_insert(HeaderValue::from_static("no-cache"));
    }
    res
}
