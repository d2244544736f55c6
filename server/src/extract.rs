//! Request extractors that answer with the contract's codes: JSON bodies, the
//! caller's identity (Bearer, cookie or `?token=`), the cookie's CSRF rules, and
//! the client's IP behind trusted proxies.

use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};

use axum::body::Bytes;
use axum::extract::{ConnectInfo, FromRequest, FromRequestParts, Request};
use axum::http::request::Parts;
use axum::http::{header, HeaderMap, Method};
use engine::auth::Identity;
use protocol::ErrorCode;
use serde::de::DeserializeOwned;

use crate::error::HttpError;
use crate::state::AppState;

pub use engine::auth::SESSION_COOKIE;

pub mod ids;
pub mod query;
pub mod site;

pub use ids::{IdPath, SessionPath, VisitorConversationPath};
pub use site::same_site_origin;

/// A JSON body: unparsable → `400 INVALID_JSON`; a missing or ill-typed field →
/// `400 INVALID_FRAME`, with serde's description of what is wrong.
pub struct JsonBody<T>(pub T);

impl<T: DeserializeOwned, S: Send + Sync> FromRequest<S> for JsonBody<T> {
    type Rejection = HttpError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        let bytes = Bytes::from_request(req, state).await.map_err(|e| {
            if e.status() == axum::http::StatusCode::PAYLOAD_TOO_LARGE {
                HttpError::new(ErrorCode::MessageTooLong, "request body is too large")
            } else {
                HttpError::new(ErrorCode::InvalidJson, format!("cannot read the body: {e}"))
            }
        })?;
        let value: serde_json::Value = if bytes.iter().all(u8::is_ascii_whitespace) {
            return Err(HttpError::new(
                ErrorCode::InvalidJson,
                "the body is empty; expected a JSON object",
            ));
        } else {
            serde_json::from_slice(&bytes)
                .map_err(|e| HttpError::new(ErrorCode::InvalidJson, format!("the body is not valid JSON: {e}")))?
        };
        if !value.is_object() {
            return Err(HttpError::new(
                ErrorCode::InvalidFrame,
                "the body must be a JSON object",
            ));
        }
        serde_json::from_value(value)
            .map(JsonBody)
            .map_err(|e| HttpError::new(ErrorCode::InvalidFrame, format!("invalid body: {e}")))
    }
}

pub fn bearer(headers: &HeaderMap) -> Option<String> {
    let v = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, token) = v.split_once(' ')?;
    scheme.eq_ignore_ascii_case("bearer").then(|| token.trim().to_string())
}

pub fn session_cookie(headers: &HeaderMap) -> Option<String> {
    engine::auth::session_token(headers)
}

/// The caller's identity. A cookie-authenticated request that changes state must
/// send `Content-Type: application/json` and Brook's own `Origin` (contract §2, §4).
pub struct Auth {
    pub who: Identity,
    pub via_cookie: bool,
}

/// The caller's token and whether it came from the session cookie: Bearer,
/// else (on GET streams) `?token=`, else the cookie.
fn presented_token(parts: &Parts, allow_query: bool) -> Result<Option<(String, bool)>, HttpError> {
    if let Some(t) = bearer(&parts.headers) {
        return Ok(Some((t, false)));
    }
    if allow_query {
        if let Some(t) = query_token(parts)? {
            return Ok(Some((t, false)));
        }
    }
    Ok(session_cookie(&parts.headers).map(|t| (t, true)))
}

