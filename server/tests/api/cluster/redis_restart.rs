//! Redis going away and coming back, simulated by a TCP relay between the nodes
//! and the machine's Redis (the shared Redis itself is not restarted): the relay
//! drops every connection and refuses new ones for a while.

use std::time::Duration;

use serde_json::json;
use testkit::proxy::TcpProxy;
use testkit::Behaviour;

use super::node::{redis_url, tokens_until_complete, Deployment};

/// A proxy in front of the machine's Redis.
async fn relay() -> TcpProxy {
    let target = url::Url::parse(&redis_url()).expect("BROOK_TEST_REDIS_URL is a URL");
    let host = target.host_str().unwrap_or("127.0.0.1");
    TcpProxy::start(format!("{host}:{}", target.port().unwrap_or(6379))).await
}

/// Cuts every connection and refuses new ones for `outage`.
async fn restart(relay: &TcpProxy, outage: Duration) {
    relay.cut();
    tokio::time::sleep(outage).await;
    relay.restore();
}

/// After Redis comes back, cross-node delivery resumes by itself (the nodes
/// reconnect and resubscribe), with every seq once; no node exits, and while
/// Redis is away `/ready` says degraded.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn delivery_recovers_after_redis_restarts() {
    let Some(d) = Deployment::new().await else { return };
    let relay = relay().await;
    let via = [("REDIS_URL", format!("redis://{}", relay.addr()))];
    let via: Vec<(&str, &str)> = via.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let (n1, n2) = (d.node_with(&d.prefix, &via).await, d.node_with(&d.prefix, &via).await);
    let (token, user) = n1.register().await;
    let mut sender = n1.ws(&token).await;
    d.upstream.push(Behaviour::tokens(3));
    let first = sender.message("hello", None, None).await;
    let session = first["session_id"].as_str().unwrap().to_string();
    tokens_until_complete(&mut sender, first["reply_id"].as_str().unwrap()).await;
    let mut joined = n2.ws(&token).await;
    d.subscribed(&d.prefix, &user, 2).await;
    joined.send(json!({"type": "join", "session_id": session})).await;
    joined.recv_type("joined").await;

    let outage = restart(&relay, Duration::from_secs(3));
    let during = async {
        tokio::time::sleep(Duration::from_millis(2000)).await;
        let r: serde_json::Value = n2
            .http
            .get(n2.url("/ready"))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        r
    };
    let ((), ready) = tokio::join!(outage, during);
    assert_eq!(ready["status"], "degraded", "{ready}");

    // Back: both nodes resubscribe by themselves.
    d.subscribed(&d.prefix, &user, 2).await;
    let reply = Behaviour::tokens(60).delay(Duration::ZERO, Duration::from_millis(5));
    let expected = reply.text();
    d.upstream.push(reply);
    let ack = sender.message("after the restart", Some(&session), None).await;
    let reply_id = ack["reply_id"].as_str().unwrap().to_string();
    let got = tokio::time::timeout(Duration::from_secs(20), joined.collect(&reply_id))
        .await
        .expect("the reply reaches node 2 after Redis came back");
    assert_eq!(got.seqs(), (1..=60).collect::<Vec<_>>(), "every seq once, in order");
    assert_eq!(got.response(), expected);
    for n in [&n1, &n2] {
        assert_eq!(n.http.get(n.url("/health")).send().await.unwrap().status(), 200);
    }
}
