//! Brook's own origin, for the cookie's CSRF rules (contract §2): a request
//! authenticated by the cookie that changes state, a cookie-authenticated
//! WebSocket upgrade, and every request that sets the session cookie must come
//! from a page of Brook's own site: the same scheme, host and port.
//!
//! Brook serves plain HTTP itself, so the scheme a browser used is that of the
//! TLS-terminating proxy: `X-Forwarded-Proto` when the proxy sends it, else the
//! scheme of `BROOK_PUBLIC_URL`, else `http`. The host and port are the `Host`
//! header's. `BROOK_PUBLIC_URL`'s own origin is always Brook's too.

use axum::http::{header, HeaderMap};
use engine::Config;

/// The scheme browsers reach Brook with (see the module's note).
pub fn site_scheme(headers: &HeaderMap, config: &Config) -> &'static str {
    let forwarded = headers
        .get("x-forwarded-proto")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(',').next())
        .map(|v| v.trim().to_ascii_lowercase());
    match forwarded.as_deref() {
        Some("https") => return "https",
        Some("http") => return "http",
        _ => {}
    }
    match config.public_url.as_deref().map(str::trim) {
        Some(u) if u.to_ascii_lowercase().starts_with("https://") => "https",
        _ => "http",
    }
}

/// Whether `origin` (an `Origin` header's value) is Brook's own site: scheme,
/// host and port all equal to those the request was sent to, or to
/// `BROOK_PUBLIC_URL`'s. `null` and anything unparsable are foreign.
pub fn is_own_origin(origin: &str, headers: &HeaderMap, config: &Config) -> bool {
    if let Some(public) = config.public_url.as_deref() {
        if engine::origin::same_origin(origin, public) {
            return true;
        }
    }
    let Some(host) = headers.get(header::HOST).and_then(|v| v.to_str().ok()) else {
        return false;
    };
    let host = host.trim();
    if host.is_empty() || host.contains(['/', '@', '?', '#']) {
        return false;
    }
    let own = format!("{}://{host}", site_scheme(headers, config));
    engine::origin::same_origin(origin, &own)
}

/// Whether the request's `Origin` header is present and names Brook's own site.
pub fn same_site_origin(headers: &HeaderMap, config: &Config) -> bool {
    headers
        .get(header::ORIGIN)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|o| is_own_origin(o, headers, config))
}

/// Whether a browser says this request comes from another site: an `Origin`
/// that is not Brook's (including `null`), or, without `Origin`,
/// `Sec-Fetch-Site: cross-site` / `same-site`. A request with neither (curl, an
/// SDK) is not cross-site: only browsers carry ambient cookies.
pub fn is_cross_site(headers: &HeaderMap, config: &Config) -> bool {
    if let Some(origin) = headers.get(header::ORIGIN) {
        return match origin.to_str() {
            Ok(o) => !is_own_origin(o, headers, config),
            Err(_) => true,
        };
    }
    headers
        .get("sec-fetch-site")
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| matches!(v.trim().to_ascii_lowercase().as_str(), "cross-site" | "same-site"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    fn headers(pairs: &[(&'static str, &str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (k, v) in pairs {
            h.append(*k, HeaderValue::from_str(v).unwrap());
        }
        h
    }

    #[test]
    fn scheme_host_and_port_must_all_match() {
        let c = Config::default();
        let plain = headers(&[("host", "chat.example.com")]);
        assert!(is_own_origin("http://chat.example.com", &plain, &c));
        assert!(!is_own_origin("https://chat.example.com", &plain, &c));
        assert!(!is_own_origin("http://chat.example.com:8080", &plain, &c));
        assert!(!is_own_origin("http://evil.example.com", &plain, &c));
        assert!(!is_own_origin("null", &plain, &c));

        let tls = headers(&[("host", "chat.example.com"), ("x-forwarded-proto", "https")]);
        assert!(is_own_origin("https://chat.example.com", &tls, &c));
        assert!(
            !is_own_origin("http://chat.example.com", &tls, &c),
            "an http page is not the https site"
        );

        let public = Config {
            public_url: Some("https://chat.example.com".into()),
            ..Config::default()
        };
        assert!(is_own_origin("https://chat.example.com", &plain, &public));
        assert!(!is_own_origin("http://chat.example.com", &plain, &public));
    }

    #[test]
    fn cross_site_needs_a_browser_signal() {
        let c = Config::default();
        assert!(!is_cross_site(&headers(&[("host", "a.com")]), &c));
        assert!(is_cross_site(
            &headers(&[("host", "a.com"), ("origin", "http://b.com")]),
            &c
        ));
        assert!(is_cross_site(&headers(&[("host", "a.com"), ("origin", "null")]), &c));
        assert!(!is_cross_site(
            &headers(&[("host", "a.com"), ("origin", "http://a.com")]),
            &c
        ));
        assert!(is_cross_site(
            &headers(&[("host", "a.com"), ("sec-fetch-site", "cross-site")]),
            &c
        ));
        assert!(!is_cross_site(
            &headers(&[("host", "a.com"), ("sec-fetch-site", "same-origin")]),
            &c
        ));
    }
}
