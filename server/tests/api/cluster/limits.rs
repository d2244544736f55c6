//! Limits that hold across nodes.

use std::time::Duration;

use serde_json::{json, Value};
use testkit::ws::WsClient;
use testkit::Behaviour;

use super::node::{tokens_until_complete, Deployment, Node};

/// Sends a message and waits for its `ack` (and the reply's `complete`) or an error.
async fn send(ws: &mut WsClient, session: Option<&str>) -> Result<Value, Value> {
    ws.send(json!({"type": "message", "message": "hi", "session_id": session}))
        .await;
    loop {
        let f = ws.recv().await.expect("an answer");
        match f["type"].as_str() {
            Some("ack") => {
                tokens_until_complete(ws, f["reply_id"].as_str().unwrap()).await;
                return Ok(f);
            }
            Some("error") => return Err(f),
            _ => {}
        }
    }
}

/// The rate limit + 1 messages spread over two nodes: exactly one `RATE_LIMITED`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_rate_limit_counts_messages_on_every_node() {
    let Some(d) = Deployment::new().await else { return };
    let limit = [("BROOK_RATE_LIMIT_PER_MIN", "6")];
    let (n1, n2) = (
        d.node_with(&d.prefix, &limit).await,
        d.node_with(&d.prefix, &limit).await,
    );
    d.upstream.set_default(Behaviour::tokens(2));
    let (token, _) = n1.register().await;
    let (mut a, mut b) = (n1.ws(&token).await, n2.ws(&token).await);
    // The limit counts per minute window: start well inside one.
    let secs = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    if secs % 60 > 45 {
        tokio::time::sleep(Duration::from_secs(61 - secs % 60)).await;
    }
    let first = send(&mut a, None).await.expect("first message");
    let session = first["session_id"].as_str().unwrap().to_string();
    let mut refused = Vec::new();
    for i in 1..7 {
        let ws = if i % 2 == 0 { &mut a } else { &mut b };
        if let Err(e) = send(ws, Some(&session)).await {
            refused.push((i, e));
        }
    }
    assert_eq!(refused.len(), 1, "{refused:?}");
    let (i, e) = &refused[0];
    assert_eq!(*i, 6, "the seventh message is the one refused");
    assert_eq!(e["code"], "RATE_LIMITED", "{e}");
    // Each node alone would have let all seven through (4 + 3 < 6 + 6).
}

/// The sign-in budget per address (`BROOK_AUTH_RATE_LIMIT_PER_MIN`) counts
/// registrations on every node: spread over two nodes, the fifth of a budget
/// of four is refused (each node alone would have let all five through).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_sign_in_budget_counts_calls_on_every_node() {
    let Some(d) = Deployment::new().await else { return };
    let limit = [("BROOK_AUTH_RATE_LIMIT_PER_MIN", "4")];
    let (n1, n2) = (
        d.node_with(&d.prefix, &limit).await,
        d.node_with(&d.prefix, &limit).await,
    );
    // The budget counts per minute window: start well inside one.
    let secs = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    if secs % 60 > 50 {
        tokio::time::sleep(Duration::from_secs(61 - secs % 60)).await;
    }
    let mut statuses = Vec::new();
    for i in 0..5 {
        let node = if i % 2 == 0 { &n1 } else { &n2 };
        let r = node
            .http
            .post(node.url("/api/v1/auth/register"))
            .json(&json!({"email": format!("b{i}@example.com"), "password": "correct horse battery"}))
            .send()
            .await
            .unwrap();
        statuses.push(r.status().as_u16());
    }
    assert_eq!(
        statuses,
        [201, 201, 201, 201, 429],
        "the fifth sign-in over two nodes is refused"
    );
}

/// A fourth connection of an identity, over `?token=` (refused with HTTP 429)
/// or frame auth (`auth_error` with `RATE_LIMITED`): `Ok` when accepted.
async fn connect(node: &Node, token: &str, frame_auth: bool) -> Result<WsClient, String> {
    if !frame_auth {
        let url = format!("ws://{}/ws/chat?token={token}", node.addr);
        return match WsClient::connect(&url).await {
            Ok(mut ws) => {
                let first = ws.recv().await.expect("auth answer");
                assert_eq!(first["type"], "auth_success", "{first}");
                Ok(ws)
            }
            Err(tokio_tungstenite::tungstenite::Error::Http(res)) => {
                assert_eq!(res.status(), 429, "the contract's refusal of an upgrade (§3.1)");
                Err("429".into())
            }
            Err(e) => panic!("unexpected error {e}"),
        };
    }
    let mut ws = WsClient::connect(&format!("ws://{}/ws/chat", node.addr))
        .await
        .expect("websocket connects");
    ws.send(json!({"type": "auth", "token": token})).await;
    let answer = ws.recv().await.expect("auth answer");
    match answer["type"].as_str() {
        Some("auth_success") => Ok(ws),
        _ => {
            assert_eq!(answer["type"], "auth_error", "{answer}");
            assert_eq!(
                answer["code"], "RATE_LIMITED",
                "the contract's refusal of frame auth (§3.1)"
            );
            Err("auth_error".into())
        }
    }
}

