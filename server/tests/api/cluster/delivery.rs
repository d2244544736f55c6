//! Events, replies, resume and stop across nodes.

use std::time::Duration;

use serde_json::json;
use testkit::Behaviour;

use super::node::{tokens_until_complete, until_seq, Deployment};

/// The same user on node 1 (sender) and node 2 (joined): node 2 gets
/// `message_added`, `stream_start`, every token once in order, and `complete`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_joined_connection_on_another_node_gets_the_whole_reply() {
    let Some(d) = Deployment::new().await else { return };
    let (n1, n2) = (d.node().await, d.node().await);
    let (token, user) = n1.register().await;
    let mut sender = n1.ws(&token).await;
    d.subscribed(&d.prefix, &user, 1).await;
    d.upstream.push(Behaviour::tokens(5));
    let first = sender.message("hello", None, None).await;
    let session = first["session_id"].as_str().unwrap().to_string();
    tokens_until_complete(&mut sender, first["reply_id"].as_str().unwrap()).await;

    let mut joined = n2.ws(&token).await;
    d.subscribed(&d.prefix, &user, 2).await;
    joined.send(json!({"type": "join", "session_id": session})).await;
    joined.recv_type("joined").await;

    let reply = Behaviour::tokens(80).delay(Duration::ZERO, Duration::from_millis(5));
    let expected = reply.text();
    d.upstream.push(reply);
    let ack = sender.message("second message", Some(&session), None).await;
    let reply_id = ack["reply_id"].as_str().unwrap().to_string();

    let got = joined.collect(&reply_id).await;
    let types: Vec<&str> = got.frames.iter().filter_map(|f| f["type"].as_str()).collect();
    let added = got
        .frames
        .iter()
        .position(|f| f["type"] == "message_added" && f["message"]["content"] == "second message")
        .unwrap_or_else(|| panic!("message_added of the user's message: {types:?}"));
    let start = got
        .frames
        .iter()
        .position(|f| f["type"] == "stream_start" && f["reply_id"] == reply_id.as_str())
        .unwrap_or_else(|| panic!("stream_start: {types:?}"));
    let first_token = got.frames.iter().position(|f| f["type"] == "token").unwrap();
    assert!(added < first_token && start < first_token, "{types:?}");
    assert_eq!(got.seqs(), (1..=80).collect::<Vec<_>>(), "every token once, in order");
    assert_eq!(got.text(), expected);
    assert_eq!(got.response(), expected);
    // The reply's own message_added (stored, complete) comes on the bus too,
    // which may overtake the Stream's last entries.
    let is_reply = |f: &serde_json::Value| f["type"] == "message_added" && f["message"]["id"] == reply_id.as_str();
    if !got.frames.iter().any(is_reply) {
        let stored = joined.recv_type("message_added").await;
        assert!(is_reply(&stored), "{stored}");
    }
}

