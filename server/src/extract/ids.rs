//! Path parameters, checked before anything is looked up, with one answer per
//! kind of parameter on every method of every endpoint (issue 11 §4.4):
//!
//! - a conversation id (`session_id`, contract §2) of the wrong form is
//!   `422 VALIDATION_ERROR`, on `GET`, `PATCH` and `DELETE` alike;
//! - an opaque id (bot, reply, message, visitor) that no server could have issued
//!   (empty, over [`MAX_ID_BYTES`], or holding control characters such as the
//!   `%00` PostgreSQL refuses) is simply unknown: `404 NOT_FOUND`, like any
//!   unknown or foreign id, never a `500` from the database.

use axum::extract::{FromRequestParts, Path};
use axum::http::request::Parts;
use protocol::ErrorCode;

use crate::error::HttpError;

/// Longest opaque id accepted (Brook's ids are 32 characters; room to spare).
pub const MAX_ID_BYTES: usize = 128;

/// Whether `id` could be an id Brook issued.
pub fn plausible_id(id: &str) -> bool {
    !id.is_empty() && id.len() <= MAX_ID_BYTES && !id.chars().any(char::is_control)
}

/// An opaque id, else `404` naming `what`.
pub fn opaque_id(id: String, what: &str) -> Result<String, HttpError> {
    if plausible_id(&id) {
        Ok(id)
    } else {
        Err(HttpError::new(ErrorCode::NotFound, format!("{what} not found")))
    }
}

/// A `session_id` of the contract's form, else `422`.
pub fn session_id(id: String) -> Result<String, HttpError> {
    if protocol::valid_session_id(&id) {
        Ok(id)
    } else {
        Err(HttpError::new(
            ErrorCode::ValidationError,
            "session_id: 1 to 128 characters of A-Z a-z 0-9 . _ : - (and not . or ..)",
        ))
    }
}

async fn one_segment<S: Send + Sync>(parts: &mut Parts, state: &S) -> Result<String, HttpError> {
    Path::<String>::from_request_parts(parts, state)
        .await
        .map(|p| p.0)
        .map_err(|_| HttpError::new(ErrorCode::NotFound, "not found"))
}

/// The path's one `{id}`, an opaque id (`404` when implausible).
pub struct IdPath(pub String);

impl<S: Send + Sync> FromRequestParts<S> for IdPath {
    type Rejection = HttpError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        opaque_id(one_segment(parts, state).await?, "resource").map(IdPath)
    }
}

/// The path's one `{id}`, a conversation id (`422` when malformed).
pub struct SessionPath(pub String);

impl<S: Send + Sync> FromRequestParts<S> for SessionPath {
    type Rejection = HttpError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        session_id(one_segment(parts, state).await?).map(SessionPath)
    }
}

/// `/api/v1/bots/{id}/visitors/{visitor_id}/conversations/{session_id}/…`.
pub struct VisitorConversationPath {
    pub bot_id: String,
    pub visitor_id: String,
    pub session_id: String,
}

impl<S: Send + Sync> FromRequestParts<S> for VisitorConversationPath {
    type Rejection = HttpError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        let Path((bot, visitor, session)) = Path::<(String, String, String)>::from_request_parts(parts, state)
            .await
            .map_err(|_| HttpError::new(ErrorCode::NotFound, "not found"))?;
        Ok(VisitorConversationPath {
            session_id: session_id(session)?,
            bot_id: opaque_id(bot, "bot")?,
            visitor_id: opaque_id(visitor, "conversation")?,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids() {
        assert!(plausible_id("0192f0c2a1b27c3d8e9f0a1b2c3d4e5f"));
        assert!(!plausible_id(""));
        assert!(!plausible_id("a\0b"));
        assert!(!plausible_id("a\nb"));
        assert!(!plausible_id(&"x".repeat(129)));
        assert!(session_id("python-session-1".into()).is_ok());
        assert!(session_id("..".into()).is_err());
        assert!(session_id("a b".into()).is_err());
    }
}
