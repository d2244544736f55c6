//! `GET /ws/test`: a connection diagnostics page a site owner opens behind their
//! own proxy. It checks the WebSocket upgrade, SSE without buffering and long
//! polling, each green or red with the likely cause and fix, and has an
//! interactive console (seed 002's test page, grown up).

use std::convert::Infallible;
use std::time::Duration;

use axum::http::header;
use axum::response::sse::{Event, Sse};
use axum::response::{Html, IntoResponse, Response};
use axum::Json;
use futures::stream::{self, StreamExt};
use serde_json::json;

use crate::error::HttpResult;
use crate::extract::Params;

/// The page, with a fresh nonce on its one inline script and style, and the
/// same strict policy as the app's pages (no WebAssembly here).
pub async fn page() -> Response {
    let nonce = engine::ids::secret(22);
    let html = include_str!("diagnostics.html")
        .replacen("<script>", &format!("<script nonce=\"{nonce}\">"), 1)
        .replacen("<style>", &format!("<style nonce=\"{nonce}\">"), 1);
    let mut res = ([(header::CACHE_CONTROL, "no-cache")], Html(html)).into_response();
    if let Ok(v) = header::HeaderValue::from_str(&app::csp::policy(&nonce, false)) {
        res.headers_mut().insert(header::CONTENT_SECURITY_POLICY, v);
    }
    res
}

/// Five events, 250 ms apart: a buffering proxy delivers them in one burst.
pub async fn sse_probe() -> Response {
    let events = stream::iter(0..5).then(|i| async move {
        if i > 0 {
            tokio::time::sleep(Duration::from_millis(250)).await;
        }
        Ok::<_, Infallible>(
            Event::default()
                .id(i.to_string())
                .event("probe")
                .data(format!("{{\"n\":{i}}}")),
        )
    });
    (super::stream_headers(), Sse::new(events)).into_response()
}

/// Holds the request for `wait_ms` (≤ 5000) and then answers, like a long poll.
pub async fn poll_probe(params: Params) -> HttpResult<Json<serde_json::Value>> {
    let wait = params.u64("wait_ms", 1000)?.min(5000);
    tokio::time::sleep(Duration::from_millis(wait)).await;
    Ok(Json(json!({ "held_ms": wait })))
}
