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

/// Leptos's options for the given configuration, with the `LEPTOS_*`
/// variables cargo-leptos sets (`make dev`) or an operator may set:
/// `LEPTOS_OUTPUT_NAME` (`brook`), `LEPTOS_SITE_PKG_DIR` (`pkg`), `LEPTOS_ENV`
/// (`PROD`; `DEV` with `LEPTOS_WATCH` turns on live reload),
/// `LEPTOS_RELOAD_PORT` (3001), `LEPTOS_RELOAD_EXTERNAL_PORT`,
/// `LEPTOS_RELOAD_WS_PROTOCOL`, `LEPTOS_HASH_FILES` and `LEPTOS_HASH_FILE_NAME`
/// (`hash.txt`). The site root and address come from [`Config`]
/// (`LEPTOS_SITE_ROOT`, `LEPTOS_SITE_ADDR`, contract §1).
///
/// Without `LEPTOS_HASH_FILES`, hashed names are used when the hash file
/// exists beside the running binary, where Leptos reads it and where
/// `scripts/build-site.sh` and cargo-leptos write it.
pub fn leptos_options(config: &Config) -> LeptosOptions {
    leptos_options_from(config, |k| std::env::var(k).ok(), hash_file_beside_binary)
}

fn hash_file_beside_binary(name: &str) -> bool {
    std::env::current_exe()
        .ok()
        .and_then(|p| p.parent().map(|d| d.join(name)))
        .is_some_and(|p| p.is_file())
}

/// [`leptos_options`] with its environment and file system given.
pub fn leptos_options_from(
    config: &Config,
    var: impl Fn(&str) -> Option<String>,
    hash_file_exists: impl Fn(&str) -> bool,
) -> LeptosOptions {
    let or = |k: &str, d: &str| var(k).filter(|v| !v.trim().is_empty()).unwrap_or_else(|| d.to_string());
    let port = |k: &str| var(k).and_then(|v| v.trim().parse::<u32>().ok());
    let hash_file = or("LEPTOS_HASH_FILE_NAME", "hash.txt");
    let hash_files = match var("LEPTOS_HASH_FILES") {
        Some(v) => v.trim().eq_ignore_ascii_case("true"),
        None => hash_file_exists(&hash_file),
    };
    LeptosOptions::builder()
        .output_name(or("LEPTOS_OUTPUT_NAME", "brook"))
        .site_root(config.site_root.to_string_lossy().to_string())
        .site_pkg_dir(or("LEPTOS_SITE_PKG_DIR", "pkg"))
        .site_addr(config.addr)
        .env(
            or("LEPTOS_ENV", "PROD")
                .parse::<leptos::config::Env>()
                .unwrap_or(leptos::config::Env::PROD),
        )
        .reload_port(port("LEPTOS_RELOAD_PORT").unwrap_or(3001))
        .reload_external_port(port("LEPTOS_RELOAD_EXTERNAL_PORT"))
        .reload_ws_protocol(
            or("LEPTOS_RELOAD_WS_PROTOCOL", "ws")
                .parse::<leptos::config::ReloadWSProtocol>()
                .unwrap_or_default(),
        )
        .hash_file(std::sync::Arc::<str>::from(hash_file))
        .hash_files(hash_files)
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
                if engine.clustered() {
                    // Other nodes serve the clients and read the replies that
                    // finish here from Redis: close connections at once.
                    engine.admission.start_draining();
                    close.cancel();
                }
                engine.drain().await;
                close.cancel();
            }
        };
        let serve = crate::net::accept::run(listener, gate, shared);
        let (served, ()) = tokio::join!(serve, drained);
        // Connections were told to close; give their close frames a moment.
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
        task_engine.store().close().await;
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn leptos_variables_as_cargo_leptos_sets_them() {
        let config = Config::default();
        let none = leptos_options_from(&config, |_| None, |_| false);
        assert_eq!(&*none.output_name, "brook");
        assert_eq!(&*none.site_pkg_dir, "pkg");
        assert_eq!(none.env, leptos::config::Env::PROD);
        assert!(!none.hash_files, "no hash file beside the binary");
        assert!(leptos_options_from(&config, |_| None, |f| f == "hash.txt").hash_files);
        let vars = |k: &str| {
            let v = match k {
                "LEPTOS_ENV" => "DEV",
                "LEPTOS_RELOAD_PORT" => "3999",
                "LEPTOS_HASH_FILES" => "false",
                "LEPTOS_OUTPUT_NAME" => "other",
                _ => return None,
            };
            Some(v.to_string())
        };
        let dev = leptos_options_from(&config, vars, |_| true);
        assert_eq!(dev.env, leptos::config::Env::DEV);
        assert_eq!(dev.reload_port, 3999);
        assert!(!dev.hash_files, "LEPTOS_HASH_FILES wins over the file");
        assert_eq!(&*dev.output_name, "other");
    }
}
