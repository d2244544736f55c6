//! One WebSocket connection: a reader loop (this task) and a writer task.
//!
//! The reader handles client frames and the connection's inbox of live events in
//! one `select!`, so an `ack` is always queued before the reply it acknowledges
//! can start streaming to this connection. Everything bound for the socket goes
//! through one bounded queue to the writer, which batches frames per flush. A
//! reply's tokens are copied from its log into that queue by a small forwarder
//! task per (connection, reply). When the queue is full the client is not keeping
//! up: the connection is closed with 1013 `slow consumer` and the client resumes.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use axum::extract::ws::{CloseFrame, Message, Utf8Bytes, WebSocket};
use engine::auth::Identity;
use engine::chat::{ReplyView, SendMessage, Surface};
use engine::hub::{EntryKind, Event, Filter, Subscription};
use futures::stream::SplitSink;
use futures::{SinkExt, StreamExt};
use protocol::frames::{ClientFrame, ErrorFrame, ServerFrame};
use protocol::ErrorCode;
use tokio::sync::mpsc;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

use crate::state::AppState;

/// How many frames may wait for the socket before the client counts as too slow.
const OUT_CAPACITY: usize = 2048;
/// Frames written per flush.
const BATCH: usize = 256;
/// Finished subscriptions remembered per connection (for "never a seq twice").
const REMEMBERED: usize = 256;

/// Who the connection is when the upgrade completes.
pub enum Start {
    Unauthenticated,
    InvalidToken,
    Authenticated(Identity),
}

enum Out {
    Frame(Utf8Bytes),
    Ping,
}

struct Forwarder {
    /// Tokens up to this `seq` are not (re)sent on this connection.
    floor: Arc<AtomicU64>,
    handle: Option<JoinHandle<()>>,
}

struct Conn {
    state: AppState,
    out: mpsc::Sender<Out>,
    kill: CancellationToken,
    who: Option<Identity>,
    sub: Option<Subscription>,
    forwarders: HashMap<String, Forwarder>,
    path_bot: Option<String>,
    ip: IpAddr,
    /// The page's origin when it is not Brook's own (a widget on another site).
    foreign_origin: Option<String>,
}

/// Whether `who` may connect from `origin`: visitors only from their bot's
/// allowed origins; everyone from Brook's own pages and from non-browser clients.
pub async fn origin_allowed(state: &AppState, who: &Identity, origin: Option<&str>) -> bool {
    match (who.role, origin, who.bot_id.as_deref()) {
        (protocol::objects::Role::Visitor, Some(o), Some(bot)) => {
            matches!(state.engine.store.bot(bot).await, Ok(Some(b)) if b.allows_origin(o))
        }
        _ => true,
    }
}

impl Drop for Conn {
    fn drop(&mut self) {
        for f in self.forwarders.values() {
            if let Some(h) = &f.handle {
                h.abort();
            }
        }
    }
}

enum Flow {
    Continue,
    Stop,
}

/// How long a full queue may stay full before the client counts as too slow.
const STALL: std::time::Duration = std::time::Duration::from_secs(5);

/// Queues a frame for the socket. A full queue is normal during a big resume
/// back-fill (the sender then waits: only this connection's own forwarder slows,
/// never the reply or anyone else); one that stays full for [`STALL`] belongs to
/// a client that stopped reading, which is told to go (1013) and resume later.
async fn push(out: &mpsc::Sender<Out>, kill: &CancellationToken, item: Out) -> Flow {
    match out.try_send(item) {
        Ok(()) => Flow::Continue,
        Err(mpsc::error::TrySendError::Closed(_)) => Flow::Stop,
        Err(mpsc::error::TrySendError::Full(item)) => match tokio::time::timeout(STALL, out.send(item)).await {
            Ok(Ok(())) => Flow::Continue,
            Ok(Err(_)) => Flow::Stop,
            Err(_) => {
                kill.cancel();
                Flow::Stop
            }
        },
    }
}

impl Conn {
    /// Queues a frame, waiting a little if the queue is full (see [`push`]).
    async fn send(&self, frame: impl Into<Utf8Bytes>) -> Flow {
        push(&self.out, &self.kill, Out::Frame(frame.into())).await
    }

    async fn send_frame(&self, f: ServerFrame) -> Flow {
        self.send(f.to_json()).await
    }

    async fn error(&self, e: &engine::Error, client_id: Option<String>) -> Flow {
        let mut f = ErrorFrame::new(e.code, e.message.clone());
        f.client_id = client_id;
        f.reply_id = e.reply_id.clone();
        f.retry_after_ms = e.retry_after_ms;
        self.send_frame(ServerFrame::Error(f)).await
    }

