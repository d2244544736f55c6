//! Replies over the WebSocket: the invariants of contract §3.3, resume, stop,
//! idempotency, queueing, live events across connections.

use std::time::Duration;

use rand::Rng;

use crate::helpers::*;
use crate::{both_backends, sqlite_only};

both_backends!(
    invariants_on_many_replies,
    disconnect_resume_and_stop,
    idempotent_client_ids,
    queued_messages_run_in_order
);
sqlite_only!(
    two_connections_one_conversation,
    join_mid_reply_then_resume,
    resume_after_the_log_is_gone,
    regenerate_keeps_versions,
    delete_while_streaming,
    reply_outlives_its_connection,
    stopping_a_queued_reply_still_completes_it
);

fn random_pieces(rng: &mut impl Rng, n: usize) -> Vec<String> {
    const ALPHABET: &[&str] = &[
        "a", "b", " ", "\n", "é", "漢", "🙂", "\"", "\\", "<", "{", "}", "`", "*", "\t",
    ];
    (0..n)
        .map(|_| {
            let len = rng.random_range(1..6);
            (0..len)
                .map(|_| ALPHABET[rng.random_range(0..ALPHABET.len())])
                .collect()
        })
        .collect()
}

async fn stored(app: &TestApp, token: &str, session: &str, reply_id: &str) -> Value {
    let (_, page) = body(
        app.get(
            &format!("/api/v1/conversations/{session}/messages?limit=200"),
            Some(token),
        )
        .await,
    )
    .await;
    page["messages"]
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["id"] == reply_id)
        .cloned()
        .expect("reply stored")
}

async fn invariants_on_many_replies(b: Backend) {
    let Some(app) = app(b).await else { return };
    let token = app.user_token().await;
    let mut rng = rand::rng();
    let mut sender = app.ws_authed(&token).await;
    for round in 0..12 {
        let count = rng.random_range(1..150);
        let pieces = random_pieces(&mut rng, count);
        let expected: String = pieces.concat();
        app.upstream().push(Behaviour::pieces(pieces));
        let session = format!("inv-{round}");
        let ack = sender.message(&format!("round {round}"), Some(&session), None).await;
        let reply_id = ack["reply_id"].as_str().unwrap().to_string();
        // A third subscriber resumes from a random point while the reply runs.
        let cut: u64 = rng.random_range(0..5);
        let mut resumer = app.ws_authed(&token).await;
        resumer
            .send(json!({"type": "resume", "reply_id": reply_id, "after_seq": cut}))
            .await;
        let seen = sender.collect(&reply_id).await;
        let resumed = resumer.collect(&reply_id).await;
        // Every seq exactly once, in order, no gaps.
        let n = seen.tokens.len() as u64;
        assert_eq!(seen.seqs(), (1..=n).collect::<Vec<_>>(), "round {round}");
        assert_eq!(seen.text(), seen.response(), "round {round}");
        assert_eq!(seen.response(), expected, "round {round}");
        let from = cut.min(n);
        assert_eq!(
            resumed.seqs(),
            ((from + 1)..=n).collect::<Vec<_>>(),
            "resumer, round {round}"
        );
        let tail: String = seen
            .tokens
            .iter()
            .filter(|(s, _)| *s > cut)
            .map(|(_, t)| t.as_str())
            .collect();
        assert_eq!(resumed.text(), tail);
        assert_eq!(resumed.response(), expected);
        let m = stored(&app, &token, &session, &reply_id).await;
        assert_eq!(m["content"], expected.as_str(), "stored text, round {round}");
        assert_eq!(m["status"], "complete");
        assert_eq!(m["metadata"]["seq"], n);
        // The contract's order for the sender.
        let types: Vec<&str> = seen
            .frames
            .iter()
            .map(|f| f["type"].as_str().unwrap())
            .filter(|t| *t != "conversation_updated")
            .collect();
        let before_tokens: Vec<&str> = types.iter().take_while(|t| **t != "token").copied().collect();
        assert_eq!(
            before_tokens,
            vec!["progress", "typing", "stream_start", "progress"],
            "round {round}"
        );
        resumer.close().await;
    }
    // Metadata as the contract shapes it.
    let ack = sender.message("meta", None, None).await;
    let c = sender.collect(ack["reply_id"].as_str().unwrap()).await;
    let meta = &c.complete.unwrap()["metadata"];
    for key in ["agent", "model", "finish_reason", "usage", "ttft_ms", "duration_ms"] {
        assert!(!meta[key].is_null(), "metadata.{key} in {meta}");
    }
    assert_eq!(meta["usage"]["prompt_tokens"], 7, "usage comes from the upstream");
    assert_eq!(meta["agent"], "Assistant");
}

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

