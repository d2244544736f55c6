//! The Axum router: API, transports, the Leptos app and the static site.

use axum::http::{HeaderMap, StatusCode, Version};
use axum::routing::{any, get, get_service, post};
use axum::Router;
use leptos::prelude::*;
use leptos_axum::{generate_route_list, LeptosRoutes};
use tower_http::compression::predicate::{DefaultPredicate, Predicate};
use tower_http::compression::CompressionLayer;
use tower_http::request_id::{MakeRequestUuid, PropagateRequestIdLayer, SetRequestIdLayer};
use tower_http::trace::TraceLayer;

use crate::assets::{precompressed_dir, precompressed_file};
use crate::rest;
use crate::state::AppState;
use crate::telemetry::{access, request_id};

/// `/widget.js` and `/widget/*`: public, any origin may load them.
fn widget_files(state: &AppState) -> Router<AppState> {
    let dir = std::path::Path::new(&*state.leptos.site_root).join("widget");
    Router::new()
        .route("/widget.js", get_service(precompressed_file(dir.join("widget.js"))))
        .nest_service("/widget", precompressed_dir(dir))
        .layer(axum::middleware::from_fn(rest::widget::public_files))
}

/// Which responses tower-http compresses on the fly: JSON and HTML over 32
/// bytes, never a stream (`text/event-stream`, or anything marked
/// `X-Accel-Buffering: no`, contract §4: compressing would buffer it), nor
/// an upgrade, images or a precompressed file.
fn compressible() -> impl Predicate {
    DefaultPredicate::new().and(
        |status: StatusCode, _: Version, headers: &HeaderMap, _: &axum::http::Extensions| {
            status != StatusCode::SWITCHING_PROTOCOLS && headers.get("x-accel-buffering").is_none_or(|v| v != "no")
        },
    )
}

/// Health, readiness and metrics.
fn health_routes() -> Router<AppState> {
    Router::new()
        .route("/health", get(rest::health::health))
        .route("/ready", get(rest::health::ready))
        .route("/metrics", get(rest::health::metrics))
}

/// The REST API of contract §4: accounts, conversations, bots and API keys.
fn rest_routes() -> Router<AppState> {
    Router::new()
        .route("/api/v1/auth/register", post(rest::auth::register))
        .route("/api/v1/auth/login", post(rest::auth::login))
        .route("/api/v1/auth/guest", post(rest::auth::guest))
        .route("/api/v1/auth/me", get(rest::auth::me))
        .route("/api/v1/auth/refresh", post(rest::auth::refresh))
        .route("/api/v1/auth/logout", post(rest::auth::logout))
        .route("/api/v1/conversations", get(rest::conversations::list))
        .route(
            "/api/v1/conversations/{id}",
            get(rest::conversations::get)
                .patch(rest::conversations::rename)
                .delete(rest::conversations::delete),
        )
        .route(
            "/api/v1/conversations/{id}/messages",
            get(rest::conversations::messages),
        )
        .route("/api/v1/messages/{id}/versions", get(rest::conversations::versions))
        .route("/api/v1/bots", get(rest::bots::list).post(rest::bots::create))
        .route(
            "/api/v1/bots/{id}",
            get(rest::bots::get)
                .patch(rest::bots::update)
                .delete(rest::bots::delete),
        )
        .route(
            "/api/v1/bots/{id}/conversations",
            get(rest::bots::visitor_conversations),
        )
        .route("/api/v1/keys", get(rest::keys::list).post(rest::keys::create))
        .route("/api/v1/keys/{id}", axum::routing::delete(rest::keys::revoke))
        .route("/api/v1/widget/session", post(rest::widget::session))
}