    async fn error_code(&self, code: ErrorCode, message: impl Into<String>) -> Flow {
        self.send_frame(ServerFrame::Error(ErrorFrame::new(code, message)))
            .await
    }

    async fn authenticate(&mut self, who: Identity) -> Flow {
        if !origin_allowed(&self.state, &who, self.foreign_origin.as_deref()).await {
            return self
                .send_frame(ServerFrame::AuthError {
                    message: "Invalid token".into(),
                    code: Some(ErrorCode::Forbidden),
                })
                .await;
        }
        let engine = &self.state.engine;
        let sub = match engine.hub.registry.register(&who.user_id) {
            Ok(s) => s,
            Err(_) => {
                return self
                    .send_frame(ServerFrame::AuthError {
                        message: "Too many connections".into(),
                        code: Some(ErrorCode::RateLimited),
                    })
                    .await
            }
        };
        match engine.accounts.user(engine.store.as_ref(), &who).await {
            Ok(user) => {
                self.who = Some(who);
                self.sub = Some(sub);
                self.send_frame(ServerFrame::AuthSuccess {
                    message: "Authentication successful".into(),
                    user,
                })
                .await
            }
            Err(_) => {
                self.send_frame(ServerFrame::AuthError {
                    message: "Invalid token".into(),
                    code: None,
                })
                .await
            }
        }
    }

    /// Starts (or widens) this connection's subscription to a reply's log.
    /// Forwards a reply's log to this connection. A connection holds one
    /// subscription per reply and is never sent a `seq` twice (contract §3.3),
    /// not even by a later `resume` of a reply it already streamed.
    fn follow(&mut self, log: Arc<engine::hub::ReplyLog>, filter: Filter) {
        let after = match filter {
            Filter::After(n) => n,
            Filter::All => 0,
        };
        if let Some(f) = self.forwarders.get(&log.reply_id) {
            f.floor.fetch_max(after, Ordering::Relaxed);
            if f.handle.as_ref().is_some_and(|h| !h.is_finished()) {
                return;
            }
        }
        if self.forwarders.len() >= REMEMBERED {
            self.forwarders
                .retain(|_, f| f.handle.as_ref().is_some_and(|h| !h.is_finished()));
        }
        let floor = self
            .forwarders
            .get(&log.reply_id)
            .map(|f| f.floor.clone())
            .unwrap_or_else(|| Arc::new(AtomicU64::new(after)));
        // A subscription that already ran only resends what this connection lacks.
        let filter = match (filter, self.forwarders.contains_key(&log.reply_id)) {
            (_, true) => Filter::After(floor.load(Ordering::Relaxed)),
            (f, false) => f,
        };
        let key = log.reply_id.clone();
        let out = self.out.clone();
        let kill = self.kill.clone();
        let task_floor = floor.clone();
        let handle = tokio::spawn(async move {
            let mut follower = log.follow(filter);
            while let Some(batch) = follower.next_batch().await {
                for e in batch {
                    if e.kind == EntryKind::Token {
                        if e.seq <= task_floor.load(Ordering::Relaxed) {
                            continue;
                        }
                        task_floor.fetch_max(e.seq, Ordering::Relaxed);
                    }
                    if let Flow::Stop = push(&out, &kill, Out::Frame(e.frame)).await {
                        return;
                    }
                }
            }
        });
        self.forwarders.insert(
            key,
            Forwarder {
                floor,
                handle: Some(handle),
            },
        );
    }

