//! Request ids: each HTTP request has one, taken from its `x-request-id` when
//! that is sane, else made here (tower-http's `SetRequestId`, UUID v4). It is
//! echoed in the response's `x-request-id`, set on the request's `tracing`
//! span (so on every log line of the request) and put in Brook's JSON error
//! bodies as `request_id` (docs/decisions.md).

use axum::extract::Request;
use axum::http::HeaderName;
use axum::middleware::Next;
use axum::response::Response;

pub static X_REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");

/// The longest id honoured from a client or proxy.
pub const MAX_LEN: usize = 128;

tokio::task_local! {
    static CURRENT: String;
}

/// An incoming id is honoured when it is 1 to [`MAX_LEN`] characters of
/// `A–Z a–z 0–9 - _ . : / + =` (UUIDs, ULIDs, trace ids, base64): nothing that
/// could forge a log line or smuggle markup into one.
pub fn is_sane(id: &str) -> bool {
    !id.is_empty()
        && id.len() <= MAX_LEN
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b':' | b'/' | b'+' | b'='))
}

/// Drops an `x-request-id` that is not [sane](is_sane), so the next layer
/// makes a fresh one.
pub async fn drop_insane(mut req: Request, next: Next) -> Response {
    let sane = req.headers().get(&X_REQUEST_ID).map(|v| v.to_str().is_ok_and(is_sane));
    if sane == Some(false) {
        req.headers_mut().remove(&X_REQUEST_ID);
    }
    next.run(req).await
}

/// The request's id, from the request (after `SetRequestId`).
pub fn of(req: &Request) -> String {
    req.headers()
        .get(&X_REQUEST_ID)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("-")
        .to_string()
}

/// Runs `fut` with `id` as the [current](current) request id.
pub async fn scope<F: std::future::Future>(id: String, fut: F) -> F::Output {
    CURRENT.scope(id, fut).await
}

/// The id of the request being handled on this task, if any.
pub fn current() -> Option<String> {
    CURRENT.try_with(Clone::clone).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sane_ids_are_short_and_plain() {
        assert!(is_sane("0b9c8a1e-55f5-4e6a-9d0c-0d6f8f2a7c11"));
        assert!(is_sane("Root=1-5759e988-bd862e3fe1be46a994272793"));
        assert!(!is_sane(""));
        assert!(!is_sane(&"a".repeat(MAX_LEN + 1)));
        assert!(!is_sane("id with spaces"));
        assert!(!is_sane("line\nbreak"));
        assert!(!is_sane("<script>"));
        assert!(!is_sane("é"));
    }
}
