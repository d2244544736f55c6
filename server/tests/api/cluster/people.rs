//! People in the loop across nodes (contract §9, issue 14): the bot's owner on
//! node 1 and its visitor on node 2, for hand-off, presence, read receipts and
//! feedback. Presence runs with a 1 s grace period (`BROOK_PRESENCE_GRACE_SECS`).

use std::time::Duration;

use serde_json::{json, Value};
use testkit::ws::WsClient;
use testkit::Behaviour;

use super::node::{Deployment, Node};
use crate::people::{frame_within, Sse, SITE};

const GRACE: &str = "1";

/// The owner (registered on `n`, named "Test"), a widget bot allowed on
/// [`SITE`], and one visitor of it.
pub(super) struct Cast {
    pub(super) owner: String,
    owner_id: String,
    pub(super) bot_id: String,
    visitor: String,
    visitor_id: String,
}

impl Cast {
    pub(super) async fn new(n: &Node) -> Cast {
        let (owner, owner_id) = n.register().await;
        let r = n
            .http
            .post(n.url("/api/v1/bots"))
            .bearer_auth(&owner)
            .json(&json!({"name": "Shop helper", "widget": {"enabled": true, "allowed_origins": [SITE]}}))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 201);
        let bot: Value = r.json().await.unwrap();
        let v: Value = n
            .http
            .post(n.url("/api/v1/widget/session"))
            .header("Origin", SITE)
            .json(&json!({"bot_key": bot["widget"]["public_key"]}))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        Cast {
            owner,
            owner_id,
            bot_id: bot["id"].as_str().unwrap().to_string(),
            visitor: v["token"].as_str().expect("a visitor token").to_string(),
            visitor_id: v["visitor_id"].as_str().unwrap().to_string(),
        }
    }

    fn path(&self, session: &str, what: &str) -> String {
        format!(
            "/api/v1/bots/{}/visitors/{}/conversations/{session}/{what}",
            self.bot_id, self.visitor_id
        )
    }

    /// `POST` as the owner on node `n`; returns the status and the JSON body (or null).
    async fn post(&self, n: &Node, path: &str, body: Value) -> (u16, Value) {
        let r = n.post(path, Some(&self.owner), body).await;
        let status = r.status().as_u16();
        (status, r.json().await.unwrap_or(Value::Null))
    }

    /// The owner's events stream for the bot on node `n`, once `n` follows the bot.
    async fn events(&self, d: &Deployment, n: &Node, followers: i64) -> Sse {
        let url = n.url(&format!("/api/v1/bots/{}/events?token={}", self.bot_id, self.owner));
        let sse = Sse::connect(&reqwest::Client::new(), &url).await;
        d.channel_subscribers(&format!("{}b:{}", d.prefix, self.bot_id), followers)
            .await;
        sse
    }

    /// The visitor's item in the owner's list, read on node `n`.
    async fn item(&self, n: &Node) -> Value {
        let r = n
            .get(
                &format!("/api/v1/bots/{}/conversations", self.bot_id),
                Some(&self.owner),
            )
            .await;
        assert_eq!(r.status(), 200);
        let l: Value = r.json().await.unwrap();
        l["conversations"][0].clone()
    }
}

pub(super) async fn two_nodes(d: &Deployment) -> (Node, Node) {
    let env = [("BROOK_PRESENCE_GRACE_SECS", GRACE)];
    (d.node_with(&d.prefix, &env).await, d.node_with(&d.prefix, &env).await)
}

/// A visitor's WebSocket on `n`: `auth_success`, then the owner's availability.
pub(super) async fn visitor_ws(d: &Deployment, n: &Node, c: &Cast, nodes: i64) -> (WsClient, Value) {
    let mut ws = n.ws(&c.visitor).await;
    let p = frame_within(&mut ws, "presence", Duration::from_secs(10))
        .await
        .expect("the owner's presence after auth_success");
    assert_eq!(p["actor"], "operator", "{p}");
    d.subscribed(&d.prefix, &c.visitor_id, nodes).await;
    (ws, p)
}

