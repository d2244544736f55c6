//! A WebSocket client for tests: JSON frames with time-outs.

use std::time::Duration;

use futures::{SinkExt, StreamExt};
use serde_json::Value;
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};

pub const WAIT: Duration = Duration::from_secs(20);

pub struct WsClient {
    pub stream: WebSocketStream<MaybeTlsStream<TcpStream>>,
    /// The close code, once the server closed the connection.
    pub closed: Option<u16>,
}

/// A finished reply as one subscriber saw it.
#[derive(Debug, Default, Clone)]
pub struct Collected {
    pub tokens: Vec<(u64, String)>,
    pub complete: Option<Value>,
    pub errors: Vec<Value>,
    pub frames: Vec<Value>,
}

impl Collected {
    pub fn text(&self) -> String {
        self.tokens.iter().map(|(_, t)| t.as_str()).collect()
    }
    pub fn seqs(&self) -> Vec<u64> {
        self.tokens.iter().map(|(s, _)| *s).collect()
    }
    pub fn response(&self) -> String {
        self.complete
            .as_ref()
            .and_then(|c| c["response"].as_str())
            .unwrap_or_default()
            .to_string()
    }
}

impl WsClient {
    pub async fn connect(url: &str) -> Result<WsClient, tokio_tungstenite::tungstenite::Error> {
        let (stream, _) = tokio_tungstenite::connect_async(url).await?;
        Ok(WsClient { stream, closed: None })
    }

    /// Connects with `Authorization: Bearer <token>` on the upgrade request.
    pub async fn connect_bearer(url: &str, token: &str) -> Result<WsClient, tokio_tungstenite::tungstenite::Error> {
        use tokio_tungstenite::tungstenite::client::IntoClientRequest;
        let mut req = url.into_client_request()?;
        let value = format!("Bearer {token}").parse().expect("a token fits in a header");
        req.headers_mut().insert("authorization", value);
        let (stream, _) = tokio_tungstenite::connect_async(req).await?;
        Ok(WsClient { stream, closed: None })
    }

    /// Connects with extra headers on the upgrade request (e.g. `Authorization`
    /// and `X-Forwarded-For`, as a proxy would send them).
    pub async fn connect_with_headers(
        url: &str,
        headers: &[(&str, String)],
    ) -> Result<WsClient, tokio_tungstenite::tungstenite::Error> {
        use tokio_tungstenite::tungstenite::client::IntoClientRequest;
        use tokio_tungstenite::tungstenite::http::{HeaderName, HeaderValue};
        let mut req = url.into_client_request()?;
        for (name, value) in headers {
            let name = HeaderName::from_bytes(name.as_bytes()).expect("a valid header name");
            let value = HeaderValue::from_str(value).expect("a valid header value");
            req.headers_mut().append(name, value);
        }
        let (stream, _) = tokio_tungstenite::connect_async(req).await?;
        Ok(WsClient { stream, closed: None })
    }

    pub async fn send(&mut self, v: Value) {
        self.stream
            .send(Message::Text(v.to_string().into()))
            .await
            .expect("send");
    }

    pub async fn send_raw(&mut self, m: Message) {
        let _ = self.stream.send(m).await;
    }

    /// The next JSON frame, or `None` when the connection closed (see `closed`).
    pub async fn recv(&mut self) -> Option<Value> {
        self.recv_within(WAIT).await
    }

    pub async fn recv_within(&mut self, wait: Duration) -> Option<Value> {
        loop {
            let msg = tokio::time::timeout(wait, self.stream.next()).await.ok()??;
            match msg {
                Ok(Message::Text(t)) => return Some(serde_json::from_str(t.as_str()).expect("server frames are JSON")),
                Ok(Message::Close(frame)) => {
                    self.closed = Some(frame.map(|f| u16::from(f.code)).unwrap_or(u16::from(CloseCode::Status)));
                    return None;
                }
                Ok(_) => continue,
                Err(e) => {
                    eprintln!("test websocket failed: {e}");
                    return None;
                }
            }
        }
    }

    /// Frames until one of type `ty` (returned); the others are dropped.
    pub async fn recv_type(&mut self, ty: &str) -> Value {
        loop {
            let f = self
                .recv()
                .await
                .unwrap_or_else(|| panic!("connection ended while waiting for {ty}"));
            if f["type"] == ty {
                return f;
            }
        }
    }

    /// Reads until `complete` for `reply_id`, gathering its tokens and errors.
    pub async fn collect(&mut self, reply_id: &str) -> Collected {
        let mut c = Collected::default();
        loop {
            let f = self.recv().await.unwrap_or_else(|| {
                panic!(
                    "connection ended (close {:?}) before complete of {reply_id}: {} tokens, last seq {:?}, {} errors",
                    self.closed,
                    c.tokens.len(),
                    c.tokens.last().map(|t| t.0),
                    c.errors.len()
                )
            });
            let mine = f["reply_id"] == reply_id;
            match f["type"].as_str() {
                Some("token") if mine => c
                    .tokens
                    .push((f["seq"].as_u64().unwrap(), f["token"].as_str().unwrap().to_string())),
                Some("error") if mine => c.errors.push(f.clone()),
                Some("complete") if mine => {
                    c.frames.push(f.clone());
                    c.complete = Some(f);
                    return c;
                }
                _ => {}
            }
            c.frames.push(f);
        }
    }

    /// Sends a message and returns its `ack`.
    pub async fn message(&mut self, text: &str, session_id: Option<&str>, client_id: Option<&str>) -> Value {
        self.send(
            serde_json::json!({"type": "message", "message": text, "session_id": session_id, "client_id": client_id}),
        )
        .await;
        self.recv_type("ack").await
    }

    pub async fn close(mut self) {
        let _ = self.stream.close(None).await;
    }
}
