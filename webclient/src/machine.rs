//! The connection machine: `(state, event) → effects`, with no I/O.
//!
//! It decides everything about the chat's connection: which transport carries
//! it (WebSocket, SSE, long polling), when to connect, retry, back off, fall
//! back, and move back to the WebSocket, which reply streams are open, what
//! happens to a frame the owner sends, and what the owner is told. It never
//! touches the browser: time and chance come in with each event ([`Env`]),
//! timers go out as effects ([`Effect::SetTimer`]), and the adapters
//! (`crate::adapter`) do the I/O and report what happened as [`Event`]s.
//!
//! The rules (every number is in [`rules`]):
//! * **Connect.** The WebSocket is preferred. An attempt that fails before
//!   `auth_success` is retried once after 400 ms; after two, `GET /health`
//!   decides: the server is up (its WebSocket is blocked) → SSE, else backoff.
//! * **Reconnect.** A connection that worked and dropped is retried after
//!   1, 2, 4 … 30 s, each ± 30 % jitter. `Ready` goes to the owner once per
//!   (re)connection or transport switch, when it re-joins, resumes its
//!   replies and flushes its outbox.
//! * **Fallback.** On SSE, sends go over HTTP, the identity's live events and
//!   each reply stream over SSE; SSE that makes no progress gives way to long
//!   polling. Every 30–60 s a background WebSocket is tried; once it
//!   authenticates the chat moves onto it, reply streams close, and the owner
//!   (on `Ready`) resumes the replies it was following on the WebSocket.
//! * **Offline.** The browser's `offline` closes everything and stops every
//!   timer; `online` (or "Retry now") starts over on the WebSocket at once.
//! * **Stop.** Everything closes; later events do nothing.

pub mod rules;
mod state;
pub mod types;

mod follow;
mod send;
mod socket;

pub use types::*;

use state::State;

/// The connection's state. Feed it [`Event`]s and carry out the [`Effect`]s
/// it returns, in order.
pub struct Machine {
    st: State,
}

impl Machine {
    /// `upgrade_ms`: how often to try the WebSocket again on a fallback, in ms
    /// (a random point in `[upgrade_ms, 2 × upgrade_ms)`).
    pub fn new(upgrade_ms: u32) -> Machine {
        Machine {
            st: State::new(upgrade_ms),
        }
    }

    /// What the owner shows now.
    pub fn status(&self) -> Status {
        self.st.status
    }

    /// Handles one event at `env`'s time; the effects to carry out, in order.
    pub fn handle(&mut self, env: Env, event: Event) -> Vec<Effect> {
        self.st.env = env;
        if !self.st.stopped {
            self.dispatch(event);
        }
        std::mem::take(&mut self.st.out)
    }

    /// A frame the owner sends: the effects that send it, or [`NotConnected`]
    /// when the owner must keep it for after the next `Ready`.
    pub fn send(&mut self, env: Env, frame: Outgoing) -> Result<Vec<Effect>, NotConnected> {
        self.st.env = env;
        let sent = self.st.send(frame);
        let out = std::mem::take(&mut self.st.out);
        sent.map(|()| out)
    }

    fn dispatch(&mut self, event: Event) {
        let st = &mut self.st;
        match event {
            Event::Start => {
                st.emit(Effect::Status(st.status));
                st.connect();
            }
            Event::SocketFrame { socket, kind, text } => st.socket_frame(socket, kind, text),
            Event::SocketClosed { socket } => st.socket_closed(socket),
            Event::HealthChecked { ok } => st.health_checked(ok),
            Event::LiveFrame { text, stream_start } => st.live_frame(text, stream_start),
            Event::ReplyFrame { reply_id, frame } => st.sse_frame(&reply_id, frame),
            Event::ReplyStreamError { reply_id } => st.sse_error(&reply_id),
            Event::ReplyStreamUnavailable { reply_id } => st.sse_unavailable(&reply_id),
            Event::PollAnswered {
                reply_id,
                request,
                answer,
            } => st.poll_answered(&reply_id, request, answer),
            Event::HttpAnswered { frame, accepted } => st.http_answered(frame, accepted),
            Event::Timer(kind) => Self::timer(st, kind),
            Event::RetryNow | Event::Online => st.retry_now(),
            Event::Offline => st.go_offline(),
            Event::Stop => st.stop(),
        }
    }

    fn timer(st: &mut State, kind: TimerKind) {
        match kind {
            TimerKind::Reconnect => st.connect(),
            TimerKind::Upgrade => st.probe_now(),
            TimerKind::PollRefresh => st.poll_refresh(),
            TimerKind::SseStall(id) => st.sse_stall_check(&id),
            TimerKind::PollRetry(id) => st.poll_retry(&id),
        }
    }
}

#[cfg(test)]
mod tests;
