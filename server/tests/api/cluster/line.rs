//! A conversation's line of replies across nodes (contract §3.2, §8): order,
//! the queue of four, the per-identity limit, and the drain's hand-over.

use std::time::{Duration, Instant};

use serde_json::{json, Value};
use testkit::ws::WsClient;
use testkit::Behaviour;

use super::node::{tokens_until_complete, until_seq, Deployment};

/// Sends a message; its `ack`, or the `error` that refused it.
async fn ack_or_error(ws: &mut WsClient, text: &str, session: Option<&str>) -> Result<Value, Value> {
    ws.send(json!({"type": "message", "message": text, "session_id": session}))
        .await;
    loop {
        let f = ws.recv().await.expect("an answer");
        match f["type"].as_str() {
            Some("ack") => return Ok(f),
            Some("error") => return Err(f),
            _ => {}
        }
    }
}

fn reply_of(ack: &Value) -> String {
    ack["reply_id"].as_str().unwrap().to_string()
}

/// A slow reply: `n` tokens, 10 ms apart.
fn slow(n: usize) -> Behaviour {
    Behaviour::tokens(n).delay(Duration::ZERO, Duration::from_millis(10))
}

/// A message sent through node 2 while the conversation's reply generates on
/// node 1 is queued behind it: its reply starts after the first completes, and
/// its model request carries the first reply's whole text.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_message_through_another_node_waits_for_the_reply_generating() {
    let Some(d) = Deployment::new().await else { return };
    let (n1, n2) = (d.node().await, d.node().await);
    let (token, user) = n1.register().await;
    let mut a = n1.ws(&token).await;
    d.subscribed(&d.prefix, &user, 1).await;
    let (first, second) = (slow(300), Behaviour::tokens(5));
    let (first_text, second_text) = (first.text(), second.text());
    d.upstream.push(first);
    d.upstream.push(second);
    let ack1 = a.message("first", None, None).await;
    let (r1, session) = (reply_of(&ack1), ack1["session_id"].as_str().unwrap().to_string());
    until_seq(&mut a, &r1, 5).await;

    let mut b = n2.ws(&token).await;
    let r2 = reply_of(
        &ack_or_error(&mut b, "second", Some(&session))
            .await
            .expect("queued, not refused"),
    );
    tokio::time::sleep(Duration::from_millis(600)).await;
    assert_eq!(d.stored(&r1).await.0, "streaming", "the first reply still generates");
    assert_eq!(d.stored(&r2).await.0, "queued", "the second waits for it");
    assert_eq!(d.upstream.started(), 1, "no request for the second reply yet");

    tokens_until_complete(&mut a, &r1).await;
    assert_eq!(d.stored(&r1).await, ("complete".to_string(), first_text.clone()));
    let (seqs, text, complete) = tokio::time::timeout(Duration::from_secs(20), tokens_until_complete(&mut b, &r2))
        .await
        .expect("the second reply completes on node 2");
    assert_eq!(seqs, (1..=5).collect::<Vec<_>>());
    assert_eq!(text, second_text);
    assert_eq!(complete["metadata"]["finish_reason"], "stop");
    assert_eq!(d.stored(&r2).await, ("complete".to_string(), second_text));
    // The second reply saw the whole first one: generated after it, in order.
    let requests = d.upstream.requests();
    assert_eq!(requests.len(), 2);
    let turns = requests[1]["messages"].as_array().expect("messages").clone();
    assert!(
        turns.iter().any(
            |t| t["role"] == "assistant" && t["content"].as_str().map(str::trim_end) == Some(first_text.trim_end())
        ),
        "the second request lacks the first reply's text: {turns:?}"
    );
}

/// One reply generating on node 1 and four waiting, spread over both nodes:
/// the next message is refused (§3.2 `REPLY_IN_PROGRESS`, naming the
/// generating reply) through either node.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_fifth_waiting_reply_over_two_nodes_is_refused() {
    let Some(d) = Deployment::new().await else { return };
    let (n1, n2) = (d.node().await, d.node().await);
    let (token, user) = n1.register().await;
    let (mut a, mut b) = (n1.ws(&token).await, n2.ws(&token).await);
    d.subscribed(&d.prefix, &user, 2).await;
    d.upstream.set_default(Behaviour::tokens(2));
    d.upstream.push(slow(3000));
    let ack = a.message("running", None, None).await;
    let (running, session) = (reply_of(&ack), ack["session_id"].as_str().unwrap().to_string());
    until_seq(&mut a, &running, 3).await;
    for i in 0..4 {
        let ws = if i < 2 { &mut a } else { &mut b };
        ack_or_error(ws, &format!("waiting {i}"), Some(&session))
            .await
            .unwrap_or_else(|e| panic!("waiting message {i} refused: {e}"));
    }
    for ws in [&mut b, &mut a] {
        let e = ack_or_error(ws, "one too many", Some(&session))
            .await
            .expect_err("a fifth waiting message is refused");
        assert_eq!(e["code"], "REPLY_IN_PROGRESS", "{e}");
        assert_eq!(e["reply_id"], running.as_str(), "{e}");
    }
}

