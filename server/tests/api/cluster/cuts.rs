//! Streams closed on every node, not only on the node that took the request
//! (issue 13: every guarantee of the contract holds across nodes): a logout, a
//! revoked API key and a deleted bot close their streams on the other node
//! too, and a logged-out token is refused there at once (before, node 2 kept
//! the WebSocket open and accepted the token until it restarted).

use std::time::Duration;

use serde_json::{json, Value};
use testkit::ws::WsClient;

use super::node::Deployment;
use super::people::{two_nodes, visitor_ws, Cast};

/// Waits for `ws` to be closed by the server with `code`.
async fn closed_with(ws: &mut WsClient, code: u16, what: &str) {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    while ws.closed.is_none() {
        let left = deadline.saturating_duration_since(tokio::time::Instant::now());
        if ws.recv_within(left).await.is_none() && ws.closed.is_none() {
            panic!("{what}: node 2 did not close the WebSocket (with a close frame) within 10 s");
        }
    }
    assert_eq!(ws.closed, Some(code), "{what}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn logout_key_revocation_and_bot_deletion_reach_every_node() {
    let Some(d) = Deployment::new().await else { return };
    let (n1, n2) = two_nodes(&d).await;
    d.channel_subscribers(&format!("{}stop", d.prefix), 2).await;

    // A logout on node 1: node 2 closes the token's WebSocket and refuses it.
    let (token, _) = n1.register().await;
    let mut ws = n2.ws(&token).await;
    let r = n1.post("/api/v1/auth/logout", Some(&token), json!({})).await;
    assert_eq!(r.status(), 204);
    closed_with(&mut ws, 1008, "logout").await;
    let me = n2.get("/api/v1/auth/me", Some(&token)).await;
    assert_eq!(me.status(), 401, "node 2 refuses the logged-out token");

    // An API key revoked on node 1: its WebSocket on node 2 closes.
    let (user, _) = n1.register().await;
    let key: Value = n1
        .post("/api/v1/keys", Some(&user), json!({"name": "ci"}))
        .await
        .json()
        .await
        .unwrap();
    let mut ws = n2.ws(key["key"].as_str().expect("a key")).await;
    let r = n1
        .delete(&format!("/api/v1/keys/{}", key["id"].as_str().unwrap()), Some(&user))
        .await;
    assert_eq!(r.status(), 204);
    closed_with(&mut ws, 1008, "key revocation").await;

    // A bot deleted on node 1: its visitor's WebSocket on node 2 closes.
    let c = Cast::new(&n1).await;
    let (mut ws, _) = visitor_ws(&d, &n2, &c, 1).await;
    let r = n1.delete(&format!("/api/v1/bots/{}", c.bot_id), Some(&c.owner)).await;
    assert_eq!(r.status(), 204);
    closed_with(&mut ws, 1008, "bot deletion").await;
}
