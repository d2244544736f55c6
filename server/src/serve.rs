//! Start-up and graceful shutdown of `brook serve`.

use std::net::SocketAddr;

use engine::{Config, Engine};
use leptos::config::LeptosOptions;
use tokio_util::sync::CancellationToken;

use crate::state::AppState;

#[derive(Debug, thiserror::Error)]
pub enum ServeError {
    #[error("{0}")]
    Start(#[from] engine::engine::StartError),
    #[error("cannot listen on {addr}: {source}")]
    Bind { addr: SocketAddr, source: std::io::Error },
    #[error("server error: {0}")]
    Io(#[from] std::io::Error),
}

/// Leptos's options for the given configuration (the names match cargo-leptos's build).
pub fn leptos_options(config: &Config) -> LeptosOptions {
    LeptosOptions::builder()
        .output_name("brook")
        .site_root(config.site_root.to_string_lossy().to_string())
        .site_pkg_dir("pkg")
        .site_addr(config.addr)
        .env(leptos::config::Env::PROD)
        .build()
}

/// A running server, as tests and `main` see it.
pub struct Running {
    pub addr: SocketAddr,
    pub shutdown: CancellationToken,
    pub engine: std::sync::Arc<Engine>,
    pub task: tokio::task::JoinHandle<Result<(), ServeError>>,
}

/// Binds, starts serving in a task, and returns at once. Cancelling `shutdown`
/// stops accepting, closes live connections and drains running replies.
pub async fn spawn(config: Config) -> Result<Running, ServeError> {
    let engine = Engine::start(config.clone()).await?;
    let listener = tokio::net::TcpListener::bind(config.addr)
        .await
        .map_err(|source| ServeError::Bind {
            addr: config.addr,
            source,
        })?;
    let addr = listener.local_addr()?;
    let mut leptos = leptos_options(&config);
    leptos.site_addr = addr;
    // `shutdown` stops accepting; `close` (after the drain) tells live
    // connections to close, so clients see their replies finish first.
    let shutdown = CancellationToken::new();
    let close = CancellationToken::new();
    let state = AppState {
        engine: engine.clone(),
        leptos,
        shutdown: close.clone(),
    };
    let app = crate::router::build(state);
    let fd_limit = crate::net::descriptor_limit();
    let capacity = crate::net::table::capacity_for(fd_limit, config.max_active_replies);
    let limits = &config.connections;
    tracing::info!(fd_limit, capacity, max_per_ip = limits.max_per_ip, "connection budget");
    let gate = crate::net::accept::Gate {
        table: crate::net::table::Table::new(capacity),
        per_peer: crate::net::per_ip::PerIp::new(limits.max_per_ip),
    };
    let shared = std::sync::Arc::new(crate::net::conn::Shared {
        app,
        header_timeout: limits.header_timeout,
        body_timeout: limits.body_timeout,
        forwarded: crate::net::per_ip::PerIp::new(limits.max_per_ip),
        trusted: config.trusted_proxies.clone(),
        shutdown: shutdown.clone(),
    });
    let token = shutdown.clone();
    let task_engine = engine.clone();
    let task = tokio::spawn(async move {
        let drained = {
            let engine = task_engine.clone();
            let token = token.clone();
            async move {
                token.cancelled().await;
                engine.drain().await;
                close.cancel();
            }
        };
        let serve = crate::net::accept::run(listener, gate, shared);
        let (served, ()) = tokio::join!(serve, drained);
        // Connections were told to close; give their close frames a moment.
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
        task_engine.store.close().await;
        served?;
        Ok(())
    });
    tracing::info!(%addr, provider = config.provider.as_str(), database = %engine::config::redact_url(&config.database_url), "Brook is serving on http://{addr}");
    Ok(Running {
        addr,
        shutdown,
        engine,
        task,
    })
}

/// Resolves on SIGINT or SIGTERM.
pub async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        _ = ctrl_c => {},
        _ = term => {},
    }
}
