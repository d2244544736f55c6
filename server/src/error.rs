//! The API's error answer: `{"error": "…", "code": "…"}` with the contract's status
//! (§4), and `Retry-After` where there is one.

use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use protocol::rest::ApiError;
use protocol::ErrorCode;

/// An [`engine::Error`] on its way out as HTTP.
#[derive(Debug)]
pub struct HttpError(pub engine::Error);

impl From<engine::Error> for HttpError {
    fn from(e: engine::Error) -> Self {
        HttpError(e)
    }
}

impl From<engine::store::StoreError> for HttpError {
    fn from(e: engine::store::StoreError) -> Self {
        HttpError(e.into())
    }
}

impl HttpError {
    pub fn new(code: ErrorCode, message: impl Into<String>) -> Self {
        HttpError(engine::Error::new(code, message))
    }
}

impl IntoResponse for HttpError {
    fn into_response(self) -> Response {
        let e = self.0;
        let status = StatusCode::from_u16(e.code.http_status()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        let mut res = (
            status,
            Json(ApiError {
                error: e.message,
                code: e.code,
                reply_id: e.reply_id,
                request_id: crate::telemetry::request_id::current(),
            }),
        )
            .into_response();
        let retry = e.retry_after_ms.or(match e.code {
            ErrorCode::RateLimited | ErrorCode::QuotaExceeded | ErrorCode::Unavailable => Some(1000),
            _ => None,
        });
        if let Some(ms) = retry {
            let secs = ms.div_ceil(1000).max(1);
            if let Ok(v) = HeaderValue::from_str(&secs.to_string()) {
                res.headers_mut().insert(header::RETRY_AFTER, v);
            }
        }
        res
    }
}

pub type HttpResult<T> = Result<T, HttpError>;

/// Shortens a request path before it is echoed in an error message.
fn shown(path: &str) -> String {
    path.chars().take(200).collect()
}

/// Any `/api/v1/…` path that is not an endpoint: the API's JSON `404`, not the
/// web app's page.
pub async fn api_not_found(uri: axum::http::Uri) -> HttpError {
    HttpError::new(ErrorCode::NotFound, format!("no such endpoint: {}", shown(uri.path())))
}

/// An endpoint asked with a method it does not have: `405` with the usual JSON
/// body (the code is `NOT_FOUND`: that method-and-path pair does not exist).
pub async fn method_not_allowed(method: axum::http::Method, uri: axum::http::Uri) -> Response {
    let mut res = HttpError::new(
        ErrorCode::NotFound,
        format!("{method} is not allowed on {}", shown(uri.path())),
    )
    .into_response();
    *res.status_mut() = StatusCode::METHOD_NOT_ALLOWED;
    res
}