/// A reply generated on node 1, resumed through node 2 from the middle: over
/// WebSocket, SSE with `Last-Event-ID`, and long polling.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_reply_on_one_node_resumes_through_another() {
    let Some(d) = Deployment::new().await else { return };
    let (n1, n2) = (d.node().await, d.node().await);
    let (token, user) = n1.register().await;
    let mut sender = n1.ws(&token).await;
    d.subscribed(&d.prefix, &user, 1).await;
    let reply = Behaviour::tokens(120).delay(Duration::ZERO, Duration::from_millis(20));
    let expected = reply.text();
    d.upstream.push(reply);
    let ack = sender.message("long one", None, None).await;
    let reply_id = ack["reply_id"].as_str().unwrap().to_string();
    until_seq(&mut sender, &reply_id, 20).await;

    // WebSocket, from the middle, while it streams.
    let mut other = n2.ws(&token).await;
    other
        .send(json!({"type": "resume", "reply_id": reply_id, "after_seq": 20}))
        .await;
    // SSE with Last-Event-ID, and a long poll, on node 2 as well.
    let sse = n2
        .http
        .get(n2.url(&format!("/api/v1/chat/replies/{reply_id}/events")))
        .bearer_auth(&token)
        .header("last-event-id", "30")
        .send()
        .await
        .unwrap();
    assert_eq!(sse.status(), 200);
    let poll = n2
        .http
        .get(n2.url(&format!(
            "/api/v1/chat/replies/{reply_id}/poll?after_seq=10&wait_ms=5000"
        )))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(poll.status(), 200);
    let poll: serde_json::Value = poll.json().await.unwrap();
    let polled: Vec<u64> = poll["tokens"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["seq"].as_u64().unwrap())
        .collect();
    assert!(!polled.is_empty(), "{poll}");
    assert_eq!(polled, (11..11 + polled.len() as u64).collect::<Vec<_>>(), "{poll}");

    let (seqs, _, complete) = tokens_until_complete(&mut other, &reply_id).await;
    assert_eq!(seqs, (21..=120).collect::<Vec<_>>());
    assert_eq!(complete["response"], expected.as_str());

    let events = crate::http_chat::read_sse(sse, |event, _, _| event == "complete").await;
    let sse_seqs: Vec<u64> = events
        .iter()
        .filter(|(e, _, _)| e == "token")
        .map(|(_, id, _)| id.as_deref().unwrap().parse().unwrap())
        .collect();
    assert_eq!(sse_seqs, (31..=120).collect::<Vec<_>>());
    assert_eq!(events.last().map(|e| e.0.as_str()), Some("complete"));
}

/// `stop` sent to node 2 stops a reply running on node 1.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stop_on_another_node_stops_the_reply() {
    let Some(d) = Deployment::new().await else { return };
    let (n1, n2) = (d.node().await, d.node().await);
    let (token, user) = n1.register().await;
    let mut sender = n1.ws(&token).await;
    d.subscribed(&d.prefix, &user, 1).await;
    d.upstream
        .push(Behaviour::tokens(2000).delay(Duration::ZERO, Duration::from_millis(10)));
    let ack = sender.message("never ending", None, None).await;
    let reply_id = ack["reply_id"].as_str().unwrap().to_string();
    until_seq(&mut sender, &reply_id, 5).await;

    let mut other = n2.ws(&token).await;
    other.send(json!({"type": "stop", "reply_id": reply_id})).await;
    let (seqs, _, complete) = tokens_until_complete(&mut sender, &reply_id).await;
    assert_eq!(complete["metadata"]["finish_reason"], "stopped", "{complete}");
    assert!(seqs.len() < 1500, "stopped long before the end: {}", seqs.len());
    let (status, content) = d.stored(&reply_id).await;
    assert_eq!(status, "stopped");
    assert_eq!(content, complete["response"].as_str().unwrap());
}

/// Two deployments sharing one Redis never see each other's events; a node of
/// the same deployment does (the control).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn deployments_under_other_prefixes_do_not_meet() {
    let Some(d) = Deployment::new().await else { return };
    let other_prefix = format!("brook-test-{}:", uuid::Uuid::new_v4().simple());
    let (a1, a2, b1) = (d.node().await, d.node().await, d.node_with_prefix(&other_prefix).await);
    let (token, user) = a1.register().await;
    let mut sender = a1.ws(&token).await;
    d.upstream.push(Behaviour::tokens(3));
    let first = sender.message("hello", None, None).await;
    let session = first["session_id"].as_str().unwrap().to_string();
    tokens_until_complete(&mut sender, first["reply_id"].as_str().unwrap()).await;

    let mut same = a2.ws(&token).await;
    let mut foreign = b1.ws(&token).await;
    d.subscribed(&d.prefix, &user, 2).await;
    d.subscribed(&other_prefix, &user, 1).await;
    for ws in [&mut same, &mut foreign] {
        ws.send(json!({"type": "join", "session_id": session})).await;
        ws.recv_type("joined").await;
    }
    d.upstream.push(Behaviour::tokens(20));
    let ack = sender.message("again", Some(&session), None).await;
    let reply_id = ack["reply_id"].as_str().unwrap().to_string();
    let got = same.collect(&reply_id).await;
    assert_eq!(got.seqs(), (1..=20).collect::<Vec<_>>());
    // `message_added` travels on the bus and the tokens in the reply's Stream:
    // it may come before them (collected with them) or after `complete`.
    if !got.frames.iter().any(|f| f["type"] == "message_added") {
        same.recv_type("message_added").await;
    }

    // Everything was published before `complete` reached `same`; the other
    // deployment's node answers its ping with nothing before the pong.
    tokio::time::sleep(Duration::from_millis(300)).await;
    foreign.send(json!({"type": "ping", "ts": 1})).await;
    let f = foreign.recv().await.expect("pong");
    assert_eq!(f["type"], "pong", "nothing of the other deployment: {f}");
}

