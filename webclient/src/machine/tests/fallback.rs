//! SSE, long polling, and the move back to the WebSocket.

use super::*;

fn reply_stream(reply: &str, after_seq: u64) -> Effect {
    Effect::OpenReplyStream {
        reply_id: reply.into(),
        after_seq,
    }
}

#[test]
fn a_resume_on_sse_opens_the_reply_stream_and_drops_repeats() {
    let (mut s, _) = Sim::on_sse();
    let fx = s
        .send(OutKind::Resume {
            reply_id: "r".into(),
            after_seq: 3,
        })
        .unwrap();
    assert_eq!(fx[0], reply_stream("r", 3));
    assert_eq!(timer(&fx, &TimerKind::SseStall("r".into())), Some(SSE_STALL_CHECK_MS));
    assert!(delivered(&s.token("r", 3)).is_empty(), "already shown");
    assert_eq!(delivered(&s.token("r", 4)), vec![token("r", 4).text]);
    assert!(delivered(&s.token("r", 4)).is_empty());
    let fx = s.on(Event::ReplyFrame {
        reply_id: "r".into(),
        frame: complete("r"),
    });
    assert!(fx.contains(&Effect::CloseReplyStream { reply_id: "r".into() }));
    assert_eq!(delivered(&fx), vec![complete("r").text]);
    // Finished: a late token of it is not passed on.
    assert!(s.token("r", 5).is_empty());
}

#[test]
fn a_lower_resume_restarts_the_stream_a_higher_one_does_not() {
    let mut s = Sim::following("r", 0);
    s.token("r", 1);
    s.token("r", 2);
    let again = |s: &mut Sim, after| {
        s.send(OutKind::Resume {
            reply_id: "r".into(),
            after_seq: after,
        })
        .unwrap()
    };
    assert!(again(&mut s, 2).is_empty(), "the stream already passed 2");
    assert_eq!(again(&mut s, 0)[0], reply_stream("r", 0));
    assert_eq!(delivered(&s.token("r", 1)).len(), 1, "seq 1 comes again once");
}

#[test]
fn an_ack_over_http_joins_and_follows_its_reply() {
    let (mut s, _) = Sim::on_sse();
    let fx = s.on(Event::HttpAnswered {
        frame: "ack".into(),
        accepted: Some(Accepted {
            session_id: Some("s1".into()),
            reply_id: Some("r".into()),
        }),
    });
    assert_eq!(fx[0], Effect::Deliver("ack".into()));
    assert!(fx.contains(&Effect::OpenLive {
        session_id: Some("s1".into())
    }));
    assert!(fx.contains(&reply_stream("r", 0)));
}

#[test]
fn stream_start_on_the_live_stream_follows_the_reply() {
    let (mut s, _) = Sim::on_sse();
    let fx = s.on(Event::LiveFrame {
        text: "start".into(),
        stream_start: Some("r".into()),
    });
    assert_eq!(fx[0], reply_stream("r", 0));
    assert_eq!(delivered(&fx), vec!["start".to_string()]);
}

#[test]
fn repeated_sse_errors_without_progress_move_to_polling() {
    let mut s = Sim::following("r", 2);
    assert!(s.on(Event::ReplyStreamError { reply_id: "r".into() }).is_empty());
    s.advance(SSE_ERROR_QUIET_MS + 1.0);
    let fx = s.on(Event::ReplyStreamError { reply_id: "r".into() });
    assert!(fx.contains(&Effect::CloseLive));
    assert!(fx.contains(&Effect::CloseReplyStream { reply_id: "r".into() }));
    assert!(statuses(&fx).contains(&status(ConnState::Connected, Mode::Poll)));
    assert_eq!(timer(&fx, &TimerKind::PollRefresh), Some(POLL_REFRESH_MS));
    let p = polls(&fx);
    assert_eq!((p[0].0.as_str(), p[0].1), ("r", 2));
}

#[test]
fn sse_errors_with_recent_progress_keep_sse() {
    let mut s = Sim::following("r", 0);
    s.advance(5_000.0);
    s.on(Event::ReplyStreamError { reply_id: "r".into() });
    s.token("r", 1);
    s.on(Event::ReplyStreamError { reply_id: "r".into() });
    s.advance(1_000.0);
    let fx = s.on(Event::ReplyStreamError { reply_id: "r".into() });
    assert!(polls(&fx).is_empty(), "{fx:?}");
    assert_eq!(s.m.status().mode, Mode::Sse);
}

#[test]
fn a_stalled_sse_stream_moves_to_polling() {
    let mut s = Sim::following("r", 0);
    s.advance(10_000.0);
    s.token("r", 1);
    s.advance(10_000.0);
    let fx = s.fire(TimerKind::SseStall("r".into()));
    assert!(polls(&fx).is_empty(), "progress 10 s ago is not a stall");
    assert_eq!(s.m.status().mode, Mode::Sse);
    s.advance(SSE_STALL_MS);
    let fx = s.fire(TimerKind::SseStall("r".into()));
    assert_eq!(polls(&fx).len(), 1);
    assert_eq!(s.m.status().mode, Mode::Poll);
}

