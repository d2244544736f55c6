//! Redis connections through the maintained `redis` crate: the client a
//! `REDIS_URL` stands for, and the health check of `/ready` and `brook doctor`.
//!
//! The crate parses the URL: `redis://` and `rediss://` (TLS with rustls and the
//! process's `ring` provider, `#insecure` to skip verification), percent-encoded
//! user names and passwords (decoded before `AUTH`), IPv6 hosts in brackets
//! (`redis://[::1]:6379`), and `/N` for the database number.

use std::time::Duration;

use redis::{IntoConnectionInfo, ProtocolVersion};

#[derive(Debug, thiserror::Error)]
pub enum RedisPingError {
    #[error("REDIS_URL is not a usable redis:// or rediss:// URL: {0}")]
    BadUrl(String),
    #[error("cannot connect: {0}")]
    Connect(String),
    #[error("unexpected answer: {0}")]
    Answer(String),
    #[error("timed out")]
    Timeout,
}

/// The client for `url`, speaking RESP3 (pub/sub messages arrive as pushes on
/// the same connection as commands, which the connection manager resubscribes
/// after a reconnect).
pub fn client(url: &str) -> Result<redis::Client, RedisPingError> {
    crate::tls::install_crypto_provider();
    let info = url
        .into_connection_info()
        .map_err(|e| RedisPingError::BadUrl(e.to_string()))?;
    let settings = info.redis_settings().clone().set_protocol(ProtocolVersion::RESP3);
    redis::Client::open(info.set_redis_settings(settings)).map_err(|e| RedisPingError::BadUrl(e.to_string()))
}

/// Connects, authenticates if the URL says so, and sends `PING` (3 s at most).
pub async fn ping(url: &str) -> Result<(), RedisPingError> {
    let client = client(url)?;
    let work = async move {
        let mut c = client
            .get_multiplexed_async_connection()
            .await
            .map_err(|e| RedisPingError::Connect(e.to_string()))?;
        let answer: String = redis::cmd("PING")
            .query_async(&mut c)
            .await
            .map_err(|e| RedisPingError::Answer(e.to_string()))?;
        if answer == "PONG" {
            Ok(())
        } else {
            Err(RedisPingError::Answer(answer))
        }
    };
    tokio::time::timeout(Duration::from_secs(3), work)
        .await
        .map_err(|_| RedisPingError::Timeout)?
}

#[cfg(test)]
mod tests {
    use super::*;
    use redis::ConnectionAddr;

    #[test]
    fn rediss_is_accepted_and_means_tls() {
        let c = client("rediss://cache.example.com:6380").expect("rediss:// parses");
        match c.get_connection_info().addr() {
            ConnectionAddr::TcpTls {
                host, port, insecure, ..
            } => {
                assert_eq!((host.as_str(), *port, *insecure), ("cache.example.com", 6380, false));
            }
            other => panic!("expected TLS, got {other:?}"),
        }
        let plain = client("redis://cache.example.com").unwrap();
        assert!(matches!(plain.get_connection_info().addr(), ConnectionAddr::Tcp(h, 6379) if h == "cache.example.com"));
    }

    #[test]
    fn percent_encoded_credentials_are_decoded() {
        let c = client("redis://app%2Bnode:p%40ss%3Aw0rd%2F@127.0.0.1:6379/2").unwrap();
        let r = c.get_connection_info().redis_settings();
        assert_eq!(r.password(), Some("p@ss:w0rd/"));
        assert_eq!(r.username(), Some("app+node"));
        assert_eq!(r.db(), 2);
    }

    #[test]
    fn ipv6_hosts_lose_their_brackets() {
        let c = client("redis://[::1]:6390").unwrap();
        assert!(
            matches!(c.get_connection_info().addr(), ConnectionAddr::Tcp(h, 6390) if h == "::1"),
            "{:?}",
            c.get_connection_info().addr()
        );
    }

    #[test]
    fn other_schemes_are_refused() {
        assert!(matches!(
            client("http://127.0.0.1:6379"),
            Err(RedisPingError::BadUrl(_))
        ));
    }
}
