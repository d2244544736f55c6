//! Host-side tests of the connection machine (`cargo test -- machine`): event
//! sequences in, effects out, with time and chance as plain inputs.

use super::rules::*;
use super::*;

mod fallback;
mod reconnect;
mod sends;

/// A machine with its own clock and dice.
pub(super) struct Sim {
    pub m: Machine,
    pub now: f64,
    pub random: f64,
}

pub(super) const AUTH_OK: &str = "{\"type\":\"auth_success\"}";
pub(super) const AUTH_ERR: &str = "{\"type\":\"auth_error\"}";

impl Sim {
    pub fn new() -> Sim {
        Sim {
            m: Machine::new(DEFAULT_UPGRADE_MS),
            now: 1_000_000.0,
            random: 0.5,
        }
    }

    fn env(&self) -> Env {
        Env {
            now_ms: self.now,
            random: self.random,
        }
    }

    pub fn on(&mut self, e: Event) -> Vec<Effect> {
        let env = self.env();
        self.m.handle(env, e)
    }

    pub fn advance(&mut self, ms: f64) {
        self.now += ms;
    }

    pub fn fire(&mut self, kind: TimerKind) -> Vec<Effect> {
        self.on(Event::Timer(kind))
    }

    pub fn send(&mut self, kind: OutKind) -> Result<Vec<Effect>, NotConnected> {
        let env = self.env();
        self.m.send(
            env,
            Outgoing {
                text: format!("{kind:?}"),
                kind,
            },
        )
    }

    /// Started; the first socket's id.
    pub fn started() -> (Sim, SocketId) {
        let mut s = Sim::new();
        let fx = s.on(Event::Start);
        let id = opened(&fx).expect("Start opens a WebSocket");
        (s, id)
    }

    pub fn auth(&mut self, socket: SocketId) -> Vec<Effect> {
        self.on(Event::SocketFrame {
            socket,
            kind: FrameKind::AuthSuccess,
            text: AUTH_OK.into(),
        })
    }

    /// Connected on the WebSocket; the socket's id.
    pub fn connected() -> (Sim, SocketId) {
        let (mut s, id) = Sim::started();
        s.auth(id);
        (s, id)
    }

    /// Two failed tries and a server that is up: on SSE.
    pub fn on_sse() -> (Sim, Vec<Effect>) {
        let (mut s, first) = Sim::started();
        s.on(Event::SocketClosed { socket: first });
        let fx = s.fire(TimerKind::Reconnect);
        let second = opened(&fx).expect("the quick retry opens a WebSocket");
        s.on(Event::SocketClosed { socket: second });
        let fx = s.on(Event::HealthChecked { ok: true });
        (s, fx)
    }

    /// On SSE, following `reply` (a `resume` after `after`).
    pub fn following(reply: &str, after: u64) -> Sim {
        let (mut s, _) = Sim::on_sse();
        s.send(OutKind::Resume {
            reply_id: reply.into(),
            after_seq: after,
        })
        .expect("sent on SSE");
        s
    }

    pub fn token(&mut self, reply: &str, seq: u64) -> Vec<Effect> {
        self.on(Event::ReplyFrame {
            reply_id: reply.into(),
            frame: token(reply, seq),
        })
    }
}

pub(super) fn token(reply: &str, seq: u64) -> ReplyFrame {
    ReplyFrame {
        kind: ReplyFrameKind::Token { seq },
        text: format!("{{\"type\":\"token\",\"reply_id\":\"{reply}\",\"seq\":{seq}}}"),
    }
}

pub(super) fn complete(reply: &str) -> ReplyFrame {
    ReplyFrame {
        kind: ReplyFrameKind::Complete,
        text: format!("{{\"type\":\"complete\",\"reply_id\":\"{reply}\"}}"),
    }
}

/// The socket an `OpenSocket` effect opens.
pub(super) fn opened(fx: &[Effect]) -> Option<SocketId> {
    fx.iter().find_map(|e| match e {
        Effect::OpenSocket { socket } => Some(*socket),
        _ => None,
    })
}

/// The delay of a timer set among `fx`.
pub(super) fn timer(fx: &[Effect], kind: &TimerKind) -> Option<u32> {
    fx.iter().find_map(|e| match e {
        Effect::SetTimer { kind: k, ms } if k == kind => Some(*ms),
        _ => None,
    })
}

/// Every timer set among `fx`.
pub(super) fn timers_set(fx: &[Effect]) -> Vec<TimerKind> {
    fx.iter()
        .filter_map(|e| match e {
            Effect::SetTimer { kind, .. } => Some(kind.clone()),
            _ => None,
        })
        .collect()
}

pub(super) fn statuses(fx: &[Effect]) -> Vec<Status> {
    fx.iter()
        .filter_map(|e| match e {
            Effect::Status(s) => Some(*s),
            _ => None,
        })
        .collect()
}

pub(super) fn delivered(fx: &[Effect]) -> Vec<String> {
    fx.iter()
        .filter_map(|e| match e {
            Effect::Deliver(t) => Some(t.clone()),
            _ => None,
        })
        .collect()
}

pub(super) fn readies(fx: &[Effect]) -> usize {
    fx.iter().filter(|e| **e == Effect::Ready).count()
}

pub(super) fn polls(fx: &[Effect]) -> Vec<(String, u64, RequestId)> {
    fx.iter()
        .filter_map(|e| match e {
            Effect::Poll {
                reply_id,
                after_seq,
                request,
            } => Some((reply_id.clone(), *after_seq, *request)),
            _ => None,
        })
        .collect()
}

pub(super) fn status(state: ConnState, mode: Mode) -> Status {
    Status {
        state,
        mode,
        retry_at: None,
    }
}

#[test]
fn backoff_delays_stay_within_their_bounds() {
    for step in 1..=10u32 {
        let base = (1000.0 * 2f64.powi(step.min(BACKOFF_MAX_STEP) as i32 - 1)).min(30_000.0);
        for i in 0..=100 {
            let r = i as f64 / 100.0;
            let d = backoff_ms(step, r) as f64;
            assert!(
                d >= base * 0.7 - 1.0 && d <= base * 1.3 + 1.0,
                "step {step}, random {r}: {d}"
            );
            assert!(d >= BACKOFF_MIN_MS);
        }
        assert_eq!(backoff_ms(step, 0.5) as f64, base, "no jitter at 0.5");
    }
    assert_eq!(backoff_ms(1, 0.0), 700);
    assert_eq!(backoff_ms(6, 0.0), 21_000);
}

#[test]
fn upgrade_delays_are_between_one_and_two_periods() {
    for i in 0..100 {
        let r = i as f64 / 100.0;
        let d = upgrade_delay_ms(30_000, r);
        assert!((30_000..60_000).contains(&d), "{d}");
    }
    assert_ne!(upgrade_delay_ms(30_000, 0.1), upgrade_delay_ms(30_000, 0.9));
}