async fn two_connections_one_conversation(b: Backend) {
    let Some(app) = app(b).await else { return };
    app.upstream()
        .set_default(Behaviour::tokens(20).delay(Duration::from_millis(100), Duration::from_millis(10)));
    let token = app.user_token().await;
    let mut a = app.ws_authed(&token).await;
    let first = a.message("hello", Some("shared"), None).await;
    a.collect(first["reply_id"].as_str().unwrap()).await;
    let mut b2 = app.ws_authed(&token).await;
    b2.send(json!({"type": "join", "session_id": "shared"})).await;
    let joined = b2.recv_type("joined").await;
    assert!(joined["active_reply"].is_null());
    // User typing is relayed to the other connection.
    a.send(json!({"type": "typing", "session_id": "shared", "is_typing": true}))
        .await;
    let t = b2.recv_type("typing").await;
    assert_eq!(t["actor"], "user");
    assert_eq!(t["is_typing"], true);
    let ack = a.message("second", Some("shared"), None).await;
    let reply_id = ack["reply_id"].as_str().unwrap();
    let added = b2.recv_type("message_added").await;
    assert_eq!(added["message"]["content"], "second");
    let seen_a = a.collect(reply_id).await;
    let seen_b = b2.collect(reply_id).await;
    assert_eq!(
        seen_a.tokens, seen_b.tokens,
        "the second connection streams the same tokens live"
    );
    assert!(seen_b
        .frames
        .iter()
        .any(|f| f["type"] == "typing" && f["actor"] == "assistant" && f["is_typing"] == true));
    let assistant_added = b2.recv_type("message_added").await;
    assert_eq!(assistant_added["message"]["role"], "assistant");
    assert_eq!(assistant_added["message"]["content"], seen_a.response().as_str());
    // The user's typing expires after 5 s without a refresh.
    let expiry = loop {
        let f = b2.recv_within(Duration::from_secs(7)).await.expect("typing expiry");
        if f["type"] == "typing" && f["actor"] == "user" {
            break f;
        }
    };
    assert_eq!(expiry["is_typing"], false);
    // The sender got no message_added for its own message.
    assert!(!seen_a.frames.iter().any(|f| f["type"] == "message_added"));
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

async fn regenerate_keeps_versions(b: Backend) {
    let Some(app) = app(b).await else { return };
    let token = app.user_token().await;
    app.upstream()
        .push(Behaviour::pieces(vec!["first ".into(), "answer".into()]));
    app.upstream()
        .push(Behaviour::pieces(vec!["second ".into(), "answer".into()]));
    let mut ws = app.ws_authed(&token).await;
    let ack = ws.message("question", Some("regen"), None).await;
    ws.collect(ack["reply_id"].as_str().unwrap()).await;
    ws.send(json!({"type": "regenerate", "session_id": "regen", "client_id": "again-1"}))
        .await;
    let r = ws.recv_type("ack").await;
    assert_eq!(r["message_id"], ack["message_id"], "it answers the same user message");
    assert_ne!(r["reply_id"], ack["reply_id"]);
    let c = ws.collect(r["reply_id"].as_str().unwrap()).await;
    assert_eq!(c.response(), "second answer");
    // Idempotent with its own client id.
    ws.send(json!({"type": "regenerate", "session_id": "regen", "client_id": "again-1"}))
        .await;
    assert_eq!(ws.recv_type("ack").await["reply_id"], r["reply_id"]);
    let (_, msgs) = body(app.get("/api/v1/conversations/regen/messages", Some(&token)).await).await;
    let msgs = msgs["messages"].as_array().unwrap();
    assert_eq!(msgs.len(), 2, "the list shows the newest version");
    assert_eq!(msgs[1]["content"], "second answer");
    assert_eq!(msgs[1]["metadata"]["version"], 2);
    assert_eq!(msgs[1]["metadata"]["versions"], 2);
    assert_eq!(msgs[1]["metadata"]["in_reply_to"], ack["message_id"]);
    let (_, versions) = body(
        app.get(
            &format!("/api/v1/messages/{}/versions", r["reply_id"].as_str().unwrap()),
            Some(&token),
        )
        .await,
    )
    .await;
    let texts: Vec<&str> = versions["versions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v["content"].as_str().unwrap())
        .collect();
    assert_eq!(texts, vec!["first answer", "second answer"]);
}

async fn delete_while_streaming(b: Backend) {
    let Some(app) = app(b).await else { return };
    app.upstream()
        .push(Behaviour::tokens(200).delay(Duration::ZERO, Duration::from_millis(20)));
    let token = app.user_token().await;
    let mut ws = app.ws_authed(&token).await;
    let ack = ws.message("doomed", Some("doomed"), None).await;
    let reply_id = ack["reply_id"].as_str().unwrap().to_string();
    let _ = ws.recv_type("token").await;
    let r = app.delete("/api/v1/conversations/doomed", Some(&token)).await;
    assert_eq!(r.status(), 204);
    let c = ws.collect(&reply_id).await;
    assert_eq!(c.complete.clone().unwrap()["metadata"]["finish_reason"], "stopped");
    // `conversation_deleted` may overtake the reply's last frames (they travel
    // separately); it arrives either way.
    let d = match c.frames.iter().find(|f| f["type"] == "conversation_deleted") {
        Some(f) => f.clone(),
        None => ws.recv_type("conversation_deleted").await,
    };
    assert_eq!(d["session_id"], "doomed");
    assert!(app.engine.store().message(&reply_id).await.unwrap().is_none());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_slow_consumer_is_closed_with_1013_and_slows_nobody() {
    // 2.4 MB: more than the socket buffers hold, so the silent reader stalls.
    let opts = AppOptions::new(Backend::Sqlite).config(|c| c.max_reply_bytes = 8 << 20);
    let Some(app) = spawn_app(opts).await else { return };
    let pieces: Vec<String> = (0..60_000)
        .map(|i| format!("token number {i} with some padding text "))
        .collect();
    let expected: String = pieces.concat();
    app.upstream().push(Behaviour::pieces(pieces));
    let token = app.user_token().await;
    let mut slow = app.ws_authed(&token).await;
    let ack = slow.message("flood me", Some("flood"), None).await;
    let reply_id = ack["reply_id"].as_str().unwrap().to_string();
    // A second reader of the same reply keeps up the whole way.
    let mut fast = app.ws_authed(&token).await;
    fast.send(json!({"type": "resume", "reply_id": reply_id, "after_seq": 0}))
        .await;
    let seen = fast.collect(&reply_id).await;
    assert_eq!(seen.response(), expected);
    assert_eq!(seen.seqs().len(), 60_000);
    // The one that never read is cut off once its queue stays full for 5 s,
    // and told to resume.
    tokio::time::sleep(Duration::from_secs(7)).await;
    while slow.recv_within(std::time::Duration::from_secs(5)).await.is_some() {}
    assert_eq!(slow.closed, Some(1013));
    let (_, msgs) = body(app.get("/api/v1/conversations/flood/messages", Some(&token)).await).await;
    assert_eq!(msgs["messages"][1]["content"], expected.as_str());
}

#[tokio::test]
async fn a_runaway_reply_is_cut_off_at_the_size_cap() {
    let opts = AppOptions::new(Backend::Sqlite).config(|c| c.max_reply_bytes = 1000);
    let Some(app) = spawn_app(opts).await else { return };
    app.upstream()
        .push(Behaviour::pieces((0..500).map(|i| format!("word{i} ")).collect()));
    let token = app.user_token().await;
    let mut ws = app.ws_authed(&token).await;
    let ack = ws.message("never stop", Some("runaway"), None).await;
    let reply_id = ack["reply_id"].as_str().unwrap().to_string();
    let seen = ws.collect(&reply_id).await;
    let complete = seen.complete.clone().unwrap();
    assert_eq!(complete["metadata"]["finish_reason"], "length");
    let text = complete["response"].as_str().unwrap();
    assert!(
        text.len() >= 1000 && text.len() < 1100,
        "cut near the cap, got {} bytes",
        text.len()
    );
    assert_eq!(seen.response(), text);
    let (_, msgs) = body(app.get("/api/v1/conversations/runaway/messages", Some(&token)).await).await;
    assert_eq!(msgs["messages"][1]["content"], text);
    // The server is fine afterwards.
    app.upstream().push(Behaviour::pieces(vec!["ok".into()]));
    let ack = ws.message("again", Some("runaway"), None).await;
    let again = ws.collect(ack["reply_id"].as_str().unwrap()).await;
    assert_eq!(again.response(), "ok");
}
