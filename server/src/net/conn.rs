//! Serving one accepted connection: hyper-util's automatic HTTP/1 + HTTP/2
//! builder over the axum router, with the time-outs of issue 11 §3.
//!
//! - HTTP/1: hyper's `header_read_timeout` closes a connection whose request
//!   head has not fully arrived in time. In hyper 1.x the timer starts whenever
//!   the connection waits for a head (`poll_read_head` runs on a fresh connection
//!   and again after every response), so it also closes idle keep-alive
//!   connections; it never runs while a response streams.
//! - Before the protocol is known (hyper-util reads up to 24 bytes looking for
//!   the HTTP/2 preface, with no time-out of its own) and on HTTP/2, which has
//!   no header time-out, the idle watcher here closes a connection that has had
//!   no request in flight for the same time.
//! - A request body that stalls is cut by tower-http's `TimeoutBody`.
//! - A response body holds its request "in flight" until it ends
//!   ([`super::body::GuardedBody`]), so SSE and long polls are never idle; a
//!   WebSocket leaves HTTP at its upgrade and keeps its connection slot (held
//!   by the socket itself, [`Tracked`]) until it closes.

use std::convert::Infallible;
use std::io;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use axum::body::Body;
use axum::extract::ConnectInfo;
use axum::http::{header, Request, Response};
use axum::response::IntoResponse;
use axum::Router;
use hyper::body::Incoming;
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use hyper_util::server::conn::auto::Builder;
use hyper_util::service::TowerToHyperService;
use protocol::ErrorCode;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::TcpStream;
use tokio_util::sync::CancellationToken;
use tower::ServiceExt;
use tower_http::timeout::TimeoutBody;

use super::body::GuardedBody;
use super::per_ip::{IpGuard, PerIp};
use super::table::{ConnState, Entry};
use crate::error::HttpError;

/// What every connection shares.
pub struct Shared {
    pub app: Router,
    pub header_timeout: Duration,
    pub body_timeout: Duration,
    /// Per forwarded client, for peers that are trusted proxies.
    pub forwarded: PerIp,
    pub trusted: Vec<ipnet::IpNet>,
    /// Cancelled when the server stops accepting: connections finish what they
    /// serve and close.
    pub shutdown: CancellationToken,
}

/// The socket, owning the connection's table entry and per-IP slot, so both are
/// given back exactly when the socket closes, after an upgrade too.
pub struct Tracked {
    tcp: TcpStream,
    _entry: Entry,
    _slot: Option<IpGuard>,
}

impl Tracked {
    pub fn new(tcp: TcpStream, entry: Entry, slot: Option<IpGuard>) -> Tracked {
        Tracked {
            tcp,
            _entry: entry,
            _slot: slot,
        }
    }
}

impl AsyncRead for Tracked {
    fn poll_read(mut self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &mut ReadBuf<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.tcp).poll_read(cx, buf)
    }
}

impl AsyncWrite for Tracked {
    fn poll_write(mut self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &[u8]) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.tcp).poll_write(cx, buf)
    }
    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.tcp).poll_flush(cx)
    }
    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.tcp).poll_shutdown(cx)
    }
    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.tcp).poll_write_vectored(cx, bufs)
    }
    fn is_write_vectored(&self) -> bool {
        self.tcp.is_write_vectored()
    }
}

/// Requests that stay open for long: WebSocket upgrades, SSE and long polls, and
/// the chat calls that wait for a whole reply. Behind a trusted proxy these are
/// what the per-IP cap counts for the forwarded client.
pub fn is_long_lived(req: &Request<Incoming>) -> bool {
    let path = req.uri().path();
    req.headers().contains_key(header::UPGRADE)
        || path.ends_with("/events")
        || path.ends_with("/poll")
        || path == "/api/v1/chat/stream"
        || path == "/api/v1/chat"
}

fn too_many_from_client() -> Response<Body> {
    HttpError::new(ErrorCode::RateLimited, "too many open connections from this address").into_response()
}

