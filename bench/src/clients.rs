//! One request to one system, timed from the client's side: real WebSocket
//! (tokio-tungstenite) and SSE (reqwest) clients.
//!
//! Tokens are counted in the text that arrives, not in frames: the fake
//! upstream's pieces are `"w1 "`, `"w2 "`, …, so the number of spaces is the
//! number of upstream tokens whatever a relay coalesces, and a reply is
//! exact when it holds all of them.

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use futures::{SinkExt, StreamExt};
use serde_json::{json, Value};
use tokio::net::{TcpSocket, TcpStream};
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::WebSocketStream;

/// The kinds of endpoint the tool speaks.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    /// OpenAI `chat.completion.chunk` SSE (the fake upstream itself, LiteLLM).
    OpenAi,
    /// Brook's WebSocket protocol (`/api/v1/chat/ws`).
    BrookWs,
    /// Brook's AI SDK endpoint (`POST /api/v1/chat/stream`, UI message stream SSE).
    BrookSse,
    /// The Node `streamText` relay (UI message stream SSE).
    Relay,
}

/// A system under test.
#[derive(Clone, Debug)]
pub struct Target {
    pub name: &'static str,
    pub kind: Kind,
    /// `http://host:port` (for OpenAI kinds the base URL ending in `/v1`).
    pub url: String,
    /// The server's process, for CPU and RSS; `None` for a server not started here.
    pub pid: Option<u32>,
}

/// What one request saw; times in ms from the request's start.
#[derive(Clone, Debug, Default)]
pub struct Sample {
    pub ok: bool,
    pub tokens: usize,
    pub ack_ms: Option<f64>,
    pub ttft_ms: Option<f64>,
    pub total_ms: f64,
    /// From the first token to the last.
    pub span_ms: f64,
    pub error: Option<String>,
}

type Ws = WebSocketStream<TcpStream>;

/// A client's state for one system: a guest token and, for the WebSocket, an
/// open authenticated connection.
pub struct Session {
    target: Target,
    token: Option<String>,
    ws: Option<Ws>,
}

/// Creates a guest on Brook and returns its JWT.
pub async fn guest(http: &reqwest::Client, base: &str) -> Result<String, String> {
    let r = http
        .post(format!("{base}/api/v1/auth/guest"))
        .send()
        .await
        .map_err(|e| format!("guest: {e}"))?;
    let v: Value = r.json().await.map_err(|e| format!("guest: {e}"))?;
    v["token"]
        .as_str()
        .map(str::to_string)
        .ok_or_else(|| format!("guest: {v}"))
}

/// Opens Brook's WebSocket with `?token=` from `source` (a loopback address,
/// to pass one address's ephemeral ports) and waits for `auth_success`.
pub async fn ws_connect(base: &str, token: &str, source: Option<std::net::IpAddr>) -> Result<Ws, String> {
    let host = base.trim_start_matches("http://");
    let addr: SocketAddr = host.parse().map_err(|e| format!("{host}: {e}"))?;
    let socket = TcpSocket::new_v4().map_err(|e| e.to_string())?;
    if let Some(ip) = source {
        socket
            .bind(SocketAddr::new(ip, 0))
            .map_err(|e| format!("bind {ip}: {e}"))?;
    }
    let tcp = socket.connect(addr).await.map_err(|e| format!("connect: {e}"))?;
    let _ = tcp.set_nodelay(true);
    let url = format!("ws://{host}/api/v1/chat/ws?token={token}");
    let (mut ws, _) = tokio_tungstenite::client_async(url, tcp)
        .await
        .map_err(|e| format!("upgrade: {e}"))?;
    loop {
        match ws.next().await {
            Some(Ok(Message::Text(t))) if t.as_str().contains("\"auth_success\"") => return Ok(ws),
            Some(Ok(Message::Text(t))) if t.as_str().contains("\"auth_error\"") => return Err(format!("auth: {t}")),
            Some(Ok(_)) => continue,
            Some(Err(e)) => return Err(format!("ws: {e}")),
            None => return Err("ws closed before auth_success".into()),
        }
    }
}

