//! The connection's one task: reads client frames, takes live events, and
//! writes to the socket, in one `select!` (issue 18: an idle connection holds one
//! task, one timer and no queue, instead of a reader and a writer task, an
//! interval, a sleep and a 2,048-frame channel).
//!
//! Writes happen between reads, so a client that stops reading stops being read
//! too: its forwarders' queue fills and, after [`super::connection`]'s stall
//! time, the connection is closed with 1013 `slow consumer`. Pings and the idle
//! deadline share one timer ([`Heartbeat`]).

use std::net::IpAddr;
use std::sync::Arc;
use std::time::Duration;

use axum::extract::ws::{CloseFrame, Message, Utf8Bytes, WebSocket};
use engine::hub::{Event, Subscription};
use futures::{SinkExt, StreamExt};
use protocol::frames::ServerFrame;
use protocol::ErrorCode;
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

use super::cmd::Command;
use super::connection::{Connection, Flow, Start, OUT_CAPACITY};
use crate::state::AppState;

/// Forwarded frames written per flush.
const BATCH: usize = 256;
/// How long closing may take: a client that does not read cannot hold the
/// connection open for long.
const CLOSE_WAIT: Duration = Duration::from_secs(5);
const SLOW: (u16, &str) = (protocol::CLOSE_SLOW_CONSUMER, "slow consumer");

/// When to ping and when the connection has been silent for too long, from one
/// deadline: `next()` is whichever comes first. A received frame only moves
/// `idle_at` (no timer reset per frame); an early wake re-arms the timer.
struct Heartbeat {
    ping_every: Duration,
    idle_for: Duration,
    next_ping: Instant,
    idle_at: Instant,
}

enum Beat {
    Ping,
    Idle,
    Early,
}

impl Heartbeat {
    fn new(now: Instant, ping_every: Duration, idle_for: Duration) -> Heartbeat {
        Heartbeat {
            ping_every,
            idle_for,
            next_ping: now + ping_every,
            idle_at: now + idle_for,
        }
    }
    fn next(&self) -> Instant {
        self.next_ping.min(self.idle_at)
    }
    fn heard(&mut self, now: Instant) {
        self.idle_at = now + self.idle_for;
    }
    fn due(&mut self, now: Instant) -> Beat {
        if now >= self.idle_at {
            Beat::Idle
        } else if now >= self.next_ping {
            self.next_ping = now + self.ping_every;
            Beat::Ping
        } else {
            Beat::Early
        }
    }
}

enum Inbound {
    Event(Arc<Event>),
    /// The hub found this connection's inbox full.
    Slow,
    /// The identity may no longer use Brook (token revoked, visitor's bot removed).
    Cut,
}

/// The next live event, or forever when the connection has no inbox yet.
async fn inbound(sub: &mut Option<Subscription>) -> Inbound {
    match sub {
        Some(s) => tokio::select! {
            biased;
            _ = s.cut.cancelled() => Inbound::Cut,
            _ = s.slow.cancelled() => Inbound::Slow,
            e = s.inbox.recv() => match e {
                Some(e) => Inbound::Event(e),
                None => std::future::pending().await,
            },
        },
        None => std::future::pending().await,
    }
}

/// The next forwarded frame, or forever while no reply streams here.
async fn queued(queue: &mut Option<super::connection::Queue>) -> Utf8Bytes {
    match queue {
        Some(q) => match q.rx.recv().await {
            Some(f) => f,
            // The connection holds a sender, so the queue never closes.
            None => std::future::pending().await,
        },
        None => std::future::pending().await,
    }
}

/// How a write ended.
enum Written {
    Ok,
    /// The socket failed (the client went away).
    Failed,
    /// The client did not take the data in time, or a forwarder gave up on it.
    Slow,
}

/// Writes `frames` and flushes, giving up when `kill` fires or after `limit`.
/// The timer is only armed when the socket does not take the data at once.
async fn write(
    ws: &mut WebSocket,
    frames: impl IntoIterator<Item = Message>,
    kill: &CancellationToken,
    limit: Duration,
) -> Written {
    let job = async {
        for m in frames {
            ws.feed(m).await?;
        }
        ws.flush().await
    };
    tokio::select! {
        biased;
        r = job => if r.is_ok() { Written::Ok } else { Written::Failed },
        _ = kill.cancelled() => Written::Slow,
        _ = tokio::time::sleep(limit) => Written::Slow,
    }
}

/// What the loop does next, decided after the `select!` has released its borrows.
enum Step {
    Read(Option<Result<Message, axum::Error>>),
    Inbound(Inbound),
    Queued(Utf8Bytes),
    Timer,
}

