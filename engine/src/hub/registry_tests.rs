//! Tests of the registry (a file of their own to keep registry.rs short).
use super::*;

fn who(user: &str, jti: &str, visitor_bot: Option<&str>) -> Identity {
    Identity {
        user_id: user.into(),
        role: if visitor_bot.is_some() {
            protocol::objects::Role::Visitor
        } else {
            protocol::objects::Role::User
        },
        bot_id: visitor_bot.map(str::to_string),
        jti: jti.into(),
        exp: 0,
    }
}

fn frame(s: &str) -> Event {
    Event::Frame {
        frame: s.to_string().into(),
        name: "x",
        origin: None,
    }
}

#[tokio::test]
async fn limits_routes_and_unregisters() {
    let r = Registry::new(2);
    let mut a = r.register(&who("alice", "t1", None), Transport::WebSocket).unwrap();
    let mut b = r.register(&who("alice", "t1", None), Transport::WebSocket).unwrap();
    assert!(r.register(&who("alice", "t1", None), Transport::WebSocket).is_err());
    let _c = r.register(&who("bob", "t2", None), Transport::WebSocket).unwrap();
    r.join(a.id, "s1");
    r.publish_conversation("alice", "s1", frame("1"));
    r.publish_conversation("bob", "s1", frame("other owner"));
    r.publish_owner("alice", frame("2"));
    let expect = |got: Arc<Event>, want: &str| {
        assert!(matches!(&*got, Event::Frame { frame, .. } if frame.as_str() == want));
    };
    expect(a.inbox.recv().await.unwrap(), "1");
    expect(a.inbox.recv().await.unwrap(), "2");
    expect(b.inbox.recv().await.unwrap(), "2");
    assert!(a.inbox.try_recv().is_err());
    drop(b);
    assert!(r.register(&who("alice", "t1", None), Transport::WebSocket).is_ok());
    drop(a);
    assert_eq!(r.connections(), 1);
}

#[tokio::test]
async fn a_full_inbox_marks_the_connection_slow() {
    let r = Registry::new(0);
    let a = r.register(&who("alice", "t1", None), Transport::WebSocket).unwrap();
    for _ in 0..INBOX_CAPACITY + 1 {
        r.publish_owner("alice", frame("x"));
    }
    assert!(a.slow.is_cancelled());
}

#[test]
fn cutting_a_token_or_a_bot_closes_only_its_connections() {
    let r = Registry::new(0);
    let a1 = r.register(&who("alice", "ta", None), Transport::WebSocket).unwrap();
    let a2 = r.register(&who("alice", "ta", None), Transport::WebSocket).unwrap();
    let other_device = r.register(&who("alice", "tb", None), Transport::WebSocket).unwrap();
    let v1 = r
        .register(&who("v1", "tv1", Some("bot1")), Transport::WebSocket)
        .unwrap();
    let v2 = r
        .register(&who("v2", "tv2", Some("bot2")), Transport::WebSocket)
        .unwrap();
    assert_eq!(r.cut_token("ta"), 2);
    assert!(a1.cut.is_cancelled() && a2.cut.is_cancelled());
    assert!(!other_device.cut.is_cancelled());
    assert_eq!(r.cut_bot_visitors("bot1"), 1);
    assert!(v1.cut.is_cancelled());
    assert!(!v2.cut.is_cancelled());
    assert_eq!(r.cut_token("unknown"), 0);
}

/// Records what the registry tells the cluster about connections.
#[derive(Default)]
struct Recorder(Mutex<Vec<String>>);

impl ClusterHook for Recorder {
    fn forward(&self, _to: Target<'_>, _event: &Event) {}
    fn follow_owner(&self, owner: &str, on: bool) {
        self.0.lock().unwrap().push(format!("follow {owner} {on}"));
    }
    fn follow_bot(&self, _bot: &str, _on: bool) {}
    fn connection_closed(&self, owner: &str, conn: ConnId) {
        self.0.lock().unwrap().push(format!("closed {owner} {conn}"));
    }
}

#[tokio::test]
async fn the_cluster_hears_of_every_closed_connection() {
    let r = Registry::new(0);
    let hook = Arc::new(Recorder::default());
    r.set_cluster(hook.clone());
    let a = r.register(&who("alice", "t1", None), Transport::WebSocket).unwrap();
    let b = r.register(&who("alice", "t1", None), Transport::Sse).unwrap();
    let (a_id, b_id) = (a.id, b.id);
    drop(a);
    drop(b);
    assert_eq!(
        *hook.0.lock().unwrap(),
        vec![
            "follow alice true".to_string(),
            format!("closed alice {a_id}"),
            format!("closed alice {b_id}"),
            "follow alice false".to_string(),
        ]
    );
}
