//! The WebSocket's life: connecting, two quick tries, asking `/health`,
//! falling back to SSE, backing off, going offline, and the background probe
//! that moves a fallback back onto the WebSocket.

use super::rules::{backoff_ms, upgrade_delay_ms, BACKOFF_MAX_STEP, QUICK_RETRY_MS, QUICK_TRIES};
use super::state::{Socket, State};
use super::types::{ConnState, Effect, FrameKind, Mode, SocketId, TimerKind};

impl State {
    /// Opens the main WebSocket unless one is open or opening.
    pub fn connect(&mut self) {
        if self.stopped || self.main.is_some() || self.status.state == ConnState::Offline {
            return;
        }
        if self.mode() == Mode::WebSocket && self.status.state != ConnState::Reconnecting {
            self.set_status(ConnState::Connecting, Mode::WebSocket, None);
        }
        let id = self.next_id();
        self.main = Some(Socket { id, authed: false });
        self.emit(Effect::OpenSocket { socket: id });
    }

    /// A text frame on a WebSocket. The main socket's frames go to the owner;
    /// a probe's `auth_success` moves the chat onto it.
    pub fn socket_frame(&mut self, socket: SocketId, kind: FrameKind, text: String) {
        if self.probe == Some(socket) {
            match kind {
                FrameKind::AuthSuccess => self.promote_probe(),
                FrameKind::AuthError => {
                    self.close_probe();
                    self.schedule_upgrade();
                }
                FrameKind::Other => {}
            }
            return;
        }
        let Some(main) = self.main.filter(|m| m.id == socket) else {
            return;
        };
        if main.authed {
            return self.emit(Effect::Deliver(text));
        }
        match kind {
            FrameKind::AuthSuccess => {
                self.main = Some(Socket {
                    id: socket,
                    authed: true,
                });
                self.failures = 0;
                self.backoff = 0;
                self.leave_fallback();
                self.set_status(ConnState::Connected, Mode::WebSocket, None);
                self.emit(Effect::Deliver(text));
                self.emit(Effect::Ready);
            }
            FrameKind::AuthError => {
                self.emit(Effect::Deliver(text));
                self.close_main();
                self.failed_attempt();
            }
            FrameKind::Other => self.emit(Effect::Deliver(text)),
        }
    }

    /// A WebSocket closed (or never opened).
    pub fn socket_closed(&mut self, socket: SocketId) {
        if self.probe == Some(socket) {
            self.close_probe();
            self.schedule_upgrade();
            return;
        }
        let Some(main) = self.main.filter(|m| m.id == socket) else {
            return;
        };
        self.close_main();
        if self.status.state == ConnState::Offline {
            return;
        }
        if main.authed {
            // A live connection dropped: reconnect with backoff (replies resume).
            self.failures = 0;
            self.schedule_reconnect();
        } else {
            self.failed_attempt();
        }
    }

    /// An attempt that never got authenticated. After two quick ones, if the
    /// server answers plain HTTP, its WebSocket is blocked: fall back.
    fn failed_attempt(&mut self) {
        self.failures += 1;
        if self.failures < QUICK_TRIES {
            self.set_timer(TimerKind::Reconnect, QUICK_RETRY_MS);
            return;
        }
        self.checking_health = true;
        self.emit(Effect::CheckHealth);
    }

    /// `GET /health` answered. Ignored if a retry or the network took over meanwhile.
    pub fn health_checked(&mut self, ok: bool) {
        if !std::mem::take(&mut self.checking_health) || self.main.is_some() {
            return;
        }
        if ok {
            self.enter_fallback(Mode::Sse);
        } else {
            self.schedule_reconnect();
        }
    }

    fn schedule_reconnect(&mut self) {
        self.backoff = (self.backoff + 1).min(BACKOFF_MAX_STEP);
        let delay = backoff_ms(self.backoff, self.env.random);
        let retry_at = self.env.now_ms + delay as f64;
        self.set_status(ConnState::Reconnecting, self.mode(), Some(retry_at));
        self.set_timer(TimerKind::Reconnect, delay);
    }

    /// "Retry now", and the browser coming back online. On a working
    /// fallback it tries the WebSocket in the background; otherwise it starts
    /// over on the WebSocket at once.
    pub fn retry_now(&mut self) {
        self.cancel_timer(TimerKind::Reconnect);
        if self.mode() != Mode::WebSocket && self.connected() {
            self.probe_now();
            return;
        }
        self.failures = 0;
        self.checking_health = false;
        self.close_main();
        self.set_status(ConnState::Connecting, Mode::WebSocket, None);
        self.connect();
    }

    /// The browser went offline: close everything and wait for `online`
    /// (no timer runs meanwhile).
    pub fn go_offline(&mut self) {
        self.cancel_timer(TimerKind::Reconnect);
        self.cancel_timer(TimerKind::Upgrade);
        self.cancel_timer(TimerKind::PollRefresh);
        self.checking_health = false;
        self.close_main();
        self.close_probe();
        self.close_streams();
        self.set_status(ConnState::Offline, self.mode(), None);
    }

    fn enter_fallback(&mut self, mode: Mode) {
        self.set_status(ConnState::Connected, mode, None);
        self.schedule_upgrade();
        if mode == Mode::Poll {
            self.set_timer(TimerKind::PollRefresh, super::rules::POLL_REFRESH_MS);
        }
        // The identity's live events (new chats, titles, deletions) flow even
        // before a conversation is joined, like on a WebSocket (issue 17, fault 4).
        self.open_live();
        self.emit(Effect::Ready);
    }

    /// Back on the WebSocket: every fallback stream and timer ends; the owner
    /// resumes its replies on the WebSocket (it gets `Ready`).
    fn leave_fallback(&mut self) {
        let was_fallback = self.mode() != Mode::WebSocket;
        self.forget_follows();
        if was_fallback {
            self.cancel_timer(TimerKind::Upgrade);
            self.cancel_timer(TimerKind::PollRefresh);
        }
    }

    fn schedule_upgrade(&mut self) {
        let ms = upgrade_delay_ms(self.upgrade_ms, self.env.random);
        self.set_timer(TimerKind::Upgrade, ms);
    }

    /// On a fallback: open a background WebSocket (unless one is on its way).
    pub fn probe_now(&mut self) {
        if self.probe.is_some() || self.mode() == Mode::WebSocket || !self.connected() {
            return;
        }
        let id = self.next_id();
        self.probe = Some(id);
        self.emit(Effect::OpenSocket { socket: id });
    }

    /// The background WebSocket authenticated: move everything back onto it.
    fn promote_probe(&mut self) {
        let Some(id) = self.probe.take() else { return };
        self.close_main();
        self.main = Some(Socket { id, authed: true });
        self.failures = 0;
        self.backoff = 0;
        self.leave_fallback();
        self.set_status(ConnState::Connected, Mode::WebSocket, None);
        self.emit(Effect::Ready);
    }

    /// Closes everything for good; nothing happens after this.
    pub fn stop(&mut self) {
        self.stopped = true;
        self.cancel_timer(TimerKind::Reconnect);
        self.cancel_timer(TimerKind::Upgrade);
        self.cancel_timer(TimerKind::PollRefresh);
        self.checking_health = false;
        self.close_main();
        self.close_probe();
        self.forget_follows();
    }
}
