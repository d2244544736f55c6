//! §9.1 hand-off: the owner takes over mid-stream, types, answers, and hands
//! back; the visitor sees it on its WebSocket and on its SSE fallback.

use std::time::Duration;

use super::{cast, frame_within, Cast, Sse};
use crate::both_backends;
use crate::helpers::*;

both_backends!(take_over_mid_stream_and_hand_back, owner_endpoints_refuse_everyone_else);

async fn take_over_mid_stream_and_hand_back(b: Backend) {
    let Some(app) = app(b).await else { return };
    let c = cast(&app).await;
    let mut fallback = Sse::open(&app, &format!("/api/v1/chat/events?token={}", c.visitor)).await;
    let mut ws = app.ws_authed(&c.visitor).await;
    take_over_mid_stream(&app, &c, &mut ws, &mut fallback).await;
    operator_types_and_answers(&app, &c, &mut ws, &mut fallback).await;
    let started = app.upstream().started();
    visitor_writes_in_human_mode(&app, &c, &mut ws, started).await;
    hand_back(&app, &c, &mut ws, started).await;
}

/// The owner takes over while the AI streams: the AI stops, and the visitor
/// learns who answers now, on its WebSocket and its SSE fallback.
async fn take_over_mid_stream(app: &TestApp, c: &Cast, ws: &mut WsClient, fallback: &mut Sse) {
    // A slow answer, so that the owner steps in while it streams.
    app.upstream()
        .push(Behaviour::tokens(200).delay(Duration::ZERO, Duration::from_millis(20)));
    let ack = ws.message("I want a refund", Some("s1"), None).await;
    let reply_id = ack["reply_id"].as_str().expect("an AI reply").to_string();
    let first = ws.recv_type("token").await;
    assert_eq!(first["reply_id"], reply_id.as_str());

    let (s, conv) = body(
        app.post(&c.path("s1", "handoff"), Some(&c.owner), json!({"mode": "human"}))
            .await,
    )
    .await;
    assert_eq!(s, 200, "{conv}");
    assert_eq!(conv["mode"], "human");
    assert_eq!(conv["id"], "s1");
    let done = ws.collect(&reply_id).await;
    let complete = done.complete.expect("complete");
    assert_eq!(complete["metadata"]["finish_reason"], "stopped");
    assert!(done.tokens.len() < 200, "stopped early");
    // It may come before or after the stopped reply's `complete`.
    let h = match done.frames.iter().find(|f| f["type"] == "handoff") {
        Some(h) => h.clone(),
        None => frame_within(ws, "handoff", Duration::from_secs(5))
            .await
            .expect("handoff"),
    };
    assert_eq!(h["session_id"], "s1");
    assert_eq!(h["mode"], "human");
    assert_eq!(h["operator"]["name"], "Test");
    let h = fallback.next("handoff").await;
    assert_eq!(h["mode"], "human");
    // Handing over again changes nothing and says nothing.
    let (s, _) = body(
        app.post(&c.path("s1", "handoff"), Some(&c.owner), json!({"mode": "human"}))
            .await,
    )
    .await;
    assert_eq!(s, 200);
}

/// The operator types, then answers; a repeated client_id creates nothing.
async fn operator_types_and_answers(app: &TestApp, c: &Cast, ws: &mut WsClient, fallback: &mut Sse) {
    let r = app
        .post(&c.path("s1", "typing"), Some(&c.owner), json!({"is_typing": true}))
        .await;
    assert_eq!(r.status(), 204);
    let t = operator_typing(ws, Duration::from_secs(5)).await.expect("typing");
    assert_eq!(t["is_typing"], true);
    assert_eq!(t["session_id"], "s1");
    // Unless repeated, it turns false by itself after 5 s.
    let t = operator_typing(ws, Duration::from_secs(8)).await.expect("typing off");
    assert_eq!(t["is_typing"], false);

    let msgs = c.path("s1", "messages");
    let send = || {
        app.post(
            &msgs,
            Some(&c.owner),
            json!({"message": "Hi, I am Ada from the shop.", "client_id": "op-1"}),
        )
    };
    let (s, m) = body(send().await).await;
    assert_eq!(s, 201, "{m}");
    assert_eq!(m["role"], "operator");
    assert_eq!(m["metadata"]["author"]["name"], "Test");
    assert_eq!(m["client_id"], "op-1");
    let added = frame_within(ws, "message_added", Duration::from_secs(5))
        .await
        .expect("message_added");
    assert_eq!(added["message"]["id"], m["id"]);
    assert_eq!(added["message"]["role"], "operator");
    assert_eq!(fallback.next("message_added").await["message"]["id"], m["id"]);
    let (s, again) = body(send().await).await;
    assert_eq!(s, 201);
    assert_eq!(again["id"], m["id"], "the same message");
}

