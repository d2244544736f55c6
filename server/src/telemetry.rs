//! Logging: human-readable lines by default, JSON with `BROOK_LOG_FORMAT=json`.
//! `RUST_LOG` picks the levels (default: info for Brook, warn for libraries).

use engine::config::LogFormat;
use tracing_subscriber::EnvFilter;

pub fn init(format: LogFormat) {
    let filter = EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| EnvFilter::new("warn,brook=info,brook_server=info,brook_engine=info"));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    let _ = match format {
        LogFormat::Json => builder.json().flatten_event(true).with_current_span(false).try_init(),
        LogFormat::Text => builder.with_target(false).compact().try_init(),
    };
}

/// `?token=…` removed from a URL before it is logged (contract §2).
pub fn redact_query(uri: &http::Uri) -> String {
    let path = uri.path();
    match uri.query() {
        None => path.to_string(),
        Some(q) => {
            let kept: Vec<String> = q
                .split('&')
                .map(|pair| {
                    let key = pair.split('=').next().unwrap_or("");
                    if key.eq_ignore_ascii_case("token") {
                        format!("{key}=[redacted]")
                    } else {
                        pair.to_string()
                    }
                })
                .collect();
            format!("{path}?{}", kept.join("&"))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn token_is_redacted() {
        let uri: http::Uri = "/ws/chat?a=1&token=secret.jwt&b=2".parse().unwrap();
        let s = redact_query(&uri);
        assert!(!s.contains("secret"), "{s}");
        assert!(s.contains("a=1") && s.contains("b=2"));
    }
}