/// The owner takes over on node 1 while the AI streams on node 2: the visitor
/// on node 2 sees the reply stop, `handoff`, the operator typing and their
/// message; handed back, the next visitor message gets an AI reply.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hand_off_across_nodes() {
    let Some(d) = Deployment::new().await else { return };
    let (n1, n2) = two_nodes(&d).await;
    let c = Cast::new(&n1).await;
    let (mut ws, _) = visitor_ws(&d, &n2, &c, 1).await;
    d.upstream
        .push(Behaviour::tokens(300).delay(Duration::ZERO, Duration::from_millis(20)));
    let ack = ws.message("I want a refund", Some("s1"), None).await;
    let reply_id = ack["reply_id"].as_str().expect("an AI reply").to_string();
    assert_eq!(ws.recv_type("token").await["reply_id"], reply_id.as_str());

    let (s, conv) = c.post(&n1, &c.path("s1", "handoff"), json!({"mode": "human"})).await;
    assert_eq!((s, conv["mode"].as_str()), (200, Some("human")), "{conv}");
    let done = ws.collect(&reply_id).await;
    let complete = done.complete.expect("complete");
    assert_eq!(complete["metadata"]["finish_reason"], "stopped", "{complete}");
    assert!(done.tokens.len() < 300, "stopped early: {}", done.tokens.len());
    let h = match done.frames.iter().find(|f| f["type"] == "handoff") {
        Some(h) => h.clone(),
        None => frame_within(&mut ws, "handoff", Duration::from_secs(5))
            .await
            .expect("handoff"),
    };
    assert_eq!(
        (h["mode"].as_str(), h["operator"]["name"].as_str()),
        (Some("human"), Some("Test"))
    );
    let (status, _) = d.stored(&reply_id).await;
    assert_eq!(status, "stopped");

    let (s, _) = c.post(&n1, &c.path("s1", "typing"), json!({"is_typing": true})).await;
    assert_eq!(s, 204);
    // (The stopped reply's `typing` false of the assistant may still be on its way.)
    let t = loop {
        let t = frame_within(&mut ws, "typing", Duration::from_secs(5))
            .await
            .expect("the operator's typing");
        if t["actor"] != "assistant" {
            break t;
        }
    };
    assert_eq!(
        (t["actor"].as_str(), t["is_typing"].as_bool()),
        (Some("operator"), Some(true))
    );
    let (s, m) = c
        .post(&n1, &c.path("s1", "messages"), json!({"message": "Hi, Ada here."}))
        .await;
    assert_eq!(s, 201, "{m}");
    let added = frame_within(&mut ws, "message_added", Duration::from_secs(5))
        .await
        .expect("the operator's message");
    assert_eq!(added["message"]["id"], m["id"]);
    assert_eq!(added["message"]["role"], "operator");

    let (s, conv) = c.post(&n1, &c.path("s1", "handoff"), json!({"mode": "ai"})).await;
    assert_eq!((s, conv["mode"].as_str()), (200, Some("ai")));
    let h = frame_within(&mut ws, "handoff", Duration::from_secs(5))
        .await
        .expect("handoff back");
    assert!(h["operator"].is_null(), "{h}");
    d.upstream.push(Behaviour::tokens(5));
    let ack = ws.message("and now?", Some("s1"), None).await;
    let again = ack["reply_id"].as_str().expect("the AI answers again").to_string();
    let done = ws.collect(&again).await;
    assert_eq!(done.complete.expect("complete")["metadata"]["finish_reason"], "stop");
}

/// Next `presence` of `actor` on the owner's stream.
async fn next_presence(owner: &mut Sse, wait: Duration) -> Option<Value> {
    owner.next_within("presence", wait).await
}

fn status(p: &Value) -> (&str, &str) {
    (p["actor"].as_str().unwrap_or(""), p["status"].as_str().unwrap_or(""))
}

