//! Comparing web origins (`scheme://host[:port]`), for the cookie's same-site rule
//! and the widget's allowed origins.

/// `scheme://host:port` with the default port made explicit and case folded, or
/// `None` when `raw` is not an http(s) origin.
pub fn normalize(raw: &str) -> Option<String> {
    let u = url::Url::parse(raw.trim()).ok()?;
    if !matches!(u.scheme(), "http" | "https") {
        return None;
    }
    let host = u.host_str()?.to_ascii_lowercase();
    let port = u.port_or_known_default()?;
    Some(format!("{}://{}:{}", u.scheme(), host, port))
}

/// Whether two origins are the same (scheme, host and port).
pub fn same_origin(a: &str, b: &str) -> bool {
    match (normalize(a), normalize(b)) {
        (Some(x), Some(y)) => x == y,
        _ => false,
    }
}

/// Whether `origin` names the host the request was sent to (`Host` header), which
/// is how Brook recognises its own pages without being told its public URL.
pub fn matches_host(origin: &str, host: &str) -> bool {
    let Ok(u) = url::Url::parse(origin.trim()) else {
        return false;
    };
    if !matches!(u.scheme(), "http" | "https") || host.trim().is_empty() {
        return false;
    }
    // The Host header carries no scheme: the origin's own scheme completes it.
    same_origin(origin, &format!("{}://{}", u.scheme(), host.trim()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn origins() {
        assert!(same_origin("http://localhost:4100", "http://LOCALHOST:4100/"));
        assert!(same_origin("https://a.com", "https://a.com:443"));
        assert!(!same_origin("http://a.com", "https://a.com"));
        assert!(!same_origin("null", "null"));
        assert!(matches_host("http://127.0.0.1:3000", "127.0.0.1:3000"));
        assert!(matches_host("https://chat.example.com", "chat.example.com"));
        assert!(!matches_host("http://evil.com", "127.0.0.1:3000"));
        assert!(!matches_host("http://127.0.0.1:3001", "127.0.0.1:3000"));
        assert!(matches_host("http://[::1]:3000", "[::1]:3000"));
    }
}
