//! testkit's fake OpenAI-compatible upstream as a process, for the browser
//! tests: `fake-upstream` starts it on a free port and prints one JSON line,
//! `{"base_url": "http://127.0.0.1:P/v1", "control": "http://127.0.0.1:Q"}`.
//!
//! The control server queues what the next completion requests get:
//! `POST /next` with `{"status": 500}` (an HTTP error, the provider's body),
//! `{"tokens": 12, "token_delay_ms": 40}` (a reply streamed word by word), or
//! `{"text": "# Title…", "piece_chars": 4}` (that text streamed in pieces of
//! 4 characters, the last one shorter: the render benchmark's long replies);
//! `POST /default` sets what requests get when nothing is queued. Control
//! bodies may be up to [`CONTROL_BODY_LIMIT`] bytes. It runs until killed.

use std::sync::Arc;
use std::time::Duration;

use axum::extract::{DefaultBodyLimit, State};
use axum::routing::post;
use axum::{Json, Router};
use brook_testkit::{Behaviour, FakeUpstream};
use serde_json::{json, Value};

/// Largest control body: a 1 MiB reply text, JSON-escaped, with room to spare.
const CONTROL_BODY_LIMIT: usize = 16 * 1024 * 1024;

/// A behaviour from the control body (see the module docs).
fn behaviour(v: &Value) -> Behaviour {
    if let Some(code) = v["status"].as_u64() {
        return Behaviour::status(u16::try_from(code).unwrap_or(500), None);
    }
    let delay = Duration::from_millis(v["token_delay_ms"].as_u64().unwrap_or(0));
    if let Some(text) = v["text"].as_str() {
        let size = v["piece_chars"].as_u64().unwrap_or(4) as usize;
        return Behaviour::pieces(pieces(text, size)).delay(delay, delay);
    }
    let n = v["tokens"].as_u64().unwrap_or(5) as usize;
    Behaviour::tokens(n).delay(delay, delay)
}

/// `text` cut into pieces of `size` characters (at least 1; the last piece
/// may be shorter). Characters, not bytes: a piece is always valid UTF-8.
fn pieces(text: &str, size: usize) -> Vec<String> {
    let chars: Vec<char> = text.chars().collect();
    chars.chunks(size.max(1)).map(|c| c.iter().collect()).collect()
}

async fn next(State(up): State<Arc<FakeUpstream>>, Json(v): Json<Value>) -> Json<Value> {
    up.push(behaviour(&v));
    Json(json!({"queued": true}))
}

async fn default(State(up): State<Arc<FakeUpstream>>, Json(v): Json<Value>) -> Json<Value> {
    up.set_default(behaviour(&v));
    Json(json!({"default": true}))
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> std::io::Result<()> {
    let up = Arc::new(FakeUpstream::start().await);
    // Nobody reads the bodies back from this process: keep none (benchmarks send thousands).
    up.forget_requests();
    let app = Router::new()
        .route("/next", post(next))
        .route("/default", post(default))
        .layer(DefaultBodyLimit::max(CONTROL_BODY_LIMIT))
        .with_state(up.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let control = listener.local_addr()?;
    println!(
        "{}",
        json!({"base_url": up.base_url(), "control": format!("http://{control}")})
    );
    axum::serve(listener, app).await
}
