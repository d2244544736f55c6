//! The HTTP transports (contract §4): plain JSON, resumable SSE, long polling,
//! the live-event stream, and every error status and code; one file per topic.

mod chat;
mod errors;
mod headers;
mod sse;

use std::time::Duration;

use futures::StreamExt;

/// Reads raw SSE from a response until `stop(event, id, data)` says so or the stream ends.
pub async fn read_sse(
    r: reqwest::Response,
    mut stop: impl FnMut(&str, Option<&str>, &str) -> bool,
) -> Vec<(String, Option<String>, String)> {
    let mut out = Vec::new();
    let mut buf = String::new();
    let mut body = r.bytes_stream();
    while let Ok(Some(chunk)) = tokio::time::timeout(Duration::from_secs(20), body.next()).await {
        let Ok(chunk) = chunk else { break };
        buf.push_str(&String::from_utf8_lossy(&chunk));
        while let Some(i) = buf.find("\n\n") {
            let block: String = buf.drain(..i + 2).collect();
            let (mut event, mut id, mut data) = ("message".to_string(), None, String::new());
            for line in block.lines() {
                if let Some(v) = line.strip_prefix("event:") {
                    event = v.trim().to_string();
                } else if let Some(v) = line.strip_prefix("id:") {
                    id = Some(v.trim().to_string());
                } else if let Some(v) = line.strip_prefix("data:") {
                    data.push_str(v.strip_prefix(' ').unwrap_or(v));
                }
            }
            if data.is_empty() && id.is_none() {
                continue; // a heartbeat comment
            }
            let done = stop(&event, id.as_deref(), &data);
            out.push((event, id, data));
            if done {
                return out;
            }
        }
    }
    out
}
