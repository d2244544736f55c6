//! `/api/v1/bots`: the identity's bots, and for their owners the visitors'
//! conversations and transcripts.

use std::sync::Arc;

use axum::extract::State;
use axum::http::StatusCode;
use axum::Json;
use engine::Engine;
use protocol::objects::Bot;
use protocol::rest::{BotList, BotPatch, MessageList, VisitorConversationList};

use crate::error::HttpResult;
use crate::extract::{Auth, IdPath, JsonBody, Params, VisitorConversationPath};

pub async fn list(State(engine): State<Arc<Engine>>, auth: Auth) -> HttpResult<Json<BotList>> {
    Ok(Json(BotList {
        bots: engine.bots.list(&auth.who).await?,
    }))
}

pub async fn create(
    State(engine): State<Arc<Engine>>,
    auth: Auth,
    JsonBody(body): JsonBody<BotPatch>,
) -> HttpResult<(StatusCode, Json<Bot>)> {
    Ok((StatusCode::CREATED, Json(engine.bots.create(&auth.who, &body).await?)))
}

pub async fn get(State(engine): State<Arc<Engine>>, auth: Auth, IdPath(id): IdPath) -> HttpResult<Json<Bot>> {
    Ok(Json(engine.bots.own(&auth.who, &id).await?.to_bot()))
}

pub async fn update(
    State(engine): State<Arc<Engine>>,
    auth: Auth,
    IdPath(id): IdPath,
    JsonBody(body): JsonBody<BotPatch>,
) -> HttpResult<Json<Bot>> {
    Ok(Json(engine.bots.update(&auth.who, &id, &body).await?))
}

pub async fn delete(State(engine): State<Arc<Engine>>, auth: Auth, IdPath(id): IdPath) -> HttpResult<StatusCode> {
    engine.bots.delete(&auth.who, &id).await?;
    Ok(StatusCode::NO_CONTENT)
}

pub async fn visitor_conversations(
    State(engine): State<Arc<Engine>>,
    auth: Auth,
    IdPath(id): IdPath,
    params: Params,
) -> HttpResult<Json<VisitorConversationList>> {
    let limit = params.limit(20, 100)?;
    Ok(Json(
        engine
            .conversations
            .visitor_conversations(&auth.who, &id, limit, params.get("cursor"))
            .await?,
    ))
}

pub async fn visitor_messages(
    State(engine): State<Arc<Engine>>,
    auth: Auth,
    VisitorConversationPath {
        bot_id: id,
        visitor_id,
        session_id,
    }: VisitorConversationPath,
    params: Params,
) -> HttpResult<Json<MessageList>> {
    let limit = params.limit(50, 200)?;
    Ok(Json(
        engine
            .conversations
            .visitor_transcript(&auth.who, &id, &visitor_id, &session_id, limit, params.get("before"))
            .await?,
    ))
}
