//! §9.3 read receipts and unread counts, for a user's own conversations and
//! between a visitor and the bot's owner.

use std::time::Duration;

use super::{cast, frame_within, Sse};
use crate::both_backends;
use crate::helpers::*;

both_backends!(
    reads_move_forward_and_every_tab_agrees,
    visitor_and_operator_read_each_other
);

async fn unread(app: &TestApp, token: &str, session: &str) -> u64 {
    let (s, c) = body(app.get(&format!("/api/v1/conversations/{session}"), Some(token)).await).await;
    assert_eq!(s, 200, "{c}");
    c["unread_count"].as_u64().expect("unread_count")
}

async fn reads_move_forward_and_every_tab_agrees(b: Backend) {
    let Some(app) = app(b).await else { return };
    let token = app.user_token().await;
    let mut tab1 = app.ws_authed(&token).await;
    let mut tab2 = app.ws_authed(&token).await; // not joined to the conversation
    let a1 = tab1.message("first", Some("c1"), None).await;
    let r1 = a1["reply_id"].as_str().unwrap().to_string();
    tab1.collect(&r1).await;
    assert_eq!(unread(&app, &token, "c1").await, 1, "the reply is unread");
    let (_, l) = body(app.get("/api/v1/conversations", Some(&token)).await).await;
    assert_eq!(l["conversations"][0]["unread_count"], 1, "on list items too");

    tab1.send(json!({"type": "read", "session_id": "c1", "message_id": r1}))
        .await;
    let r = frame_within(&mut tab2, "read", Duration::from_secs(5))
        .await
        .expect("the other tab hears of it");
    assert_eq!(r["reader"], "user");
    assert_eq!(r["message_id"], r1.as_str());
    assert!(r["read_at"].is_string());
    assert_eq!(unread(&app, &token, "c1").await, 0);
    let (_, m) = body(app.get("/api/v1/conversations/c1/messages", Some(&token)).await).await;
    assert!(m["messages"][1]["read_at"].is_string(), "the reply carries read_at");
    assert!(
        m["messages"][0]["read_at"].is_null(),
        "nobody reads the user's own message for them"
    );

    // Sending counts as reading what came before; the new reply is unread.
    let a2 = tab1.message("second", Some("c1"), None).await;
    let r2 = a2["reply_id"].as_str().unwrap().to_string();
    tab1.collect(&r2).await;
    assert_eq!(unread(&app, &token, "c1").await, 1);
    // Reading an earlier message does not move the read point back.
    let r = app
        .post("/api/v1/conversations/c1/read", Some(&token), json!({"message_id": r1}))
        .await;
    assert_eq!(r.status(), 204);
    assert_eq!(unread(&app, &token, "c1").await, 1, "never backwards");
    let r = app
        .post("/api/v1/conversations/c1/read", Some(&token), json!({"message_id": r2}))
        .await;
    assert_eq!(r.status(), 204);
    assert_eq!(unread(&app, &token, "c1").await, 0);

    // Unknown, foreign or another conversation's message: NOT_FOUND.
    let a3 = tab1.message("elsewhere", Some("c2"), None).await;
    tab1.collect(a3["reply_id"].as_str().unwrap()).await;
    for id in ["nope", a3["reply_id"].as_str().unwrap()] {
        expect_error(
            app.post("/api/v1/conversations/c1/read", Some(&token), json!({"message_id": id}))
                .await,
            404,
            "NOT_FOUND",
        )
        .await;
        tab1.send(json!({"type": "read", "session_id": "c1", "message_id": id}))
            .await;
        assert_eq!(tab1.recv_type("error").await["code"], "NOT_FOUND");
    }
    let stranger = app.user_token().await;
    expect_error(
        app.post(
            "/api/v1/conversations/c1/read",
            Some(&stranger),
            json!({"message_id": r2}),
        )
        .await,
        404,
        "NOT_FOUND",
    )
    .await;
    expect_error(
        app.post("/api/v1/conversations/c1/read", Some(&token), json!({})).await,
        400,
        "INVALID_FRAME",
    )
    .await;
    tab1.send(json!({"type": "read", "session_id": "c1"})).await;
    assert_eq!(tab1.recv_type("error").await["code"], "INVALID_FRAME");
    // The connection stays usable.
    tab1.send(json!({"type": "ping", "ts": 1})).await;
    assert_eq!(tab1.recv_type("pong").await["ts"], 1);
}

