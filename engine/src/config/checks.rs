//! The checks of [`Config::from_settings`](super::Config::from_settings) that
//! are more than a number or a duration: addresses, URLs, the provider, the
//! model list, the log format and the trusted proxies.

use std::net::SocketAddr;

use ipnet::IpNet;

use super::{
    listen_addr, present, redact_url, ConfigError, LogFormat, ProviderKind, Settings, DEFAULT_OPENAI_BASE_URL,
};

/// `LEPTOS_SITE_ADDR` (`--addr`): `host:port` with a known host.
pub(super) fn addr(s: &Settings, default: SocketAddr) -> Result<SocketAddr, ConfigError> {
    match present(&s.addr) {
        None => Ok(default),
        Some(a) => listen_addr(a).ok_or_else(|| ConfigError::Invalid {
            name: "LEPTOS_SITE_ADDR (--addr)",
            value: a.to_string(),
            reason: "expected host:port with a known host, e.g. 127.0.0.1:3000 or localhost:3000".into(),
        }),
    }
}

/// `DATABASE_URL`: `sqlite:…`, `postgres://…` or `postgresql://…`.
pub(super) fn database_url(s: &Settings, default: String) -> Result<String, ConfigError> {
    let database_url = present(&s.database_url).map(str::to_string).unwrap_or(default);
    if !(database_url.starts_with("sqlite:")
        || database_url.starts_with("postgres://")
        || database_url.starts_with("postgresql://"))
    {
        return Err(ConfigError::Invalid {
            name: "DATABASE_URL",
            value: redact_url(&database_url),
            reason: "expected sqlite://… or postgres://…".into(),
        });
    }
    Ok(database_url)
}

/// `REDIS_URL`: unset, `redis://…` or `rediss://…`.
pub(super) fn redis_url(s: &Settings) -> Result<Option<String>, ConfigError> {
    let redis_url = present(&s.redis_url).map(str::to_string);
    if let Some(r) = &redis_url {
        if !(r.starts_with("redis://") || r.starts_with("rediss://")) {
            return Err(ConfigError::Invalid {
                name: "REDIS_URL",
                value: redact_url(r),
                reason: "expected redis://host:port".into(),
            });
        }
    }
    Ok(redis_url)
}

/// `BROOK_REDIS_PREFIX`: no `{` or `}`, which would be a Redis Cluster hash
/// tag putting every key of the deployment in one slot (see `cluster::keys`).
pub(super) fn redis_prefix(s: &Settings, default: String) -> Result<String, ConfigError> {
    match present(&s.redis_prefix) {
        None => Ok(default),
        Some(p) if p.contains(['{', '}']) => Err(ConfigError::Invalid {
            name: "BROOK_REDIS_PREFIX",
            value: p.to_string(),
            reason: "braces are not allowed (they would put every key in one Redis Cluster slot)".into(),
        }),
        Some(p) => Ok(p.to_string()),
    }
}

/// `BROOK_PROVIDER`, `OPENAI_API_KEY` and `OPENAI_BASE_URL`: the provider
/// (OpenAI when a key or a base URL is given, else the demo), its key and base URL.
pub(super) fn provider(s: &Settings) -> Result<(ProviderKind, Option<String>, String), ConfigError> {
    let openai_api_key = present(&s.openai_api_key).map(str::to_string);
    let base_given = present(&s.openai_base_url).map(str::to_string);
    let openai_base_url = base_given
        .clone()
        .unwrap_or_else(|| DEFAULT_OPENAI_BASE_URL.to_string());
    let provider = match present(&s.provider).map(str::to_ascii_lowercase).as_deref() {
        None if openai_api_key.is_some() || base_given.is_some() => ProviderKind::OpenAi,
        None => ProviderKind::Demo,
        Some("openai") => ProviderKind::OpenAi,
        Some("demo") => ProviderKind::Demo,
        Some(other) => {
            return Err(ConfigError::Invalid {
                name: "BROOK_PROVIDER",
                value: other.to_string(),
                reason: "expected openai or demo".into(),
            })
        }
    };
    if provider == ProviderKind::OpenAi {
        let parsed = url::Url::parse(&openai_base_url).map_err(|e| ConfigError::Invalid {
            name: "OPENAI_BASE_URL",
            value: openai_base_url.clone(),
            reason: format!("not a URL ({e})"),
        })?;
        if !matches!(parsed.scheme(), "http" | "https") || parsed.host_str().is_none() {
            return Err(ConfigError::Invalid {
                name: "OPENAI_BASE_URL",
                value: openai_base_url.clone(),
                reason: "expected an http:// or https:// URL".into(),
            });
        }
        if openai_api_key.is_none() && parsed.host_str() == Some("api.openai.com") {
            return Err(ConfigError::Missing(
                "OPENAI_API_KEY is not set, and the openai provider with the default OPENAI_BASE_URL needs it \
                 (set OPENAI_API_KEY, point OPENAI_BASE_URL at a local server, or use BROOK_PROVIDER=demo)"
                    .into(),
            ));
        }
    }
    Ok((provider, openai_api_key, openai_base_url))
}

/// `BROOK_MODELS`: a comma-separated list; `model` (`BROOK_MODEL`) is always in it, first if added.
pub(super) fn models(s: &Settings, model: &str) -> Result<Vec<String>, ConfigError> {
    let models = match present(&s.models) {
        None => vec![model.to_string()],
        Some(list) => {
            let mut v: Vec<String> = list
                .split(',')
                .map(str::trim)
                .filter(|m| !m.is_empty())
                .map(str::to_string)
                .collect();
            if v.is_empty() {
                return Err(ConfigError::Invalid {
                    name: "BROOK_MODELS",
                    value: list.to_string(),
                    reason: "expected a comma-separated list of model names".into(),
                });
            }
            if !v.iter().any(|m| m == model) {
                v.insert(0, model.to_string());
            }
            v
        }
    };
    Ok(models)
}

/// `BROOK_LOG_FORMAT`: `text` (or `pretty`) or `json`.
pub(super) fn log_format(s: &Settings) -> Result<LogFormat, ConfigError> {
    let log_format = match present(&s.log_format).map(str::to_ascii_lowercase).as_deref() {
        None | Some("text") | Some("pretty") => LogFormat::Text,
        Some("json") => LogFormat::Json,
        Some(other) => {
            return Err(ConfigError::Invalid {
                name: "BROOK_LOG_FORMAT",
                value: other.to_string(),
                reason: "expected text or json".into(),
            })
        }
    };
    Ok(log_format)
}

/// `BROOK_TRUSTED_PROXIES`: comma-separated CIDRs or single addresses.
pub(super) fn trusted_proxies(s: &Settings) -> Result<Vec<IpNet>, ConfigError> {
    let trusted_proxies = match present(&s.trusted_proxies) {
        None => Vec::new(),
        Some(list) => list
            .split(',')
            .map(str::trim)
            .filter(|c| !c.is_empty())
            .map(|c| {
                c.parse::<IpNet>()
                    .or_else(|_| c.parse::<std::net::IpAddr>().map(IpNet::from))
                    .map_err(|_| ConfigError::Invalid {
                        name: "BROOK_TRUSTED_PROXIES",
                        value: c.to_string(),
                        reason: "expected CIDRs such as 10.0.0.0/8,127.0.0.1".into(),
                    })
            })
            .collect::<Result<_, _>>()?,
    };
    Ok(trusted_proxies)
}
