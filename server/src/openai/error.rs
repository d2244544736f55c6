//! Errors in OpenAI's shape (contract §10): `{"error": {"message", "type",
//! "param", "code"}}` with the statuses of §4, so OpenAI's client libraries
//! raise their usual classes (`AuthenticationError` for 401, `NotFoundError`
//! for 404, `RateLimitError` for 429, …). `code` is Brook's error code.

use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use protocol::ErrorCode;
use serde_json::json;

use crate::error::HttpError;

/// An [`engine::Error`] on its way out of `/v1`.
#[derive(Debug)]
pub struct OaiError(pub engine::Error);

impl From<engine::Error> for OaiError {
    fn from(e: engine::Error) -> Self {
        OaiError(e)
    }
}

impl From<HttpError> for OaiError {
    fn from(e: HttpError) -> Self {
        OaiError(e.0)
    }
}

impl OaiError {
    pub fn new(code: ErrorCode, message: impl Into<String>) -> Self {
        OaiError(engine::Error::new(code, message))
    }
}

/// OpenAI's `error.type` for a Brook code.
pub fn error_type(code: ErrorCode) -> &'static str {
    match code {
        ErrorCode::AuthRequired | ErrorCode::InvalidCredentials => "authentication_error",
        ErrorCode::Forbidden => "permission_error",
        ErrorCode::NotFound => "not_found_error",
        ErrorCode::RateLimited => "rate_limit_error",
        ErrorCode::QuotaExceeded => "insufficient_quota",
        ErrorCode::ProcessingError | ErrorCode::UpstreamError | ErrorCode::Unavailable => "api_error",
        _ => "invalid_request_error",
    }
}

/// The error object, also sent as an SSE event when a stream fails midway.
pub fn error_body(code: ErrorCode, message: &str) -> serde_json::Value {
    json!({"error": {"message": message, "type": error_type(code), "param": null, "code": code.as_str()}})
}

impl IntoResponse for OaiError {
    fn into_response(self) -> Response {
        let e = self.0;
        let status = StatusCode::from_u16(e.code.http_status()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        let mut res = (status, Json(error_body(e.code, &e.message))).into_response();
        let retry = e.retry_after_ms.or(match e.code {
            ErrorCode::RateLimited | ErrorCode::QuotaExceeded | ErrorCode::Unavailable => Some(1000),
            _ => None,
        });
        if let Some(ms) = retry {
            if let Ok(v) = HeaderValue::from_str(&ms.div_ceil(1000).max(1).to_string()) {
                res.headers_mut().insert(header::RETRY_AFTER, v);
            }
        }
        res
    }
}

/// Any other path under `/v1`.
pub async fn not_found(uri: axum::http::Uri) -> OaiError {
    let path: String = uri.path().chars().take(200).collect();
    OaiError::new(ErrorCode::NotFound, format!("no such endpoint: {path}"))
}
