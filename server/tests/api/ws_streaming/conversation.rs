//! One conversation seen from several connections: live events, regenerated
//! versions, and a delete while a reply streams.

use std::time::Duration;

use crate::helpers::*;
use crate::sqlite_only;

sqlite_only!(
    two_connections_one_conversation,
    regenerate_keeps_versions,
    delete_while_streaming
);

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
    // The first reply's own `message_added` is announced just after its
    // `complete`, so it may reach b2, which joined in between: skip it.
    let added = loop {
        let f = b2.recv_type("message_added").await;
        if f["message"]["role"] == "user" {
            break f;
        }
        assert_eq!(
            f["message"]["id"], first["reply_id"],
            "only the first reply may come first"
        );
    };
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