impl Session {
    /// A session on `target`: a new guest (and WebSocket) for Brook, nothing else for the others.
    pub async fn open(target: &Target, http: &reqwest::Client) -> Result<Session, String> {
        let (token, ws) = match target.kind {
            Kind::BrookWs => {
                let t = guest(http, &target.url).await?;
                let ws = ws_connect(&target.url, &t, None).await?;
                (Some(t), Some(ws))
            }
            Kind::BrookSse => (Some(guest(http, &target.url).await?), None),
            Kind::OpenAi | Kind::Relay => (None, None),
        };
        Ok(Session {
            target: target.clone(),
            token,
            ws,
        })
    }

    /// Sends `text` and reads the whole reply; never panics, a failure is a
    /// sample with `ok: false` and its reason.
    pub async fn request(&mut self, http: &reqwest::Client, text: &str, expect: usize, limit: Duration) -> Sample {
        let start = Instant::now();
        let run = async {
            match self.target.kind {
                Kind::BrookWs => self.ws_request(text, start).await,
                _ => self.sse_request(http, text, start).await,
            }
        };
        let mut s = match tokio::time::timeout(limit, run).await {
            Ok(Ok(s)) => s,
            Ok(Err(e)) => Sample {
                error: Some(e),
                ..Sample::default()
            },
            Err(_) => Sample {
                error: Some(format!("no complete reply within {limit:?}")),
                ..Sample::default()
            },
        };
        s.total_ms = ms(start.elapsed());
        s.ok = s.error.is_none() && s.tokens == expect;
        if s.error.is_none() && s.tokens != expect {
            s.error = Some(format!("{} tokens of {expect}", s.tokens));
        }
        s
    }

    async fn ws_request(&mut self, text: &str, start: Instant) -> Result<Sample, String> {
        let ws = self.ws.as_mut().ok_or("no WebSocket")?;
        let frame = json!({"type": "message", "message": text}).to_string();
        ws.send(Message::Text(frame.into()))
            .await
            .map_err(|e| format!("send: {e}"))?;
        let mut s = Sample::default();
        let mut reply: Option<String> = None;
        let mut first = None;
        loop {
            let msg = match ws.next().await {
                Some(Ok(Message::Text(t))) => t,
                Some(Ok(_)) => continue,
                Some(Err(e)) => return Err(format!("ws: {e}")),
                None => return Err("ws closed".into()),
            };
            let v: Value = serde_json::from_str(msg.as_str()).map_err(|e| format!("frame: {e}"))?;
            let mine = |v: &Value| reply.as_deref().is_some_and(|r| v["reply_id"] == r);
            match v["type"].as_str() {
                Some("ack") if reply.is_none() => {
                    s.ack_ms = Some(ms(start.elapsed()));
                    reply = v["reply_id"].as_str().map(str::to_string);
                }
                Some("token") if mine(&v) => {
                    let n = spaces(v["token"].as_str().unwrap_or(""));
                    if n > 0 && first.is_none() {
                        first = Some(Instant::now());
                        s.ttft_ms = Some(ms(start.elapsed()));
                    }
                    s.tokens += n;
                }
                Some("error") if reply.is_none() || mine(&v) => {
                    return Err(format!("error frame: {v}"));
                }
                Some("complete") if mine(&v) => {
                    s.span_ms = first.map(|f| ms(f.elapsed())).unwrap_or(0.0);
                    return Ok(s);
                }
                _ => {}
            }
        }
    }

