//! Connection limits (issue 11 §3): how long a client may take to send a request
//! head or a body, and how many connections one address may hold open.

use std::time::Duration;

use clap::Args;

use super::{parse_num, ConfigError};

/// The checked connection limits.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ConnectionLimits {
    /// A connection must send a complete request head within this time of
    /// opening, and again within this time of its previous response (idle
    /// keep-alive), or it is closed. Streaming responses (SSE, long polls) and
    /// WebSockets after their upgrade are not affected.
    pub header_timeout: Duration,
    /// A request body that sends nothing for this long is cut off.
    pub body_timeout: Duration,
    /// Open connections per client IP (`0`: no limit). For a peer in
    /// `BROOK_TRUSTED_PROXIES` it counts the forwarded client's long-lived
    /// requests (WebSocket, SSE, long poll) instead of the proxy's TCP connections.
    pub max_per_ip: usize,
}

/// 10 s: time enough for a slow mobile link to send a few hundred bytes of
/// headers, short enough that an idle socket holds a descriptor briefly (Go's
/// servers commonly use a 10 s `ReadHeaderTimeout`; nginx's default is 60 s).
pub const DEFAULT_HEADER_TIMEOUT: Duration = Duration::from_secs(10);
/// 10 s of silence in the middle of a body (nginx's `client_body_timeout` is 60 s
/// between reads; Brook's bodies are small JSON).
pub const DEFAULT_BODY_TIMEOUT: Duration = Duration::from_secs(10);
/// 512 per address: an office of a hundred or two behind one NAT address, each
/// with a WebSocket and a few keep-alive connections per browser, fits; one
/// client alone holds at most a small share of the 20,000 descriptors a typical
/// host allows.
pub const DEFAULT_MAX_PER_IP: usize = 512;

impl Default for ConnectionLimits {
    fn default() -> Self {
        ConnectionLimits {
            header_timeout: DEFAULT_HEADER_TIMEOUT,
            body_timeout: DEFAULT_BODY_TIMEOUT,
            max_per_ip: DEFAULT_MAX_PER_IP,
        }
    }
}

/// The settings as flags and variables.
#[derive(Args, Clone, Debug, Default)]
pub struct ConnectionSettings {
    /// Seconds a connection may take to send a request head (also the idle
    /// keep-alive time-out).
    #[arg(global = true, long = "header-timeout-secs", env = "BROOK_HEADER_TIMEOUT_SECS")]
    pub header_timeout_secs: Option<String>,
    /// Seconds a request body may stall.
    #[arg(global = true, long = "body-timeout-secs", env = "BROOK_BODY_TIMEOUT_SECS")]
    pub body_timeout_secs: Option<String>,
    /// Open connections per client IP (0: no limit).
    #[arg(global = true, long = "max-connections-per-ip", env = "BROOK_MAX_CONNECTIONS_PER_IP")]
    pub max_connections_per_ip: Option<String>,
}

impl ConnectionSettings {
    /// Checks the values; a time-out of `0` is refused (it would close every
    /// connection at once).
    pub fn parse(&self) -> Result<ConnectionLimits, ConfigError> {
        let d = ConnectionLimits::default();
        let secs = |name: &'static str, v: &Option<String>, default: Duration| -> Result<Duration, ConfigError> {
            let n: u64 = parse_num(name, v, default.as_secs())?;
            if n == 0 {
                return Err(ConfigError::Invalid {
                    name,
                    value: "0".into(),
                    reason: "expected at least 1 second".into(),
                });
            }
            Ok(Duration::from_secs(n))
        };
        Ok(ConnectionLimits {
            header_timeout: secs("BROOK_HEADER_TIMEOUT_SECS", &self.header_timeout_secs, d.header_timeout)?,
            body_timeout: secs("BROOK_BODY_TIMEOUT_SECS", &self.body_timeout_secs, d.body_timeout)?,
            max_per_ip: parse_num(
                "BROOK_MAX_CONNECTIONS_PER_IP",
                &self.max_connections_per_ip,
                d.max_per_ip,
            )?,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_and_bad_values() {
        assert_eq!(
            ConnectionSettings::default().parse().unwrap(),
            ConnectionLimits::default()
        );
        let s = ConnectionSettings {
            header_timeout_secs: Some("0".into()),
            ..Default::default()
        };
        let e = s.parse().unwrap_err().to_string();
        assert!(e.contains("BROOK_HEADER_TIMEOUT_SECS"), "{e}");
        let s = ConnectionSettings {
            max_connections_per_ip: Some("many".into()),
            ..Default::default()
        };
        let e = s.parse().unwrap_err().to_string();
        assert!(e.contains("BROOK_MAX_CONNECTIONS_PER_IP") && e.contains("many"), "{e}");
        let s = ConnectionSettings {
            max_connections_per_ip: Some("0".into()),
            body_timeout_secs: Some("3".into()),
            ..Default::default()
        };
        let l = s.parse().unwrap();
        assert_eq!(l.max_per_ip, 0);
        assert_eq!(l.body_timeout, Duration::from_secs(3));
    }
}
