//! The HTTP half of the chat (contract §4): plain JSON, the AI SDK stream,
//! resumable SSE, long polling and the live-event stream, for clients whose
//! network breaks WebSockets. Every one is a reader of the same reply log, so
//! the WebSocket's guarantees (idempotent `client_id`, exactly-once text, the
//! same codes) hold here too.

pub mod aisdk;
pub mod chat;
pub mod diagnostics;
pub mod events;
pub mod poll;
pub mod sse;

use axum::http::{header, HeaderName, HeaderValue};

/// Headers every streaming response carries, so proxies neither buffer nor cache.
pub fn stream_headers() -> [(HeaderName, HeaderValue); 3] {
    [
        (header::CACHE_CONTROL, HeaderValue::from_static("no-cache")),
        (
            HeaderName::from_static("x-accel-buffering"),
            HeaderValue::from_static("no"),
        ),
        (header::CONTENT_TYPE, HeaderValue::from_static("text/event-stream")),
    ]
}

/// A frame's `type`, read without parsing: serde writes the tag first.
pub fn frame_type(frame: &str) -> &str {
    frame
        .strip_prefix("{\"type\":\"")
        .and_then(|rest| rest.split('"').next())
        .unwrap_or("message")
}

#[cfg(test)]
mod tests {
    #[test]
    fn frame_types() {
        assert_eq!(
            super::frame_type(r#"{"type":"stream_start","reply_id":"x"}"#),
            "stream_start"
        );
        assert_eq!(super::frame_type("garbage"), "message");
    }
}
