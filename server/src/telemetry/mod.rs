//! Logging: human-readable lines by default, JSON with `BROOK_LOG_FORMAT=json`.
//! `RUST_LOG` picks the levels (default: info for Brook, warn for libraries).
//! Request ids and the access log: [`request_id`], [`access`]; what a chat
//! exchange logs: `docs/operations.md`.

pub mod access;
pub mod request_id;

use engine::config::LogFormat;
use tracing_subscriber::EnvFilter;

pub fn init(format: LogFormat) {
    let filter = EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| EnvFilter::new("warn,brook=info,brook_server=info,brook_engine=info"));
    // Colours only on a terminal: a log file or collector gets plain text.
    let ansi = std::io::IsTerminal::is_terminal(&std::io::stderr());
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_ansi(ansi)
        .with_writer(std::io::stderr);
    let _ = match format {
        // Span fields (the request id, the connection id) on every line.
        LogFormat::Json => builder.json().flatten_event(true).with_current_span(true).try_init(),
        LogFormat::Text => builder.with_target(false).compact().try_init(),
    };
}

/// A URL as it may be logged: `?token=` and every other secret-named parameter
/// redacted, judged by the decoded name (contract §2; see [`crate::extract::query`]).
pub fn redact_query(uri: &http::Uri) -> String {
    crate::extract::query::redacted(uri)
}