/// Handles one request: connection info for the handlers, the body time-out,
/// the in-flight guard, and behind a trusted proxy the forwarded client's cap.
async fn handle(
    shared: Arc<Shared>,
    state: Arc<ConnState>,
    peer: SocketAddr,
    req: Request<Incoming>,
) -> Result<Response<Body>, Infallible> {
    let in_flight = state.begin();
    let behind_proxy = shared.trusted.iter().any(|n| n.contains(&peer.ip()));
    let mut slot = None;
    if behind_proxy && is_long_lived(&req) {
        let client = crate::extract::client_ip_of(req.headers(), peer.ip(), &shared.trusted);
        match shared.forwarded.try_acquire(client) {
            Some(g) => slot = Some(g),
            None => {
                tracing::info!(%client, "refused: too many open connections from this forwarded client");
                return Ok(too_many_from_client());
            }
        }
    }
    let upgrade = req.headers().contains_key(header::UPGRADE);
    let mut req = req.map(|b| Body::new(TimeoutBody::new(shared.body_timeout, b)));
    req.extensions_mut().insert(ConnectInfo(peer));
    let res = match shared.app.clone().oneshot(req).await {
        Ok(r) => r,
        Err(never) => match never {},
    };
    if upgrade && res.status() == axum::http::StatusCode::SWITCHING_PROTOCOLS {
        // The slot now belongs to the socket, for as long as the WebSocket lives.
        state.detach();
        if let Some(g) = slot.take() {
            *state.held.lock().unwrap_or_else(|p| p.into_inner()) = Some(g);
        }
    }
    Ok(res.map(|b| Body::new(GuardedBody::new(b, Some(in_flight), slot))))
}

/// Resolves when the connection has had no request in flight for `timeout`.
async fn idle_for(state: &ConnState, timeout: Duration) {
    loop {
        let changed = state.changed.notified();
        tokio::pin!(changed);
        changed.as_mut().enable();
        if state.in_flight() > 0 {
            changed.await;
            continue;
        }
        let idle = Duration::from_millis(state.idle_ms());
        if idle >= timeout {
            return;
        }
        tokio::select! {
            _ = tokio::time::sleep(timeout - idle) => {}
            _ = changed => {}
        }
    }
}

/// Serves the connection until it closes, is shed, or the server shuts down.
pub async fn serve(shared: Arc<Shared>, io: Tracked, state: Arc<ConnState>, peer: SocketAddr) {
    let mut builder = Builder::new(TokioExecutor::new());
    builder
        .http1()
        .timer(TokioTimer::new())
        .header_read_timeout(shared.header_timeout);
    builder
        .http2()
        .timer(TokioTimer::new())
        .keep_alive_interval(Some(Duration::from_secs(20)))
        .max_concurrent_streams(256);
    let service = {
        let shared = shared.clone();
        let state = state.clone();
        tower::service_fn(move |req: Request<Incoming>| handle(shared.clone(), state.clone(), peer, req))
    };
    let conn = builder.serve_connection_with_upgrades(TokioIo::new(io), TowerToHyperService::new(service));
    tokio::pin!(conn);
    let mut closing = false;
    loop {
        tokio::select! {
            result = conn.as_mut() => {
                if let Err(e) = result {
                    tracing::debug!(%peer, error = %e, "connection ended with an error");
                }
                break;
            }
            _ = state.shed.cancelled() => {
                tracing::debug!(%peer, "connection shed: idle while the server is at its descriptor budget");
                break;
            }
            _ = idle_for(&state, shared.header_timeout), if !closing => {
                tracing::debug!(%peer, "connection closed: no request within the header time-out");
                closing = true;
                conn.as_mut().graceful_shutdown();
            }
            _ = shared.shutdown.cancelled(), if !closing => {
                closing = true;
                conn.as_mut().graceful_shutdown();
            }
        }
    }
}
