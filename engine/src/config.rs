//! Brook's configuration (contract §1), parsed once at start-up into a typed [`Config`].
//!
//! Every setting is an environment variable, and a CLI flag of the same meaning
//! overrides it. Values arrive as strings and are checked here, so that a bad value
//! stops start-up with one line naming the variable and the value instead of a clap
//! usage dump or a panic deep inside the server.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use clap::Args;
use ipnet::IpNet;

mod checks;
pub mod connections;

pub use connections::{ConnectionLimits, ConnectionSettings};

/// Which model provider generates replies.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ProviderKind {
    OpenAi,
    Demo,
}

impl ProviderKind {
    pub fn as_str(self) -> &'static str {
        match self {
            ProviderKind::OpenAi => "openai",
            ProviderKind::Demo => "demo",
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LogFormat {
    Text,
    Json,
}

/// The fully checked configuration every part of Brook reads.
#[derive(Clone, Debug)]
pub struct Config {
    pub addr: SocketAddr,
    pub site_root: PathBuf,
    pub database_url: String,
    pub redis_url: Option<String>,
    pub redis_prefix: String,
    pub drain: Duration,
    pub reply_log_retention: Duration,
    pub upstream_first_token: Duration,
    pub upstream_idle: Duration,
    pub context_tokens: usize,
    pub max_active_replies: usize,
    pub openai_api_key: Option<String>,
    pub openai_base_url: String,
    pub model: String,
    pub models: Vec<String>,
    pub provider: ProviderKind,
    pub jwt_secret: Option<String>,
    pub guests: bool,
    pub max_message_chars: usize,
    pub rate_limit_per_min: u32,
    pub auth_rate_limit_per_min: u32,
    pub max_connections_per_identity: usize,
    pub daily_tokens_user: u64,
    pub daily_tokens_guest: u64,
    pub daily_tokens_visitor: u64,
    pub trusted_proxies: Vec<IpNet>,
    pub log_format: LogFormat,
    /// Where users reach Brook (for printed snippets); `http://{addr}` when unset.
    pub public_url: Option<String>,
    /// Milliseconds between the demo model's tokens (not in the contract; lets
    /// tests and screenshots pick a pace).
    pub demo_token_delay: Duration,
    /// Idle WebSocket time-out (contract: 60 s); tests shorten it.
    pub ws_idle_timeout: Duration,
    /// How long a visitor stays `online`/`away` after its last connection closed,
    /// and an owner after their last events stream closed, before they count as
    /// `offline` (contract §9.2: 30 s); tests shorten it.
    pub presence_grace: Duration,
    /// Interval of the server's WebSocket pings (contract: 25 s).
    pub ws_ping_interval: Duration,
    /// With `REDIS_URL`: how long a node's connections keep counting against
    /// `BROOK_MAX_CONNECTIONS_PER_IDENTITY` after it stopped renewing them (it
    /// died); renewed every third of it (15 s; tests shorten it).
    pub connection_ttl: Duration,
    /// Longest reply text kept, in bytes. A runaway model is cut off here and
    /// the reply finishes `length`, so one reply cannot exhaust memory, the
    /// database row or a client's socket (its `complete` carries the whole text).
    pub max_reply_bytes: usize,
    /// Header and body time-outs and the per-IP connection cap.
    pub connections: ConnectionLimits,
}

pub const DEFAULT_OPENAI_BASE_URL: &str = "https://api.openai.com/v1";

impl Default for Config {
    /// The contract's defaults, with the demo provider.
    fn default() -> Self {
        Config {
            addr: SocketAddr::from(([127, 0, 0, 1], 3000)),
            site_root: PathBuf::from("target/site"),
            database_url: "sqlite://brook.db".into(),
            redis_url: None,
            redis_prefix: "brook:".into(),
            drain: Duration::from_secs(30),
            reply_log_retention: Duration::from_secs(300),
            upstream_first_token: Duration::from_secs(30),
            upstream_idle: Duration::from_secs(60),
            context_tokens: 8000,
            max_active_replies: 256,
            openai_api_key: None,
            openai_base_url: DEFAULT_OPENAI_BASE_URL.into(),
            model: "gpt-4o-mini".into(),
            models: vec!["gpt-4o-mini".into()],
            provider: ProviderKind::Demo,
            jwt_secret: None,
            guests: true,
            max_message_chars: 16000,
            rate_limit_per_min: 30,
            auth_rate_limit_per_min: 20,
            max_connections_per_identity: 200,
            daily_tokens_user: 0,
            daily_tokens_guest: 20000,
            daily_tokens_visitor: 20000,
            trusted_proxies: Vec::new(),
            log_format: LogFormat::Text,
            public_url: None,
            demo_token_delay: Duration::from_millis(30),
            ws_idle_timeout: Duration::from_secs(60),
            presence_grace: Duration::from_secs(30),
            ws_ping_interval: Duration::from_secs(25),
            connection_ttl: Duration::from_secs(15),
            max_reply_bytes: 1024 * 1024,
            connections: ConnectionLimits::default(),
        }
    }
}

/// A configuration value that cannot be used. Its `Display` is the one line printed
/// before the process exits.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("invalid {name}={value:?}: {reason}")]
    Invalid {
        name: &'static str,
        value: String,
        reason: String,
    },
    #[error("{0}")]
    Missing(String),
}

/// The settings as they arrive from flags and the environment. Flags win over
/// variables (clap's `env` support); everything is parsed by [`Config::from_settings`].
#[derive(Args, Clone, Debug, Default)]
pub struct Settings {
    /// Listen address, host:port.
    #[arg(global = true, long = "addr", env = "LEPTOS_SITE_ADDR")]
    pub addr: Option<String>,
    /// Directory of the built site (pkg/, widget/, assets).
    #[arg(global = true, long = "site-root", env = "LEPTOS_SITE_ROOT")]
    pub site_root: Option<String>,
    /// sqlite://… or postgres://…
    #[arg(global = true, long = "database-url", env = "DATABASE_URL")]
    pub database_url: Option<String>,
    #[arg(global = true, long = "redis-url", env = "REDIS_URL")]
    pub redis_url: Option<String>,
    #[arg(global = true, long = "redis-prefix", env = "BROOK_REDIS_PREFIX")]
    pub redis_prefix: Option<String>,
    #[arg(global = true, long = "drain-secs", env = "BROOK_DRAIN_SECS")]
    pub drain_secs: Option<String>,
    #[arg(global = true, long = "reply-log-secs", env = "BROOK_REPLY_LOG_SECS")]
    pub reply_log_secs: Option<String>,
    #[arg(
        global = true,
        long = "upstream-first-token-secs",
        env = "BROOK_UPSTREAM_FIRST_TOKEN_SECS"
    )]
    pub upstream_first_token_secs: Option<String>,
    #[arg(global = true, long = "upstream-idle-secs", env = "BROOK_UPSTREAM_IDLE_SECS")]
    pub upstream_idle_secs: Option<String>,
    #[arg(global = true, long = "context-tokens", env = "BROOK_CONTEXT_TOKENS")]
    pub context_tokens: Option<String>,
    #[arg(global = true, long = "max-active-replies", env = "BROOK_MAX_ACTIVE_REPLIES")]
    pub max_active_replies: Option<String>,
    #[arg(
        global = true,
        long = "openai-api-key",
        env = "OPENAI_API_KEY",
        hide_env_values = true
    )]
    pub openai_api_key: Option<String>,
    #[arg(global = true, long = "openai-base-url", env = "OPENAI_BASE_URL")]
    pub openai_base_url: Option<String>,
    #[arg(global = true, long = "default-model", env = "BROOK_MODEL")]
    pub model: Option<String>,
    #[arg(global = true, long = "models", env = "BROOK_MODELS")]
    pub models: Option<String>,
    /// openai or demo
    #[arg(global = true, long = "provider", env = "BROOK_PROVIDER")]
    pub provider: Option<String>,
    #[arg(global = true, long = "jwt-secret", env = "BROOK_JWT_SECRET", hide_env_values = true)]
    pub jwt_secret: Option<String>,
    /// on or off
    #[arg(global = true, long = "guests", env = "BROOK_GUESTS")]
    pub guests: Option<String>,
    #[arg(global = true, long = "max-message-chars", env = "BROOK_MAX_MESSAGE_CHARS")]
    pub max_message_chars: Option<String>,
    #[arg(global = true, long = "rate-limit-per-min", env = "BROOK_RATE_LIMIT_PER_MIN")]
    pub rate_limit_per_min: Option<String>,
    #[arg(
        global = true,
        long = "auth-rate-limit-per-min",
        env = "BROOK_AUTH_RATE_LIMIT_PER_MIN"
    )]
    pub auth_rate_limit_per_min: Option<String>,
    #[arg(
        global = true,
        long = "max-connections-per-identity",
        env = "BROOK_MAX_CONNECTIONS_PER_IDENTITY"
    )]
    pub max_connections_per_identity: Option<String>,
    #[arg(global = true, long = "daily-tokens-user", env = "BROOK_DAILY_TOKENS_USER")]
    pub daily_tokens_user: Option<String>,
    #[arg(global = true, long = "daily-tokens-guest", env = "BROOK_DAILY_TOKENS_GUEST")]
    pub daily_tokens_guest: Option<String>,
    #[arg(global = true, long = "daily-tokens-visitor", env = "BROOK_DAILY_TOKENS_VISITOR")]
    pub daily_tokens_visitor: Option<String>,
    /// Comma-separated CIDRs whose X-Forwarded-For is believed.
    #[arg(global = true, long = "trusted-proxies", env = "BROOK_TRUSTED_PROXIES")]
    pub trusted_proxies: Option<String>,
    /// text or json
    #[arg(global = true, long = "log-format", env = "BROOK_LOG_FORMAT")]
    pub log_format: Option<String>,
    /// The public URL of this server, used in printed widget snippets.
    #[arg(global = true, long = "public-url", env = "BROOK_PUBLIC_URL")]
    pub public_url: Option<String>,
    #[arg(global = true, long = "demo-token-ms", env = "BROOK_DEMO_TOKEN_MS")]
    pub demo_token_ms: Option<String>,
    #[arg(global = true, long = "ws-idle-secs", env = "BROOK_WS_IDLE_SECS", hide = true)]
    pub ws_idle_secs: Option<String>,
    #[arg(global = true, long = "ws-ping-secs", env = "BROOK_WS_PING_SECS", hide = true)]
    pub ws_ping_secs: Option<String>,
    /// Seconds a visitor stays `online`/`away` after its last connection closed (§9.2; 30).
    #[arg(
        global = true,
        long = "presence-grace-secs",
        env = "BROOK_PRESENCE_GRACE_SECS",
        hide = true
    )]
    pub presence_grace_secs: Option<String>,
    /// Seconds a dead node's connections still count across nodes (15).
    #[arg(
        global = true,
        long = "connection-ttl-secs",
        env = "BROOK_CONNECTION_TTL_SECS",
        hide = true
    )]
    pub connection_ttl_secs: Option<String>,
    #[command(flatten)]
    pub connections: ConnectionSettings,
}