#[test]
fn an_sse_stream_that_cannot_open_moves_to_polling() {
    let mut s = Sim::following("r", 0);
    let fx = s.on(Event::ReplyStreamUnavailable { reply_id: "r".into() });
    assert_eq!(polls(&fx).len(), 1);
}

/// Following `r` by long polling after seq 1; the poll's request id.
fn polling() -> (Sim, RequestId) {
    let mut s = Sim::following("r", 1);
    let fx = s.on(Event::ReplyStreamUnavailable { reply_id: "r".into() });
    let p = polls(&fx);
    (s, p[0].2)
}

#[test]
fn long_polls_chain_until_complete() {
    let (mut s, req) = polling();
    let fx = s.on(Event::PollAnswered {
        reply_id: "r".into(),
        request: req,
        answer: PollAnswer::Frames(vec![token("r", 1), token("r", 2), token("r", 3)]),
    });
    assert_eq!(delivered(&fx), vec![token("r", 2).text, token("r", 3).text]);
    let p = polls(&fx);
    assert_eq!((p[0].1, p.len()), (3, 1), "polls again after the last seq");
    // The answer to an abandoned request does nothing.
    let stale = s.on(Event::PollAnswered {
        reply_id: "r".into(),
        request: req,
        answer: PollAnswer::Frames(vec![token("r", 4)]),
    });
    assert!(stale.is_empty());
    let fx = s.on(Event::PollAnswered {
        reply_id: "r".into(),
        request: p[0].2,
        answer: PollAnswer::Frames(vec![token("r", 4), complete("r")]),
    });
    assert_eq!(delivered(&fx).len(), 2);
    assert!(polls(&fx).is_empty(), "complete ends the chain");
}

#[test]
fn an_unreachable_poll_is_retried_after_a_pause() {
    let (mut s, req) = polling();
    let fx = s.on(Event::PollAnswered {
        reply_id: "r".into(),
        request: req,
        answer: PollAnswer::Unreachable,
    });
    assert!(polls(&fx).is_empty());
    assert_eq!(timer(&fx, &TimerKind::PollRetry("r".into())), Some(POLL_RETRY_MS));
    let fx = s.fire(TimerKind::PollRetry("r".into()));
    assert_eq!(polls(&fx)[0].1, 1);
}

#[test]
fn a_refused_poll_tells_the_owner_and_stops() {
    let (mut s, req) = polling();
    let fx = s.on(Event::PollAnswered {
        reply_id: "r".into(),
        request: req,
        answer: PollAnswer::Refused { frame: "err".into() },
    });
    assert_eq!(fx, vec![Effect::Deliver("err".into())]);
}

#[test]
fn poll_mode_ticks_the_owner_every_ten_seconds() {
    let (mut s, _) = polling();
    let fx = s.fire(TimerKind::PollRefresh);
    assert_eq!(delivered(&fx), vec![POLL_TICK_FRAME.to_string()]);
    assert_eq!(timer(&fx, &TimerKind::PollRefresh), Some(POLL_REFRESH_MS));
}

#[test]
fn a_failed_probe_plans_the_next_one() {
    let (mut s, _) = Sim::on_sse();
    let probe = opened(&s.fire(TimerKind::Upgrade)).expect("a background WebSocket");
    // One at a time.
    assert!(opened(&s.fire(TimerKind::Upgrade)).is_none());
    let fx = s.on(Event::SocketClosed { socket: probe });
    assert!(timer(&fx, &TimerKind::Upgrade).is_some());
    assert!(statuses(&fx).is_empty(), "the fallback keeps working");
    // A probe refused at authentication also plans the next one, and its
    // `auth_error` is not the owner's (the fallback works).
    let probe = opened(&s.fire(TimerKind::Upgrade)).unwrap();
    let fx = s.on(Event::SocketFrame {
        socket: probe,
        kind: FrameKind::AuthError,
        text: AUTH_ERR.into(),
    });
    assert!(fx.contains(&Effect::CloseSocket { socket: probe }));
    assert!(timer(&fx, &TimerKind::Upgrade).is_some());
    assert!(delivered(&fx).is_empty());
}

#[test]
fn a_probe_that_authenticates_brings_the_chat_back_to_the_websocket() {
    let mut s = Sim::following("r", 0);
    s.token("r", 1);
    let probe = opened(&s.fire(TimerKind::Upgrade)).unwrap();
    let fx = s.auth(probe);
    // The reply followed over SSE closes; the owner resumes it on the
    // WebSocket when it gets Ready (its assembler knows the seq shown).
    assert!(fx.contains(&Effect::CloseReplyStream { reply_id: "r".into() }));
    assert!(fx.contains(&Effect::CloseLive));
    assert!(fx.contains(&Effect::CancelTimer {
        kind: TimerKind::Upgrade
    }));
    assert!(delivered(&fx).is_empty(), "the probe's auth_success is not the owner's");
    assert_eq!(statuses(&fx), vec![status(ConnState::Connected, Mode::WebSocket)]);
    assert_eq!(fx.last(), Some(&Effect::Ready));
    assert_eq!(readies(&fx), 1);
    // A late SSE token of it is dropped; the resume goes on the WebSocket.
    assert!(s.token("r", 2).is_empty());
    let fx = s
        .send(OutKind::Resume {
            reply_id: "r".into(),
            after_seq: 1,
        })
        .unwrap();
    assert!(matches!(&fx[..], [Effect::SocketSend { socket, .. }] if *socket == probe));
}

