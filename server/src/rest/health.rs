//! `/health` (the process runs) and `/ready` (storage, and Redis if set, answer).

use std::sync::Arc;
use std::time::Duration;

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::IntoResponse;
use axum::Json;
use engine::Engine;
use serde_json::json;

pub async fn health() -> impl IntoResponse {
    Json(json!({ "status": "ok" }))
}

pub async fn ready(State(engine): State<Arc<Engine>>) -> impl IntoResponse {
    let db = tokio::time::timeout(Duration::from_secs(3), engine.store().ping()).await;
    let db_ok = matches!(db, Ok(Ok(())));
    // With Redis down a node still serves its own connections: `degraded`, and
    // still 200 so that the balancer keeps sending it traffic (issue 13).
    let redis_ok = engine.redis_healthy();
    // Shutting down: the balancer should send no more (issue 13).
    let ok = db_ok && !engine.admission.draining();
    let body = json!({
        "status": match (ok, redis_ok) { (false, _) => "unavailable", (true, Some(false)) => "degraded", _ => "ready" },
        "database": if db_ok { "ok" } else { "unavailable" },
        "redis": match redis_ok { None => "not configured", Some(true) => "ok", Some(false) => "unavailable" },
    });
    let status = if ok {
        StatusCode::OK
    } else {
        StatusCode::SERVICE_UNAVAILABLE
    };
    (status, Json(body))
}

/// `GET /metrics`: Prometheus text format.
pub async fn metrics(State(engine): State<Arc<Engine>>) -> impl IntoResponse {
    (
        [(
            axum::http::header::CONTENT_TYPE,
            "text/plain; version=0.0.4; charset=utf-8",
        )],
        engine.render_metrics(),
    )
}