/// Verifies the caller through [`engine::Engine::identify`] (revoked tokens and
/// visitors of removed bots are refused there, for every transport alike).
async fn authenticate(parts: &Parts, state: &AppState, allow_query: bool) -> Result<Auth, HttpError> {
    let Some((token, via_cookie)) = presented_token(parts, allow_query)? else {
        return Err(HttpError::new(ErrorCode::AuthRequired, "authentication required"));
    };
    let who = state.engine.admission.identify(&token).await?;
    if via_cookie {
        let safe = matches!(parts.method, Method::GET | Method::HEAD | Method::OPTIONS);
        if !safe {
            let json = parts
                .headers
                .get(header::CONTENT_TYPE)
                .and_then(|v| v.to_str().ok())
                .is_some_and(|ct| ct.trim().to_ascii_lowercase().starts_with("application/json"));
            if !json {
                return Err(HttpError::new(
                    ErrorCode::Forbidden,
                    "a request authenticated by cookie must send Content-Type: application/json",
                ));
            }
            if !same_site_origin(&parts.headers, &state.engine.config) {
                return Err(HttpError::new(
                    ErrorCode::Forbidden,
                    "a request authenticated by cookie must come from Brook's own origin",
                ));
            }
        }
    }
    Ok(Auth { who, via_cookie })
}

/// `?token=` (decoded once, see [`query`]); two of them are an invalid token.
pub fn query_token(parts: &Parts) -> Result<Option<String>, HttpError> {
    query::token(&parts.uri).map_err(|e| HttpError::new(ErrorCode::AuthRequired, e.to_string()))
}

impl FromRequestParts<AppState> for Auth {
    type Rejection = HttpError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Self::Rejection> {
        authenticate(parts, state, false).await
    }
}

/// Like [`Auth`], and also `?token=` (GET streams: `EventSource` cannot set headers).
pub struct StreamAuth(pub Auth);

impl FromRequestParts<AppState> for StreamAuth {
    type Rejection = HttpError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Self::Rejection> {
        authenticate(parts, state, true).await.map(StreamAuth)
    }
}

/// The client's address: the peer, or — when the peer is a trusted proxy — the
/// nearest untrusted address in `X-Forwarded-For`.
pub struct ClientIp(pub IpAddr);

pub fn client_ip(parts: &Parts, state: &AppState) -> IpAddr {
    let peer = parts
        .extensions
        .get::<ConnectInfo<SocketAddr>>()
        .map(|c| c.0.ip())
        .unwrap_or(IpAddr::from([127, 0, 0, 1]));
    client_ip_of(&parts.headers, peer, &state.engine.config.trusted_proxies)
}

/// The rule of [`client_ip`] over raw parts: the peer, unless it is a trusted
/// proxy, then the nearest address in `X-Forwarded-For` that is not one.
pub fn client_ip_of(headers: &HeaderMap, peer: IpAddr, trusted: &[ipnet::IpNet]) -> IpAddr {
    if trusted.is_empty() || !trusted.iter().any(|n| n.contains(&peer)) {
        return peer;
    }
    let forwarded: Vec<IpAddr> = headers
        .get_all("x-forwarded-for")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .filter_map(|s| s.trim().parse().ok())
        .collect();
    forwarded
        .into_iter()
        .rev()
        .find(|ip| !trusted.iter().any(|n| n.contains(ip)))
        .unwrap_or(peer)
}

/// Refuses, with `403 FORBIDDEN`, a request that a browser says comes from
/// another site (see [`site::is_cross_site`]). Every endpoint that sets the session
/// cookie takes it, whatever the Content-Type: a foreign page must not sign a
/// visitor's browser into the attacker's account (login CSRF, issue 11 §4.7).
pub struct NotCrossSite;

impl FromRequestParts<AppState> for NotCrossSite {
    type Rejection = HttpError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Self::Rejection> {
        if site::is_cross_site(&parts.headers, &state.engine.config) {
            return Err(HttpError::new(
                ErrorCode::Forbidden,
                "this request must come from Brook's own pages",
            ));
        }
        Ok(NotCrossSite)
    }
}

impl FromRequestParts<AppState> for ClientIp {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Self::Rejection> {
        Ok(ClientIp(client_ip(parts, state)))
    }
}

/// Query parameters as strings, so that a bad value is a `422` with a message
/// instead of axum's plain-text `400`.
pub struct Params(pub HashMap<String, String>);

