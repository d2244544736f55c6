//! Following replies on a fallback: each reply has its own SSE stream (or a
//! chain of long polls), the identity's live events have one more SSE stream,
//! and SSE that makes no progress gives way to long polling.
//!
//! Like a WebSocket `resume` (contract §3.3), asking for a reply after a lower
//! `seq` than this client already passed on restarts its stream from there:
//! the owner dropped what it showed and asks for it again. Tokens at or below
//! the `seq` passed on are dropped here, so the owner sees each once per ask.

use super::rules::{
    POLL_REFRESH_MS, POLL_RETRY_MS, SSE_ERRORS_BEFORE_POLL, SSE_ERROR_QUIET_MS, SSE_STALL_CHECK_MS, SSE_STALL_MS,
};
use super::state::{Carrier, Follow, State};
use super::types::{ConnState, Effect, Mode, PollAnswer, ReplyFrame, ReplyFrameKind, RequestId, TimerKind};

impl State {
    /// Streams a reply's frames after `after` (a `resume`, an `ack`, a
    /// `stream_start`). Only on a connected fallback: on the WebSocket the
    /// server pushes replies itself.
    pub fn follow(&mut self, reply_id: &str, after: u64) {
        if self.mode() == Mode::WebSocket || !self.connected() {
            return;
        }
        let now = self.env.now_ms;
        match self.follows.get_mut(reply_id) {
            Some(f) if after >= f.seq && f.carrier != Carrier::Idle => {
                f.seq = after;
                return;
            }
            Some(f) => {
                f.seq = after;
                f.progress_at = now;
            }
            None => self.follows.insert(
                reply_id.to_string(),
                Follow {
                    seq: after,
                    errors: 0,
                    progress_at: now,
                    carrier: Carrier::Idle,
                },
            ),
        }
        self.carry(reply_id);
    }

    /// (Re)starts a followed reply's stream in the current mode.
    fn carry(&mut self, reply_id: &str) {
        match self.mode() {
            Mode::Sse => self.open_sse(reply_id),
            Mode::Poll => self.poll(reply_id),
            Mode::WebSocket => {}
        }
    }

    fn open_sse(&mut self, reply_id: &str) {
        let Some(f) = self.follows.get_mut(reply_id) else {
            return;
        };
        f.carrier = Carrier::Sse;
        let after_seq = f.seq;
        self.emit(Effect::OpenReplyStream {
            reply_id: reply_id.to_string(),
            after_seq,
        });
        self.set_timer(TimerKind::SseStall(reply_id.to_string()), SSE_STALL_CHECK_MS);
    }

    fn poll(&mut self, reply_id: &str) {
        let request = self.next_id();
        let Some(f) = self.follows.get_mut(reply_id) else {
            return;
        };
        let waiting = f.carrier == Carrier::PollWaiting;
        f.carrier = Carrier::Polling(request);
        let after_seq = f.seq;
        if waiting {
            self.cancel_timer(TimerKind::PollRetry(reply_id.to_string()));
        }
        self.emit(Effect::Poll {
            reply_id: reply_id.to_string(),
            after_seq,
            request,
        });
    }

    /// Stops carrying a reply (its stream closed, its timers cancelled); it
    /// stays followed.
    fn drop_carrier(&mut self, reply_id: &str) {
        let Some(f) = self.follows.get_mut(reply_id) else {
            return;
        };
        let was = std::mem::replace(&mut f.carrier, Carrier::Idle);
        match was {
            Carrier::Sse => {
                self.emit(Effect::CloseReplyStream {
                    reply_id: reply_id.to_string(),
                });
                self.cancel_timer(TimerKind::SseStall(reply_id.to_string()));
            }
            Carrier::PollWaiting => self.cancel_timer(TimerKind::PollRetry(reply_id.to_string())),
            Carrier::Polling(_) | Carrier::Idle => {}
        }
    }

    /// Closes the live stream and every reply's carrier; replies stay followed.
    pub fn close_streams(&mut self) {
        if self.live {
            self.live = false;
            self.emit(Effect::CloseLive);
        }
        let ids: Vec<String> = self.follows.keys().cloned().collect();
        for id in ids {
            self.drop_carrier(&id);
        }
    }

    /// Closes every stream and forgets every followed reply (back on the
    /// WebSocket, the owner resumes them there).
    pub fn forget_follows(&mut self) {
        self.close_streams();
        self.follows = Default::default();
    }

    /// The identity's live events over SSE, with the joined conversation's if
    /// any; replies it announces are followed. Only in SSE mode.
    pub fn open_live(&mut self) {
        if self.mode() != Mode::Sse || !self.connected() {
            return;
        }
        self.live = true;
        let session_id = self.joined.clone();
        self.emit(Effect::OpenLive { session_id });
    }

