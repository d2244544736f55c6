//! The widget's server side (contract §7): the visitor session, CORS for the
//! routes a visitor uses, and the public static files.
//!
//! CORS is answered only on visitor routes, only for an origin some enabled bot
//! allows, never with credentials; every request a visitor token makes from a
//! foreign origin is checked against that token's own bot.

use std::sync::Arc;

use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{header, HeaderMap, HeaderValue, Method, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::Json;
use engine::Engine;
use protocol::objects::Role;
use protocol::rest::{WidgetSessionRequest, WidgetSessionResponse};
use protocol::ErrorCode;

use crate::error::{HttpError, HttpResult};
use crate::extract::{same_site_origin, ClientIp, JsonBody};
use crate::state::AppState;

fn origin_of(headers: &HeaderMap) -> Option<String> {
    headers
        .get(header::ORIGIN)
        .and_then(|v| v.to_str().ok())
        .map(str::to_string)
        .filter(|o| o != "null")
}

fn allow(res: &mut Response, origin: &str) {
    if let Ok(v) = HeaderValue::from_str(origin) {
        res.headers_mut().insert(header::ACCESS_CONTROL_ALLOW_ORIGIN, v);
    }
    res.headers_mut()
        .append(header::VARY, HeaderValue::from_static("Origin"));
    res.headers_mut().insert(
        header::ACCESS_CONTROL_EXPOSE_HEADERS,
        HeaderValue::from_static("Retry-After, x-vercel-ai-ui-message-stream"),
    );
}

/// Routes a widget visitor calls cross-origin.
pub fn is_visitor_route(path: &str) -> bool {
    path == "/api/v1/widget/session"
        || path.starts_with("/api/v1/chat")
        || path.starts_with("/api/v1/conversations")
        // Feedback from the widget (contract §9.4).
        || (path.starts_with("/api/v1/messages/") && path.ends_with("/feedback"))
        || path == "/api/v1/auth/me"
}

/// `POST /api/v1/widget/session`: a visitor token for a bot whose widget allows
/// the calling origin (`403` otherwise, with no CORS header).
pub async fn session(
    State(engine): State<Arc<Engine>>,
    ClientIp(ip): ClientIp,
    headers: HeaderMap,
    JsonBody(body): JsonBody<WidgetSessionRequest>,
) -> HttpResult<Response> {
    crate::rest::auth::auth_budget(&engine, ip).await?;
    let origin = origin_of(&headers);
    let bot = engine.bots.by_key(body.bot_key.trim()).await?;
    let refused = || HttpError::new(ErrorCode::Forbidden, "this site may not use this widget");
    let Some(bot) = bot else {
        return Err(refused());
    };
    let allowed = match &origin {
        Some(o) => bot.allows_origin(o) || (bot.widget_enabled && same_site_origin(&headers, &engine.config)),
        None => false,
    };
    if !allowed {
        tracing::info!(bot = %bot.id, origin = ?origin, "widget session refused");
        return Err(refused());
    }
    let answer: WidgetSessionResponse = engine.accounts.visitor_session(&bot, body.token.as_deref()).await?;
    let mut res = (StatusCode::OK, Json(answer)).into_response();
    if let Some(o) = &origin {
        allow(&mut res, o);
    }
    Ok(res)
}

/// The token a cross-site request carries: `Authorization: Bearer`, else
/// `?token=` decoded exactly as the authentication extractor decodes it (so
/// `?%74oken=` cannot authenticate there and skip the origin check here). Two
/// `token` parameters count as a token, one that authenticates nobody.
fn bearer_or_query(req: &Request) -> Option<String> {
    if let Some(t) = crate::extract::bearer(req.headers()) {
        return Some(t);
    }
    crate::extract::query::token(req.uri()).unwrap_or_else(|_| Some(String::new()))
}

/// CORS for visitor routes. Preflights pass only for origins an enabled bot
/// allows; a visitor's request from a foreign origin must come from its own
/// bot's allowed origins.
pub async fn cors(State(state): State<AppState>, req: Request, next: Next) -> Response {
    let path = req.uri().path().to_string();
    let Some(origin) = origin_of(req.headers()) else {
        return next.run(req).await;
    };
    if !is_visitor_route(&path) || same_site_origin(req.headers(), &state.engine.config) {
        return next.run(req).await;
    }
    let engine = state.engine.clone();
    if req.method() == Method::OPTIONS {
        if !engine.bots.widget_origin_allowed_now(&origin).await {
            return StatusCode::FORBIDDEN.into_response();
        }
        let mut res = StatusCode::NO_CONTENT.into_response();
        allow(&mut res, &origin);
        let h = res.headers_mut();
        h.insert(
            header::ACCESS_CONTROL_ALLOW_METHODS,
            HeaderValue::from_static("GET, POST, PUT, PATCH, DELETE, OPTIONS"),
        );
        h.insert(
            header::ACCESS_CONTROL_ALLOW_HEADERS,
            HeaderValue::from_static("authorization, content-type, last-event-id"),
        );
        h.insert(header::ACCESS_CONTROL_MAX_AGE, HeaderValue::from_static("600"));
        return res;
    }
    if path == "/api/v1/widget/session" {
        // It checks the bot's list itself and adds CORS only when allowed.
        return next.run(req).await;
    }
    // Cross-site requests carry a visitor's bearer token (never cookies): check
    // the origin against that visitor's own bot.
    let visitor_bot = bearer_or_query(&req)
        .and_then(|t| engine.accounts.authenticate(&t).ok())
        .filter(|who| who.role == Role::Visitor)
        .and_then(|who| who.bot_id);
    let Some(bot_id) = visitor_bot else {
        // Not a visitor: answer without CORS headers; the browser withholds it.
        return next.run(req).await;
    };
    let allowed = match engine.bots.by_id(&bot_id).await {
        Ok(Some(bot)) => bot.allows_origin(&origin),
        _ => false,
    };
    if !allowed {
        return HttpError::new(ErrorCode::Forbidden, "this site may not use this widget").into_response();
    }
    let mut res = next.run(req).await;
    allow(&mut res, &origin);
    res
}

/// Adds `Access-Control-Allow-Origin: *` to the widget's static files.
pub async fn public_files(req: Request, next: Next) -> Response {
    let mut res = next.run(req).await;
    res.headers_mut()
        .insert(header::ACCESS_CONTROL_ALLOW_ORIGIN, HeaderValue::from_static("*"));
    res.headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("public, max-age=300"));
    res
}

/// `GET /widget.js`: the loader.
pub async fn loader(State(state): State<AppState>) -> Response {
    let path = std::path::Path::new(&*state.leptos.site_root)
        .join("widget")
        .join("widget.js");
    match tokio::fs::read(&path).await {
        Ok(bytes) => (
            [(header::CONTENT_TYPE, "text/javascript; charset=utf-8")],
            Body::from(bytes),
        )
            .into_response(),
        Err(_) => (StatusCode::NOT_FOUND, "the widget is not built (run make build)").into_response(),
    }
}
