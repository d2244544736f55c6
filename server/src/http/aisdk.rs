//! `POST /api/v1/chat/stream`: the Vercel AI SDK's UI message stream protocol v1,
//! so a `useChat` client works against Brook with no adapter. It accepts Brook's
//! body or `useChat`'s (`{id, messages, trigger}`); the SDK validates chunks
//! strictly, so only the protocol's own fields are sent and Brook's ids ride in
//! `messageMetadata`.

use std::convert::Infallible;
use std::sync::Arc;

use axum::extract::State;
use axum::http::{HeaderName, HeaderValue};
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::response::{IntoResponse, Response};
use engine::chat::{Redo, ReplyView, Surface};
use engine::hub::{EntryKind, Filter};
use engine::Engine;
use futures::stream::{self, StreamExt};
use protocol::frames::ErrorFrame;
use protocol::rest::ChatRequest;
use protocol::ErrorCode;
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

use super::chat::send_request;
use crate::error::{HttpError, HttpResult};
use crate::extract::{Auth, ClientIp, JsonBody};

/// The chunks Brook sends, exactly as the SDK's schema names them.
#[derive(Serialize)]
#[serde(tag = "type", rename_all = "kebab-case")]
enum Chunk<'a> {
    Start {
        #[serde(rename = "messageMetadata")]
        message_metadata: &'a Value,
    },
    TextStart {
        id: &'a str,
    },
    TextDelta {
        id: &'a str,
        delta: &'a str,
    },
    TextEnd {
        id: &'a str,
    },
    Finish {
        #[serde(rename = "messageMetadata")]
        message_metadata: &'a Value,
    },
    Error {
        #[serde(rename = "errorText")]
        error_text: &'a str,
    },
}

fn event(chunk: &Chunk<'_>) -> Result<Event, Infallible> {
    Ok(Event::default().data(serde_json::to_string(chunk).unwrap_or_default()))
}

#[derive(Deserialize)]
struct UseChatBody {
    id: String,
    messages: Vec<UiMessage>,
    #[serde(default)]
    trigger: Option<String>,
}

#[derive(Deserialize)]
struct UiMessage {
    id: String,
    role: String,
    #[serde(default)]
    parts: Vec<Value>,
}

fn bad_body(e: serde_json::Error) -> HttpError {
    HttpError::new(ErrorCode::InvalidFrame, format!("invalid body: {e}"))
}

pub async fn stream(
    State(engine): State<Arc<Engine>>,
    auth: Auth,
    ClientIp(ip): ClientIp,
    JsonBody(body): JsonBody<Value>,
) -> HttpResult<Response> {
    let who = &auth.who;
    let ack =
        if body.get("messages").is_some() {
            let b: UseChatBody = serde_json::from_value(body).map_err(bad_body)?;
            if b.trigger.as_deref() == Some("regenerate-message") {
                engine
                    .exchange
                    .regenerate(who, &b.id, Redo::default(), None, Some(ip), Surface::Http)
                    .await?
            } else {
                let last =
                    b.messages.iter().rev().find(|m| m.role == "user").ok_or_else(|| {
                        HttpError::new(ErrorCode::InvalidFrame, "messages: no user message to answer")
                    })?;
                let text: String = last
                    .parts
                    .iter()
                    .filter(|p| p.get("type").and_then(Value::as_str) == Some("text"))
                    .filter_map(|p| p.get("text").and_then(Value::as_str))
                    .collect::<Vec<_>>()
                    .join("");
                let req = ChatRequest {
                    message: text,
                    session_id: Some(b.id),
                    client_id: Some(last.id.clone()),
                    bot_id: None,
                };
                engine.exchange.send_message(who, send_request(req, ip)).await?
            }
        } else {
            let req: ChatRequest = serde_json::from_value(body).map_err(bad_body)?;
            engine.exchange.send_message(who, send_request(req, ip)).await?
        };
    let meta = json!({ "session_id": ack.session_id, "reply_id": ack.reply_id, "message_id": ack.message_id });
    let Some(reply_id) = ack.reply_id.clone() else {
        // `human` mode (§9.1): the message is stored and a person answers; the
        // stream says so by starting and finishing with no text.
        let v = vec![
            event(&Chunk::Start {
                message_metadata: &meta,
            }),
            event(&Chunk::Finish {
                message_metadata: &meta,
            }),
            Ok(Event::default().data("[DONE]")),
        ];
        return Ok(sse_response(stream::iter(v).boxed()));
    };
    let log = match engine.replies.find(who, &reply_id).await? {
        ReplyView::Live(log) => Some(log),
        ReplyView::Stored { .. } => None,
    };
    let text_id = format!("text-{reply_id}");
    let head = vec![
        event(&Chunk::Start {
            message_metadata: &meta,
        }),
        event(&Chunk::TextStart { id: &text_id }),
    ];
    let tail_meta = meta.clone();
    let tail_id = text_id.clone();
    let body = match log {
        // A duplicate of a finished send: the stored reply, in one piece.
        None => {
            let (complete, _) = super::chat::wait_for(&engine, who, &reply_id).await?;
            let mut v = head;
            v.push(event(&Chunk::TextDelta {
                id: &text_id,
                delta: &complete.response,
            }));
            v.push(event(&Chunk::TextEnd { id: &text_id }));
            v.push(event(&Chunk::Finish {
                message_metadata: &meta,
            }));
            v.push(Ok(Event::default().data("[DONE]")));
            stream::iter(v).boxed()
        }
        Some(log) => {
            let follower = log.follow(Filter::After(0));
            let tokens = stream::unfold((follower, false), move |(mut f, failed)| {
                let (id, meta) = (tail_id.clone(), tail_meta.clone());
                async move {
                    if failed {
                        return None;
                    }
                    let batch = f.next_batch().await?;
                    let mut out = Vec::new();
                    let mut failed = false;
                    for e in &batch {
                        match e.kind {
                            EntryKind::Token => out.push(event(&Chunk::TextDelta {
                                id: &id,
                                delta: e.text.as_deref().unwrap_or_default(),
                            })),
                            EntryKind::Error => {
                                let msg = serde_json::from_str::<Value>(e.frame.as_str())
                                    .ok()
                                    .and_then(|v| serde_json::from_value::<ErrorFrame>(v).ok())
                                    .map(|f| f.error)
                                    .unwrap_or_else(|| "the reply failed".into());
                                out.push(event(&Chunk::Error { error_text: &msg }));
                                out.push(Ok(Event::default().data("[DONE]")));
                                failed = true;
                                break;
                            }
                            EntryKind::Complete => {
                                out.push(event(&Chunk::TextEnd { id: &id }));
                                out.push(event(&Chunk::Finish {
                                    message_metadata: &meta,
                                }));
                                out.push(Ok(Event::default().data("[DONE]")));
                            }
                            EntryKind::Preamble | EntryKind::Epilogue => {}
                        }
                    }
                    Some((stream::iter(out), (f, failed)))
                }
            })
            .flatten();
            stream::iter(head).chain(tokens).boxed()
        }
    };
    Ok(sse_response(body))
}

fn sse_response(body: stream::BoxStream<'static, Result<Event, Infallible>>) -> Response {
    let mut res = (
        super::stream_headers(),
        Sse::new(body).keep_alive(KeepAlive::new().interval(super::sse::HEARTBEAT)),
    )
        .into_response();
    res.headers_mut().insert(
        HeaderName::from_static("x-vercel-ai-ui-message-stream"),
        HeaderValue::from_static("v1"),
    );
    res
}
