//! `POST /api/v1/chat/stream`: the Vercel AI SDK's UI message stream protocol v1,
//! so a `useChat` client works against Brook with no adapter. It accepts Brook's
//! body or `useChat`'s (`{id, messages, trigger}`); the SDK validates chunks
//! strictly, so only the protocol's own fields are sent and Brook's ids ride in
//! `messageMetadata`.

use std::convert::Infallible;
use std::net::IpAddr;
use std::sync::Arc;

use axum::extract::State;
use axum::http::{HeaderName, HeaderValue};
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::response::{IntoResponse, Response};
use engine::auth::Identity;
use engine::chat::{Redo, ReplyView, Via};
use engine::hub::{Entry, EntryKind, Filter, ReplyLog};
use engine::Engine;
use futures::stream::{self, StreamExt};
use protocol::frames::{Ack, ErrorFrame};
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
    role: UiRole,
    #[serde(default)]
    parts: Vec<Value>,
}

/// A `useChat` message's role; only the user's messages are answered.
#[derive(Deserialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
enum UiRole {
    User,
    /// `assistant`, `system`, or any role a later SDK adds.
    #[serde(other)]
    Other,
}

fn bad_body(e: serde_json::Error) -> HttpError {
    HttpError::new(ErrorCode::InvalidFrame, format!("invalid body: {e}"))
}

/// The stream's end marker (the SDK's `[DONE]`).
fn done() -> Result<Event, Infallible> {
    Ok(Event::default().data("[DONE]"))
}

/// `useChat`'s newest user message as Brook's send: its text parts joined,
/// its id as the `client_id`.
fn last_user_message(b: UseChatBody) -> HttpResult<ChatRequest> {
    let last = b
        .messages
        .into_iter()
        .rev()
        .find(|m| m.role == UiRole::User)
        .ok_or_else(|| HttpError::new(ErrorCode::InvalidFrame, "messages: no user message to answer"))?;
    let text: String = last
        .parts
        .iter()
        .filter(|p| p.get("type").and_then(Value::as_str) == Some("text"))
        .filter_map(|p| p.get("text").and_then(Value::as_str))
        .collect::<Vec<_>>()
        .join("");
    Ok(ChatRequest {
        message: text,
        session_id: Some(b.id),
        client_id: Some(last.id),
        bot_id: None,
    })
}

/// Sends (or regenerates, for `trigger: "regenerate-message"`) what the body
/// asks: `useChat`'s body when it has `messages`, else Brook's [`ChatRequest`].
async fn acknowledge(engine: &Arc<Engine>, who: &Identity, ip: IpAddr, body: Value) -> HttpResult<Ack> {
    if body.get("messages").is_none() {
        let req: ChatRequest = serde_json::from_value(body).map_err(bad_body)?;
        return Ok(engine.exchange.send_message(who, send_request(req, ip)).await?);
    }
    let b: UseChatBody = serde_json::from_value(body).map_err(bad_body)?;
    if b.trigger.as_deref() == Some("regenerate-message") {
        let (redo, ip) = (Redo::default(), Some(ip));
        let ack = engine
            .exchange
            .regenerate(who, &b.id, redo, None, ip, Via::Http)
            .await?;
        return Ok(ack);
    }
    let req = last_user_message(b)?;
    Ok(engine.exchange.send_message(who, send_request(req, ip)).await?)
}

pub async fn stream(
    State(engine): State<Arc<Engine>>,
    auth: Auth,
    ClientIp(ip): ClientIp,
    JsonBody(body): JsonBody<Value>,
) -> HttpResult<Response> {
    let who = &auth.who;
    let ack = acknowledge(&engine, who, ip, body).await?;
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
            done(),
        ];
        return Ok(sse_response(stream::iter(v).boxed()));
    };
    let text_id = format!("text-{reply_id}");
    let head = vec![
        event(&Chunk::Start {
            message_metadata: &meta,
        }),
        event(&Chunk::TextStart { id: &text_id }),
    ];
    let body = match engine.replies.find(who, &reply_id).await? {
        ReplyView::Live(log) => stream::iter(head).chain(live_chunks(&log, text_id, meta)).boxed(),
        // A duplicate of a finished send: the stored reply, in one piece.
        ReplyView::Stored { .. } => {
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
            v.push(done());
            stream::iter(v).boxed()
        }
    };
    Ok(sse_response(body))
}

/// A live reply's chunks from its first token: deltas, then `text-end` and
/// `finish`, or an `error` chunk that ends the stream.
fn live_chunks(
    log: &Arc<ReplyLog>,
    text_id: String,
    meta: Value,
) -> impl futures::Stream<Item = Result<Event, Infallible>> + Send + 'static {
    let follower = log.follow(Filter::After(0));
    stream::unfold((follower, false), move |(mut f, failed)| {
        let (id, meta) = (text_id.clone(), meta.clone());
        async move {
            if failed {
                return None;
            }
            let batch = f.next_batch().await?;
            let mut out = Vec::new();
            let mut failed = false;
            for e in &batch {
                failed = entry_chunks(e, &id, &meta, &mut out);
                if failed {
                    break;
                }
            }
            Some((stream::iter(out), (f, failed)))
        }
    })
    .flatten()
}

/// Appends one log entry's chunks to `out`; `true` when the entry ended the
/// reply with an error (the stream then ends).
fn entry_chunks(e: &Entry, id: &str, meta: &Value, out: &mut Vec<Result<Event, Infallible>>) -> bool {
    match e.kind {
        EntryKind::Token => out.push(event(&Chunk::TextDelta {
            id,
            delta: e.text.as_deref().unwrap_or_default(),
        })),
        EntryKind::Error => {
            let msg = serde_json::from_str::<Value>(e.frame.as_str())
                .ok()
                .and_then(|v| serde_json::from_value::<ErrorFrame>(v).ok())
                .map(|f| f.error)
                .unwrap_or_else(|| "the reply failed".into());
            out.push(event(&Chunk::Error { error_text: &msg }));
            out.push(done());
            return true;
        }
        EntryKind::Complete => {
            out.push(event(&Chunk::TextEnd { id }));
            out.push(event(&Chunk::Finish { message_metadata: meta }));
            out.push(done());
        }
        EntryKind::Preamble | EntryKind::Epilogue => {}
    }
    false
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
