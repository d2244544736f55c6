//! Contract §9, people in the loop, at the protocol level on both backends:
//! hand-off, read receipts and unread counts, feedback and export, presence.

mod feedback;
mod follow;
mod handoff;
mod presence;
mod read;

use std::time::Duration;

use futures::StreamExt;
use tokio::sync::mpsc;

use crate::helpers::*;

pub const SITE: &str = "http://localhost:4100";

/// A bot's owner and one of its widget visitors.
pub struct Cast {
    pub owner: String,
    pub bot_id: String,
    pub visitor: String,
    pub visitor_id: String,
}

impl Cast {
    /// `/api/v1/bots/{bot}/visitors/{visitor}/conversations/{session}/{what}`.
    pub fn path(&self, session: &str, what: &str) -> String {
        format!(
            "/api/v1/bots/{}/visitors/{}/conversations/{session}/{what}",
            self.bot_id, self.visitor_id
        )
    }
}

/// An owner (named "Test") with a widget bot allowed on [`SITE`], and a visitor of it.
pub async fn cast(app: &TestApp) -> Cast {
    let owner = app.user_token().await;
    let (s, bot) = body(
        app.post(
            "/api/v1/bots",
            Some(&owner),
            json!({"name": "Shop helper", "widget": {"enabled": true, "allowed_origins": [SITE]}}),
        )
        .await,
    )
    .await;
    assert_eq!(s, 201, "{bot}");
    let v = widget_session(app, bot["widget"]["public_key"].as_str().unwrap()).await;
    Cast {
        owner,
        bot_id: bot["id"].as_str().unwrap().to_string(),
        visitor: v["token"].as_str().unwrap().to_string(),
        visitor_id: v["visitor_id"].as_str().unwrap().to_string(),
    }
}

/// A server-sent event stream read in the background: `(event, data)`.
pub struct Sse {
    rx: mpsc::UnboundedReceiver<(String, Value)>,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for Sse {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl Sse {
    pub async fn open(app: &TestApp, path_and_token: &str) -> Sse {
        Sse::connect(&app.http, &app.url(path_and_token)).await
    }

    /// An event stream at a whole URL (e.g. on one node of a cluster).
    pub async fn connect(http: &reqwest::Client, url: &str) -> Sse {
        let r = http.get(url).send().await.unwrap();
        assert_eq!(r.status(), 200, "{url}");
        let (tx, rx) = mpsc::unbounded_channel();
        let task = tokio::spawn(async move {
            let mut buf = String::new();
            let mut body = r.bytes_stream();
            while let Some(Ok(chunk)) = body.next().await {
                buf.push_str(&String::from_utf8_lossy(&chunk));
                while let Some(i) = buf.find("\n\n") {
                    let block: String = buf.drain(..i + 2).collect();
                    let (mut event, mut data) = ("message".to_string(), String::new());
                    for line in block.lines() {
                        if let Some(v) = line.strip_prefix("event:") {
                            event = v.trim().to_string();
                        } else if let Some(v) = line.strip_prefix("data:") {
                            data.push_str(v.strip_prefix(' ').unwrap_or(v));
                        }
                    }
                    if let Ok(v) = serde_json::from_str::<Value>(&data) {
                        let _ = tx.send((event, v));
                    }
                }
            }
        });
        // Let the server register the stream before the test acts.
        tokio::time::sleep(Duration::from_millis(150)).await;
        Sse { rx, task }
    }

    /// The next event named `name` within `wait` (others are dropped).
    pub async fn next_within(&mut self, name: &str, wait: Duration) -> Option<Value> {
        let deadline = tokio::time::Instant::now() + wait;
        loop {
            let (e, v) = tokio::time::timeout_at(deadline, self.rx.recv()).await.ok()??;
            if e == name {
                return Some(v);
            }
        }
    }

    pub async fn next(&mut self, name: &str) -> Value {
        self.next_within(name, Duration::from_secs(10))
            .await
            .unwrap_or_else(|| panic!("no {name} event"))
    }
}

/// Frames until one of `ty` within `wait`, or `None`.
pub async fn frame_within(ws: &mut WsClient, ty: &str, wait: Duration) -> Option<Value> {
    let deadline = tokio::time::Instant::now() + wait;
    loop {
        let left = deadline.saturating_duration_since(tokio::time::Instant::now());
        if left.is_zero() {
            return None;
        }
        let f = ws.recv_within(left).await?;
        if f["type"] == ty {
            return Some(f);
        }
    }
}

/// A new widget visitor of the bot with public key `key`, on [`SITE`]: the
/// session's JSON (`token`, `visitor_id`, …).
pub async fn widget_session(app: &TestApp, key: &str) -> Value {
    app.http
        .post(app.url("/api/v1/widget/session"))
        .header("Origin", SITE)
        .json(&json!({"bot_key": key}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap()
}
