//! [`Error`]: a refusal or failure with the contract's code, which every transport
//! turns into its own shape (`{error, code}` with a status, or an `error` frame).

use protocol::ErrorCode;

use crate::store::StoreError;

#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{code}: {message}")]
pub struct Error {
    pub code: ErrorCode,
    /// Human-readable; never holds internals (those go to the log).
    pub message: String,
    pub retry_after_ms: Option<u64>,
    /// For `REPLY_IN_PROGRESS`: the reply that is running.
    pub reply_id: Option<String>,
}

pub type Result<T, E = Error> = std::result::Result<T, E>;

impl Error {
    pub fn new(code: ErrorCode, message: impl Into<String>) -> Self {
        Error {
            code,
            message: message.into(),
            retry_after_ms: None,
            reply_id: None,
        }
    }
    pub fn with_retry_after_ms(mut self, ms: u64) -> Self {
        self.retry_after_ms = Some(ms);
        self
    }
    pub fn with_reply(mut self, reply_id: impl Into<String>) -> Self {
        self.reply_id = Some(reply_id.into());
        self
    }
    pub fn not_found(what: &str) -> Self {
        Error::new(ErrorCode::NotFound, format!("{what} not found"))
    }
    pub fn validation(message: impl Into<String>) -> Self {
        Error::new(ErrorCode::ValidationError, message)
    }
    pub fn invalid_frame(message: impl Into<String>) -> Self {
        Error::new(ErrorCode::InvalidFrame, message)
    }
    pub fn auth_required() -> Self {
        Error::new(ErrorCode::AuthRequired, "authentication required")
    }
    pub fn forbidden(message: impl Into<String>) -> Self {
        Error::new(ErrorCode::Forbidden, message)
    }
    pub fn internal() -> Self {
        Error::new(ErrorCode::ProcessingError, "internal error; see the server log")
    }
    pub fn unavailable(message: impl Into<String>) -> Self {
        Error::new(ErrorCode::Unavailable, message).with_retry_after_ms(1000)
    }
}

impl From<StoreError> for Error {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::Unavailable(detail) => {
                tracing::warn!(%detail, "storage unavailable");
                Error::unavailable("storage is unavailable, try again shortly")
            }
            StoreError::Conflict(detail) => {
                tracing::warn!(%detail, "storage conflict");
                Error::new(ErrorCode::Conflict, "conflicting change")
            }
            other => {
                tracing::error!(error = %other, "storage error");
                Error::internal()
            }
        }
    }
}
