//! What happens to the owner's frames in each mode, and the outbox replay
//! after a reconnection (`Ready` once per (re)connection).

use super::*;

fn message(id: &str) -> OutKind {
    OutKind::Message {
        client_id: Some(id.into()),
    }
}

#[test]
fn nothing_is_sent_while_not_connected() {
    let (mut s, id) = Sim::started();
    assert_eq!(s.send(message("a")), Err(NotConnected), "connecting");
    s.auth(id);
    s.on(Event::SocketClosed { socket: id });
    assert_eq!(s.m.status().state, ConnState::Reconnecting);
    assert_eq!(s.send(message("a")), Err(NotConnected), "reconnecting");
    s.on(Event::Offline);
    assert_eq!(s.send(message("a")), Err(NotConnected), "offline");
}

#[test]
fn on_the_websocket_every_frame_goes_as_is() {
    let (mut s, id) = Sim::connected();
    for kind in [message("a"), OutKind::Other, OutKind::Unparsable, OutKind::Leave] {
        let text = format!("{kind:?}");
        assert_eq!(s.send(kind), Ok(vec![Effect::SocketSend { socket: id, text }]));
    }
}

#[test]
fn on_sse_frames_become_http_requests_or_streams() {
    let (mut s, _) = Sim::on_sse();
    let fx = s.send(message("a")).unwrap();
    assert!(matches!(
        &fx[..],
        [Effect::HttpSend { route: HttpRoute::Messages, client_id: Some(c), .. }] if c == "a"
    ));
    let fx = s.send(OutKind::Regenerate { client_id: None }).unwrap();
    assert!(matches!(
        &fx[..],
        [Effect::HttpSend {
            route: HttpRoute::Regenerate,
            ..
        }]
    ));
    assert_eq!(s.send(OutKind::Other), Ok(vec![]), "typing has no HTTP form");
    assert_eq!(s.send(OutKind::Unparsable), Err(NotConnected));
    let join = OutKind::Join {
        session_id: "s1".into(),
    };
    assert_eq!(
        s.send(join.clone()),
        Ok(vec![Effect::OpenLive {
            session_id: Some("s1".into())
        }])
    );
    assert_eq!(s.send(join), Ok(vec![]), "already joined");
    assert_eq!(s.send(OutKind::Leave), Ok(vec![Effect::OpenLive { session_id: None }]));
}

#[test]
fn in_poll_mode_frames_go_over_http_and_no_live_stream_opens() {
    let mut s = Sim::following("r", 0);
    s.on(Event::ReplyStreamUnavailable { reply_id: "r".into() });
    assert_eq!(s.m.status().mode, Mode::Poll);
    let fx = s.send(message("a")).unwrap();
    assert!(matches!(&fx[..], [Effect::HttpSend { .. }]));
    assert_eq!(
        s.send(OutKind::Join {
            session_id: "s2".into()
        }),
        Ok(vec![])
    );
}

/// The owner's side of the outbox: frames kept while not connected, sent in
/// order on `Ready`.
struct Owner {
    outbox: Vec<OutKind>,
    sent: Vec<Effect>,
    readies: usize,
}

impl Owner {
    fn send(&mut self, s: &mut Sim, kind: OutKind) {
        match s.send(kind.clone()) {
            Ok(fx) => self.sent.extend(fx),
            Err(NotConnected) => self.outbox.push(kind),
        }
    }

    fn carry(&mut self, s: &mut Sim, fx: Vec<Effect>) {
        for e in fx {
            if e == Effect::Ready {
                self.readies += 1;
                for kind in std::mem::take(&mut self.outbox) {
                    self.send(s, kind);
                }
            }
        }
    }
}

#[test]
fn the_outbox_is_replayed_once_after_each_reconnection() {
    let (mut s, mut id) = Sim::started();
    let mut o = Owner {
        outbox: Vec::new(),
        sent: Vec::new(),
        readies: 0,
    };
    for round in 0..3 {
        o.send(&mut s, message(&format!("{round}a")));
        o.send(&mut s, message(&format!("{round}b")));
        assert_eq!(o.outbox.len(), 2, "round {round}: kept while not connected");
        let fx = s.auth(id);
        o.carry(&mut s, fx);
        assert_eq!(o.readies, round + 1, "Ready once per connection");
        assert!(o.outbox.is_empty());
        let texts: Vec<_> = o.sent.drain(..).collect();
        assert_eq!(
            texts,
            vec![
                Effect::SocketSend {
                    socket: id,
                    text: format!("{:?}", message(&format!("{round}a")))
                },
                Effect::SocketSend {
                    socket: id,
                    text: format!("{:?}", message(&format!("{round}b")))
                },
            ]
        );
        let fx = s.on(Event::SocketClosed { socket: id });
        o.carry(&mut s, fx);
        let fx = s.fire(TimerKind::Reconnect);
        id = opened(&fx).unwrap();
        o.carry(&mut s, fx);
    }
}

#[test]
fn ready_comes_once_per_transport_switch() {
    let (mut s, fx) = Sim::on_sse();
    assert_eq!(readies(&fx), 1, "on falling back");
    let probe = opened(&s.fire(TimerKind::Upgrade)).unwrap();
    assert_eq!(readies(&s.auth(probe)), 1, "on moving back");
    // SSE giving way to polling is not a reconnection: replies move by themselves.
    let mut s = Sim::following("r", 0);
    let fx = s.on(Event::ReplyStreamUnavailable { reply_id: "r".into() });
    assert_eq!(readies(&fx), 0);
}
