//! The Axum router: API, transports, the Leptos app and the static site.

use axum::routing::get;
use axum::Router;
use leptos::prelude::*;
use leptos_axum::{generate_route_list, LeptosRoutes};
use tower_http::trace::TraceLayer;

use crate::routes;
use crate::state::AppState;

pub fn build(state: AppState) -> Router {
    let leptos_options = state.leptos.clone();
    let routes_list = generate_route_list(app::App);
    let engine = state.engine.clone();

    Router::new()
        .route("/health", get(routes::health::health))
        .route("/ready", get(routes::health::ready))
        .leptos_routes_with_context(
            &state,
            routes_list,
            move || provide_context(engine.clone()),
            {
                let o = leptos_options.clone();
                move || app::shell(o.clone())
            },
        )
        .fallback(leptos_axum::file_and_error_handler::<AppState, _>(app::shell))
        .layer(
            TraceLayer::new_for_http().make_span_with(|req: &axum::http::Request<_>| {
                tracing::info_span!("http", method = %req.method(), uri = %crate::telemetry::redact_query(req.uri()))
            }),
        )
        .with_state(state)
}