    /// An event of the live stream.
    pub fn live_frame(&mut self, text: String, stream_start: Option<String>) {
        if !self.live {
            return;
        }
        if let Some(id) = stream_start {
            self.follow(&id, 0);
        }
        self.emit(Effect::Deliver(text));
    }

    /// A frame of a reply's SSE stream.
    pub fn sse_frame(&mut self, reply_id: &str, frame: ReplyFrame) {
        if self.follows.get(reply_id).is_some_and(|f| f.carrier == Carrier::Sse) {
            self.take_frame(reply_id, frame);
        }
    }

    /// Passes a reply frame on unless it repeats a token; `complete` ends
    /// the follow. `false` when the reply is no longer followed.
    fn take_frame(&mut self, reply_id: &str, frame: ReplyFrame) -> bool {
        let now = self.env.now_ms;
        let Some(f) = self.follows.get_mut(reply_id) else {
            return false;
        };
        f.progress_at = now;
        f.errors = 0;
        match frame.kind {
            ReplyFrameKind::Token { seq } if seq <= f.seq => return true,
            ReplyFrameKind::Token { seq } => f.seq = seq,
            ReplyFrameKind::Complete => {
                self.drop_carrier(reply_id);
                self.follows.remove(reply_id);
            }
            ReplyFrameKind::Other => {}
        }
        self.emit(Effect::Deliver(frame.text));
        self.follows.get(reply_id).is_some()
    }

    /// A reply's SSE stream lost its connection. The browser reconnects it
    /// with `Last-Event-ID`; after repeated errors and no progress, poll.
    pub fn sse_error(&mut self, reply_id: &str) {
        let now = self.env.now_ms;
        let Some(f) = self.follows.get_mut(reply_id).filter(|f| f.carrier == Carrier::Sse) else {
            return;
        };
        f.errors += 1;
        if f.errors >= SSE_ERRORS_BEFORE_POLL && now - f.progress_at > SSE_ERROR_QUIET_MS {
            self.fall_to_polling();
        }
    }

    /// A reply's SSE stream could not be opened: poll.
    pub fn sse_unavailable(&mut self, reply_id: &str) {
        if self.follows.get(reply_id).is_some_and(|f| f.carrier == Carrier::Sse) {
            self.fall_to_polling();
        }
    }

    /// [`TimerKind::SseStall`] fired: a stream that showed nothing for a long
    /// while is treated as blocked.
    pub fn sse_stall_check(&mut self, reply_id: &str) {
        let now = self.env.now_ms;
        let stalled = self
            .follows
            .get(reply_id)
            .is_some_and(|f| f.carrier == Carrier::Sse && now - f.progress_at > SSE_STALL_MS);
        if stalled {
            self.fall_to_polling();
        }
    }

    /// SSE made no progress: move every followed reply to long polling. The
    /// live stream closes; the owner refreshes from REST every 10 s instead.
    pub fn fall_to_polling(&mut self) {
        if self.mode() != Mode::Sse || !self.connected() {
            return;
        }
        self.close_streams();
        self.set_status(ConnState::Connected, Mode::Poll, None);
        self.set_timer(TimerKind::PollRefresh, POLL_REFRESH_MS);
        let ids: Vec<String> = self.follows.keys().cloned().collect();
        for id in ids {
            self.poll(&id);
        }
    }

    /// A long poll answered.
    pub fn poll_answered(&mut self, reply_id: &str, request: RequestId, answer: PollAnswer) {
        let current = self
            .follows
            .get(reply_id)
            .is_some_and(|f| f.carrier == Carrier::Polling(request));
        if !current {
            return;
        }
        match answer {
            PollAnswer::Unreachable => {
                if let Some(f) = self.follows.get_mut(reply_id) {
                    f.carrier = Carrier::PollWaiting;
                }
                self.set_timer(TimerKind::PollRetry(reply_id.to_string()), POLL_RETRY_MS);
            }
            PollAnswer::Refused { frame } => {
                self.follows.remove(reply_id);
                self.emit(Effect::Deliver(frame));
            }
            PollAnswer::Frames(frames) => {
                for frame in frames {
                    if !self.take_frame(reply_id, frame) {
                        return;
                    }
                }
                self.poll(reply_id);
            }
        }
    }

    /// [`TimerKind::PollRetry`] fired.
    pub fn poll_retry(&mut self, reply_id: &str) {
        let waiting = self
            .follows
            .get(reply_id)
            .is_some_and(|f| f.carrier == Carrier::PollWaiting);
        if waiting && self.mode() == Mode::Poll && self.connected() {
            self.poll(reply_id);
        }
    }

    /// [`TimerKind::PollRefresh`] fired: the owner refreshes from REST.
    pub fn poll_refresh(&mut self) {
        if self.mode() == Mode::Poll && self.connected() {
            self.emit(Effect::Deliver(super::rules::POLL_TICK_FRAME.to_string()));
            self.set_timer(TimerKind::PollRefresh, POLL_REFRESH_MS);
        }
    }
}
