//! The access log and `brook_http_request_duration_seconds`.
//!
//! Every request gets a span `request{request_id, method, route, uri}`:
//! `route` is the matched route template (`/api/v1/bots/{id}`), never the raw
//! path, and `uri` has `?token=` and every other secret-named parameter
//! redacted (contract §2). The span's INFO line "request finished" gives the
//! status and the latency; every other line logged while handling the request
//! carries the span's fields, so its request id.

use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::extract::{MatchedPath, Request, State};
use axum::middleware::Next;
use axum::response::Response;
use engine::Engine;
use tracing::Span;

/// A route template as a label: nested services' catch-all tails read `*`;
/// requests no route matched (static files, the app's 404) read `fallback`.
pub fn route_of(req: &Request) -> String {
    match req.extensions().get::<MatchedPath>() {
        Some(m) => m.as_str().replace("{*__private__axum_nest_tail_param}", "*"),
        None => "fallback".to_string(),
    }
}

/// The span of one request (tower-http `TraceLayer::make_span_with`).
pub fn span(req: &Request) -> Span {
    tracing::info_span!(
        "request",
        request_id = %super::request_id::of(req),
        method = %req.method(),
        route = %route_of(req),
        uri = %super::redact_query(req.uri()),
    )
}

/// The access log line (tower-http `TraceLayer::on_response`): INFO, inside
/// the request's span.
pub fn log_response<B>(res: &axum::http::Response<B>, latency: Duration, _span: &Span) {
    tracing::info!(
        status = res.status().as_u16(),
        latency_ms = format_args!("{:.1}", latency.as_secs_f64() * 1000.0),
        "request finished"
    );
}

/// Makes the request id current for the handler (error bodies, the
/// WebSocket's span) and times the request for the histogram. The time is to
/// the response's head: a stream's body is not waited for.
pub async fn observe(State(engine): State<Arc<Engine>>, req: Request, next: Next) -> Response {
    let started = Instant::now();
    let method = req.method().as_str().to_string();
    let route = route_of(&req);
    let id = super::request_id::of(&req);
    let res = super::request_id::scope(id, next.run(req)).await;
    let status = res.status().as_u16().to_string();
    engine.metrics.record(|| {
        metrics::histogram!(
            "brook_http_request_duration_seconds",
            "method" => method,
            "route" => route,
            "status" => status
        )
        .record(started.elapsed().as_secs_f64());
    });
    res
}
