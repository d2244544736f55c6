//! Disconnects, `resume` and `stop`: a reply outlives its connection and is
//! picked up again, mid-reply or after its log is gone.

use std::time::Duration;

use super::stored;
use crate::helpers::*;
use crate::{both_backends, sqlite_only};

both_backends!(disconnect_resume_and_stop);
sqlite_only!(
    join_mid_reply_then_resume,
    resume_after_the_log_is_gone,
    reply_outlives_its_connection
);

async fn disconnect_resume_and_stop(b: Backend) {
    let Some(app) = app(b).await else { return };
    let token = app.user_token().await;
    let slow = Behaviour::tokens(60).delay(Duration::ZERO, Duration::from_millis(20));
    let expected = slow.text();
    app.upstream().set_default(slow);

    // Drop mid-stream, reconnect, resume from the last seq seen: whole text, no gap, no duplicate.
    let mut ws = app.ws_authed(&token).await;
    let ack = ws.message("tell me", None, None).await;
    let reply_id = ack["reply_id"].as_str().unwrap().to_string();
    let session = ack["session_id"].as_str().unwrap().to_string();
    let mut got: Vec<(u64, String)> = Vec::new();
    while got.len() < 10 {
        let f = ws.recv().await.unwrap();
        if f["type"] == "token" {
            got.push((f["seq"].as_u64().unwrap(), f["token"].as_str().unwrap().into()));
        }
    }
    drop(ws);
    tokio::time::sleep(Duration::from_millis(150)).await;
    let mut again = app.ws_authed(&token).await;
    again
        .send(json!({"type": "resume", "reply_id": reply_id, "after_seq": got.last().unwrap().0}))
        .await;
    let rest = again.collect(&reply_id).await;
    got.extend(rest.tokens.clone());
    let seqs: Vec<u64> = got.iter().map(|(s, _)| *s).collect();
    assert_eq!(seqs, (1..=60).collect::<Vec<_>>());
    assert_eq!(got.iter().map(|(_, t)| t.as_str()).collect::<String>(), expected);
    assert_eq!(rest.response(), expected);

    // Resume of a finished reply whose log is held: replay what is lacking, then complete.
    let mut third = app.ws_authed(&token).await;
    third
        .send(json!({"type": "resume", "reply_id": reply_id, "after_seq": 55}))
        .await;
    let replay = third.collect(&reply_id).await;
    assert_eq!(replay.seqs(), vec![56, 57, 58, 59, 60]);
    assert_eq!(replay.response(), expected);
    // The connection that already has everything gets exactly what it asks for again.
    again
        .send(json!({"type": "resume", "reply_id": reply_id, "after_seq": 55}))
        .await;
    let repeat = again.collect(&reply_id).await;
    assert_eq!(repeat.seqs(), vec![56, 57, 58, 59, 60]);

    // Stop mid-stream: finish_reason stopped, partial text stored, the upstream request really cancelled.
    let before = app.upstream().disconnects();
    let ack = again.message("and now stop", Some(&session), None).await;
    let reply_id = ack["reply_id"].as_str().unwrap().to_string();
    let mut n = 0;
    while n < 5 {
        if again.recv().await.unwrap()["type"] == "token" {
            n += 1;
        }
    }
    again.send(json!({"type": "stop", "reply_id": reply_id})).await;
    let c = again.collect(&reply_id).await;
    let complete = c.complete.clone().unwrap();
    assert_eq!(complete["metadata"]["finish_reason"], "stopped");
    let partial = complete["response"].as_str().unwrap().to_string();
    assert!(!partial.is_empty() && partial.len() < expected.len(), "{partial:?}");
    let m = stored(&app, &token, &session, &reply_id).await;
    assert_eq!(m["status"], "stopped");
    assert_eq!(m["content"], partial.as_str());
    for _ in 0..50 {
        if app.upstream().disconnects() > before {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(
        app.upstream().disconnects(),
        before + 1,
        "the upstream saw the request go away"
    );
    // Stopping again does nothing.
    again.send(json!({"type": "stop", "reply_id": reply_id})).await;
    again.send(json!({"type": "ping", "ts": 1})).await;
    assert_eq!(again.recv_type("pong").await["ts"], 1);
}

async fn reply_outlives_its_connection(b: Backend) {
    let Some(app) = app(b).await else { return };
    let token = app.user_token().await;
    let slow = Behaviour::tokens(30).delay(Duration::from_millis(100), Duration::from_millis(20));
    let expected = slow.text();
    app.upstream().push(slow);
    let mut ws = app.ws_authed(&token).await;
    let ack = ws.message("bye", None, None).await;
    ws.close().await;
    let (session, reply_id) = (ack["session_id"].as_str().unwrap(), ack["reply_id"].as_str().unwrap());
    let mut m = Value::Null;
    for _ in 0..100 {
        m = stored(&app, &token, session, reply_id).await;
        if m["status"] == "complete" {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(m["status"], "complete");
    assert_eq!(m["content"], expected.as_str());
    assert_eq!(app.upstream().disconnects(), 0);
}

async fn join_mid_reply_then_resume(b: Backend) {
    let Some(app) = app(b).await else { return };
    app.upstream()
        .push(Behaviour::tokens(40).delay(Duration::ZERO, Duration::from_millis(25)));
    let token = app.user_token().await;
    let mut a = app.ws_authed(&token).await;
    let ack = a.message("long one", Some("mid"), None).await;
    let reply_id = ack["reply_id"].as_str().unwrap().to_string();
    let mut n = 0;
    while n < 5 {
        if a.recv().await.unwrap()["type"] == "token" {
            n += 1;
        }
    }
    let mut late = app.ws_authed(&token).await;
    late.send(json!({"type": "join", "session_id": "mid"})).await;
    let joined = late.recv_type("joined").await;
    assert_eq!(joined["active_reply"]["reply_id"], reply_id.as_str());
    let at = joined["active_reply"]["seq"].as_u64().unwrap();
    assert!(at >= 5);
    late.send(json!({"type": "resume", "reply_id": reply_id, "after_seq": at}))
        .await;
    let c = late.collect(&reply_id).await;
    assert_eq!(c.seqs(), ((at + 1)..=40).collect::<Vec<_>>());
    // Resuming again from 0 on the same connection replaces its subscription:
    // every token once more, in order (contract §3.3, Changes 2026-11-29).
    late.send(json!({"type": "resume", "reply_id": reply_id, "after_seq": 0}))
        .await;
    let again = late.collect(&reply_id).await;
    assert_eq!(again.seqs(), (1..=40).collect::<Vec<_>>());
}

async fn resume_after_the_log_is_gone(b: Backend) {
    let Some(app) = spawn_app(AppOptions::new(b).config(|c| c.reply_log_retention = Duration::ZERO)).await else {
        return;
    };
    let token = app.user_token().await;
    let mut ws = app.ws_authed(&token).await;
    let ack = ws.message("hi", None, None).await;
    let reply_id = ack["reply_id"].as_str().unwrap();
    let c = ws.collect(reply_id).await;
    tokio::time::sleep(Duration::from_millis(100)).await;
    ws.send(json!({"type": "resume", "reply_id": reply_id, "after_seq": 0}))
        .await;
    let alone = loop {
        let f = ws.recv().await.unwrap();
        // Live events of the finished reply may still arrive; no token may.
        assert_ne!(f["type"], "token", "{f}");
        if f["type"] == "complete" {
            break f;
        }
    };
    assert_eq!(alone["response"], c.response().as_str());
    assert_eq!(alone["metadata"]["finish_reason"], "stop");
}