    async fn on_text(&mut self, text: &str) -> Flow {
        let frame = match ClientFrame::parse(text) {
            Ok(f) => f,
            Err(e) => return self.error_code(e.code, e.message).await,
        };
        let engine = self.state.engine.clone();
        if let ClientFrame::Auth(a) = &frame {
            return match (&self.who, engine.authenticate(&a.token).await) {
                (None, Ok(who)) => self.authenticate(who).await,
                (Some(current), Ok(who)) if who.user_id == current.user_id => {
                    match engine.accounts.user(engine.store.as_ref(), current).await {
                        Ok(user) => {
                            self.send_frame(ServerFrame::AuthSuccess {
                                message: "Authentication successful".into(),
                                user,
                            })
                            .await
                        }
                        Err(e) => self.error(&e, None).await,
                    }
                }
                _ => {
                    self.send_frame(ServerFrame::AuthError {
                        message: "Invalid token".into(),
                        code: None,
                    })
                    .await
                }
            };
        }
        let (Some(who), Some(conn)) = (self.who.clone(), self.sub.as_ref().map(|s| s.id)) else {
            return self
                .error_code(
                    ErrorCode::AuthRequired,
                    "authenticate first: send {\"type\":\"auth\",\"token\":\"…\"}",
                )
                .await;
        };
        match frame {
            ClientFrame::Auth(_) => Flow::Continue,
            ClientFrame::Message(m) => {
                let client_id = m.client_id.clone();
                let req = SendMessage {
                    message: m.message,
                    session_id: m.session_id,
                    client_id: m.client_id,
                    bot_id: m.bot_id,
                    path_bot: self.path_bot.clone(),
                    origin_conn: Some(conn),
                    ip: Some(self.ip),
                    surface: Surface::Frame,
                };
                match engine.send_message(&who, req).await {
                    Ok(ack) => self.send_frame(ServerFrame::Ack(ack)).await,
                    Err(e) => self.error(&e, client_id).await,
                }
            }
            ClientFrame::Regenerate(r) => {
                let client_id = r.client_id.clone();
                match engine
                    .regenerate(
                        &who,
                        &r.session_id,
                        r.client_id,
                        Some(conn),
                        Some(self.ip),
                        Surface::Frame,
                    )
                    .await
                {
                    Ok(ack) => self.send_frame(ServerFrame::Ack(ack)).await,
                    Err(e) => self.error(&e, client_id).await,
                }
            }
            ClientFrame::Stop(s) => match engine.stop_reply(&who, &s.reply_id).await {
                Ok(()) => Flow::Continue,
                Err(e) => self.error(&e.with_reply(s.reply_id), None).await,
            },
            ClientFrame::Resume(r) => match engine.find_reply(&who, &r.reply_id).await {
                Ok(ReplyView::Live(log)) => {
                    self.follow(log, Filter::After(r.after_seq));
                    Flow::Continue
                }
                Ok(ReplyView::Stored { complete, .. }) => self.send_frame(ServerFrame::Complete(*complete)).await,
                Err(e) => self.error(&e.with_reply(r.reply_id), None).await,
            },
            ClientFrame::Join(j) => match engine
                .join(&who, conn, &j.session_id, engine::chat::Surface::Frame)
                .await
            {
                Ok(active_reply) => {
                    self.send_frame(ServerFrame::Joined {
                        session_id: j.session_id,
                        active_reply,
                    })
                    .await
                }
                Err(e) => self.error(&e, None).await,
            },
            ClientFrame::Leave(l) => match engine.leave(&who, conn, &l.session_id).await {
                Ok(()) => Flow::Continue,
                Err(e) => self.error(&e, None).await,
            },
            ClientFrame::Typing(t) => match engine.typing(&who, conn, &t.session_id, t.is_typing).await {
                Ok(()) => Flow::Continue,
                Err(e) => self.error(&e, None).await,
            },
            ClientFrame::Ping(p) => self.send_frame(ServerFrame::Pong { ts: p.ts }).await,
        }
    }

    async fn on_event(&mut self, event: &Event) -> Flow {
        let me = self.sub.as_ref().map(|s| s.id);
        match event {
            Event::ReplyStarted(log) => {
                self.follow(log.clone(), Filter::All);
                Flow::Continue
            }
            Event::Frame { frame, origin, .. } => {
                if origin.is_some() && *origin == me {
                    return Flow::Continue;
                }
                self.send(frame.clone()).await
            }
            Event::Deleted { frame, .. } => self.send(frame.clone()).await,
        }
    }
}