/// Joining on node 2 while the conversation's reply generates on node 1: `joined`
/// names it, and a resume from there gets the rest.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn joining_on_another_node_names_the_generating_reply() {
    let Some(d) = Deployment::new().await else { return };
    let (n1, n2) = (d.node().await, d.node().await);
    let (token, user) = n1.register().await;
    let mut sender = n1.ws(&token).await;
    d.subscribed(&d.prefix, &user, 1).await;
    let reply = Behaviour::tokens(300).delay(Duration::ZERO, Duration::from_millis(10));
    let expected = reply.text();
    d.upstream.push(reply);
    let ack = sender.message("long one", None, None).await;
    let reply_id = ack["reply_id"].as_str().unwrap().to_string();
    until_seq(&mut sender, &reply_id, 10).await;

    let mut other = n2.ws(&token).await;
    other
        .send(json!({"type": "join", "session_id": ack["session_id"]}))
        .await;
    let joined = other.recv_type("joined").await;
    assert_eq!(joined["active_reply"]["reply_id"], reply_id.as_str(), "{joined}");
    let seq = joined["active_reply"]["seq"].as_u64().unwrap();
    other
        .send(json!({"type": "resume", "reply_id": reply_id, "after_seq": seq}))
        .await;
    let (seqs, _, complete) = tokens_until_complete(&mut other, &reply_id).await;
    assert_eq!(seqs, (seq + 1..=300).collect::<Vec<_>>());
    assert_eq!(complete["response"], expected.as_str());
}

/// Deleting a conversation on node 2 while its reply generates on node 1 stops
/// the reply there (`stopped`), and the sender's connection on node 1 learns of
/// the deletion.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn deleting_on_another_node_stops_the_reply() {
    let Some(d) = Deployment::new().await else { return };
    let (n1, n2) = (d.node().await, d.node().await);
    let (token, user) = n1.register().await;
    let mut sender = n1.ws(&token).await;
    d.subscribed(&d.prefix, &user, 1).await;
    d.upstream
        .push(Behaviour::tokens(2000).delay(Duration::ZERO, Duration::from_millis(10)));
    let ack = sender.message("never ending", None, None).await;
    let (reply_id, session) = (
        ack["reply_id"].as_str().unwrap().to_string(),
        ack["session_id"].as_str().unwrap().to_string(),
    );
    until_seq(&mut sender, &reply_id, 5).await;

    let r = n2
        .http
        .delete(n2.url(&format!("/api/v1/conversations/{session}")))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 204);
    let got = sender.collect(&reply_id).await;
    let complete = got.complete.expect("complete");
    assert_eq!(complete["metadata"]["finish_reason"], "stopped", "{complete}");
    assert!(
        got.tokens.len() < 1500,
        "stopped long before the end: {}",
        got.tokens.len()
    );
    // The deletion does not wait for a reply on another node: its event may come first.
    let deleted = match got.frames.iter().find(|f| f["type"] == "conversation_deleted") {
        Some(f) => f.clone(),
        None => sender.recv_type("conversation_deleted").await,
    };
    assert_eq!(deleted["session_id"], session.as_str());
}
