//! `POST /api/v1/chat` (waits for the whole reply), `POST /api/v1/chat/messages`
//! (`202`, generates in the background), `POST /api/v1/chat/regenerate` and
//! `POST …/replies/{id}/stop`.

use std::sync::Arc;

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::IntoResponse;
use axum::Json;
use engine::auth::Identity;
use engine::chat::{Redo, ReplyView, SendMessage, Via};
use engine::hub::{Filter, ReplyState};
use engine::Engine;
use protocol::frames::Complete;
use protocol::objects::{FinishReason, MessageStatus};
use protocol::rest::{Accepted, ChatRequest, ChatResponse, RegenerateAccepted, RegenerateRequest};
use protocol::ErrorCode;

use crate::error::{HttpError, HttpResult};
use crate::extract::{Auth, ClientIp, IdPath, JsonBody};

pub fn send_request(body: ChatRequest, ip: std::net::IpAddr) -> SendMessage {
    SendMessage {
        message: body.message,
        session_id: body.session_id,
        client_id: body.client_id,
        bot_id: body.bot_id,
        path_bot: None,
        origin_conn: None,
        ip: Some(ip),
        via: Via::Http,
    }
}

/// Waits until the reply is finished and returns its `complete` and status.
pub async fn wait_for(engine: &Engine, who: &Identity, reply_id: &str) -> HttpResult<(Complete, MessageStatus)> {
    match engine.replies.find(who, reply_id).await? {
        ReplyView::Stored { complete, status, .. } => Ok((*complete, status)),
        ReplyView::Live(log) => {
            let mut follower = log.follow(Filter::After(u64::MAX));
            while follower.next_batch().await.is_some() {}
            match log.state() {
                ReplyState::Finished { status, complete } => Ok((*complete, status)),
                _ => Err(HttpError(engine::Error::internal())),
            }
        }
    }
}

pub async fn chat(
    State(engine): State<Arc<Engine>>,
    auth: Auth,
    ClientIp(ip): ClientIp,
    JsonBody(body): JsonBody<ChatRequest>,
) -> HttpResult<axum::response::Response> {
    let ack = engine.exchange.send_message(&auth.who, send_request(body, ip)).await?;
    let Some(reply_id) = ack.reply_id.clone() else {
        // `human` mode: stored, and a person will answer (§9.1). There is no
        // reply to wait for, so the answer is the `202` of `/chat/messages`.
        return Ok(accepted(ack).into_response());
    };
    let (complete, _) = wait_for(&engine, &auth.who, &reply_id).await?;
    if complete.metadata.finish_reason == FinishReason::Error {
        return Err(HttpError::new(
            ErrorCode::UpstreamError,
            "the model provider failed; your message is stored and the partial reply kept",
        ));
    }
    Ok(Json(ChatResponse {
        response: complete.response,
        session_id: ack.session_id,
        message_id: ack.message_id,
        reply_id,
        metadata: complete.metadata,
    })
    .into_response())
}

fn accepted(ack: protocol::frames::Ack) -> (StatusCode, Json<Accepted>) {
    (
        StatusCode::ACCEPTED,
        Json(Accepted {
            message_id: ack.message_id,
            reply_id: ack.reply_id,
            session_id: ack.session_id,
        }),
    )
}

pub async fn messages(
    State(engine): State<Arc<Engine>>,
    auth: Auth,
    ClientIp(ip): ClientIp,
    JsonBody(body): JsonBody<ChatRequest>,
) -> HttpResult<(StatusCode, Json<Accepted>)> {
    let ack = engine.exchange.send_message(&auth.who, send_request(body, ip)).await?;
    Ok(accepted(ack))
}

pub async fn regenerate(
    State(engine): State<Arc<Engine>>,
    auth: Auth,
    ClientIp(ip): ClientIp,
    JsonBody(body): JsonBody<RegenerateRequest>,
) -> HttpResult<(StatusCode, Json<RegenerateAccepted>)> {
    let ack = engine
        .exchange
        .regenerate(
            &auth.who,
            &body.session_id,
            Redo {
                client_id: body.client_id,
                edit: body.content,
            },
            None,
            Some(ip),
            Via::Http,
        )
        .await?;
    Ok((
        StatusCode::ACCEPTED,
        Json(RegenerateAccepted {
            reply_id: ack.reply_id.unwrap_or_default(),
            session_id: ack.session_id,
        }),
    ))
}

pub async fn stop(State(engine): State<Arc<Engine>>, auth: Auth, IdPath(reply_id): IdPath) -> HttpResult<StatusCode> {
    engine.replies.stop(&auth.who, &reply_id).await?;
    Ok(StatusCode::NO_CONTENT)
}
