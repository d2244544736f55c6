//! A fake OpenAI-compatible upstream: a real HTTP server that streams real
//! `chat.completion.chunk` SSE, with knobs for token count, pacing, HTTP errors,
//! cut-offs, malformed lines and a model that never answers. Every test of the
//! AI path drives the real async-openai client against it.

use std::collections::VecDeque;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::body::Body;
use axum::extract::State;
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use bytes::Bytes;
use serde_json::{json, Value};

/// How the upstream answers one request.
#[derive(Clone, Debug)]
pub struct Behaviour {
    /// The pieces of text, one chunk each.
    pub tokens: Vec<String>,
    pub first_token_delay: Duration,
    pub token_delay: Duration,
    /// Answer with this HTTP status (and optional `Retry-After` seconds) instead.
    pub status: Option<(u16, Option<u64>)>,
    /// Abort the connection after this many tokens (a broken stream).
    pub cut_after: Option<usize>,
    /// End the stream cleanly after this many tokens, without a finish reason.
    pub truncate_after: Option<usize>,
    /// Send a line that is not JSON after this many tokens.
    pub malformed_after: Option<usize>,
    /// Accept the request and never send anything.
    pub hang: bool,
    pub finish_reason: &'static str,
}

impl Default for Behaviour {
    fn default() -> Self {
        Behaviour::tokens(5)
    }
}

impl Behaviour {
    /// `n` tokens: `"w1 "`, `"w2 "`, …
    pub fn tokens(n: usize) -> Behaviour {
        Behaviour::pieces((1..=n).map(|i| format!("w{i} ")).collect())
    }

    pub fn pieces(tokens: Vec<String>) -> Behaviour {
        Behaviour {
            tokens,
            first_token_delay: Duration::ZERO,
            token_delay: Duration::ZERO,
            status: None,
            cut_after: None,
            truncate_after: None,
            malformed_after: None,
            hang: false,
            finish_reason: "stop",
        }
    }

    pub fn text(&self) -> String {
        self.tokens.concat()
    }

    pub fn delay(mut self, first: Duration, per_token: Duration) -> Self {
        self.first_token_delay = first;
        self.token_delay = per_token;
        self
    }

    pub fn status(code: u16, retry_after: Option<u64>) -> Behaviour {
        Behaviour {
            status: Some((code, retry_after)),
            ..Behaviour::tokens(0)
        }
    }

    pub fn cut_after(mut self, n: usize) -> Self {
        self.cut_after = Some(n);
        self
    }

    pub fn truncate_after(mut self, n: usize) -> Self {
        self.truncate_after = Some(n);
        self
    }

    pub fn malformed_after(mut self, n: usize) -> Self {
        self.malformed_after = Some(n);
        self
    }

    pub fn hang() -> Behaviour {
        Behaviour {
            hang: true,
            ..Behaviour::tokens(0)
        }
    }
}

#[derive(Default)]
struct Inner {
    queue: Mutex<VecDeque<Behaviour>>,
    default: Mutex<Behaviour>,
    requests: Mutex<Vec<Value>>,
    /// Set by [`FakeUpstream::forget_requests`]: long runs keep no bodies.
    forget: std::sync::atomic::AtomicBool,
    started: AtomicUsize,
    /// When each request's first token chunk was handed to the socket.
    first_chunk: Mutex<Vec<std::time::Instant>>,
    finished: AtomicUsize,
    disconnects: AtomicUsize,
}

