//! `/api/v1/conversations` and `/api/v1/messages/{id}/versions`.

use std::sync::Arc;

use axum::extract::State;
use axum::http::StatusCode;
use axum::Json;
use engine::Engine;
use protocol::objects::Conversation;
use protocol::rest::{ConversationList, MessageList, RenameConversation, VersionList};

use crate::error::HttpResult;
use crate::extract::{Auth, IdPath, JsonBody, Params, SessionPath};

pub async fn list(State(engine): State<Arc<Engine>>, auth: Auth, params: Params) -> HttpResult<Json<ConversationList>> {
    let limit = params.limit(20, 100)?;
    Ok(Json(
        engine
            .conversations
            .list(&auth.who, limit, params.get("cursor"), params.get("q"))
            .await?,
    ))
}

pub async fn get(
    State(engine): State<Arc<Engine>>,
    auth: Auth,
    SessionPath(id): SessionPath,
) -> HttpResult<Json<Conversation>> {
    Ok(Json(engine.conversations.get(&auth.who, &id).await?))
}

pub async fn messages(
    State(engine): State<Arc<Engine>>,
    auth: Auth,
    SessionPath(id): SessionPath,
    params: Params,
) -> HttpResult<Json<MessageList>> {
    let limit = params.limit(50, 200)?;
    Ok(Json(
        engine
            .conversations
            .messages(&auth.who, &id, limit, params.get("before"))
            .await?,
    ))
}

pub async fn rename(
    State(engine): State<Arc<Engine>>,
    auth: Auth,
    SessionPath(id): SessionPath,
    JsonBody(body): JsonBody<RenameConversation>,
) -> HttpResult<Json<Conversation>> {
    Ok(Json(engine.conversations.rename(&auth.who, &id, &body.title).await?))
}

pub async fn delete(
    State(engine): State<Arc<Engine>>,
    auth: Auth,
    SessionPath(id): SessionPath,
) -> HttpResult<StatusCode> {
    engine.conversations.delete(&auth.who, &id).await?;
    Ok(StatusCode::NO_CONTENT)
}

pub async fn versions(
    State(engine): State<Arc<Engine>>,
    auth: Auth,
    IdPath(id): IdPath,
) -> HttpResult<Json<VersionList>> {
    Ok(Json(VersionList {
        versions: engine.conversations.versions(&auth.who, &id).await?,
    }))
}