    async fn sse_request(&mut self, http: &reqwest::Client, text: &str, start: Instant) -> Result<Sample, String> {
        let (url, body) = match self.target.kind {
            Kind::OpenAi => (
                format!("{}/chat/completions", self.target.url),
                json!({"model": "fake-model", "stream": true, "messages": [{"role": "user", "content": text}]}),
            ),
            Kind::BrookSse => (
                format!("{}/api/v1/chat/stream", self.target.url),
                json!({"message": text}),
            ),
            _ => (
                self.target.url.clone(),
                json!({"id": "bench", "messages": [{"id": "m1", "role": "user", "parts": [{"type": "text", "text": text}]}]}),
            ),
        };
        let mut req = http.post(url).json(&body);
        req = req.bearer_auth(self.token.as_deref().unwrap_or("bench"));
        let r = req.send().await.map_err(|e| format!("request: {e}"))?;
        if !r.status().is_success() {
            let code = r.status();
            let body = r.text().await.unwrap_or_default();
            return Err(format!("{code}: {}", body.chars().take(200).collect::<String>()));
        }
        let mut s = Sample::default();
        let mut first = None;
        let mut body = r.bytes_stream();
        let mut buf: Vec<u8> = Vec::new();
        while let Some(chunk) = body.next().await {
            let chunk = chunk.map_err(|e| format!("body: {e}"))?;
            buf.extend_from_slice(&chunk);
            while let Some(i) = buf.iter().position(|b| *b == b'\n') {
                let line: Vec<u8> = buf.drain(..=i).collect();
                let piece = match data_line(self.target.kind, &line) {
                    Line::Done => {
                        s.span_ms = first.map(|f: Instant| ms(f.elapsed())).unwrap_or(0.0);
                        return Ok(s);
                    }
                    Line::Error(e) => return Err(e),
                    Line::Tokens(n) => Some(n),
                    Line::Other => None,
                };
                if let Some(n) = piece.filter(|n| *n > 0) {
                    if first.is_none() {
                        first = Some(Instant::now());
                        s.ttft_ms = Some(ms(start.elapsed()));
                    }
                    s.tokens += n;
                }
            }
        }
        // A stream that ends without `[DONE]` still counts what it delivered.
        s.span_ms = first.map(|f| ms(f.elapsed())).unwrap_or(0.0);
        Ok(s)
    }
}

/// What one SSE line says.
#[derive(Debug, PartialEq, Eq)]
enum Line {
    /// `data: [DONE]`.
    Done,
    /// Text holding this many upstream tokens.
    Tokens(usize),
    /// An error part (UI message stream).
    Error(String),
    /// Anything else: other parts, comments, `event:` and `id:` lines, blank lines.
    Other,
}

/// Reads one line (with or without its `\n`) of an OpenAI or UI message stream.
fn data_line(kind: Kind, line: &[u8]) -> Line {
    let Some(data) = line.strip_prefix(b"data: ") else {
        return Line::Other;
    };
    if data.starts_with(b"[DONE]") {
        return Line::Done;
    }
    let Ok(v) = serde_json::from_slice::<Value>(data) else {
        return Line::Other;
    };
    let text = match kind {
        Kind::OpenAi => v["choices"][0]["delta"]["content"].as_str(),
        _ if v["type"] == "text-delta" => v["delta"].as_str(),
        _ if v["type"] == "error" => return Line::Error(format!("error part: {v}")),
        _ => None,
    };
    text.map_or(Line::Other, |t| Line::Tokens(spaces(t)))
}

fn spaces(s: &str) -> usize {
    s.bytes().filter(|b| *b == b' ').count()
}

pub fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_openai_and_ui_message_stream_lines() {
        let openai = br#"data: {"choices":[{"index":0,"delta":{"role":"assistant","content":"w1 w2 "}}]}"#;
        assert_eq!(data_line(Kind::OpenAi, openai), Line::Tokens(2));
        let delta = b"data: {\"type\":\"text-delta\",\"id\":\"t\",\"delta\":\"w3 \"}\n";
        assert_eq!(data_line(Kind::Relay, delta), Line::Tokens(1));
        assert_eq!(data_line(Kind::BrookSse, b"data: {\"type\":\"start\"}"), Line::Other);
        assert!(matches!(
            data_line(Kind::BrookSse, b"data: {\"type\":\"error\",\"errorText\":\"x\"}"),
            Line::Error(_)
        ));
        assert_eq!(data_line(Kind::OpenAi, b"data: [DONE]\n"), Line::Done);
        assert_eq!(data_line(Kind::OpenAi, b"event: token\n"), Line::Other);
        assert_eq!(data_line(Kind::OpenAi, b"data: {not json"), Line::Other);
    }
}