/// Tries to connect until accepted; how long it took.
async fn connect_within(node: &Node, token: &str, wait: Duration) -> (WsClient, Duration) {
    let started = tokio::time::Instant::now();
    loop {
        if let Ok(ws) = connect(node, token, true).await {
            return (ws, started.elapsed());
        }
        assert!(started.elapsed() < wait, "no place freed within {wait:?}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// `BROOK_MAX_CONNECTIONS_PER_IDENTITY=3` with connections on two nodes: the
/// fourth is refused on either node, over both ways of authenticating, and
/// closing one on one node frees a place on the other.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_connection_limit_counts_connections_on_every_node() {
    let Some(d) = Deployment::new().await else { return };
    let cap = [("BROOK_MAX_CONNECTIONS_PER_IDENTITY", "3")];
    let (n1, n2) = (d.node_with(&d.prefix, &cap).await, d.node_with(&d.prefix, &cap).await);
    let (token, _) = n1.register().await;
    let a = n1.ws(&token).await;
    let _b = n1.ws(&token).await;
    let _c = n2.ws(&token).await;
    // Each node alone has room (2 < 3 and 1 < 3): only the cluster count refuses.
    for (node, frame_auth) in [(&n2, true), (&n2, false), (&n1, true), (&n1, false)] {
        assert!(
            connect(node, &token, frame_auth).await.is_err(),
            "a fourth connection on {} (frame auth: {frame_auth}) was accepted",
            node.addr
        );
    }
    // An SSE stream counts the same way (contract §1: WebSocket/SSE connections).
    let sse = n2
        .http
        .get(n2.url("/api/v1/chat/events"))
        .bearer_auth(&token)
        .send()
        .await
        .expect("events answer");
    assert_eq!(sse.status(), 429, "a fourth connection over SSE was accepted");
    let body: Value = sse.json().await.expect("an error body");
    assert_eq!(body["code"], "RATE_LIMITED", "{body}");
    // Another identity is not affected.
    let (other, _) = n2.register().await;
    connect(&n2, &other, false).await.expect("another identity connects");
    a.close().await;
    let (_d, took) = connect_within(&n2, &token, Duration::from_secs(10)).await;
    eprintln!("a place closed on node 1 was free on node 2 after {took:?}");
    assert!(
        connect(&n1, &token, true).await.is_err(),
        "the limit holds again at three"
    );
}

/// A node killed with `kill -9` renews nothing: its connections stop counting
/// within `BROOK_CONNECTION_TTL_SECS` (2 s here), and the other node admits
/// new ones.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_dead_nodes_connections_stop_counting() {
    let Some(d) = Deployment::new().await else { return };
    let env = [
        ("BROOK_MAX_CONNECTIONS_PER_IDENTITY", "2"),
        ("BROOK_CONNECTION_TTL_SECS", "2"),
    ];
    let (mut n1, n2) = (d.node_with(&d.prefix, &env).await, d.node_with(&d.prefix, &env).await);
    let (token, user) = n1.register().await;
    let _a = n1.ws(&token).await;
    let _b = n1.ws(&token).await;
    // Past a heartbeat or two: the connections are renewed while their node lives.
    tokio::time::sleep(Duration::from_millis(2500)).await;
    assert!(
        connect(&n2, &token, true).await.is_err(),
        "two live connections on node 1 count"
    );
    n1.kill().await;
    let (_c, took) = connect_within(&n2, &token, Duration::from_secs(12)).await;
    eprintln!("node 1's connections stopped counting {took:?} after its death (time to live 2 s)");
    assert!(
        took < Duration::from_secs(8),
        "{took:?}: they must stop counting within the time to live"
    );
    let mut redis = d.redis.clone();
    let key = format!("{}{{u:{user}}}:conns", d.prefix);
    let members: Vec<String> = redis::cmd("ZRANGE")
        .arg(&key)
        .arg(0)
        .arg(-1)
        .query_async(&mut redis)
        .await
        .unwrap();
    assert_eq!(members.len(), 1, "the dead node's members are gone: {members:?}");
}

/// Two replies of one identity generating at once on two nodes stop together
/// at `BROOK_DAILY_TOKENS_USER`: each node counts the other's live tokens.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_daily_quota_counts_replies_on_every_node() {
    let Some(d) = Deployment::new().await else { return };
    const LIMIT: u64 = 100;
    let env = [("BROOK_DAILY_TOKENS_USER", "100")];
    let (n1, n2) = (d.node_with(&d.prefix, &env).await, d.node_with(&d.prefix, &env).await);
    // 400 one-token pieces at 25 a second: each reply alone would run 16 s.
    d.upstream
        .set_default(Behaviour::pieces(vec!["abcd".into(); 400]).delay(Duration::ZERO, Duration::from_millis(40)));
    let (token, _) = n1.register().await;
    let (mut a, mut b) = (n1.ws(&token).await, n2.ws(&token).await);
    a.send(json!({"type": "message", "message": "one"})).await;
    b.send(json!({"type": "message", "message": "two"})).await;
    let ends = tokio::join!(complete_of(&mut a), complete_of(&mut b));
    let mut total = 0;
    for c in [&ends.0, &ends.1] {
        assert_eq!(c["metadata"]["finish_reason"], "length", "{c}");
        total += c["metadata"]["usage"]["completion_tokens"].as_u64().unwrap();
    }
    eprintln!("two replies on two nodes used {total} tokens of a daily quota of {LIMIT}");
    // Counted per node each would stop at 100 (200 in all); the other node's
    // part is at most two syncs (2 × 0.5 s, 25 tokens) behind.
    assert!(
        (LIMIT..LIMIT + 60).contains(&total),
        "{total} tokens for a quota of {LIMIT}"
    );
    // The quota is spent on both nodes now.
    for ws in [&mut a, &mut b] {
        let e = send(ws, None).await.expect_err("the quota is spent");
        assert_eq!(e["code"], "QUOTA_EXCEEDED", "{e}");
    }
}

/// The `complete` of the reply to the message just sent.
async fn complete_of(ws: &mut WsClient) -> Value {
    loop {
        let f = ws.recv().await.expect("an answer");
        match f["type"].as_str() {
            Some("ack") => return tokens_until_complete(ws, f["reply_id"].as_str().unwrap()).await.2,
            Some("error") => panic!("{f}"),
            _ => {}
        }
    }
}
