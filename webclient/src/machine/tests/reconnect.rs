//! Connecting, quick retries, backoff with jitter, "Retry now", offline, stop.

use super::*;

#[test]
fn start_reports_connecting_and_opens_the_websocket() {
    let mut s = Sim::new();
    let fx = s.on(Event::Start);
    assert_eq!(
        fx,
        vec![
            Effect::Status(status(ConnState::Connecting, Mode::WebSocket)),
            Effect::OpenSocket { socket: 1 },
        ]
    );
}

#[test]
fn auth_success_connects_delivers_and_is_ready_once() {
    let (mut s, id) = Sim::started();
    let fx = s.auth(id);
    assert_eq!(
        fx,
        vec![
            Effect::Status(status(ConnState::Connected, Mode::WebSocket)),
            Effect::Deliver(AUTH_OK.into()),
            Effect::Ready,
        ]
    );
    // Frames before and after are the owner's, never the machine's.
    let fx = s.on(Event::SocketFrame {
        socket: id,
        kind: FrameKind::Other,
        text: "t".into(),
    });
    assert_eq!(fx, vec![Effect::Deliver("t".into())]);
    // A second auth_success on the same socket is just a frame.
    assert_eq!(readies(&s.auth(id)), 0);
}

/// Drops a connected socket and lets every following attempt fail until the
/// server answers `/health` with `up`; the backoff delays seen.
fn backoff_delays(random: f64, rounds: usize) -> Vec<u32> {
    let (mut s, id) = Sim::connected();
    s.random = random;
    let mut fx = s.on(Event::SocketClosed { socket: id });
    let mut delays = Vec::new();
    for _ in 0..rounds {
        let d = timer(&fx, &TimerKind::Reconnect).expect("a reconnect timer");
        let st = statuses(&fx);
        assert_eq!(st.last().map(|s| s.state), Some(ConnState::Reconnecting));
        assert_eq!(st.last().and_then(|x| x.retry_at), Some(s.now + d as f64));
        delays.push(d);
        s.advance(d as f64);
        let sock = opened(&s.fire(TimerKind::Reconnect)).expect("an attempt");
        fx = s.on(Event::SocketClosed { socket: sock });
        if let Some(quick) = timer(&fx, &TimerKind::Reconnect) {
            // The first failure after a success is retried quickly.
            assert_eq!(quick, QUICK_RETRY_MS);
            let sock = opened(&s.fire(TimerKind::Reconnect)).expect("a quick retry");
            fx = s.on(Event::SocketClosed { socket: sock });
        }
        assert!(fx.contains(&Effect::CheckHealth), "{fx:?}");
        fx = s.on(Event::HealthChecked { ok: false });
    }
    delays
}

#[test]
fn a_dropped_connection_backs_off_exponentially_to_thirty_seconds() {
    assert_eq!(
        backoff_delays(0.5, 8),
        vec![1_000, 2_000, 4_000, 8_000, 16_000, 30_000, 30_000, 30_000]
    );
}

#[test]
fn backoff_jitter_comes_from_the_random_input() {
    assert_eq!(backoff_delays(0.0, 6), vec![700, 1_400, 2_800, 5_600, 11_200, 21_000]);
    let high = backoff_delays(0.99, 6);
    assert_eq!(high[0], 1_294);
    assert_eq!(high[5], 38_820);
}

#[test]
fn a_success_resets_the_backoff() {
    let (mut s, id) = Sim::connected();
    let fx = s.on(Event::SocketClosed { socket: id });
    assert_eq!(timer(&fx, &TimerKind::Reconnect), Some(1_000));
    let id = opened(&s.fire(TimerKind::Reconnect)).unwrap();
    s.auth(id);
    let fx = s.on(Event::SocketClosed { socket: id });
    assert_eq!(timer(&fx, &TimerKind::Reconnect), Some(1_000));
}

#[test]
fn two_failed_tries_then_a_live_server_mean_sse() {
    let (mut s, first) = Sim::started();
    let fx = s.on(Event::SocketClosed { socket: first });
    assert_eq!(
        fx,
        vec![
            Effect::CloseSocket { socket: first },
            Effect::SetTimer {
                kind: TimerKind::Reconnect,
                ms: QUICK_RETRY_MS
            }
        ]
    );
    let second = opened(&s.fire(TimerKind::Reconnect)).unwrap();
    assert_ne!(first, second);
    let fx = s.on(Event::SocketClosed { socket: second });
    assert!(fx.contains(&Effect::CheckHealth));
    assert!(statuses(&fx).is_empty(), "still connecting while /health is asked");
    let fx = s.on(Event::HealthChecked { ok: true });
    assert_eq!(statuses(&fx), vec![status(ConnState::Connected, Mode::Sse)]);
    let up = timer(&fx, &TimerKind::Upgrade).expect("a background try is planned");
    assert!((30_000..60_000).contains(&up));
    assert!(fx.contains(&Effect::OpenLive { session_id: None }));
    assert_eq!(fx.last(), Some(&Effect::Ready));
}

