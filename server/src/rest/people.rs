//! Contract §9's HTTP endpoints (people in the loop): the bot owner's hand-off,
//! operator messages, typing and read point on a visitor's conversation; read
//! receipts, feedback and export for every identity.

use std::sync::Arc;

use axum::extract::State;
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post, put};
use axum::{Json, Router};
use engine::chat::Via;
use engine::people::export::ExportFormat;
use engine::Engine;
use protocol::objects::{Conversation, Message};
use protocol::people::{FeedbackRequest, HandoffRequest, OperatorMessageRequest, ReadRequest, TypingRequest};
use protocol::ErrorCode;

use crate::error::{HttpError, HttpResult};
use crate::extract::{Auth, IdPath, JsonBody, Params, SessionPath, VisitorConversationPath};
use crate::state::AppState;

const VISITOR_CONVERSATION: &str = "/api/v1/bots/{id}/visitors/{visitor_id}/conversations/{session_id}";

/// The routes of §9, merged into the main router.
pub fn routes() -> Router<AppState> {
    Router::new()
        .route(&format!("{VISITOR_CONVERSATION}/handoff"), post(handoff))
        .route(
            &format!("{VISITOR_CONVERSATION}/messages"),
            get(super::bots::visitor_messages).post(operator_message),
        )
        .route(&format!("{VISITOR_CONVERSATION}/typing"), post(operator_typing))
        .route(&format!("{VISITOR_CONVERSATION}/read"), post(operator_read))
        .route("/api/v1/conversations/{id}/read", post(read))
        .route("/api/v1/conversations/{id}/export", get(export))
        .route(
            "/api/v1/messages/{id}/feedback",
            put(set_feedback).delete(clear_feedback),
        )
}

pub async fn handoff(
    State(engine): State<Arc<Engine>>,
    auth: Auth,
    p: VisitorConversationPath,
    JsonBody(body): JsonBody<HandoffRequest>,
) -> HttpResult<Json<Conversation>> {
    Ok(Json(
        engine
            .people
            .handoff(&auth.who, &p.bot_id, &p.visitor_id, &p.session_id, body.mode)
            .await?,
    ))
}

pub async fn operator_message(
    State(engine): State<Arc<Engine>>,
    auth: Auth,
    p: VisitorConversationPath,
    JsonBody(body): JsonBody<OperatorMessageRequest>,
) -> HttpResult<(StatusCode, Json<Message>)> {
    let m = engine
        .people
        .operator_message(
            &auth.who,
            &p.bot_id,
            &p.visitor_id,
            &p.session_id,
            &body.message,
            body.client_id,
        )
        .await?;
    Ok((StatusCode::CREATED, Json(m)))
}

pub async fn operator_typing(
    State(engine): State<Arc<Engine>>,
    auth: Auth,
    p: VisitorConversationPath,
    JsonBody(body): JsonBody<TypingRequest>,
) -> HttpResult<StatusCode> {
    engine
        .people
        .operator_typing(&auth.who, &p.bot_id, &p.visitor_id, &p.session_id, body.is_typing)
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

pub async fn operator_read(
    State(engine): State<Arc<Engine>>,
    auth: Auth,
    p: VisitorConversationPath,
    JsonBody(body): JsonBody<ReadRequest>,
) -> HttpResult<StatusCode> {
    engine
        .people
        .operator_read(&auth.who, &p.bot_id, &p.visitor_id, &p.session_id, &body.message_id)
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

pub async fn read(
    State(engine): State<Arc<Engine>>,
    auth: Auth,
    SessionPath(id): SessionPath,
    JsonBody(body): JsonBody<ReadRequest>,
) -> HttpResult<StatusCode> {
    engine
        .people
        .read(&auth.who, &id, &body.message_id, None, Via::Http)
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

pub async fn set_feedback(
    State(engine): State<Arc<Engine>>,
    auth: Auth,
    IdPath(id): IdPath,
    JsonBody(body): JsonBody<FeedbackRequest>,
) -> HttpResult<Json<Message>> {
    Ok(Json(engine.people.set_feedback(&auth.who, &id, &body).await?))
}

pub async fn clear_feedback(
    State(engine): State<Arc<Engine>>,
    auth: Auth,
    IdPath(id): IdPath,
) -> HttpResult<StatusCode> {
    engine.people.clear_feedback(&auth.who, &id).await?;
    Ok(StatusCode::NO_CONTENT)
}

pub async fn export(
    State(engine): State<Arc<Engine>>,
    auth: Auth,
    SessionPath(id): SessionPath,
    params: Params,
) -> HttpResult<Response> {
    let format = ExportFormat::parse(params.get("format"))
        .ok_or_else(|| HttpError::new(ErrorCode::ValidationError, "format: must be markdown or json"))?;
    let e = engine.people.export(&auth.who, &id, format).await?;
    let disposition = HeaderValue::from_str(&format!("attachment; filename=\"{}\"", e.filename))
        .unwrap_or_else(|_| HeaderValue::from_static("attachment"));
    Ok((
        [
            (header::CONTENT_TYPE, HeaderValue::from_static(e.content_type)),
            (header::CONTENT_DISPOSITION, disposition),
        ],
        e.body,
    )
        .into_response())
}