/// A visitor on node 2 (and briefly node 1) as the owner on node 1 sees it:
/// online, away only when every tab on every node is away, offline after the
/// grace period; the list agrees on both nodes; the owner's own presence
/// reaches the visitor on the other node.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn presence_across_nodes() {
    let Some(d) = Deployment::new().await else { return };
    let (n1, n2) = two_nodes(&d).await;
    let c = Cast::new(&n1).await;
    let mut owner = c.events(&d, &n1, 1).await;
    let (mut ws, p) = visitor_ws(&d, &n2, &c, 1).await;
    assert_eq!(
        status(&p),
        ("operator", "online"),
        "the owner follows the bot on node 1: {p}"
    );
    let p = owner.next("presence").await;
    assert_eq!(status(&p), ("visitor", "online"), "{p}");
    assert_eq!(p["visitor_id"], c.visitor_id.as_str());
    // A conversation, so that the visitor is in the list.
    d.upstream.push(Behaviour::tokens(3));
    let ack = ws.message("hello", Some("p1"), None).await;
    ws.collect(ack["reply_id"].as_str().unwrap()).await;
    agree(&c, &n1, &n2, "online").await;

    // A second tab on node 1, visible; the tab on node 2 hides: still online.
    let (mut ws1, _) = visitor_ws(&d, &n1, &c, 2).await;
    ws.send(json!({"type": "presence", "status": "away"})).await;
    assert!(
        next_presence(&mut owner, Duration::from_millis(600)).await.is_none(),
        "a tab on node 1 still shows"
    );
    ws1.send(json!({"type": "presence", "status": "away"})).await;
    assert_eq!(status(&owner.next("presence").await), ("visitor", "away"));
    agree(&c, &n1, &n2, "away").await;
    ws1.send(json!({"type": "presence", "status": "online"})).await;
    assert_eq!(status(&owner.next("presence").await), ("visitor", "online"));
    // Closing the visible tab on node 1 leaves node 2's hidden one: away.
    ws1.close().await;
    assert_eq!(status(&owner.next("presence").await), ("visitor", "away"));

    // Gone: offline after the grace period, not before; once.
    ws.close().await;
    assert!(
        next_presence(&mut owner, Duration::from_millis(500)).await.is_none(),
        "within the grace period"
    );
    let p = owner.next("presence").await;
    assert_eq!(status(&p), ("visitor", "offline"), "{p}");
    agree(&c, &n1, &n2, "offline").await;
    assert!(
        next_presence(&mut owner, Duration::from_millis(1500)).await.is_none(),
        "one offline, from one node"
    );

    // The owner leaves node 1: the visitor on node 2 learns it after the grace.
    let (mut ws, p) = visitor_ws(&d, &n2, &c, 1).await;
    assert_eq!(status(&p), ("operator", "online"));
    drop(owner);
    // (Node 1 notices the closed stream at its next write at the latest: a heartbeat.)
    let p = frame_within(&mut ws, "presence", Duration::from_secs(40))
        .await
        .expect("the owner offline");
    assert_eq!(status(&p), ("operator", "offline"), "{p}");
}

/// The visitor's `visitor_status` is `status` on both nodes, with the same `last_seen_at`.
async fn agree(c: &Cast, n1: &Node, n2: &Node, status: &str) {
    let (a, b) = (c.item(n1).await, c.item(n2).await);
    assert_eq!(a["visitor_id"], c.visitor_id.as_str(), "{a}");
    assert_eq!(a["visitor_status"], status, "node 1: {a}");
    assert_eq!(b["visitor_status"], status, "node 2: {b}");
    assert!(a["last_seen_at"].is_string(), "{a}");
    assert_eq!(a["last_seen_at"], b["last_seen_at"]);
}

/// A node that dies takes its visitors' presence with it: the owner on node 1
/// sees the visitor of the killed node 2 go offline (heartbeat TTL + grace).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_dead_nodes_visitors_go_offline() {
    let Some(d) = Deployment::new().await else { return };
    let (n1, mut n2) = two_nodes(&d).await;
    let c = Cast::new(&n1).await;
    let mut owner = c.events(&d, &n1, 1).await;
    let (_ws, _) = visitor_ws(&d, &n2, &c, 1).await;
    assert_eq!(status(&owner.next("presence").await), ("visitor", "online"));
    let killed = std::time::Instant::now();
    n2.kill().await;
    let p = next_presence(&mut owner, Duration::from_secs(40))
        .await
        .expect("offline after the node died");
    assert_eq!(status(&p), ("visitor", "offline"), "{p}");
    println!("visitor offline {:?} after its node died", killed.elapsed());
}