pub(crate) fn present(v: &Option<String>) -> Option<&str> {
    v.as_deref().map(str::trim).filter(|s| !s.is_empty())
}

fn parse_num<T: std::str::FromStr>(name: &'static str, v: &Option<String>, default: T) -> Result<T, ConfigError>
where
    T::Err: std::fmt::Display,
{
    match present(v) {
        None => Ok(default),
        Some(s) => s.parse::<T>().map_err(|e| ConfigError::Invalid {
            name,
            value: s.to_string(),
            reason: format!("expected a non-negative whole number ({e})"),
        }),
    }
}

fn parse_secs(name: &'static str, v: &Option<String>, default: Duration) -> Result<Duration, ConfigError> {
    Ok(Duration::from_secs(parse_num(name, v, default.as_secs())?))
}

fn parse_switch(name: &'static str, v: &Option<String>, default: bool) -> Result<bool, ConfigError> {
    match present(v).map(str::to_ascii_lowercase).as_deref() {
        None => Ok(default),
        Some("on" | "true" | "1" | "yes") => Ok(true),
        Some("off" | "false" | "0" | "no") => Ok(false),
        Some(other) => Err(ConfigError::Invalid {
            name,
            value: other.to_string(),
            reason: "expected on or off".into(),
        }),
    }
}

impl Config {
    /// Checks every setting and applies the contract's defaults.
    ///
    /// Errors: [`ConfigError::Invalid`] naming the variable, its value (URLs
    /// redacted) and what was expected; [`ConfigError::Missing`] for the
    /// OpenAI key the default OpenAI endpoint needs.
    pub fn from_settings(s: &Settings) -> Result<Config, ConfigError> {
        let d = Config::default();
        let addr = checks::addr(s, d.addr)?;
        let database_url = checks::database_url(s, d.database_url)?;
        let redis_url = checks::redis_url(s)?;
        let (provider, openai_api_key, openai_base_url) = checks::provider(s)?;
        let model = present(&s.model).map(str::to_string).unwrap_or(d.model);
        let models = checks::models(s, &model)?;
        let log_format = checks::log_format(s)?;
        let trusted_proxies = checks::trusted_proxies(s)?;
        let max_message_chars = parse_num("BROOK_MAX_MESSAGE_CHARS", &s.max_message_chars, d.max_message_chars)?;
        Ok(Config {
            addr,
            site_root: present(&s.site_root).map(PathBuf::from).unwrap_or(d.site_root),
            database_url,
            redis_url,
            redis_prefix: checks::redis_prefix(s, d.redis_prefix)?,
            drain: parse_secs("BROOK_DRAIN_SECS", &s.drain_secs, d.drain)?,
            reply_log_retention: parse_secs("BROOK_REPLY_LOG_SECS", &s.reply_log_secs, d.reply_log_retention)?,
            upstream_first_token: parse_secs(
                "BROOK_UPSTREAM_FIRST_TOKEN_SECS",
                &s.upstream_first_token_secs,
                d.upstream_first_token,
            )?,
            upstream_idle: parse_secs("BROOK_UPSTREAM_IDLE_SECS", &s.upstream_idle_secs, d.upstream_idle)?,
            context_tokens: parse_num("BROOK_CONTEXT_TOKENS", &s.context_tokens, d.context_tokens)?,
            max_active_replies: parse_num("BROOK_MAX_ACTIVE_REPLIES", &s.max_active_replies, d.max_active_replies)?,
            openai_api_key,
            openai_base_url,
            model,
            models,
            provider,
            jwt_secret: present(&s.jwt_secret).map(str::to_string),
            guests: parse_switch("BROOK_GUESTS", &s.guests, d.guests)?,
            max_message_chars,
            rate_limit_per_min: parse_num("BROOK_RATE_LIMIT_PER_MIN", &s.rate_limit_per_min, d.rate_limit_per_min)?,
            auth_rate_limit_per_min: parse_num(
                "BROOK_AUTH_RATE_LIMIT_PER_MIN",
                &s.auth_rate_limit_per_min,
                d.auth_rate_limit_per_min,
            )?,
            max_connections_per_identity: parse_num(
                "BROOK_MAX_CONNECTIONS_PER_IDENTITY",
                &s.max_connections_per_identity,
                d.max_connections_per_identity,
            )?,
            daily_tokens_user: parse_num("BROOK_DAILY_TOKENS_USER", &s.daily_tokens_user, d.daily_tokens_user)?,
            daily_tokens_guest: parse_num("BROOK_DAILY_TOKENS_GUEST", &s.daily_tokens_guest, d.daily_tokens_guest)?,
            daily_tokens_visitor: parse_num(
                "BROOK_DAILY_TOKENS_VISITOR",
                &s.daily_tokens_visitor,
                d.daily_tokens_visitor,
            )?,
            trusted_proxies,
            log_format,
            public_url: present(&s.public_url).map(|u| u.trim_end_matches('/').to_string()),
            demo_token_delay: Duration::from_millis(parse_num(
                "BROOK_DEMO_TOKEN_MS",
                &s.demo_token_ms,
                d.demo_token_delay.as_millis() as u64,
            )?),
            ws_idle_timeout: parse_secs("BROOK_WS_IDLE_SECS", &s.ws_idle_secs, d.ws_idle_timeout)?,
            presence_grace: parse_secs("BROOK_PRESENCE_GRACE_SECS", &s.presence_grace_secs, d.presence_grace)?,
            ws_ping_interval: parse_secs("BROOK_WS_PING_SECS", &s.ws_ping_secs, d.ws_ping_interval)?,
            connection_ttl: parse_secs("BROOK_CONNECTION_TTL_SECS", &s.connection_ttl_secs, d.connection_ttl)?
                .max(Duration::from_secs(1)),
            max_reply_bytes: d.max_reply_bytes,
            connections: s.connections.parse()?,
        })
    }

    /// The daily completion-token quota of a role (0 = unlimited).
    pub fn daily_tokens(&self, role: protocol::objects::Role) -> u64 {
        match role {
            protocol::objects::Role::User => self.daily_tokens_user,
            protocol::objects::Role::Guest => self.daily_tokens_guest,
            protocol::objects::Role::Visitor => self.daily_tokens_visitor,
        }
    }
}

/// `ip:port`, or `host:port` resolved once at start-up (IPv4 preferred, as
/// `localhost` usually means to the people who type it).
pub(crate) fn listen_addr(raw: &str) -> Option<SocketAddr> {
    if let Ok(a) = raw.parse::<SocketAddr>() {
        return Some(a);
    }
    let (host, port) = raw.rsplit_once(':')?;
    if host.is_empty() || port.parse::<u16>().is_err() {
        return None;
    }
    use std::net::ToSocketAddrs;
    let all: Vec<SocketAddr> = raw.to_socket_addrs().ok()?.collect();
    all.iter().find(|a| a.is_ipv4()).or(all.first()).copied()
}

/// Hides a password in a connection URL before it is printed.
pub fn redact_url(raw: &str) -> String {
    match url::Url::parse(raw) {
        Ok(mut u) if u.password().is_some() => {
            let _ = u.set_password(Some("***"));
            u.to_string()
        }
        _ => raw.to_string(),
    }
}

#[cfg(test)]
mod tests;
