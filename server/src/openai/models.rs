//! `GET /v1/models` and `GET /v1/models/{model}`: the caller's bots as models
//! (contract §10); a model's `id` is its bot's id.

use std::sync::Arc;

use axum::extract::{Path, State};
use axum::Json;
use engine::store::BotRow;
use engine::Engine;

use super::error::OaiError;
use super::wire::{Model, ModelList};
use crate::error::HttpError;
use crate::extract::Auth;

fn model_of(b: &BotRow) -> Model {
    Model {
        id: b.id.clone(),
        object: "model",
        created: b.created_at / 1_000_000,
        owned_by: "brook".into(),
    }
}

#[tracing::instrument(skip_all)]
pub async fn list(
    State(engine): State<Arc<Engine>>,
    auth: Result<Auth, HttpError>,
) -> Result<Json<ModelList>, OaiError> {
    let who = auth?.who;
    // Makes the default bot if the account has none yet.
    engine.bots.list(&who).await?;
    let bots = if who.role == protocol::objects::Role::Visitor {
        Vec::new()
    } else {
        engine.bots.rows_of(&who).await?
    };
    Ok(Json(ModelList {
        object: "list",
        data: bots.iter().map(model_of).collect(),
    }))
}

#[tracing::instrument(skip_all)]
pub async fn get(
    State(engine): State<Arc<Engine>>,
    auth: Result<Auth, HttpError>,
    Path(model): Path<String>,
) -> Result<Json<Model>, OaiError> {
    let who = auth?.who;
    Ok(Json(model_of(&engine.completions.bot_by_model(&who, &model).await?)))
}