/// The chat's transports: HTTP (JSON, SSE, poll), the diagnostics probes and
/// the WebSocket endpoints.
fn chat_routes() -> Router<AppState> {
    Router::new()
        .route("/api/v1/chat", post(crate::http_chat::chat::chat))
        .route("/api/v1/chat/stream", post(crate::http_chat::aisdk::stream))
        .route("/api/v1/chat/messages", post(crate::http_chat::chat::messages))
        .route("/api/v1/chat/regenerate", post(crate::http_chat::chat::regenerate))
        .route("/api/v1/chat/events", get(crate::http_chat::events::chat_events))
        .route(
            "/api/v1/chat/replies/{id}/events",
            get(crate::http_chat::sse::reply_events),
        )
        .route("/api/v1/chat/replies/{id}/poll", get(crate::http_chat::poll::poll))
        .route("/api/v1/chat/replies/{id}/stop", post(crate::http_chat::chat::stop))
        .route("/api/v1/bots/{id}/events", get(crate::http_chat::events::bot_events))
        .route("/api/v1/diagnostics/sse", get(crate::http_chat::diagnostics::sse_probe))
        .route(
            "/api/v1/diagnostics/poll",
            get(crate::http_chat::diagnostics::poll_probe),
        )
        .route("/ws/test", get(crate::http_chat::diagnostics::page))
        .route("/ws/chat", get(crate::ws::chat))
        .route("/api/v1/chat/ws", get(crate::ws::chat))
        .route("/api/v1/chat/ws/{bot_id}", get(crate::ws::chat_bot))
}

/// The Leptos app's pages, the widget's files and the app's bundle.
fn site_routes(router: Router<AppState>, state: &AppState) -> Router<AppState> {
    let leptos_options = state.leptos.clone();
    let routes_list = generate_route_list(app::App);
    let engine = state.engine.clone();
    router
        .leptos_routes_with_context(state, routes_list, move || provide_context(engine.clone()), {
            let o = leptos_options.clone();
            move || app::shell(o.clone())
        })
        .merge(widget_files(state))
        // The app's bundle, compressed at build time (BENCHMARKS.md: bundle size).
        .nest_service(
            &format!("/{}", state.leptos.site_pkg_dir),
            tower::ServiceBuilder::new()
                .layer(axum::middleware::from_fn(crate::assets::pkg_cache))
                .service(precompressed_dir(
                    std::path::Path::new(&*state.leptos.site_root).join(&*state.leptos.site_pkg_dir),
                )),
        )
}

/// The middleware around every route, innermost first.
fn layers(router: Router<AppState>, state: &AppState) -> Router<AppState> {
    router
        .layer(axum::middleware::from_fn_with_state(state.clone(), rest::widget::cors))
        .layer(axum::middleware::from_fn(crate::security_headers::add))
        .layer(CompressionLayer::new().gzip(true).compress_when(compressible()))
        // Outermost last: a sane `x-request-id` kept (else a fresh UUID), echoed
        // on the response, on the span of every log line, and in error bodies.
        .layer(axum::middleware::from_fn_with_state(
            state.engine.clone(),
            access::observe,
        ))
        .layer(
            TraceLayer::new_for_http()
                .make_span_with(access::span)
                .on_request(())
                .on_response(access::log_response),
        )
        .layer(PropagateRequestIdLayer::new(request_id::X_REQUEST_ID.clone()))
        .layer(SetRequestIdLayer::new(
            request_id::X_REQUEST_ID.clone(),
            MakeRequestUuid,
        ))
        .layer(axum::middleware::from_fn(request_id::drop_insane))
}

/// Every route of Brook with its middleware. Unknown `/api/v1/…` paths answer
/// the contract's JSON `NOT_FOUND`; anything else falls to the static site.
pub fn build(state: AppState) -> Router {
    let api = Router::new()
        .merge(health_routes())
        .merge(rest_routes())
        .merge(chat_routes())
        .merge(rest::people::routes())
        .route("/api/v1/{*rest}", any(crate::error::api_not_found))
        .merge(crate::openai::routes());
    let router = site_routes(api, &state)
        .fallback(leptos_axum::file_and_error_handler::<AppState, _>(app::shell))
        .method_not_allowed_fallback(crate::error::method_not_allowed);
    layers(router, &state).with_state(state)
}