/// Read receipts and unread counts across nodes, and feedback reaching the owner.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn read_receipts_and_feedback_across_nodes() {
    let Some(d) = Deployment::new().await else { return };
    let (n1, n2) = two_nodes(&d).await;
    let c = Cast::new(&n1).await;
    let mut events = c.events(&d, &n1, 1).await;
    let mut owner_ws = n1.ws(&c.owner).await;
    d.subscribed(&d.prefix, &c.owner_id, 1).await;
    let (mut ws, _) = visitor_ws(&d, &n2, &c, 1).await;
    d.upstream.push(Behaviour::tokens(3));
    let ack = ws.message("is it in stock?", Some("s1"), None).await;
    let (user_msg, reply) = (
        ack["message_id"].as_str().unwrap().to_string(),
        ack["reply_id"].as_str().unwrap().to_string(),
    );
    ws.collect(&reply).await;
    unread(&c, &n1, &n2, 1, 1).await;

    // The owner reads on node 1: the visitor on node 2 sees "Seen".
    let (s, _) = c
        .post(&n1, &c.path("s1", "read"), json!({"message_id": user_msg}))
        .await;
    assert_eq!(s, 204);
    let r = frame_within(&mut ws, "read", Duration::from_secs(5))
        .await
        .expect("read on node 2");
    assert_eq!(
        (r["reader"].as_str(), r["message_id"].as_str()),
        (Some("operator"), Some(user_msg.as_str()))
    );
    let r = frame_within(&mut owner_ws, "read", Duration::from_secs(5))
        .await
        .expect("the owner's other connection");
    assert_eq!(r["visitor_id"], c.visitor_id.as_str());

    // The visitor reads on node 2: the owner's stream on node 1 gets it.
    ws.send(json!({"type": "read", "session_id": "s1", "message_id": reply}))
        .await;
    // (The stream, a connection of the owner's, also got the owner's own read.)
    let r = loop {
        let r = events.next("read").await;
        if r["reader"] != "operator" {
            break r;
        }
    };
    assert_eq!(
        (r["reader"].as_str(), r["message_id"].as_str()),
        (Some("visitor"), Some(reply.as_str()))
    );
    assert_eq!(r["visitor_id"], c.visitor_id.as_str());
    unread(&c, &n1, &n2, 0, 0).await;

    // Feedback given on node 2 reaches the owner's stream on node 1.
    assert!(
        events
            .next_within("conversation_updated", Duration::from_millis(300))
            .await
            .is_none(),
        "quiet before the feedback"
    );
    let r = n2
        .put(
            &format!("/api/v1/messages/{reply}/feedback"),
            Some(&c.visitor),
            json!({"rating": "up"}),
        )
        .await;
    assert_eq!(r.status(), 200);
    let u = events.next("conversation_updated").await;
    assert_eq!(
        (u["visitor_id"].as_str(), u["conversation"]["id"].as_str()),
        (Some(c.visitor_id.as_str()), Some("s1"))
    );
}

/// Unread counts on both nodes: the owner's (visitor messages unread) and the
/// visitor's own (assistant and operator messages unread).
async fn unread(c: &Cast, n1: &Node, n2: &Node, owner: i64, visitor: i64) {
    for n in [n1, n2] {
        assert_eq!(c.item(n).await["unread_count"], owner, "the owner's, on {}", n.addr);
        let r = n.get("/api/v1/conversations", Some(&c.visitor)).await;
        let l: Value = r.json().await.unwrap();
        let s1 = l["conversations"]
            .as_array()
            .and_then(|a| a.iter().find(|x| x["id"] == "s1"))
            .cloned()
            .unwrap_or_else(|| panic!("s1 in {l}"));
        assert_eq!(s1["unread_count"], visitor, "the visitor's, on {}", n.addr);
    }
}

/// A bot created on node 1 passes widget preflights on node 2 too (node 2's
/// cache of allowed origins reloads on a miss).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_bot_made_on_one_node_passes_preflights_on_another() {
    let Some(d) = Deployment::new().await else { return };
    let (n1, n2) = two_nodes(&d).await;
    Cast::new(&n1).await;
    let r = n2
        .http
        .request(reqwest::Method::OPTIONS, n2.url("/api/v1/chat/messages"))
        .header("Origin", SITE)
        .header("Access-Control-Request-Method", "POST")
        .header("Access-Control-Request-Headers", "authorization, content-type")
        .send()
        .await
        .unwrap();
    assert!(r.status().is_success(), "{}", r.status());
    assert_eq!(r.headers()["access-control-allow-origin"], SITE);
}
