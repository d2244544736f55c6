//! One WebSocket connection's state, and its handling of live events (the
//! client frames' handlers are in [`super::cmd`]).
//!
//! The connection runs as one task ([`super::pump`]): it reads client frames,
//! takes the connection's inbox of live events, and writes to the socket, all in
//! one `select!`, so an `ack` is always written before the reply it acknowledges
//! can start streaming to this connection. Frames the handlers produce wait in a
//! small outbox that the task writes as soon as the handler returns. A reply's
//! tokens are copied from its log into a bounded queue by a small forwarder task
//! per (connection, reply); the queue exists only while replies stream, so an idle
//! connection holds none. When the queue stays full the client is not keeping
//! up: the connection is closed with 1013 `slow consumer` and the client resumes.

use std::net::IpAddr;
use std::sync::{Arc, Mutex};

use axum::extract::ws::Utf8Bytes;
use engine::auth::Identity;
use engine::hub::{ConnId, Event, Filter, Subscription};
use engine::Engine;
use protocol::frames::{ErrorFrame, ServerFrame};
use protocol::ErrorCode;
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

use super::subscriptions::Subscriptions;
use crate::state::AppState;

/// How many forwarded frames may wait for the socket before the client counts
/// as too slow.
pub(super) const OUT_CAPACITY: usize = 2048;

/// Who the connection is when the upgrade completes.
pub enum Start {
    Unauthenticated,
    /// With the code to send in `auth_error`, if any (`NOT_FOUND` for a visitor of a removed bot).
    InvalidToken(Option<ErrorCode>),
    Authenticated(Identity),
}

/// The forwarders' queue to the socket: created by the first forwarder and
/// dropped once no forwarder runs and it is empty (an idle connection has none).
pub(super) struct Queue {
    tx: mpsc::Sender<Utf8Bytes>,
    pub(super) rx: mpsc::Receiver<Utf8Bytes>,
}

pub(super) struct Connection {
    state: AppState,
    /// Frames from the handlers (acks, errors, events), written by the
    /// connection's task after each handler. A handler queues one or two frames,
    /// so this stays tiny; it is empty (no allocation) between handlers.
    outbox: Mutex<Vec<Utf8Bytes>>,
    pub(super) queue: Option<Queue>,
    pub(super) kill: CancellationToken,
    who: Option<Identity>,
    pub(super) sub: Option<Subscription>,
    subscriptions: Subscriptions,
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
            matches!(state.engine.bots.by_id(bot).await, Ok(Some(b)) if b.allows_origin(o))
        }
        _ => true,
    }
}

/// An authenticated connection: who it is and its id in the hub.
pub(super) struct Caller {
    pub(super) who: Identity,
    pub(super) conn: ConnId,
}

pub(super) enum Flow {
    Continue,
    Stop,
}

/// How long a full queue may stay full before the client counts as too slow.
const STALL: std::time::Duration = std::time::Duration::from_secs(5);

