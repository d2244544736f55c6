//! Sends that repeat a `client_id`, and messages queued behind a running reply.

use std::time::Duration;

use crate::helpers::*;
use crate::{both_backends, sqlite_only};

both_backends!(idempotent_client_ids, queued_messages_run_in_order);
sqlite_only!(stopping_a_queued_reply_still_completes_it);

async fn idempotent_client_ids(b: Backend) {
    let Some(app) = app(b).await else { return };
    let token = app.user_token().await;
    let mut ws = app.ws_authed(&token).await;
    let first = ws.message("once only", None, Some("cid-1")).await;
    ws.collect(first["reply_id"].as_str().unwrap()).await;
    // Again, on a new connection, without the session id: the original ack.
    let mut other = app.ws_authed(&token).await;
    let second = other.message("once only", None, Some("cid-1")).await;
    for k in ["message_id", "reply_id", "session_id", "created_at", "client_id"] {
        assert_eq!(first[k], second[k], "{k}");
    }
    // Two connections at once with a new client id.
    let (mut x, mut y) = (app.ws_authed(&token).await, app.ws_authed(&token).await);
    let send = json!({"type": "message", "message": "racing", "client_id": "cid-2"});
    x.send(send.clone()).await;
    y.send(send).await;
    let (ax, ay) = (x.recv_type("ack").await, y.recv_type("ack").await);
    assert_eq!(ax["message_id"], ay["message_id"]);
    assert_eq!(ax["reply_id"], ay["reply_id"]);
    // The losing side got the original ack and resumes the reply, as a client would.
    for ws in [&mut x, &mut y] {
        ws.send(json!({"type": "resume", "reply_id": ax["reply_id"], "after_seq": 0}))
            .await;
        let c = ws.collect(ax["reply_id"].as_str().unwrap()).await;
        // A side already joined may have seen tokens before its resume from 0;
        // the resume's answer is every seq from 1 again, in order (§3.3).
        let from = c.tokens.iter().rposition(|(s, _)| *s == 1).unwrap_or(0);
        let answer = &c.tokens[from..];
        assert!(
            answer.iter().enumerate().all(|(i, (s, _))| *s == i as u64 + 1),
            "{:?}",
            c.seqs()
        );
        let text: String = answer.iter().map(|(_, t)| t.as_str()).collect();
        assert_eq!(text, c.response());
    }
    let (_, list) = body(app.get("/api/v1/conversations", Some(&token)).await).await;
    assert_eq!(list["conversations"].as_array().unwrap().len(), 2);
    let session = ax["session_id"].as_str().unwrap();
    let (_, msgs) = body(
        app.get(&format!("/api/v1/conversations/{session}/messages"), Some(&token))
            .await,
    )
    .await;
    assert_eq!(
        msgs["messages"].as_array().unwrap().len(),
        2,
        "one message and one reply"
    );
    assert_eq!(app.upstream().started(), 2, "two replies generated in all");
}

async fn queued_messages_run_in_order(b: Backend) {
    let Some(app) = app(b).await else { return };
    app.upstream()
        .set_default(Behaviour::tokens(8).delay(Duration::from_millis(50), Duration::from_millis(10)));
    let token = app.user_token().await;
    let mut ws = app.ws_authed(&token).await;
    let mut replies = Vec::new();
    for q in ["first question", "second question", "third question"] {
        ws.send(json!({"type": "message", "message": q, "session_id": "queue"}))
            .await;
    }
    for _ in 0..3 {
        replies.push(ws.recv_type("ack").await["reply_id"].as_str().unwrap().to_string());
    }
    let mut order = Vec::new();
    while order.len() < 3 {
        let f = ws.recv().await.unwrap();
        if f["type"] == "complete" {
            order.push(f["reply_id"].as_str().unwrap().to_string());
        }
    }
    assert_eq!(order, replies, "replies complete in the order sent");
    let reqs = app.upstream().requests();
    assert_eq!(reqs.len(), 3);
    let contents = |i: usize| -> Vec<String> {
        reqs[i]["messages"]
            .as_array()
            .unwrap()
            .iter()
            .map(|m| m["content"].as_str().unwrap_or_default().to_string())
            .collect()
    };
    let third = contents(2);
    assert!(
        third.contains(&"first question".to_string()) && third.contains(&"second question".to_string()),
        "{third:?}"
    );
    assert_eq!(third.last().unwrap(), "third question");
    assert_eq!(
        third.iter().filter(|c| c.starts_with("w1 w2")).count(),
        2,
        "both earlier replies are in the context: {third:?}"
    );
    assert_eq!(contents(0).last().unwrap(), "first question");
    assert_eq!(reqs[0]["messages"][0]["role"], "system");
}

/// Every acked reply ends with `complete`, even one stopped while it waited.
async fn stopping_a_queued_reply_still_completes_it(b: Backend) {
    let Some(app) = app(b).await else { return };
    app.upstream()
        .set_default(Behaviour::tokens(40).delay(Duration::from_millis(100), Duration::from_millis(20)));
    let token = app.user_token().await;
    let mut ws = app.ws_authed(&token).await;
    for q in ["long one", "waits"] {
        ws.send(json!({"type": "message", "message": q, "session_id": "stopq"}))
            .await;
    }
    let first = ws.recv_type("ack").await["reply_id"].as_str().unwrap().to_string();
    let queued = ws.recv_type("ack").await["reply_id"].as_str().unwrap().to_string();
    ws.send(json!({"type": "stop", "reply_id": queued})).await;
    let mut done = std::collections::HashMap::new();
    while done.len() < 2 {
        let f = ws.recv().await.expect("connection open");
        if f["type"] == "token" {
            assert_ne!(f["reply_id"], queued.as_str(), "a stopped queued reply never streams");
        }
        if f["type"] == "complete" {
            done.insert(f["reply_id"].as_str().unwrap().to_string(), f);
        }
    }
    let stopped = &done[&queued];
    assert_eq!(stopped["metadata"]["finish_reason"], "stopped", "{stopped}");
    assert_eq!(stopped["response"], "");
    assert_eq!(done[&first]["metadata"]["finish_reason"], "stop");
    assert_eq!(
        app.upstream().requests().len(),
        1,
        "the stopped one never reached the model"
    );
}
