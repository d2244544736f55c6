//! Identity (contract §2): argon2id passwords, HS256 tokens with the algorithm
//! pinned, a revocation list for logout, and the [`Identity`] every request carries.

pub mod jwt;
pub mod password;

pub use jwt::{Claims, Keys, TOKEN_TTL};

use protocol::objects::Role;

/// Who is making a request, from a verified token.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Identity {
    pub user_id: String,
    pub role: Role,
    /// A visitor's bot: every conversation of a visitor belongs to it.
    pub bot_id: Option<String>,
    pub jti: String,
    pub exp: i64,
}

impl Identity {
    pub fn from_claims(c: &Claims) -> Identity {
        Identity {
            user_id: c.sub.clone(),
            role: c.role,
            bot_id: c.bot.clone(),
            jti: c.jti.clone(),
            exp: c.exp,
        }
    }
}

/// Why a token was not accepted. The message is what clients see.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum TokenError {
    #[error("Invalid token")]
    Invalid,
    #[error("Token expired")]
    Expired,
    #[error("Token revoked")]
    Revoked,
}

/// The web UI's session cookie (contract §2).
pub const SESSION_COOKIE: &str = "brook_session";

/// The session token in a request's `Cookie` headers, if any. Shared by the
/// API's extractor and the server functions, which both see raw headers.
pub fn session_token(headers: &axum::http::HeaderMap) -> Option<String> {
    headers
        .get_all(axum::http::header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(k, _)| *k == SESSION_COOKIE)
        .map(|(_, v)| v.trim().to_string())
        .filter(|v| !v.is_empty())
}