/// A visitor message in human mode: stored and acked, with no reply at all,
/// on the WebSocket and over HTTP; regenerating is refused.
async fn visitor_writes_in_human_mode(app: &TestApp, c: &Cast, ws: &mut WsClient, started: usize) {
    let ack = ws.message("Thanks Ada", Some("s1"), Some("v-2")).await;
    assert!(ack["reply_id"].is_null(), "{ack}");
    for ty in ["progress", "stream_start", "complete"] {
        assert!(
            frame_within(ws, ty, Duration::from_millis(400)).await.is_none(),
            "no {ty} in human mode"
        );
    }
    assert_eq!(app.upstream().started(), started, "nothing went upstream");
    // Regenerating would start a reply: refused while a person answers.
    ws.send(json!({"type": "regenerate", "session_id": "s1"})).await;
    assert_eq!(ws.recv_type("error").await["code"], "INVALID_FRAME");
    // Over HTTP too: `/chat/messages` and `/chat` answer 202 with no reply.
    let (s, v) = body(
        app.post(
            "/api/v1/chat",
            Some(&c.visitor),
            json!({"message": "still there?", "session_id": "s1"}),
        )
        .await,
    )
    .await;
    assert_eq!(s, 202, "{v}");
    assert!(v["reply_id"].is_null());

    let (_, t) = body(app.get(&c.path("s1", "messages"), Some(&c.owner)).await).await;
    let roles: Vec<&str> = t["messages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["role"].as_str().unwrap())
        .collect();
    assert_eq!(
        roles,
        ["user", "assistant", "operator", "user", "user"],
        "one operator message"
    );
}

/// Back to the AI: nothing is answered retroactively; the next message is,
/// with the operator's words in its context as the assistant's.
async fn hand_back(app: &TestApp, c: &Cast, ws: &mut WsClient, started: usize) {
    let (s, conv) = body(
        app.post(&c.path("s1", "handoff"), Some(&c.owner), json!({"mode": "ai"}))
            .await,
    )
    .await;
    assert_eq!((s, conv["mode"].as_str()), (200, Some("ai")));
    let h = frame_within(ws, "handoff", Duration::from_secs(5))
        .await
        .expect("handoff");
    assert_eq!(h["mode"], "ai");
    assert!(h["operator"].is_null());
    assert_eq!(app.upstream().started(), started, "nothing answered retroactively");
    let ack = ws.message("One more question", Some("s1"), None).await;
    let reply = ack["reply_id"].as_str().expect("the AI answers again").to_string();
    let done = ws.collect(&reply).await;
    assert_eq!(done.complete.unwrap()["metadata"]["finish_reason"], "stop");
    let req = app.upstream().requests().last().cloned().expect("an upstream request");
    let sent = req["messages"].as_array().unwrap();
    assert!(
        sent.iter()
            .any(|m| m["role"] == "assistant" && m["content"] == "Hi, I am Ada from the shop."),
        "the operator's message went upstream as the assistant's: {sent:?}"
    );
}

/// The next `typing` frame of the operator (the assistant's are skipped).
async fn operator_typing(ws: &mut WsClient, wait: Duration) -> Option<Value> {
    let deadline = tokio::time::Instant::now() + wait;
    loop {
        let left = deadline.saturating_duration_since(tokio::time::Instant::now());
        let t = frame_within(ws, "typing", left).await?;
        if t["actor"] == "operator" {
            return Some(t);
        }
    }
}

async fn owner_endpoints_refuse_everyone_else(b: Backend) {
    let Some(app) = app(b).await else { return };
    let c = cast(&app).await;
    let ack = {
        let mut ws = app.ws_authed(&c.visitor).await;
        let a = ws.message("hello", Some("s1"), None).await;
        ws.collect(a["reply_id"].as_str().unwrap()).await;
        a
    };
    let stranger = app.user_token().await;
    let calls: Vec<(String, Value)> = vec![
        (c.path("s1", "handoff"), json!({"mode": "human"})),
        (c.path("s1", "messages"), json!({"message": "hi"})),
        (c.path("s1", "typing"), json!({"is_typing": true})),
        (c.path("s1", "read"), json!({"message_id": ack["message_id"]})),
    ];
    for (path, body_) in &calls {
        // Another user: as if it did not exist.
        expect_error(app.post(path, Some(&stranger), body_.clone()).await, 404, "NOT_FOUND").await;
        // The visitor itself is no owner.
        let r = app.post(path, Some(&c.visitor), body_.clone()).await;
        assert!(matches!(r.status().as_u16(), 401 | 404), "{path}: {}", r.status());
        // No token at all.
        expect_error(app.post(path, None, body_.clone()).await, 401, "AUTH_REQUIRED").await;
    }
    // Unknown visitor or conversation of the right owner: NOT_FOUND too.
    let wrong = format!("/api/v1/bots/{}/visitors/nobody/conversations/s1/handoff", c.bot_id);
    expect_error(
        app.post(&wrong, Some(&c.owner), json!({"mode": "human"})).await,
        404,
        "NOT_FOUND",
    )
    .await;
    expect_error(
        app.post(&c.path("nope", "handoff"), Some(&c.owner), json!({"mode": "human"}))
            .await,
        404,
        "NOT_FOUND",
    )
    .await;
    // Bad input: a clear error with the contract's code.
    expect_error(
        app.post(&c.path("s1", "handoff"), Some(&c.owner), json!({"mode": "robot"}))
            .await,
        400,
        "INVALID_FRAME",
    )
    .await;
    expect_error(
        app.post(&c.path("s1", "messages"), Some(&c.owner), json!({"message": "  "}))
            .await,
        400,
        "EMPTY_MESSAGE",
    )
    .await;
    let long = "x".repeat(app.config.max_message_chars + 1);
    expect_error(
        app.post(&c.path("s1", "messages"), Some(&c.owner), json!({"message": long}))
            .await,
        413,
        "MESSAGE_TOO_LONG",
    )
    .await;
    // Nothing of it changed the conversation.
    let (_, conv) = body(app.get("/api/v1/conversations/s1", Some(&c.visitor)).await).await;
    assert_eq!(conv["mode"], "ai");
    let (_, t) = body(app.get(&c.path("s1", "messages"), Some(&c.owner)).await).await;
    assert_eq!(t["messages"].as_array().unwrap().len(), 2);
}
