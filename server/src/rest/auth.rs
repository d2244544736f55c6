//! `/api/v1/auth/*`: register, login, guest, me, refresh, logout. Successful
//! sign-ins also set the `brook_session` cookie for the web UI, so every endpoint
//! that sets or clears it refuses a request a browser sent from another site
//! ([`NotCrossSite`]), whatever its Content-Type (login CSRF).

use std::sync::Arc;

use axum::extract::State;
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use engine::auth::TOKEN_TTL;
use engine::Engine;
use protocol::objects::Me;
use protocol::rest::{AuthResponse, LoginRequest, RegisterRequest};
use protocol::ErrorCode;

use crate::error::{HttpError, HttpResult};
use crate::extract::{Auth, ClientIp, JsonBody, NotCrossSite};

/// `Set-Cookie` for a session token (HttpOnly, SameSite=Lax; Secure behind HTTPS).
pub fn session_cookie_header(token: &str, secure: bool) -> HeaderValue {
    let c = engine::auth::session_set_cookie(token, TOKEN_TTL.as_secs() as i64, secure);
    HeaderValue::from_str(&c).unwrap_or_else(|_| HeaderValue::from_static(""))
}

fn clear_cookie() -> HeaderValue {
    let c = engine::auth::session_set_cookie("", 0, false);
    HeaderValue::from_str(&c).unwrap_or_else(|_| HeaderValue::from_static(""))
}

/// The cookie is `Secure` when browsers reach Brook over https (the same
/// reading of the scheme as the origin check, [`crate::extract::site`]).
fn with_session(status: StatusCode, body: AuthResponse, headers: &HeaderMap, engine: &Engine) -> Response {
    let secure = crate::extract::site::site_scheme(headers, &engine.config) == "https";
    let cookie = session_cookie_header(&body.token, secure);
    let mut res = (status, Json(body)).into_response();
    res.headers_mut().append(header::SET_COOKIE, cookie);
    res
}

/// One call of the per-IP budget for sign-ins (`BROOK_AUTH_RATE_LIMIT_PER_MIN`),
/// across every node with Redis ([`engine::admission::Admission::auth_budget`]).
pub async fn auth_budget(engine: &Engine, ip: std::net::IpAddr) -> HttpResult<()> {
    engine.admission.auth_budget(ip).await.map_err(|wait| {
        engine.admission.count_limit_refusal("auth");
        HttpError(
            engine::Error::new(
                ErrorCode::RateLimited,
                "too many attempts from this address; try again shortly",
            )
            .with_retry_after_ms(wait.as_millis() as u64),
        )
    })
}

pub async fn register(
    _: NotCrossSite,
    State(engine): State<Arc<Engine>>,
    ClientIp(ip): ClientIp,
    headers: HeaderMap,
    JsonBody(body): JsonBody<RegisterRequest>,
) -> HttpResult<Response> {
    auth_budget(&engine, ip).await?;
    let r = engine
        .accounts
        .register(&body.email, &body.password, body.name.as_deref())
        .await?;
    Ok(with_session(StatusCode::CREATED, r, &headers, &engine))
}

pub async fn login(
    _: NotCrossSite,
    State(engine): State<Arc<Engine>>,
    ClientIp(ip): ClientIp,
    headers: HeaderMap,
    JsonBody(body): JsonBody<LoginRequest>,
) -> HttpResult<Response> {
    auth_budget(&engine, ip).await?;
    let r = engine.accounts.login(&body.email, &body.password).await?;
    Ok(with_session(StatusCode::OK, r, &headers, &engine))
}

pub async fn guest(
    _: NotCrossSite,
    State(engine): State<Arc<Engine>>,
    ClientIp(ip): ClientIp,
    headers: HeaderMap,
) -> HttpResult<Response> {
    if !engine.config.guests {
        return Err(HttpError::new(
            ErrorCode::Forbidden,
            "guest accounts are turned off on this server",
        ));
    }
    auth_budget(&engine, ip).await?;
    let r = engine.accounts.guest().await?;
    Ok(with_session(StatusCode::CREATED, r, &headers, &engine))
}

pub async fn me(State(engine): State<Arc<Engine>>, auth: Auth) -> HttpResult<Json<Me>> {
    Ok(Json(engine.accounts.me(&auth.who).await?))
}

pub async fn refresh(
    _: NotCrossSite,
    State(engine): State<Arc<Engine>>,
    auth: Auth,
    headers: HeaderMap,
) -> HttpResult<Response> {
    let r = engine.accounts.refresh(&auth.who).await?;
    Ok(with_session(StatusCode::OK, r, &headers, &engine))
}

pub async fn logout(_: NotCrossSite, State(engine): State<Arc<Engine>>, auth: Auth) -> HttpResult<Response> {
    engine.admission.logout(&auth.who).await?;
    let mut res = StatusCode::NO_CONTENT.into_response();
    res.headers_mut().append(header::SET_COOKIE, clear_cookie());
    Ok(res)
}