/// Runs the connection until it closes; see the module docs.
pub async fn run(
    state: AppState,
    socket: WebSocket,
    start: Start,
    path_bot: Option<String>,
    ip: IpAddr,
    foreign_origin: Option<String>,
) {
    let mut ws = socket;
    // Only what the loop needs: the whole `Config` would be a per-connection copy.
    let (ping_every, idle_for) = (
        state.engine.config.ws_ping_interval,
        state.engine.config.ws_idle_timeout,
    );
    let shutdown = state.shutdown.clone();
    let engine = state.engine.clone();
    let mut conn = Connection::new(state, path_bot, ip, foreign_origin);
    match start {
        Start::Unauthenticated => {}
        Start::InvalidToken(code) => {
            conn.send_frame(ServerFrame::AuthError {
                message: "Invalid token".into(),
                code,
            })
            .await;
        }
        Start::Authenticated(who) => {
            Box::pin(conn.authenticate(who)).await;
        }
    }
    // Alone, a node closes with 1001 once its replies drained; one of several
    // closes at once with 1012 so the client reconnects to another node and
    // resumes there (issue 13).
    let going = if engine.clustered() {
        (1012, "service restart: reconnect and resume")
    } else {
        (1001, "server shutting down")
    };
    let mut close = serve(
        &mut conn,
        &mut ws,
        Heartbeat::new(Instant::now(), ping_every, idle_for),
        &shutdown,
        going,
    )
    .await;
    if close.is_none() && conn.kill.is_cancelled() {
        close = Some(SLOW);
    }
    if close == Some(SLOW) {
        engine.admission.count_slow_consumer(engine::hub::Transport::WebSocket);
    }
    // Nothing more is forwarded: the close frame is the last thing written.
    conn.stop_forwarders();
    drop(conn);
    let closing = async {
        if let Some((code, reason)) = close {
            let frame = CloseFrame {
                code,
                reason: reason.into(),
            };
            let _ = ws.send(Message::Close(Some(frame))).await;
        }
        let _ = ws.close().await;
    };
    let _ = tokio::time::timeout(CLOSE_WAIT, closing).await;
}

