//! The checks every chat request passes before anything is admitted or stored,
//! the same on every transport (contract §2).

use protocol::{valid_session_id, ErrorCode};

use crate::auth::Identity;
use crate::error::{Error, Result};
use crate::store::Database;

/// Longest `client_id` (contract §3.2), in Unicode scalar values.
const MAX_CLIENT_ID: usize = 128;

/// Where a request came from, which decides the code of a malformed field:
/// `INVALID_FRAME` on the WebSocket, `VALIDATION_ERROR` on HTTP (contract §2).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Via {
    Frame,
    Http,
}

impl Via {
    /// The error of a malformed field arriving this way.
    pub(crate) fn invalid(self, message: impl Into<String>) -> Error {
        match self {
            Via::Frame => Error::invalid_frame(message),
            Via::Http => Error::validation(message),
        }
    }

    /// A `session_id`'s form (contract §2), checked the same way everywhere.
    pub(crate) fn check_session_id(self, id: &str) -> Result<()> {
        if valid_session_id(id) {
            Ok(())
        } else {
            Err(self.invalid("session_id: 1 to 128 characters of A-Z a-z 0-9 . _ : - (and not . or ..)"))
        }
    }

    /// The `transport` label of `brook_ack_latency_seconds`.
    pub(crate) fn transport(self) -> &'static str {
        match self {
            Via::Frame => "websocket",
            Via::Http => "http",
        }
    }
}

/// A `client_id`, trimmed; blank is none. Over 128 characters is a malformed field.
pub(crate) fn client_id(client_id: &Option<String>, via: Via) -> Result<Option<String>> {
    match client_id.as_deref().map(str::trim) {
        None | Some("") => Ok(None),
        Some(c) if c.chars().count() > MAX_CLIENT_ID => Err(via.invalid("client_id: must be at most 128 characters")),
        Some(c) => Ok(Some(c.to_string())),
    }
}

/// `EMPTY_MESSAGE` for blank text, `MESSAGE_TOO_LONG` over `max_chars`
/// (`BROOK_MAX_MESSAGE_CHARS`, counted in Unicode scalar values).
pub(crate) fn message_text(text: &str, max_chars: usize) -> Result<()> {
    if text.trim().is_empty() {
        return Err(Error::new(ErrorCode::EmptyMessage, "message is empty"));
    }
    let chars = text.chars().count();
    if chars > max_chars {
        return Err(Error::new(
            ErrorCode::MessageTooLong,
            format!("message is {chars} characters; the limit is {max_chars}"),
        ));
    }
    Ok(())
}

/// A frame or request naming a conversation: well-formed and the caller's own
/// (anything else is `NOT_FOUND`, as if it did not exist).
pub(crate) async fn own_conversation(store: &dyn Database, who: &Identity, session_id: &str, via: Via) -> Result<()> {
    via.check_session_id(session_id)?;
    match store.conversation(&who.user_id, session_id).await? {
        Some(_) => Ok(()),
        None => Err(Error::not_found("conversation")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn client_ids_and_texts() {
        assert_eq!(client_id(&Some("  ".into()), Via::Http).unwrap(), None);
        assert_eq!(client_id(&Some(" a ".into()), Via::Http).unwrap(), Some("a".into()));
        let long = Some("x".repeat(129));
        assert_eq!(client_id(&long, Via::Frame).unwrap_err().code, ErrorCode::InvalidFrame);
        assert_eq!(
            client_id(&long, Via::Http).unwrap_err().code,
            ErrorCode::ValidationError
        );
        assert_eq!(message_text(" \n", 10).unwrap_err().code, ErrorCode::EmptyMessage);
        assert_eq!(message_text("ééééé", 4).unwrap_err().code, ErrorCode::MessageTooLong);
        assert!(message_text("ééééé", 5).is_ok());
    }
}