/// Replies in flight in four conversations, two on each node: a fifth
/// conversation is refused through either node (§3.2 `RATE_LIMITED`), while a
/// message to one of the four still waits its turn.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_identitys_fifth_conversation_over_two_nodes_is_refused() {
    let Some(d) = Deployment::new().await else { return };
    let (n1, n2) = (d.node().await, d.node().await);
    let (token, user) = n1.register().await;
    let (mut a, mut b) = (n1.ws(&token).await, n2.ws(&token).await);
    d.subscribed(&d.prefix, &user, 2).await;
    d.upstream.set_default(slow(3000));
    let mut sessions = Vec::new();
    for i in 0..4 {
        let ws = if i % 2 == 0 { &mut a } else { &mut b };
        let ack = ack_or_error(ws, &format!("conversation {i}"), None)
            .await
            .unwrap_or_else(|e| panic!("conversation {i} refused: {e}"));
        sessions.push(ack["session_id"].as_str().unwrap().to_string());
    }
    for ws in [&mut b, &mut a] {
        let e = ack_or_error(ws, "a fifth", None)
            .await
            .expect_err("a fifth conversation is refused");
        assert_eq!(e["code"], "RATE_LIMITED", "{e}");
        assert!(e["retry_after_ms"].as_u64().is_some_and(|ms| ms > 0), "{e}");
    }
    ack_or_error(&mut b, "to one of the four", Some(&sessions[0]))
        .await
        .expect("a busy conversation still takes a waiting message");
}

/// SIGTERM node 1 with a reply running and one queued behind it: the queued
/// one is handed over at the start of the drain (node 1 gives up its lease
/// while still draining) and completes on node 2; the running one is stored
/// `interrupted` with its text at the drain's end, and listeners on node 2 get
/// `complete` for both.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_hands_a_queued_reply_to_another_node() {
    let Some(d) = Deployment::new().await else { return };
    let mut n1 = d.node_with(&d.prefix, &[("BROOK_DRAIN_SECS", "3")]).await;
    let n2 = d.node().await;
    let (token, user) = n1.register().await;
    let mut sender = n1.ws(&token).await;
    d.subscribed(&d.prefix, &user, 1).await;
    d.upstream.push(slow(3000));
    let queued_reply = Behaviour::tokens(25);
    let expected = queued_reply.text();
    d.upstream.push(queued_reply);
    let first = sender.message("long", None, None).await;
    let (running, session) = (reply_of(&first), first["session_id"].as_str().unwrap().to_string());
    let queued = reply_of(&sender.message("and then", Some(&session), None).await);
    until_seq(&mut sender, &running, 50).await;
    assert_eq!(d.stored(&queued).await.0, "queued");

    let (mut l1, mut l2) = (n2.ws(&token).await, n2.ws(&token).await);
    l1.send(json!({"type": "resume", "reply_id": running, "after_seq": 0}))
        .await;
    l2.send(json!({"type": "resume", "reply_id": queued, "after_seq": 0}))
        .await;
    let lease = format!("{}{{r:{queued}}}:lease", d.prefix);
    let mut redis = d.redis.clone();
    let holder: Option<String> = redis::cmd("GET").arg(&lease).query_async(&mut redis).await.unwrap();
    assert!(holder.is_some(), "node 1 holds the queued reply's lease");

    n1.terminate();
    let signalled = Instant::now();
    // Node 2 claims the lease at once (told on the bus), while node 1 still
    // drains: handed over, not left for the lease to expire.
    let mut now = holder.clone();
    for _ in 0..40 {
        now = redis::cmd("GET").arg(&lease).query_async(&mut redis).await.unwrap();
        if now.is_some() && now != holder {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(
        now.is_some() && now != holder,
        "no other node holds the queued reply: {now:?}"
    );
    assert!(n1.running(), "handed over at the start of the drain, not at its end");
    println!(
        "queued reply claimed by node 2 {:.2} s after SIGTERM",
        signalled.elapsed().as_secs_f64()
    );

    let (_, _, complete) = tokio::time::timeout(Duration::from_secs(30), tokens_until_complete(&mut l1, &running))
        .await
        .expect("the running reply's complete reaches node 2");
    assert_eq!(complete["metadata"]["finish_reason"], "interrupted", "{complete}");
    let (status, content) = d.stored(&running).await;
    assert_eq!(status, "interrupted");
    assert!(!content.is_empty(), "its text so far is kept");
    assert_eq!(complete["response"].as_str().unwrap(), content);

    let (seqs, text, complete) = tokio::time::timeout(Duration::from_secs(30), tokens_until_complete(&mut l2, &queued))
        .await
        .expect("the queued reply completes on node 2");
    println!(
        "handed-over reply complete {:.2} s after SIGTERM",
        signalled.elapsed().as_secs_f64()
    );
    assert_eq!(seqs, (1..=25).collect::<Vec<_>>());
    assert_eq!(text, expected);
    assert_eq!(complete["metadata"]["finish_reason"], "stop", "{complete}");
    assert_eq!(d.stored(&queued).await, ("complete".to_string(), expected));
}
