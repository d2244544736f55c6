//! Static files: the app's bundle under `/pkg`, the widget under `/widget` and
//! `/widget.js`. Each is sent precompressed (brotli, else gzip, both made at
//! build time) to a browser that accepts it, with `Last-Modified` so a cached
//! copy is revalidated with a `304`.
//!
//! Caching (issue 15): the bundle's files carry a content hash in their names
//! (cargo-leptos's `hash-files`, or `scripts/build-site.sh`), so a hashed name
//! is cached for a year as `immutable` and a deploy changes the names the page
//! points at; anything under `/pkg` without a hash is revalidated every time
//! (`no-cache`). Pages are `no-cache` too ([`crate::security_headers`]).

use axum::extract::Request;
use axum::http::{header, HeaderValue};
use axum::middleware::Next;
use axum::response::Response;
use tower_http::services::{ServeDir, ServeFile};
use tower_http::set_header::SetResponseHeader;

pub const IMMUTABLE: &str = "public, max-age=31536000, immutable";

/// A directory's files, precompressed copies preferred. `Vary` keeps a cache in
/// between from handing a compressed copy to a client that did not ask for it.
pub fn precompressed_dir(dir: std::path::PathBuf) -> SetResponseHeader<ServeDir, HeaderValue> {
    SetResponseHeader::if_not_present(
        ServeDir::new(dir).precompressed_br().precompressed_gzip(),
        header::VARY,
        HeaderValue::from_static("accept-encoding"),
    )
}

/// One file, as [`precompressed_dir`].
pub fn precompressed_file(path: std::path::PathBuf) -> SetResponseHeader<ServeFile, HeaderValue> {
    SetResponseHeader::if_not_present(
        ServeFile::new(path).precompressed_br().precompressed_gzip(),
        header::VARY,
        HeaderValue::from_static("accept-encoding"),
    )
}

/// Whether a file name carries a content hash: `name.HASH.ext` with a hash of
/// at least 8 characters of `A–Z a–z 0–9 - _` (cargo-leptos's and
/// `scripts/build-site.sh`'s names, e.g. `brook.Xb3k9QmZ2aPq.wasm`).
pub fn is_hashed(file: &str) -> bool {
    let mut parts = file.rsplit('.');
    let (Some(_ext), Some(hash), Some(stem)) = (parts.next(), parts.next(), parts.next()) else {
        return false;
    };
    !stem.is_empty()
        && hash.len() >= 8
        && hash
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

/// `Cache-Control` for `/pkg`: a year and `immutable` for hashed names,
/// `no-cache` (revalidate) otherwise. Errors are not cached.
pub async fn pkg_cache(req: Request, next: Next) -> Response {
    let hashed = is_hashed(req.uri().path().rsplit('/').next().unwrap_or_default());
    let mut res = next.run(req).await;
    let value = if hashed && res.status().is_success() {
        IMMUTABLE
    } else {
        "no-cache"
    };
    res.headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static(value));
    res
}

#[cfg(test)]
mod tests {
    use super::is_hashed;

    #[test]
    fn hashed_names() {
        assert!(is_hashed("brook.Xb3k9QmZ2aPq.wasm"));
        assert!(is_hashed("brook.a1b2c3d4e5f6.js"));
        assert!(!is_hashed("brook.js"));
        assert!(!is_hashed("brook_bg.wasm"));
        assert!(!is_hashed("brook.min.js"));
        assert!(!is_hashed("brook.css.map"));
        assert!(!is_hashed(".a1b2c3d4e5.js"));
    }
}