/// Queues a frame for the socket. A full queue is normal during a big resume
/// back-fill (the sender then waits: only this connection's own forwarder slows,
/// never the reply or anyone else); one that stays full for [`STALL`] belongs to
/// a client that stopped reading, which is told to go (1013) and resume later.
async fn push(out: &mpsc::Sender<Utf8Bytes>, kill: &CancellationToken, item: Utf8Bytes) -> Flow {
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

impl Connection {
    pub(super) fn new(
        state: AppState,
        path_bot: Option<String>,
        ip: IpAddr,
        foreign_origin: Option<String>,
    ) -> Connection {
        Connection {
            state,
            outbox: Mutex::new(Vec::new()),
            queue: None,
            kill: CancellationToken::new(),
            who: None,
            sub: None,
            subscriptions: Subscriptions::default(),
            path_bot,
            ip,
            foreign_origin,
        }
    }

    pub(super) fn engine(&self) -> Arc<Engine> {
        self.state.engine.clone()
    }

    /// Who the connection is, once authenticated.
    pub(super) fn who(&self) -> Option<&Identity> {
        self.who.as_ref()
    }

    /// The identity and hub id of an authenticated connection.
    pub(super) fn caller(&self) -> Option<Caller> {
        let who = self.who.clone()?;
        let conn = self.sub.as_ref()?.id;
        Some(Caller { who, conn })
    }

    /// The bot named by the upgrade's path (`/api/v1/chat/ws/{bot_id}`).
    pub(super) fn path_bot(&self) -> Option<String> {
        self.path_bot.clone()
    }

    /// The client's address, by the same rule as HTTP requests.
    pub(super) fn ip(&self) -> IpAddr {
        self.ip
    }

    /// Puts a frame in the outbox; the connection's task writes it when the
    /// current handler returns. Async (and returning [`Flow`]) so handlers read
    /// the same whichever way a frame leaves.
    async fn send(&self, frame: impl Into<Utf8Bytes>) -> Flow {
        self.outbox.lock().unwrap_or_else(|p| p.into_inner()).push(frame.into());
        Flow::Continue
    }

    /// The handlers' frames queued since the last call, oldest first.
    pub(super) fn take_outbox(&self) -> Vec<Utf8Bytes> {
        std::mem::take(&mut *self.outbox.lock().unwrap_or_else(|p| p.into_inner()))
    }

    /// The sender of the forwarders' queue, creating the queue on first use.
    fn queue_sender(&mut self) -> mpsc::Sender<Utf8Bytes> {
        let q = self.queue.get_or_insert_with(|| {
            let (tx, rx) = mpsc::channel(OUT_CAPACITY);
            Queue { tx, rx }
        });
        q.tx.clone()
    }

    /// Drops the forwarders' queue (and its buffers) when no forwarder runs and
    /// nothing waits in it; the next forwarder creates a new one.
    pub(super) fn release_idle_queue(&mut self) {
        let idle = self.queue.as_ref().is_some_and(|q| q.rx.is_empty()) && self.subscriptions.all_finished();
        if idle {
            self.queue = None;
        }
    }

    /// Stops every forwarder (before the connection closes, so nothing more is queued).
    pub(super) fn stop_forwarders(&mut self) {
        self.subscriptions.abort_all();
    }

    pub(super) async fn send_frame(&self, f: ServerFrame) -> Flow {
        self.send(f.to_json()).await
    }

    pub(super) async fn error(&self, e: &engine::Error, client_id: Option<String>) -> Flow {
        let mut f = ErrorFrame::new(e.code, e.message.clone());
        f.client_id = client_id;
        f.reply_id = e.reply_id.clone();
        f.retry_after_ms = e.retry_after_ms;
        self.send_frame(ServerFrame::Error(f)).await
    }

    pub(super) async fn error_code(&self, code: ErrorCode, message: impl Into<String>) -> Flow {
        self.send_frame(ServerFrame::Error(ErrorFrame::new(code, message)))
            .await
    }

    pub(super) async fn authenticate(&mut self, who: Identity) -> Flow {
        if !origin_allowed(&self.state, &who, self.foreign_origin.as_deref()).await {
            return self
                .send_frame(ServerFrame::AuthError {
                    message: "Invalid token".into(),
                    code: Some(ErrorCode::Forbidden),
                })
                .await;
        }
        let engine = &self.state.engine;
        let sub = match engine
            .admission
            .subscribe(&who, engine::hub::Transport::WebSocket)
            .await
        {
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
        match engine.accounts.user(&who).await {
            Ok(user) => {
                // The connection's span (see `super::upgrade`) now says who it is.
                let span = tracing::Span::current();
                span.record("identity", who.role.as_str());
                span.record("hub_conn", sub.id);
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

    /// Sends a reply's log from `after` on this connection (contract §3.3).
    ///
    /// A connection holds one subscription per reply. `resume` replaces it
    /// ([`Subscriptions::replace`]): `(after_seq, current]`, then live, then
    /// `complete`, whatever this connection was sent before. A reply announced to
    /// a joined connection starts a subscription only when there is none, so a
    /// `join` and a `resume` of the same reply never overlap.
    pub(super) fn follow(&mut self, log: Arc<engine::hub::ReplyLog>, filter: Filter, replace: bool) {
        let out = self.queue_sender();
        let kill = self.kill.clone();
        let pump = move |mut follower: engine::hub::Follower| async move {
            while let Some(batch) = follower.next_batch().await {
                for e in batch {
                    if let Flow::Stop = push(&out, &kill, e.frame).await {
                        return;
                    }
                }
            }
        };
        let reply_id = log.reply_id.clone();
        let start = move || pump(log.follow(filter));
        if replace {
            self.subscriptions.replace(reply_id, start);
        } else {
            self.subscriptions.start_if_none(reply_id, start);
        }
    }

    pub(super) async fn on_event(&mut self, event: &Event) -> Flow {
        let me = self.sub.as_ref().map(|s| s.id);
        match event {
            Event::ReplyStarted(log) => {
                self.follow(log.clone(), Filter::All, false);
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
