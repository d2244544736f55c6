//! `/api/v1/keys`: personal API keys (contract §10). Create answers `201` with
//! the key, shown this once; list never shows keys; delete revokes at once (`204`).

use std::sync::Arc;

use axum::extract::State;
use axum::http::StatusCode;
use axum::Json;
use engine::Engine;
use protocol::keys::{ApiKeyList, CreatedApiKey, NewApiKey};

use crate::error::HttpResult;
use crate::extract::{Auth, IdPath, JsonBody};

pub async fn list(State(engine): State<Arc<Engine>>, auth: Auth) -> HttpResult<Json<ApiKeyList>> {
    Ok(Json(ApiKeyList {
        keys: engine.api_keys.list(&auth.who).await?,
    }))
}

pub async fn create(
    State(engine): State<Arc<Engine>>,
    auth: Auth,
    JsonBody(body): JsonBody<NewApiKey>,
) -> HttpResult<(StatusCode, Json<CreatedApiKey>)> {
    Ok((
        StatusCode::CREATED,
        Json(engine.api_keys.create(&auth.who, &body.name).await?),
    ))
}

pub async fn revoke(State(engine): State<Arc<Engine>>, auth: Auth, IdPath(id): IdPath) -> HttpResult<StatusCode> {
    engine.api_keys.revoke(&auth.who, &id).await?;
    Ok(StatusCode::NO_CONTENT)
}
