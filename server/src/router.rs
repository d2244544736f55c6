//! The Axum router: API, transports, the Leptos app and the static site.

use axum::http::{header, HeaderValue};
use axum::routing::{any, get, post};
use axum::Router;
use leptos::prelude::*;
use leptos_axum::{generate_route_list, LeptosRoutes};
use tower_http::services::ServeDir;
use tower_http::set_header::SetResponseHeader;
use tower_http::trace::TraceLayer;

use crate::routes;
use crate::state::AppState;

/// Static files, sent gzipped (made at build time) to clients that accept it.
/// `Vary` keeps a cache in between from handing the gzipped copy to a client
/// that did not ask for it.
fn precompressed(dir: std::path::PathBuf) -> SetResponseHeader<ServeDir, HeaderValue> {
    SetResponseHeader::if_not_present(
        ServeDir::new(dir).precompressed_gzip(),
        header::VARY,
        HeaderValue::from_static("accept-encoding"),
    )
}

/// `/widget.js` and `/widget/*`: public, any origin may load them.
fn widget_files(state: &AppState) -> Router<AppState> {
    let dir = std::path::Path::new(&*state.leptos.site_root).join("widget");
    Router::new()
        .route("/widget.js", get(routes::widget::loader))
        .nest_service("/widget", precompressed(dir))
        .layer(axum::middleware::from_fn(routes::widget::public_files))
}

pub fn build(state: AppState) -> Router {
    let leptos_options = state.leptos.clone();
    let routes_list = generate_route_list(app::App);
    let engine = state.engine.clone();

    Router::new()
        .route("/health", get(routes::health::health))
        .route("/ready", get(routes::health::ready))
        .route("/metrics", get(routes::health::metrics))
        .route("/api/v1/auth/register", post(routes::auth::register))
        .route("/api/v1/auth/login", post(routes::auth::login))
        .route("/api/v1/auth/guest", post(routes::auth::guest))
        .route("/api/v1/auth/me", get(routes::auth::me))
        .route("/api/v1/auth/refresh", post(routes::auth::refresh))
        .route("/api/v1/auth/logout", post(routes::auth::logout))
        .route("/api/v1/conversations", get(routes::conversations::list))
        .route(
            "/api/v1/conversations/{id}",
            get(routes::conversations::get)
                .patch(routes::conversations::rename)
                .delete(routes::conversations::delete),
        )
        .route("/api/v1/conversations/{id}/messages", get(routes::conversations::messages))
        .route("/api/v1/messages/{id}/versions", get(routes::conversations::versions))
        .route("/api/v1/bots", get(routes::bots::list).post(routes::bots::create))
        .route(
            "/api/v1/bots/{id}",
            get(routes::bots::get).patch(routes::bots::update).delete(routes::bots::delete),
        )
        .route("/api/v1/bots/{id}/conversations", get(routes::bots::visitor_conversations))
        .route("/api/v1/keys", get(routes::keys::list).post(routes::keys::create))
        .route("/api/v1/keys/{id}", axum::routing::delete(routes::keys::revoke))
        .route("/api/v1/chat", post(crate::http::chat::chat))
        .route("/api/v1/chat/stream", post(crate::http::aisdk::stream))
        .route("/api/v1/chat/messages", post(crate::http::chat::messages))
        .route("/api/v1/chat/regenerate", post(crate::http::chat::regenerate))
        .route("/api/v1/chat/events", get(crate::http::events::chat_events))
        .route("/api/v1/chat/replies/{id}/events", get(crate::http::sse::reply_events))
        .route("/api/v1/chat/replies/{id}/poll", get(crate::http::poll::poll))
        .route("/api/v1/chat/replies/{id}/stop", post(crate::http::chat::stop))
        .route("/api/v1/bots/{id}/events", get(crate::http::events::bot_events))
        .route("/api/v1/diagnostics/sse", get(crate::http::diagnostics::sse_probe))
        .route("/api/v1/diagnostics/poll", get(crate::http::diagnostics::poll_probe))
        .route("/ws/test", get(crate::http::diagnostics::page))
        .route("/api/v1/widget/session", post(routes::widget::session))
        .route("/ws/chat", get(crate::ws::chat))
        .route("/api/v1/chat/ws", get(crate::ws::chat))
        .route("/api/v1/chat/ws/{bot_id}", get(crate::ws::chat_bot))
        .merge(routes::people::routes())
        .route("/api/v1/{*rest}", any(crate::error::api_not_found))
        .merge(crate::openai::routes())
        .leptos_routes_with_context(
            &state,
            routes_list,
            move || provide_context(engine.clone()),
            {
                let o = leptos_options.clone();
                move || app::shell(o.clone())
            },
        )
        .merge(widget_files(&state))
        // The app's bundle, gzipped at build time (1.28 MB of WASM is 0.47 MB).
        .nest_service(
            &format!("/{}", state.leptos.site_pkg_dir),
            precompressed(std::path::Path::new(&*state.leptos.site_root).join(&*state.leptos.site_pkg_dir)),
        )
        .fallback(leptos_axum::file_and_error_handler::<AppState, _>(app::shell))
        .method_not_allowed_fallback(crate::error::method_not_allowed)
        .layer(axum::middleware::from_fn_with_state(state.clone(), routes::widget::cors))
        .layer(axum::middleware::from_fn(crate::security_headers::add))
        .layer(
            TraceLayer::new_for_http().make_span_with(|req: &axum::http::Request<_>| {
                tracing::info_span!("http", method = %req.method(), uri = %crate::telemetry::redact_query(req.uri()))
            }),
        )
        .with_state(state)
}
