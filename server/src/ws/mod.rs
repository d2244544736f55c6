//! The WebSocket transport (contract §3) on `/ws/chat`, `/api/v1/chat/ws` and
//! `/api/v1/chat/ws/{bot_id}`.
//!
//! The upgrade decides who the connection is (a Bearer header, a `?token=` or the session cookie,
//! which must come from Brook's own origin) and refuses a token-carrying upgrade
//! over the per-identity connection limit with `429`. Buffers are small and
//! capped, so an idle connection costs a few kilobytes, not axum's default 128 KiB
//! (what it holds: BENCHMARKS.md, "What an idle authenticated WebSocket holds").

mod cmd;
mod connection;
mod pump;
mod subscriptions;

use std::net::SocketAddr;

use axum::extract::ws::WebSocketUpgrade;
use axum::extract::{ConnectInfo, Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use engine::auth::Identity;
use protocol::ErrorCode;

use crate::error::HttpError;
use crate::extract::{bearer, same_site_origin, session_cookie, Params};
use crate::state::AppState;

pub use connection::Start;

/// Bytes read from the socket at a time, allocated up front for every
/// connection, so small (issue 18): client frames are small, and tungstenite grows
/// the buffer for a bigger frame.
const READ_BUFFER: usize = 512;
/// Bytes gathered before tungstenite writes to the socket: a little batching
/// for back-fills, without a big buffer kept by every connection.
const WRITE_BUFFER: usize = 1024;

/// The socket's write buffer must hold the largest frame Brook sends: a
/// `complete` repeats the whole reply, JSON-escaped (at most 6 bytes per byte).
/// The writer waits for each flush, so a buffer only grows this far for one frame.
fn max_write_buffer(max_reply_bytes: usize) -> usize {
    WRITE_BUFFER + max_reply_bytes.saturating_mul(6) + 64 * 1024
}

pub async fn chat(
    State(state): State<AppState>,
    ws: WebSocketUpgrade,
    params: Params,
    headers: HeaderMap,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
) -> Response {
    upgrade(state, ws, params, headers, peer, None).await
}

pub async fn chat_bot(
    State(state): State<AppState>,
    Path(bot_id): Path<String>,
    ws: WebSocketUpgrade,
    params: Params,
    headers: HeaderMap,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
) -> Response {
    upgrade(state, ws, params, headers, peer, Some(bot_id)).await
}

async fn upgrade(
    state: AppState,
    ws: WebSocketUpgrade,
    params: Params,
    headers: HeaderMap,
    peer: SocketAddr,
    path_bot: Option<String>,
) -> Response {
    let engine = &state.engine;
    let mut start = Start::Unauthenticated;
    // `Authorization: Bearer` (non-browser clients), else `?token=` (browsers
    // cannot set headers on an upgrade), else the session cookie.
    let token = bearer(&headers).or_else(|| params.get("token").map(str::to_string));
    if let Some(token) = token.as_deref().map(str::trim).filter(|t| !t.is_empty()) {
        start = match engine.admission.identify(token).await {
            Ok(who) => Start::Authenticated(who),
            // A visitor of a removed bot hears NOT_FOUND; any other refusal is a plain invalid token.
            Err(e) => Start::InvalidToken((e.code == ErrorCode::NotFound).then_some(e.code)),
        };
    } else if let Some(cookie) = session_cookie(&headers) {
        // An invalid or expired cookie is ignored; a valid one must come from our own pages.
        if let Ok(who) = engine.admission.identify(&cookie).await {
            if !same_site_origin(&headers, &state.engine.config) {
                return HttpError::new(
                    ErrorCode::Forbidden,
                    "a cookie-authenticated WebSocket must come from Brook's own origin",
                )
                .into_response();
            }
            start = Start::Authenticated(who);
        }
    }
    // A widget visitor's connection from another site must come from an origin
    // its own bot allows (checked here for `?token=`, on `auth` for frames).
    let foreign_origin = match headers.get(axum::http::header::ORIGIN).and_then(|v| v.to_str().ok()) {
        Some(o) if !same_site_origin(&headers, &state.engine.config) => Some(o.to_string()),
        _ => None,
    };
    if let Start::Authenticated(who) = &start {
        if !connection::origin_allowed(&state, who, foreign_origin.as_deref()).await {
            return HttpError::new(ErrorCode::Forbidden, "this site may not use this widget").into_response();
        }
        if !state.engine.admission.has_room(&who.user_id).await {
            state.engine.admission.count_limit_refusal("connections");
            return too_many(who);
        }
    }
    // The same rule as HTTP requests: believe X-Forwarded-For only from trusted proxies.
    let ip = crate::extract::client_ip_of(&headers, peer.ip(), &state.engine.config.trusted_proxies);
    let request_id = crate::telemetry::request_id::current();
    ws.read_buffer_size(READ_BUFFER)
        .write_buffer_size(WRITE_BUFFER)
        .max_write_buffer_size(max_write_buffer(state.engine.config.max_reply_bytes))
        .max_message_size(protocol::MAX_FRAME_BYTES)
        .max_frame_size(protocol::MAX_FRAME_BYTES)
        .on_failed_upgrade(|e| tracing::debug!(error = %e, "websocket upgrade failed"))
        .on_upgrade(move |socket| {
            // The connection outlives its upgrade request: its own span, with a
            // connection id and the upgrade's request id, on every line it logs;
            // authentication records the identity's kind and the hub's id.
            let span = tracing::info_span!(
                "ws",
                conn_id = %engine::ids::new_id(),
                request_id = %request_id.as_deref().unwrap_or("-"),
                identity = tracing::field::Empty,
                hub_conn = tracing::field::Empty,
            );
            tracing::Instrument::instrument(pump::run(state, socket, start, path_bot, ip, foreign_origin), span)
        })
}

fn too_many(who: &Identity) -> Response {
    tracing::info!(user_id = %who.user_id, "websocket refused: too many connections");
    let mut res = HttpError::new(ErrorCode::RateLimited, "too many open connections for this identity").into_response();
    *res.status_mut() = StatusCode::TOO_MANY_REQUESTS;
    res
}