async fn writer(
    mut sink: SplitSink<WebSocket, Message>,
    mut rx: mpsc::Receiver<Out>,
    mut close: tokio::sync::oneshot::Receiver<(u16, &'static str)>,
) {
    loop {
        let first = tokio::select! {
            biased;
            c = &mut close => {
                // Closing skips whatever is still queued: a slow consumer resumes anyway.
                if let Ok((code, reason)) = c {
                    let _ = sink.send(Message::Close(Some(CloseFrame { code, reason: reason.into() }))).await;
                }
                let _ = sink.close().await;
                return;
            }
            item = rx.recv() => match item {
                Some(i) => i,
                None => break,
            },
        };
        let mut next = Some(first);
        let mut written = 0;
        while let Some(item) = next.take() {
            let msg = match item {
                Out::Frame(f) => Message::Text(f),
                Out::Ping => Message::Ping(Default::default()),
            };
            if sink.feed(msg).await.is_err() {
                return;
            }
            written += 1;
            if written < BATCH {
                next = rx.try_recv().ok();
            }
        }
        if sink.flush().await.is_err() {
            return;
        }
    }
    let _ = sink.close().await;
}

enum Inbound {
    Event(Arc<Event>),
    /// The hub found this connection's inbox full.
    Slow,
}

/// The next live event, or forever when the connection has no inbox yet.
async fn inbound(sub: &mut Option<Subscription>) -> Inbound {
    match sub {
        Some(s) => tokio::select! {
            biased;
            _ = s.slow.cancelled() => Inbound::Slow,
            e = s.inbox.recv() => match e {
                Some(e) => Inbound::Event(e),
                None => std::future::pending().await,
            },
        },
        None => std::future::pending().await,
    }
}

pub async fn run(
    state: AppState,
    socket: WebSocket,
    start: Start,
    path_bot: Option<String>,
    ip: IpAddr,
    foreign_origin: Option<String>,
) {
    let (sink, mut stream) = socket.split();
    let (out, rx) = mpsc::channel(OUT_CAPACITY);
    let (close_tx, close_rx) = tokio::sync::oneshot::channel();
    let writer = tokio::spawn(writer(sink, rx, close_rx));
    let config = state.engine.config.clone();
    let shutdown = state.shutdown.clone();
    let mut conn = Conn {
        state,
        out,
        kill: CancellationToken::new(),
        who: None,
        sub: None,
        forwarders: HashMap::new(),
        path_bot,
        ip,
        foreign_origin,
    };
    let flow = match start {
        Start::Unauthenticated => Flow::Continue,
        Start::InvalidToken => {
            conn.send_frame(ServerFrame::AuthError {
                message: "Invalid token".into(),
                code: None,
            })
            .await
        }
        Start::Authenticated(who) => Box::pin(conn.authenticate(who)).await,
    };
    let mut close: Option<(u16, &'static str)> = None;
    if let Flow::Continue = flow {
        let mut ping = tokio::time::interval(config.ws_ping_interval);
        ping.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        ping.tick().await;
        let idle = tokio::time::sleep(config.ws_idle_timeout);
        tokio::pin!(idle);
        loop {
            let flow = tokio::select! {
                msg = stream.next() => {
                    idle.as_mut().reset(tokio::time::Instant::now() + config.ws_idle_timeout);
                    match msg {
                        // Boxed: the handlers' state machines are large, and an idle
                        // connection's task should not carry them.
                        Some(Ok(Message::Text(t))) => Box::pin(conn.on_text(t.as_str())).await,
                        Some(Ok(Message::Binary(_))) => {
                            conn.error_code(ErrorCode::InvalidFrame, "binary frames are not supported; send JSON text").await
                        }
                        Some(Ok(Message::Ping(_) | Message::Pong(_))) => Flow::Continue,
                        Some(Ok(Message::Close(_))) | None => Flow::Stop,
                        Some(Err(e)) => {
                            let text = e.to_string();
                            if text.contains("Space limit exceeded") || text.contains("too long") {
                                close = Some((protocol::CLOSE_TOO_BIG, "message too big"));
                            } else {
                                tracing::debug!(error = %text, "websocket read failed");
                            }
                            Flow::Stop
                        }
                    }
                }
                inbound = inbound(&mut conn.sub) => match inbound {
                    Inbound::Event(event) => Box::pin(conn.on_event(&event)).await,
                    Inbound::Slow => {
                        close = Some((protocol::CLOSE_SLOW_CONSUMER, "slow consumer"));
                        Flow::Stop
                    }
                },
                _ = conn.kill.cancelled() => {
                    close = Some((protocol::CLOSE_SLOW_CONSUMER, "slow consumer"));
                    Flow::Stop
                }
                _ = ping.tick() => {
                    let _ = conn.out.try_send(Out::Ping);
                    Flow::Continue
                }
                _ = &mut idle => {
                    tracing::debug!("websocket idle for too long; dropping it");
                    Flow::Stop
                }
                _ = shutdown.cancelled() => {
                    close = Some((1001, "server shutting down"));
                    Flow::Stop
                }
            };
            if let Flow::Stop = flow {
                break;
            }
        }
    }
    if close.is_none() && conn.kill.is_cancelled() {
        close = Some((protocol::CLOSE_SLOW_CONSUMER, "slow consumer"));
    }
    // Stop forwarders first so the close frame is the last thing queued.
    for f in conn.forwarders.values_mut() {
        if let Some(h) = f.handle.take() {
            h.abort();
        }
    }
    drop(conn);
    match close {
        Some(c) => {
            let _ = close_tx.send(c);
        }
        None => drop(close_tx),
    }
    // A client that does not read cannot hold the connection open for long.
    let abort = writer.abort_handle();
    if tokio::time::timeout(std::time::Duration::from_secs(5), writer)
        .await
        .is_err()
    {
        abort.abort();
    }
}