impl<S: Send + Sync> FromRequestParts<S> for Params {
    type Rejection = HttpError;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        // Decoded the one way every check and log line uses (see [`query`]).
        Ok(Params(query::pairs(&parts.uri).into_iter().collect()))
    }
}

impl Params {
    pub fn get(&self, key: &str) -> Option<&str> {
        self.0.get(key).map(String::as_str)
    }

    /// `limit`: 1..=max, default `default`.
    pub fn limit(&self, default: i64, max: i64) -> Result<i64, HttpError> {
        match self.get("limit").map(str::trim) {
            None | Some("") => Ok(default),
            Some(raw) => match raw.parse::<i64>() {
                Ok(n) if (1..=max).contains(&n) => Ok(n),
                _ => Err(HttpError::new(
                    ErrorCode::ValidationError,
                    format!("limit: expected a whole number from 1 to {max}, got {raw:?}"),
                )),
            },
        }
    }

    /// A non-negative integer parameter.
    pub fn u64(&self, key: &str, default: u64) -> Result<u64, HttpError> {
        match self.get(key).map(str::trim) {
            None | Some("") => Ok(default),
            Some(raw) => raw.parse::<u64>().map_err(|_| {
                HttpError::new(
                    ErrorCode::ValidationError,
                    format!("{key}: expected a non-negative whole number, got {raw:?}"),
                )
            }),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::client_ip_of;
    use axum::http::HeaderMap;
    use std::net::IpAddr;

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    fn xff(values: &[&str]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for v in values {
            h.append("x-forwarded-for", v.parse().unwrap());
        }
        h
    }

    fn two_proxies() -> Vec<ipnet::IpNet> {
        vec!["127.0.0.0/8".parse().unwrap(), "10.0.0.0/8".parse().unwrap()]
    }

    #[test]
    fn an_untrusted_peer_is_the_client_whatever_it_forwards() {
        let h = xff(&["203.0.113.7"]);
        assert_eq!(client_ip_of(&h, ip("192.0.2.1"), &two_proxies()), ip("192.0.2.1"));
        assert_eq!(client_ip_of(&h, ip("127.0.0.1"), &[]), ip("127.0.0.1"));
    }

    #[test]
    fn behind_two_trusted_proxies_the_nearest_untrusted_entry_is_the_client() {
        // client, inner proxy — appended by the outer proxy (the peer).
        let h = xff(&["203.0.113.7, 10.1.2.3"]);
        assert_eq!(client_ip_of(&h, ip("127.0.0.1"), &two_proxies()), ip("203.0.113.7"));
        // The same chain split over two header lines.
        let h = xff(&["203.0.113.7", "10.1.2.3"]);
        assert_eq!(client_ip_of(&h, ip("127.0.0.1"), &two_proxies()), ip("203.0.113.7"));
    }

    #[test]
    fn entries_a_client_made_up_are_ignored() {
        // The client sent `X-Forwarded-For: 1.1.1.1` itself; the proxies appended.
        let h = xff(&["1.1.1.1, 203.0.113.7, 10.1.2.3"]);
        assert_eq!(client_ip_of(&h, ip("127.0.0.1"), &two_proxies()), ip("203.0.113.7"));
        // Garbage entries are skipped, never trusted.
        let h = xff(&["not-an-ip, 203.0.113.7, , 10.1.2.3"]);
        assert_eq!(client_ip_of(&h, ip("127.0.0.1"), &two_proxies()), ip("203.0.113.7"));
    }

    #[test]
    fn only_trusted_entries_fall_back_to_the_peer() {
        let h = xff(&["10.1.2.3"]);
        assert_eq!(client_ip_of(&h, ip("127.0.0.1"), &two_proxies()), ip("127.0.0.1"));
        assert_eq!(
            client_ip_of(&HeaderMap::new(), ip("127.0.0.1"), &two_proxies()),
            ip("127.0.0.1")
        );
    }
}