async fn visitor_and_operator_read_each_other(b: Backend) {
    let Some(app) = app(b).await else { return };
    let c = cast(&app).await;
    let mut owner_events = Sse::open(&app, &format!("/api/v1/bots/{}/events?token={}", c.bot_id, c.owner)).await;
    let mut ws = app.ws_authed(&c.visitor).await;
    let ack = ws.message("is anyone there?", Some("s1"), None).await;
    ws.collect(ack["reply_id"].as_str().unwrap()).await;
    let user_msg = ack["message_id"].as_str().unwrap().to_string();
    let list = |app: &TestApp| {
        let path = format!("/api/v1/bots/{}/conversations", c.bot_id);
        let owner = c.owner.clone();
        let app_url = app.url(&path);
        let http = app.http.clone();
        async move {
            let v: Value = http
                .get(app_url)
                .bearer_auth(owner)
                .send()
                .await
                .unwrap()
                .json()
                .await
                .unwrap();
            v["conversations"][0].clone()
        }
    };
    assert_eq!(
        list(&app).await["unread_count"],
        1,
        "one visitor message unread by the owner"
    );

    // The owner reads it: the visitor sees "Seen", and the message carries read_at.
    let r = app
        .post(&c.path("s1", "read"), Some(&c.owner), json!({"message_id": user_msg}))
        .await;
    assert_eq!(r.status(), 204);
    let seen = frame_within(&mut ws, "read", Duration::from_secs(5))
        .await
        .expect("read");
    assert_eq!(seen["reader"], "operator");
    assert_eq!(seen["message_id"], user_msg.as_str());
    let mine = owner_events.next("read").await;
    assert_eq!(mine["reader"], "operator", "the owner's other views agree");
    assert_eq!(mine["visitor_id"], c.visitor_id.as_str());
    assert_eq!(list(&app).await["unread_count"], 0);
    let (_, m) = body(app.get("/api/v1/conversations/s1/messages", Some(&c.visitor)).await).await;
    assert!(m["messages"][0]["read_at"].is_string(), "{}", m["messages"][0]);
    // Reading the same again: no new receipt.
    let r = app
        .post(&c.path("s1", "read"), Some(&c.owner), json!({"message_id": user_msg}))
        .await;
    assert_eq!(r.status(), 204);
    assert!(frame_within(&mut ws, "read", Duration::from_millis(300))
        .await
        .is_none());

    // An operator message is unread for the visitor until it reads it; the
    // badge comes from the server, so it survives a reload.
    assert_eq!(unread(&app, &c.visitor, "s1").await, 1, "the AI's reply");
    let (_, op) = body(
        app.post(
            &c.path("s1", "messages"),
            Some(&c.owner),
            json!({"message": "Yes, me!"}),
        )
        .await,
    )
    .await;
    assert_eq!(unread(&app, &c.visitor, "s1").await, 2);
    ws.send(json!({"type": "read", "session_id": "s1", "message_id": op["id"]}))
        .await;
    let r = owner_events.next("read").await;
    assert_eq!(r["reader"], "visitor");
    assert_eq!(r["visitor_id"], c.visitor_id.as_str());
    assert_eq!(r["message_id"], op["id"]);
    assert_eq!(unread(&app, &c.visitor, "s1").await, 0);
    let (_, t) = body(app.get(&c.path("s1", "messages"), Some(&c.owner)).await).await;
    let last = t["messages"].as_array().unwrap().last().unwrap().clone();
    assert_eq!(last["role"], "operator");
    assert!(last["read_at"].is_string(), "the owner sees the visitor read it");
    // A message of another visitor's conversation is not this one's.
    expect_error(
        app.post(&c.path("s1", "read"), Some(&c.owner), json!({"message_id": "nope"}))
            .await,
        404,
        "NOT_FOUND",
    )
    .await;
}
