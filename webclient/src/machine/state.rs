//! The connection machine's state, and the small steps every rule uses:
//! changing the status, emitting effects, setting timers.

use super::types::{ConnState, Effect, Env, Mode, RequestId, SocketId, Status, TimerKind};
use crate::map::SmallMap;

/// The main WebSocket.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) struct Socket {
    pub id: SocketId,
    /// `auth_success` arrived on it.
    pub authed: bool,
}

/// How a followed reply is carried right now.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Carrier {
    /// Nothing (offline, or before the fallback came back).
    Idle,
    /// Its SSE stream is open.
    Sse,
    /// This long poll is on its way.
    Polling(RequestId),
    /// A poll failed to reach the server; [`TimerKind::PollRetry`] runs.
    PollWaiting,
}

/// A reply followed over SSE or long polling (on the WebSocket the server
/// pushes replies to joined connections and `resume` needs no state here).
#[derive(Clone, Copy, Debug, PartialEq)]
pub(super) struct Follow {
    /// The last `seq` handed to the owner (or asked for by its `resume`).
    pub seq: u64,
    /// SSE connection errors since the last frame.
    pub errors: u32,
    /// `now_ms` of the last frame (or of the start).
    pub progress_at: f64,
    pub carrier: Carrier,
}

pub(super) struct State {
    /// See [`crate::Config::upgrade_ms`].
    pub upgrade_ms: u32,
    /// The readings of the event being handled.
    pub env: Env,
    pub status: Status,
    pub stopped: bool,
    pub main: Option<Socket>,
    /// A background WebSocket opened on a fallback.
    pub probe: Option<SocketId>,
    /// Ids for sockets and poll requests.
    next_id: u32,
    /// WebSocket attempts that failed since the last success or "Retry now".
    pub failures: u32,
    /// The backoff step reached (0 after a success).
    pub backoff: u32,
    /// A `GET /health` is on its way.
    pub checking_health: bool,
    /// The conversation joined on a fallback (the live stream carries its events).
    pub joined: Option<String>,
    /// The live SSE stream is open.
    pub live: bool,
    pub follows: SmallMap<Follow>,
    /// The effects decided while handling the current event.
    pub out: Vec<Effect>,
}

impl State {
    pub fn new(upgrade_ms: u32) -> State {
        State {
            upgrade_ms,
            env: Env {
                now_ms: 0.0,
                random: 0.5,
            },
            status: Status {
                state: ConnState::Connecting,
                mode: Mode::WebSocket,
                retry_at: None,
            },
            stopped: false,
            main: None,
            probe: None,
            next_id: 0,
            failures: 0,
            backoff: 0,
            checking_health: false,
            joined: None,
            live: false,
            follows: SmallMap::new(),
            out: Vec::new(),
        }
    }

    pub fn next_id(&mut self) -> u32 {
        self.next_id += 1;
        self.next_id
    }

    pub fn emit(&mut self, e: Effect) {
        self.out.push(e);
    }

    pub fn mode(&self) -> Mode {
        self.status.mode
    }

    pub fn connected(&self) -> bool {
        self.status.state == ConnState::Connected
    }

    /// Changes the status; the owner hears of it only if it changed.
    pub fn set_status(&mut self, state: ConnState, mode: Mode, retry_at: Option<f64>) {
        let s = Status { state, mode, retry_at };
        if s != self.status {
            self.status = s;
            self.emit(Effect::Status(s));
        }
    }

    pub fn set_timer(&mut self, kind: TimerKind, ms: u32) {
        self.emit(Effect::SetTimer { kind, ms });
    }

    pub fn cancel_timer(&mut self, kind: TimerKind) {
        self.emit(Effect::CancelTimer { kind });
    }

    /// Closes the main WebSocket, if any.
    pub fn close_main(&mut self) {
        if let Some(s) = self.main.take() {
            self.emit(Effect::CloseSocket { socket: s.id });
        }
    }

    /// Closes the background WebSocket, if any.
    pub fn close_probe(&mut self) {
        if let Some(id) = self.probe.take() {
            self.emit(Effect::CloseSocket { socket: id });
        }
    }
}