/// A running fake upstream. Dropping it stops the server.
pub struct FakeUpstream {
    pub addr: SocketAddr,
    inner: Arc<Inner>,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for FakeUpstream {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// Counts a request that ended before its stream did (the client went away).
struct Watch {
    inner: Arc<Inner>,
    done: bool,
}

impl Drop for Watch {
    fn drop(&mut self) {
        if self.done {
            self.inner.finished.fetch_add(1, Ordering::SeqCst);
        } else {
            self.inner.disconnects.fetch_add(1, Ordering::SeqCst);
        }
    }
}

fn chunk(content: Option<&str>, finish: Option<&str>) -> String {
    let delta = match content {
        Some(c) => json!({ "role": "assistant", "content": c }),
        None => json!({}),
    };
    let v = json!({
        "id": "chatcmpl-fake",
        "object": "chat.completion.chunk",
        "created": 1_700_000_000u32,
        "model": "fake-model",
        "choices": [{ "index": 0, "delta": delta, "finish_reason": finish }],
    });
    format!("data: {v}\n\n")
}

async fn completions(State(inner): State<Arc<Inner>>, Json(body): Json<Value>) -> Response {
    if !inner.forget.load(Ordering::Relaxed) {
        inner.requests.lock().unwrap().push(body);
    }
    inner.started.fetch_add(1, Ordering::SeqCst);
    let behaviour = inner
        .queue
        .lock()
        .unwrap()
        .pop_front()
        .unwrap_or_else(|| inner.default.lock().unwrap().clone());
    let mut watch = Watch {
        inner: inner.clone(),
        done: false,
    };
    if behaviour.hang {
        std::future::pending::<()>().await;
    }
    if let Some((code, retry_after)) = behaviour.status {
        watch.done = true;
        let status = StatusCode::from_u16(code).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        let body = json!({ "error": { "message": format!("fake upstream error {code}"), "type": "server_error", "param": null, "code": null } });
        let mut res = (status, Json(body)).into_response();
        if let Some(s) = retry_after {
            res.headers_mut()
                .insert(header::RETRY_AFTER, s.to_string().parse().unwrap());
        }
        return res;
    }
    let stream = async_stream(behaviour, watch);
    Response::builder()
        .header(header::CONTENT_TYPE, "text/event-stream")
        .header(header::CACHE_CONTROL, "no-cache")
        .body(Body::from_stream(stream))
        .unwrap()
}

/// The SSE body, one item per write, pacing with sleeps.
fn async_stream(b: Behaviour, watch: Watch) -> impl futures::Stream<Item = Result<Bytes, std::io::Error>> {
    futures::stream::unfold((0usize, Some(watch), b), |(i, watch, b)| async move {
        let mut watch = watch?;
        let delay = if i == 0 { b.first_token_delay } else { b.token_delay };
        if i < b.tokens.len() && !delay.is_zero() {
            tokio::time::sleep(delay).await;
        }
        if b.cut_after == Some(i) {
            // Let what was written reach the client, then break the connection.
            tokio::time::sleep(Duration::from_millis(100)).await;
            watch.done = true;
            drop(watch);
            return Some((Err(std::io::Error::other("cut off")), (i + 1, None, b)));
        }
        if b.truncate_after == Some(i) {
            watch.done = true;
            return None;
        }
        if b.malformed_after == Some(i) {
            return Some((
                Ok(Bytes::from_static(b"data: {this is not json\n\n")),
                (usize::MAX - 1, Some(watch), b),
            ));
        }
        if i == usize::MAX - 1 {
            // After a malformed line, keep the connection open briefly then end.
            watch.done = true;
            return None;
        }
        if i < b.tokens.len() {
            if i == 0 {
                watch.inner.first_chunk.lock().unwrap().push(std::time::Instant::now());
            }
            let c = chunk(Some(&b.tokens[i]), None);
            return Some((Ok(Bytes::from(c)), (i + 1, Some(watch), b)));
        }
        if i == b.tokens.len() {
            let mut s = chunk(None, Some(b.finish_reason));
            let n = b.tokens.len() as u32;
            let usage = json!({
                "id": "chatcmpl-fake", "object": "chat.completion.chunk", "created": 1_700_000_000u32,
                "model": "fake-model", "choices": [],
                "usage": { "prompt_tokens": 7, "completion_tokens": n, "total_tokens": 7 + n }
            });
            s.push_str(&format!("data: {usage}\n\ndata: [DONE]\n\n"));
            watch.done = true;
            return Some((Ok(Bytes::from(s)), (i + 1, Some(watch), b)));
        }
        None
    })
}

async fn models() -> Json<Value> {
    Json(json!({ "object": "list", "data": [
        { "id": "fake-model", "object": "model", "created": 0, "owned_by": "brook" },
        { "id": "gpt-4o-mini", "object": "model", "created": 0, "owned_by": "brook" }
    ]}))
}

impl FakeUpstream {
    pub async fn start() -> FakeUpstream {
        let inner = Arc::new(Inner::default());
        let app = Router::new()
            .route("/v1/chat/completions", post(completions))
            .route("/v1/models", get(models))
            .with_state(inner.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind fake upstream");
        let addr = listener.local_addr().expect("fake upstream address");
        let listener = axum::serve::ListenerExt::tap_io(listener, |tcp| {
            let _ = tcp.set_nodelay(true);
        });
        let task = tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        FakeUpstream { addr, inner, task }
    }

    /// The base URL to give Brook as `OPENAI_BASE_URL`.
    pub fn base_url(&self) -> String {
        format!("http://{}/v1", self.addr)
    }

    /// What every request gets unless one is queued.
    pub fn set_default(&self, b: Behaviour) {
        *self.inner.default.lock().unwrap() = b;
    }

    /// What the next request gets.
    pub fn push(&self, b: Behaviour) {
        self.inner.queue.lock().unwrap().push_back(b);
    }

    /// The request bodies received so far.
    /// Stops keeping request bodies (each holds its conversation's history, so
    /// a long soak would hold quadratic memory in the test, not in Brook).
    pub fn forget_requests(&self) {
        self.inner.forget.store(true, Ordering::Relaxed);
        self.inner.requests.lock().unwrap().clear();
    }

    pub fn requests(&self) -> Vec<Value> {
        self.inner.requests.lock().unwrap().clone()
    }

    /// When the most recent request's first token chunk was sent.
    pub fn last_first_chunk(&self) -> Option<std::time::Instant> {
        self.inner.first_chunk.lock().unwrap().last().copied()
    }

    pub fn started(&self) -> usize {
        self.inner.started.load(Ordering::SeqCst)
    }

    /// Requests whose client went away before the stream ended.
    pub fn disconnects(&self) -> usize {
        self.inner.disconnects.load(Ordering::SeqCst)
    }

    pub fn finished(&self) -> usize {
        self.inner.finished.load(Ordering::SeqCst)
    }
}