#[test]
fn auth_error_is_delivered_and_counts_as_a_failed_try() {
    let (mut s, id) = Sim::started();
    let fx = s.on(Event::SocketFrame {
        socket: id,
        kind: FrameKind::AuthError,
        text: AUTH_ERR.into(),
    });
    assert_eq!(fx[0], Effect::Deliver(AUTH_ERR.into()));
    assert!(fx.contains(&Effect::CloseSocket { socket: id }));
    assert_eq!(timer(&fx, &TimerKind::Reconnect), Some(QUICK_RETRY_MS));
    // The server closing it afterwards changes nothing.
    assert!(s.on(Event::SocketClosed { socket: id }).is_empty());
}

#[test]
fn retry_now_cancels_the_wait_and_connects_at_once() {
    // Two failed tries and a server that is down: backing off.
    let (mut s, first) = Sim::started();
    s.on(Event::SocketClosed { socket: first });
    let second = opened(&s.fire(TimerKind::Reconnect)).unwrap();
    s.on(Event::SocketClosed { socket: second });
    s.on(Event::HealthChecked { ok: false });
    assert_eq!(s.m.status().state, ConnState::Reconnecting);
    let fx = s.on(Event::RetryNow);
    assert_eq!(
        fx[0],
        Effect::CancelTimer {
            kind: TimerKind::Reconnect
        }
    );
    assert!(statuses(&fx).contains(&status(ConnState::Connecting, Mode::WebSocket)));
    let next = opened(&fx).expect("connects now");
    // The failure count starts over: one failure is a quick retry again.
    let fx = s.on(Event::SocketClosed { socket: next });
    assert_eq!(timer(&fx, &TimerKind::Reconnect), Some(QUICK_RETRY_MS));
}

#[test]
fn a_late_health_answer_after_retry_now_is_ignored() {
    let (mut s, first) = Sim::started();
    s.on(Event::SocketClosed { socket: first });
    let second = opened(&s.fire(TimerKind::Reconnect)).unwrap();
    s.on(Event::SocketClosed { socket: second });
    s.on(Event::RetryNow);
    assert!(s.on(Event::HealthChecked { ok: true }).is_empty());
    assert_eq!(s.m.status().mode, Mode::WebSocket);
}

#[test]
fn offline_closes_everything_and_sets_no_timer_until_online() {
    let (mut s, id) = Sim::connected();
    let fx = s.on(Event::Offline);
    assert!(fx.contains(&Effect::CloseSocket { socket: id }));
    assert_eq!(statuses(&fx), vec![status(ConnState::Offline, Mode::WebSocket)]);
    assert!(timers_set(&fx).is_empty());
    // Whatever comes late, nothing is retried while offline.
    for e in [
        Event::SocketClosed { socket: id },
        Event::Timer(TimerKind::Reconnect),
        Event::Timer(TimerKind::Upgrade),
        Event::HealthChecked { ok: false },
    ] {
        let fx = s.on(e.clone());
        assert!(timers_set(&fx).is_empty() && opened(&fx).is_none(), "{e:?}: {fx:?}");
    }
    let fx = s.on(Event::Online);
    assert!(statuses(&fx).contains(&status(ConnState::Connecting, Mode::WebSocket)));
    let id = opened(&fx).expect("online connects at once");
    assert_eq!(readies(&s.auth(id)), 1);
}

#[test]
fn stop_closes_everything_and_nothing_happens_after() {
    let (mut s, id) = Sim::connected();
    let fx = s.on(Event::Stop);
    assert!(fx.contains(&Effect::CloseSocket { socket: id }));
    assert!(fx.contains(&Effect::CancelTimer {
        kind: TimerKind::Reconnect
    }));
    for e in [
        Event::SocketClosed { socket: id },
        Event::RetryNow,
        Event::Online,
        Event::Timer(TimerKind::Reconnect),
        Event::HealthChecked { ok: true },
    ] {
        assert!(s.on(e.clone()).is_empty(), "{e:?}");
    }
    assert_eq!(s.send(OutKind::Other), Err(NotConnected));
}
