//! Identity (contract §2): argon2id passwords, HS256 tokens with the algorithm
//! pinned, a revocation list for logout, and the [`Identity`] every request carries.

mod hs256;
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

/// The session token in a request's `Cookie` headers, if any (parsed by the
/// `cookie` crate: RFC 6265 pairs, surrounding quotes trimmed). Shared by the
/// API's extractor and the server functions, which both see raw headers.
pub fn session_token(headers: &axum::http::HeaderMap) -> Option<String> {
    headers
        .get_all(axum::http::header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(cookie::Cookie::split_parse)
        .filter_map(Result::ok)
        .find(|c| c.name() == SESSION_COOKIE)
        .map(|c| c.value_trimmed().to_string())
        .filter(|v| !v.is_empty())
}

/// The `Set-Cookie` value for a session token (contract §2): `Path=/`,
/// `HttpOnly`, `SameSite=Lax`, `Max-Age` in seconds (0 clears the cookie),
/// and `Secure` when browsers reach Brook over https.
pub fn session_set_cookie(token: &str, max_age_secs: i64, secure: bool) -> String {
    cookie::Cookie::build((SESSION_COOKIE, token))
        .path("/")
        .http_only(true)
        .same_site(cookie::SameSite::Lax)
        .max_age(cookie::time::Duration::seconds(max_age_secs))
        .secure(secure)
        .build()
        .to_string()
}
