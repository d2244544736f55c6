//! `POST /v1/chat/completions` (contract §10): a `chat.completion`, or with
//! `stream: true` Server-Sent Events of `chat.completion.chunk`s ending with
//! `data: [DONE]` (and a usage chunk before it when
//! `stream_options.include_usage` is set).
//!
//! The first event is awaited before answering, so a failure before any text
//! (the provider down, a time-out) is a proper status (`502`, `503`) that
//! clients raise as an error; a failure after text began is an `error` event,
//! after which the stream ends without `[DONE]`.

use std::convert::Infallible;
use std::sync::Arc;

use axum::extract::State;
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::response::{IntoResponse, Response};
use axum::Json;
use engine::chat::stateless::{CompletionEnd, CompletionEvent};
use engine::Engine;
use futures::stream::{self, Stream, StreamExt};
use protocol::objects::FinishReason;
use protocol::ErrorCode;
use tokio::sync::mpsc;

use super::error::{error_body, OaiError};
use super::wire::{
    finish_reason, AssistantMessage, ChatCompletion, ChatCompletionRequest, Choice, Chunk, ChunkChoice, Delta,
};
use crate::error::HttpError;
use crate::extract::{Auth, ClientIp, JsonBody};

fn upstream_failed(end: &CompletionEnd) -> OaiError {
    OaiError::new(
        ErrorCode::UpstreamError,
        end.error.clone().unwrap_or_else(|| "the model provider failed".into()),
    )
}

#[tracing::instrument(skip_all)]
pub async fn create(
    State(engine): State<Arc<Engine>>,
    auth: Result<Auth, HttpError>,
    ClientIp(ip): ClientIp,
    body: Result<JsonBody<ChatCompletionRequest>, HttpError>,
) -> Result<Response, OaiError> {
    let who = auth?.who;
    let JsonBody(body) = body?;
    let (streams, include_usage, model) = (body.streams(), body.include_usage(), body.model.clone());
    let completion = engine.completions.start_completion(&who, body.into_engine(ip)?).await?;
    let id = format!("chatcmpl-{}", engine::ids::secret(24));
    let created = engine::time::now_micros() / 1_000_000;
    if streams {
        let head = Head {
            id,
            created,
            model,
            include_usage,
        };
        return streamed(head, completion.events).await;
    }
    let mut events = completion.events;
    let mut text = String::new();
    while let Some(e) = events.recv().await {
        match e {
            CompletionEvent::Text(t) => text.push_str(&t),
            CompletionEvent::End(end) if end.finish == FinishReason::Error => return Err(upstream_failed(&end)),
            CompletionEvent::End(end) => {
                return Ok(Json(ChatCompletion {
                    id,
                    object: "chat.completion",
                    created,
                    model,
                    choices: vec![Choice {
                        index: 0,
                        message: AssistantMessage {
                            role: "assistant",
                            content: text,
                            refusal: None,
                        },
                        finish_reason: finish_reason(end.finish),
                        logprobs: None,
                    }],
                    usage: end.usage.into(),
                    system_fingerprint: None,
                })
                .into_response())
            }
        }
    }
    Err(OaiError(engine::Error::internal()))
}

/// What every chunk of one answer repeats.
struct Head {
    id: String,
    created: i64,
    model: String,
    include_usage: bool,
}

impl Head {
    fn chunk(&self, delta: Delta<'_>, finish: Option<&'static str>) -> Result<Event, Infallible> {
        let c = Chunk {
            id: &self.id,
            object: "chat.completion.chunk",
            created: self.created,
            model: &self.model,
            choices: vec![ChunkChoice {
                index: 0,
                delta,
                finish_reason: finish,
                logprobs: None,
            }],
            usage: self.include_usage.then_some(None),
        };
        Ok(Event::default().data(serde_json::to_string(&c).unwrap_or_default()))
    }

    /// The chunks that end a completion: the finish, usage if asked, `[DONE]`;
    /// or for a failure the error object alone.
    fn tail(&self, end: CompletionEnd) -> Vec<Result<Event, Infallible>> {
        if end.finish == FinishReason::Error {
            let msg = end.error.unwrap_or_else(|| "the model provider failed".into());
            let body = error_body(ErrorCode::UpstreamError, &msg);
            return vec![Ok(Event::default().data(body.to_string()))];
        }
        let mut out = vec![self.chunk(Delta::default(), Some(finish_reason(end.finish)))];
        if self.include_usage {
            let c = Chunk {
                id: &self.id,
                object: "chat.completion.chunk",
                created: self.created,
                model: &self.model,
                choices: Vec::new(),
                usage: Some(Some(end.usage.into())),
            };
            out.push(Ok(Event::default().data(serde_json::to_string(&c).unwrap_or_default())));
        }
        out.push(Ok(Event::default().data("[DONE]")));
        out
    }
}

async fn streamed(head: Head, mut events: mpsc::Receiver<CompletionEvent>) -> Result<Response, OaiError> {
    let first = match events.recv().await {
        None => return Err(OaiError(engine::Error::internal())),
        Some(CompletionEvent::End(end)) if end.finish == FinishReason::Error => return Err(upstream_failed(&end)),
        Some(e) => e,
    };
    let head = Arc::new(head);
    let opening = vec![head.chunk(
        Delta {
            role: Some("assistant"),
            content: Some(""),
        },
        None,
    )];
    let body = stream::iter(opening)
        .chain(events_to_chunks(head, first, events))
        .boxed();
    Ok((
        crate::http_chat::stream_headers(),
        Sse::new(body).keep_alive(KeepAlive::new().interval(crate::http_chat::sse::HEARTBEAT)),
    )
        .into_response())
}

/// `first`, then the rest of `events`, as chunks; ends after the `End` event.
fn events_to_chunks(
    head: Arc<Head>,
    first: CompletionEvent,
    events: mpsc::Receiver<CompletionEvent>,
) -> impl Stream<Item = Result<Event, Infallible>> {
    let rest = stream::unfold(events, |mut rx| async move { rx.recv().await.map(|e| (e, rx)) });
    stream::once(async move { first }).chain(rest).flat_map(move |e| {
        let out = match e {
            CompletionEvent::Text(t) => vec![head.chunk(
                Delta {
                    role: None,
                    content: Some(&t),
                },
                None,
            )],
            CompletionEvent::End(end) => head.tail(end),
        };
        stream::iter(out)
    })
}
