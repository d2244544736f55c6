//! testkit's fake OpenAI-compatible upstream as a process, for the browser
//! tests: `fake-upstream` starts it on a free port and prints one JSON line,
//! `{"base_url": "http://127.0.0.1:P/v1", "control": "http://127.0.0.1:Q"}`.
//!
//! The control server queues what the next completion requests get:
//! `POST /next` with `{"status": 500}` (an HTTP error, the provider's body),
//! or `{"tokens": 12, "token_delay_ms": 40}` (a reply streamed word by word);
//! `POST /default` sets what requests get when nothing is queued. It runs
//! until killed.

use std::sync::Arc;
use std::time::Duration;

use axum::extract::State;
use axum::routing::post;
use axum::{Json, Router};
use brook_testkit::{Behaviour, FakeUpstream};
use serde_json::{json, Value};

/// A behaviour from the control body (see the module docs).
fn behaviour(v: &Value) -> Behaviour {
    if let Some(code) = v["status"].as_u64() {
        return Behaviour::status(u16::try_from(code).unwrap_or(500), None);
    }
    let n = v["tokens"].as_u64().unwrap_or(5) as usize;
    let delay = Duration::from_millis(v["token_delay_ms"].as_u64().unwrap_or(0));
    Behaviour::tokens(n).delay(delay, delay)
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
        .with_state(up.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let control = listener.local_addr()?;
    println!(
        "{}",
        json!({"base_url": up.base_url(), "control": format!("http://{control}")})
    );
    axum::serve(listener, app).await
}
