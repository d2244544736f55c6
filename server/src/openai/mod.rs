//! The OpenAI-compatible API (contract §10): `GET /v1/models` and
//! `POST /v1/chat/completions`, so OpenAI's client libraries, agent frameworks
//! and tools can use a Brook bot given the base URL `http://HOST/v1` and a
//! personal API key (`brk_…`, see `engine::api_keys`; a JWT works too).
//! Errors are OpenAI-shaped ([`error`]); completions are stateless
//! (`engine::chat::stateless`).

pub mod completions;
pub mod error;
pub mod models;
pub mod wire;

use axum::routing::{any, get, post};
use axum::Router;

use crate::state::AppState;

/// The `/v1` routes; any other `/v1` path is an OpenAI-shaped `404`.
pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/v1/models", get(models::list))
        .route("/v1/models/{model}", get(models::get))
        .route("/v1/chat/completions", post(completions::create))
        .route("/v1/{*rest}", any(error::not_found))
}