/// The loop, like mini-redis's `Handler::run`: write what is pending, wait
/// for the next read, event, forwarded frame or timer, handle it (a client
/// frame through [`Command::from_frame`] and [`Command::apply`]). Returns the
/// close code and reason to send, if any.
async fn serve(
    conn: &mut Connection,
    ws: &mut WebSocket,
    mut beat: Heartbeat,
    shutdown: &CancellationToken,
    going: (u16, &'static str),
) -> Option<(u16, &'static str)> {
    let timer = tokio::time::sleep_until(beat.next());
    tokio::pin!(timer);
    // The write limit: a socket that takes nothing for the idle time-out is dead.
    let limit = beat.idle_for;
    let mut close = None;
    loop {
        // The handlers' frames (and anything forwarded before them) go out first.
        match flush_pending(conn, ws, limit).await {
            Written::Ok => {}
            Written::Failed => return None,
            Written::Slow => return Some(SLOW),
        }
        let step = tokio::select! {
            msg = ws.next() => Step::Read(msg),
            i = inbound(&mut conn.sub) => Step::Inbound(i),
            f = queued(&mut conn.queue) => Step::Queued(f),
            _ = conn.kill.cancelled() => return Some(SLOW),
            _ = &mut timer => Step::Timer,
            _ = shutdown.cancelled() => return Some(going),
        };
        let flow = match step {
            Step::Read(msg) => {
                beat.heard(Instant::now());
                on_read(conn, msg, &mut close).await
            }
            Step::Inbound(Inbound::Event(event)) => Box::pin(conn.on_event(&event)).await,
            Step::Inbound(Inbound::Slow) => return Some(SLOW),
            Step::Inbound(Inbound::Cut) => {
                tracing::debug!("websocket closed: its session ended");
                return Some((protocol::CLOSE_SESSION_ENDED, "session ended"));
            }
            Step::Queued(first) => match write_batch(conn, ws, first, limit).await {
                Written::Ok => Flow::Continue,
                Written::Failed => return None,
                Written::Slow => return Some(SLOW),
            },
            Step::Timer => {
                match beat.due(Instant::now()) {
                    Beat::Idle => {
                        tracing::debug!("websocket idle for too long; dropping it");
                        return None;
                    }
                    Beat::Ping => match write(ws, [Message::Ping(Default::default())], &conn.kill, limit).await {
                        Written::Ok => conn.release_idle_queue(),
                        Written::Failed => return None,
                        Written::Slow => return Some(SLOW),
                    },
                    Beat::Early => {}
                }
                timer.as_mut().reset(beat.next());
                Flow::Continue
            }
        };
        if let Flow::Stop = flow {
            return close;
        }
    }
}

/// Handles one read from the socket.
async fn on_read(
    conn: &mut Connection,
    msg: Option<Result<Message, axum::Error>>,
    close: &mut Option<(u16, &'static str)>,
) -> Flow {
    match msg {
        // Boxed: the handlers' state machines are large, and an idle
        // connection's task should not carry them.
        Some(Ok(Message::Text(t))) => match Command::from_frame(t.as_str()) {
            Ok(cmd) => Box::pin(cmd.apply(conn)).await,
            Err(e) => conn.error_code(e.code, e.message).await,
        },
        Some(Ok(Message::Binary(_))) => {
            conn.error_code(
                ErrorCode::InvalidFrame,
                "binary frames are not supported; send JSON text",
            )
            .await
        }
        Some(Ok(Message::Ping(_) | Message::Pong(_))) => Flow::Continue,
        Some(Ok(Message::Close(_))) | None => Flow::Stop,
        Some(Err(e)) => {
            *close = close_for_read_error(e);
            Flow::Stop
        }
    }
}

/// The close frame for a failed read, decided by tungstenite's error type (axum
/// wraps it unchanged): a frame over the size limit is 1009, a text frame that
/// is not UTF-8 is 1007 (RFC 6455 §7.4.1); any other failure (a reset, a
/// protocol error) just ends the connection.
fn close_for_read_error(e: axum::Error) -> Option<(u16, &'static str)> {
    use tokio_tungstenite::tungstenite::Error as WsError;
    match e.into_inner().downcast::<WsError>().map(|e| *e) {
        Ok(WsError::Capacity(_)) => Some((protocol::CLOSE_TOO_BIG, "message too big")),
        Ok(WsError::Utf8(_)) => Some((protocol::CLOSE_INVALID_DATA, "invalid UTF-8")),
        Ok(other) => {
            tracing::debug!(error = %other, "websocket read failed");
            None
        }
        Err(other) => {
            tracing::debug!(error = %other, "websocket read failed");
            None
        }
    }
}

/// Writes whatever is queued now: forwarded frames first (they were queued
/// before the handler's), then the outbox.
async fn flush_pending(conn: &mut Connection, ws: &mut WebSocket, limit: Duration) -> Written {
    let outbox = conn.take_outbox();
    if outbox.is_empty() {
        return Written::Ok;
    }
    let mut frames = Vec::new();
    if let Some(q) = conn.queue.as_mut() {
        while frames.len() < OUT_CAPACITY {
            match q.rx.try_recv() {
                Ok(f) => frames.push(f),
                Err(_) => break,
            }
        }
    }
    frames.extend(outbox);
    write(ws, frames.into_iter().map(Message::Text), &conn.kill, limit).await
}

/// Writes `first` and up to [`BATCH`] more forwarded frames that are already
/// waiting, with one flush.
async fn write_batch(conn: &mut Connection, ws: &mut WebSocket, first: Utf8Bytes, limit: Duration) -> Written {
    let mut frames = vec![Message::Text(first)];
    if let Some(q) = conn.queue.as_mut() {
        while frames.len() < BATCH {
            match q.rx.try_recv() {
                Ok(f) => frames.push(Message::Text(f)),
                Err(_) => break,
            }
        }
    }
    write(ws, frames, &conn.kill, limit).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn heartbeat_pings_on_time_and_drops_a_silent_peer() {
        let ms = Duration::from_millis;
        let t0 = Instant::now();
        let mut beat = Heartbeat::new(t0, ms(300), ms(1000));
        assert_eq!(beat.next(), t0 + ms(300));
        assert!(matches!(beat.due(t0), Beat::Early));
        assert!(matches!(beat.due(t0 + ms(300)), Beat::Ping));
        assert_eq!(beat.next(), t0 + ms(600), "the next ping, before the idle deadline");
        // A frame from the peer moves the idle deadline, not the pings.
        beat.heard(t0 + ms(800));
        assert!(matches!(beat.due(t0 + ms(800)), Beat::Ping));
        assert!(matches!(beat.due(t0 + ms(1700)), Beat::Ping), "heard 900 ms ago: alive");
        assert!(
            matches!(beat.due(t0 + ms(1800)), Beat::Idle),
            "silent for the idle time-out"
        );
    }

    #[test]
    fn heartbeat_wakes_for_the_idle_deadline_when_pings_are_rarer() {
        let ms = Duration::from_millis;
        let t0 = Instant::now();
        let mut beat = Heartbeat::new(t0, ms(5000), ms(1000));
        assert_eq!(beat.next(), t0 + ms(1000));
        beat.heard(t0 + ms(600));
        // The timer fires at the old deadline; the peer spoke since: re-arm.
        assert!(matches!(beat.due(t0 + ms(1000)), Beat::Early));
        assert_eq!(beat.next(), t0 + ms(1600));
        assert!(matches!(beat.due(t0 + ms(1600)), Beat::Idle));
    }
}