#[test]
fn retry_now_on_a_working_fallback_probes_and_keeps_it() {
    let (mut s, _) = Sim::on_sse();
    let fx = s.on(Event::RetryNow);
    assert!(opened(&fx).is_some());
    assert!(statuses(&fx).is_empty());
    assert_eq!(s.m.status(), status(ConnState::Connected, Mode::Sse));
}

#[test]
fn offline_on_a_fallback_stops_streams_and_timers_and_online_starts_over() {
    let mut s = Sim::following("r", 2);
    let fx = s.on(Event::Offline);
    for e in [
        Effect::CloseLive,
        Effect::CloseReplyStream { reply_id: "r".into() },
        Effect::CancelTimer {
            kind: TimerKind::Upgrade,
        },
        Effect::CancelTimer {
            kind: TimerKind::SseStall("r".into()),
        },
    ] {
        assert!(fx.contains(&e), "{e:?} in {fx:?}");
    }
    assert!(timers_set(&fx).is_empty());
    assert!(s.fire(TimerKind::Upgrade).is_empty(), "no probe while offline");
    let fx = s.on(Event::Online);
    assert!(statuses(&fx).contains(&status(ConnState::Connecting, Mode::WebSocket)));
    // The WebSocket is still blocked: back to SSE, where the owner's resume
    // opens the reply's stream again.
    let first = opened(&fx).unwrap();
    s.on(Event::SocketClosed { socket: first });
    let second = opened(&s.fire(TimerKind::Reconnect)).unwrap();
    s.on(Event::SocketClosed { socket: second });
    let fx = s.on(Event::HealthChecked { ok: true });
    assert_eq!(readies(&fx), 1);
    let fx = s
        .send(OutKind::Resume {
            reply_id: "r".into(),
            after_seq: 2,
        })
        .unwrap();
    assert_eq!(fx[0], reply_stream("r", 2));
}

#[test]
fn stopping_during_a_resume_drops_its_stream() {
    let mut s = Sim::following("r", 4);
    let fx = s.on(Event::Stop);
    assert!(fx.contains(&Effect::CloseReplyStream { reply_id: "r".into() }));
    assert!(fx.contains(&Effect::CloseLive));
    assert!(s.token("r", 5).is_empty());
    assert!(s.fire(TimerKind::SseStall("r".into())).is_empty());
}

#[test]
fn a_stop_frame_during_a_resume_keeps_following_until_complete() {
    let mut s = Sim::following("r", 4);
    let fx = s.send(OutKind::Stop { reply_id: "r".into() }).unwrap();
    assert_eq!(fx, vec![Effect::HttpStop { reply_id: "r".into() }]);
    assert_eq!(delivered(&s.token("r", 5)).len(), 1);
    let fx = s.on(Event::ReplyFrame {
        reply_id: "r".into(),
        frame: complete("r"),
    });
    assert!(fx.contains(&Effect::CloseReplyStream { reply_id: "r".into() }));
    assert_eq!(delivered(&fx).len(), 1);
}

#[test]
fn a_reply_followed_over_sse_resumes_on_the_websocket_from_what_was_shown() {
    use crate::assembler::{Assembler, Verdict};
    let mut a = Assembler::new();
    a.expect("r");
    let mut s = Sim::following("r", 0);
    for seq in 1..=3 {
        assert_eq!(delivered(&s.token("r", seq)).len(), 1);
        assert_eq!(a.token("r", seq, "x"), Verdict::Accepted);
    }
    let probe = opened(&s.fire(TimerKind::Upgrade)).unwrap();
    assert_eq!(readies(&s.auth(probe)), 1);
    // On Ready the owner asks for everything after what it shows, once.
    let resumes = a.reconnected();
    assert_eq!(resumes, vec![("r".to_string(), 3)]);
    for (reply_id, after_seq) in resumes {
        let fx = s.send(OutKind::Resume { reply_id, after_seq }).unwrap();
        assert!(matches!(&fx[..], [Effect::SocketSend { socket, .. }] if *socket == probe));
    }
    // The WebSocket then delivers 4 onwards, which the assembler takes.
    let fx = s.on(Event::SocketFrame {
        socket: probe,
        kind: FrameKind::Other,
        text: token("r", 4).text,
    });
    assert_eq!(delivered(&fx), vec![token("r", 4).text]);
    assert_eq!(a.token("r", 4, "x"), Verdict::Accepted);
}
