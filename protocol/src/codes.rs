//! The contract's error codes and the HTTP status each one maps to (§3.3, §4).

/// One error code of the contract. The string form is what goes on the wire.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[cfg_attr(feature = "serde", serde(rename_all = "SCREAMING_SNAKE_CASE"))]
pub enum ErrorCode {
    AuthRequired,
    EmptyMessage,
    QuotaExceeded,
    MessageTooLong,
    InvalidJson,
    InvalidFrame,
    UnknownType,
    RateLimited,
    NotFound,
    ReplyInProgress,
    UpstreamError,
    Unavailable,
    ProcessingError,
    Forbidden,
    InvalidCredentials,
    Conflict,
    ValidationError,
}

impl ErrorCode {
    pub const fn as_str(self) -> &'static str {
        match self {
            ErrorCode::AuthRequired => "AUTH_REQUIRED",
            ErrorCode::EmptyMessage => "EMPTY_MESSAGE",
            ErrorCode::QuotaExceeded => "QUOTA_EXCEEDED",
            ErrorCode::MessageTooLong => "MESSAGE_TOO_LONG",
            ErrorCode::InvalidJson => "INVALID_JSON",
            ErrorCode::InvalidFrame => "INVALID_FRAME",
            ErrorCode::UnknownType => "UNKNOWN_TYPE",
            ErrorCode::RateLimited => "RATE_LIMITED",
            ErrorCode::NotFound => "NOT_FOUND",
            ErrorCode::ReplyInProgress => "REPLY_IN_PROGRESS",
            ErrorCode::UpstreamError => "UPSTREAM_ERROR",
            ErrorCode::Unavailable => "UNAVAILABLE",
            ErrorCode::ProcessingError => "PROCESSING_ERROR",
            ErrorCode::Forbidden => "FORBIDDEN",
            ErrorCode::InvalidCredentials => "INVALID_CREDENTIALS",
            ErrorCode::Conflict => "CONFLICT",
            ErrorCode::ValidationError => "VALIDATION_ERROR",
        }
    }

    /// The HTTP status of this code on the REST API (contract §4).
    pub const fn http_status(self) -> u16 {
        match self {
            ErrorCode::EmptyMessage | ErrorCode::InvalidFrame | ErrorCode::InvalidJson | ErrorCode::UnknownType => 400,
            ErrorCode::AuthRequired | ErrorCode::InvalidCredentials => 401,
            ErrorCode::Forbidden => 403,
            ErrorCode::NotFound => 404,
            ErrorCode::ReplyInProgress | ErrorCode::Conflict => 409,
            ErrorCode::MessageTooLong => 413,
            ErrorCode::ValidationError => 422,
            ErrorCode::RateLimited | ErrorCode::QuotaExceeded => 429,
            ErrorCode::ProcessingError => 500,
            ErrorCode::UpstreamError => 502,
            ErrorCode::Unavailable => 503,
        }
    }
}

impl core::fmt::Display for ErrorCode {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[cfg(feature = "serde")]
    #[test]
    fn wire_names_match_as_str() {
        for code in [
            ErrorCode::AuthRequired,
            ErrorCode::ReplyInProgress,
            ErrorCode::UpstreamError,
            ErrorCode::ValidationError,
            ErrorCode::InvalidCredentials,
        ] {
            let json = serde_json::to_string(&code).unwrap();
            assert_eq!(json, format!("\"{}\"", code.as_str()));
        }
    }

    #[test]
    fn statuses() {
        assert_eq!(ErrorCode::MessageTooLong.http_status(), 413);
        assert_eq!(ErrorCode::QuotaExceeded.http_status(), 429);
        assert_eq!(ErrorCode::Unavailable.http_status(), 503);
    }
}
