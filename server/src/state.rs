//! The router's state: the engine plus Leptos's options, split out with `FromRef`.

use std::sync::Arc;

use axum::extract::FromRef;
use engine::Engine;
use leptos::config::LeptosOptions;

#[derive(Clone)]
pub struct AppState {
    pub engine: Arc<Engine>,
    pub leptos: LeptosOptions,
    /// Cancelled on SIGTERM/SIGINT: long-lived connections close themselves.
    pub shutdown: tokio_util::sync::CancellationToken,
}

impl FromRef<AppState> for LeptosOptions {
    fn from_ref(s: &AppState) -> LeptosOptions {
        s.leptos.clone()
    }
}

impl FromRef<AppState> for Arc<Engine> {
    fn from_ref(s: &AppState) -> Arc<Engine> {
        s.engine.clone()
    }
}
