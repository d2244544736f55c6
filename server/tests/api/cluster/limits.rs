//! Limits that hold across nodes.

use std::time::Duration;

use serde_json::{json, Value};
use testkit::ws::WsClient;
use testkit::Behaviour;

use super::node::{tokens_until_complete, Deployment};

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
