//! A node that dies: its replies are marked `interrupted` by another node within
//! 15 s (leases, contract §8), and listeners elsewhere get `complete`.

use std::time::{Duration, Instant};

use serde_json::json;
use testkit::Behaviour;

use super::node::{tokens_until_complete, until_seq, Deployment};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn killing_a_node_mid_stream_interrupts_its_reply_within_15_s() {
    let Some(d) = Deployment::new().await else { return };
    let (mut n1, n2) = (d.node().await, d.node().await);
    let (token, user) = n1.register().await;
    let mut sender = n1.ws(&token).await;
    d.subscribed(&d.prefix, &user, 1).await;
    d.upstream
        .push(Behaviour::tokens(3000).delay(Duration::ZERO, Duration::from_millis(10)));
    let ack = sender.message("long", None, None).await;
    let reply_id = ack["reply_id"].as_str().unwrap().to_string();
    let session = ack["session_id"].as_str().unwrap().to_string();

    // Node 2 listens: joined to the conversation, following the reply from 0.
    let mut listener = n2.ws(&token).await;
    listener.send(json!({"type": "join", "session_id": session})).await;
    listener.recv_type("joined").await;
    listener
        .send(json!({"type": "resume", "reply_id": reply_id, "after_seq": 0}))
        .await;
    // Past a checkpoint (once a second) before the kill.
    until_seq(&mut listener, &reply_id, 150).await;
    n1.kill().await;
    let killed = Instant::now();

    let (_, _, complete) =
        tokio::time::timeout(Duration::from_secs(20), tokens_until_complete(&mut listener, &reply_id))
            .await
            .expect("complete reaches node 2's listener");
    let took = killed.elapsed();
    println!(
        "interrupted reply's complete reached node 2 {:.1} s after kill -9",
        took.as_secs_f64()
    );
    assert!(took < Duration::from_secs(15), "took {took:?}");
    assert_eq!(complete["metadata"]["finish_reason"], "interrupted", "{complete}");
    let (status, content) = d.stored(&reply_id).await;
    assert_eq!(status, "interrupted");
    assert_eq!(complete["response"].as_str().unwrap(), content, "the checkpointed text");
    assert!(!content.is_empty(), "a checkpoint was stored before the kill");
}

/// Redis unreachable: the node still starts and serves its own connections,
/// and `/ready` and `/metrics` say it runs degraded.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_redis_a_node_serves_its_own_connections_degraded() {
    let Some(d) = Deployment::new().await else { return };
    let closed = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    let url = format!("redis://127.0.0.1:{closed}");
    let n = d.node_with(&d.prefix, &[("REDIS_URL", url.as_str())]).await;
    let (token, _) = n.register().await;
    let mut ws = n.ws(&token).await;
    let reply = Behaviour::tokens(30);
    let expected = reply.text();
    d.upstream.push(reply);
    let ack = ws.message("still here?", None, None).await;
    let (seqs, _, complete) = tokens_until_complete(&mut ws, ack["reply_id"].as_str().unwrap()).await;
    assert_eq!(seqs, (1..=30).collect::<Vec<_>>());
    assert_eq!(complete["response"], expected.as_str());

    let ready = n.http.get(n.url("/ready")).send().await.unwrap();
    assert_eq!(ready.status(), 200);
    let ready: serde_json::Value = ready.json().await.unwrap();
    assert_eq!(ready["status"], "degraded", "{ready}");
    assert_eq!(ready["redis"], "unavailable", "{ready}");
    let metrics = n
        .http
        .get(n.url("/metrics"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(metrics.lines().any(|l| l == "brook_redis_up 0"), "{metrics}");
}
