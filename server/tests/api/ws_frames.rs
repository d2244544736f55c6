//! The WebSocket protocol's frames and error codes (contract §3): every bad input
//! gets its code and the connection stays usable, except where the contract
//! closes it.

use std::time::Duration;

use crate::helpers::*;
use crate::sqlite_only;
use tokio_tungstenite::tungstenite::Message;

sqlite_only!(
    frames_before_auth,
    bad_frames_keep_the_connection,
    frame_size_limits,
    query_token_and_reauth,
    message_limits,
    queue_and_concurrency_limits,
    global_cap,
    connection_limit,
    heartbeat,
    all_three_paths
);

async fn frames_before_auth(b: Backend) {
    let Some(app) = app(b).await else { return };
    let token = app.user_token().await;
    let mut ws = app.ws("/ws/chat").await;
    // Nothing unsolicited before authentication.
    assert!(ws.recv_within(Duration::from_millis(300)).await.is_none());
    ws.send(json!({"type": "message", "message": "hi"})).await;
    assert_eq!(ws.recv().await.unwrap()["code"], "AUTH_REQUIRED");
    ws.send(json!({"type": "join", "session_id": "x"})).await;
    assert_eq!(ws.recv().await.unwrap()["code"], "AUTH_REQUIRED");
    ws.send(json!({"type": "auth", "token": "nope"})).await;
    let e = ws.recv().await.unwrap();
    assert_eq!(e, json!({"type": "auth_error", "message": "Invalid token"}));
    // After auth_error the connection stays open for another try.
    ws.send(json!({"type": "auth", "token": token})).await;
    let ok = ws.recv().await.unwrap();
    assert_eq!(ok["type"], "auth_success");
    assert_eq!(ok["message"], "Authentication successful");
    assert!(ok["user"]["id"].is_string());

    // `Authorization: Bearer` on the upgrade authenticates too (non-browser clients).
    let mut bearer = WsClient::connect_bearer(&app.ws_url("/ws/chat"), &token).await.unwrap();
    assert_eq!(bearer.recv().await.unwrap()["type"], "auth_success");
    // A bad one is an `auth_error` on the open connection, as with `?token=`.
    let mut refused = WsClient::connect_bearer(&app.ws_url("/ws/chat"), "not-a-token")
        .await
        .unwrap();
    assert_eq!(refused.recv().await.unwrap()["type"], "auth_error");
}

async fn bad_frames_keep_the_connection(b: Backend) {
    let Some(app) = app(b).await else { return };
    let token = app.user_token().await;
    let mut ws = app.ws_authed(&token).await;
    let cases: Vec<(Message, &str)> = vec![
        (Message::Text("{not json".into()), "INVALID_JSON"),
        (Message::Binary(vec![1u8, 2, 3].into()), "INVALID_FRAME"),
        (Message::Text(r#"{"type":"message"}"#.into()), "INVALID_FRAME"),
        (
            Message::Text(r#"{"type":"message","message":42}"#.into()),
            "INVALID_FRAME",
        ),
        (Message::Text(r#"{"no":"type"}"#.into()), "INVALID_FRAME"),
        (Message::Text(r#"[1,2]"#.into()), "INVALID_FRAME"),
        (Message::Text(r#"{"type":"teleport"}"#.into()), "UNKNOWN_TYPE"),
        (
            Message::Text(r#"{"type":"message","message":"   \n "}"#.into()),
            "EMPTY_MESSAGE",
        ),
        (
            Message::Text(r#"{"type":"message","message":"hi","session_id":"bad id!"}"#.into()),
            "INVALID_FRAME",
        ),
        (
            Message::Text(r#"{"type":"message","message":"hi","session_id":".."}"#.into()),
            "INVALID_FRAME",
        ),
        (
            Message::Text(r#"{"type":"resume","reply_id":"unknown","after_seq":0}"#.into()),
            "NOT_FOUND",
        ),
        (
            Message::Text(r#"{"type":"stop","reply_id":"unknown"}"#.into()),
            "NOT_FOUND",
        ),
        (
            Message::Text(r#"{"type":"join","session_id":"nope"}"#.into()),
            "NOT_FOUND",
        ),
        (
            Message::Text(r#"{"type":"typing","session_id":"nope","is_typing":true}"#.into()),
            "NOT_FOUND",
        ),
        (
            Message::Text(r#"{"type":"join","session_id":"a/b"}"#.into()),
            "INVALID_FRAME",
        ),
        (
            Message::Text(r#"{"type":"leave","session_id":"a/b"}"#.into()),
            "INVALID_FRAME",
        ),
        (
            Message::Text(r#"{"type":"leave","session_id":"nope"}"#.into()),
            "NOT_FOUND",
        ),
        (
            Message::Text(r#"{"type":"resume","reply_id":"r1"}"#.into()),
            "INVALID_FRAME",
        ),
        (
            Message::Text(r#"{"type":"typing","session_id":"a b","is_typing":true}"#.into()),
            "INVALID_FRAME",
        ),
        (
            Message::Text(r#"{"type":"regenerate","session_id":"nope"}"#.into()),
            "NOT_FOUND",
        ),
    ];
    for (frame, code) in cases {
        let shown = format!("{frame:?}");
        ws.send_raw(frame).await;
        let e = ws.recv().await.unwrap_or_else(|| panic!("closed after {shown}"));
        assert_eq!(e["type"], "error", "{shown}: {e}");
        assert_eq!(e["code"], code, "{shown}: {e}");
        assert!(e["error"].as_str().is_some_and(|m| !m.is_empty()));
    }
    // Still usable: a ping is answered with the same ts, and a message streams.
    ws.send(json!({"type": "ping", "ts": 12345})).await;
    assert_eq!(ws.recv().await.unwrap(), json!({"type": "pong", "ts": 12345}));
    let ack = ws.message("still here?", None, None).await;
    let c = ws.collect(ack["reply_id"].as_str().unwrap()).await;
    assert_eq!(c.text(), c.response());
    // A conversation named with another bot is refused.
    let session = ack["session_id"].as_str().unwrap();
    let other = body(app.post("/api/v1/bots", Some(&token), json!({"name": "Other"})).await)
        .await
        .1;
    ws.send(json!({"type": "message", "message": "x", "session_id": session, "bot_id": other["id"]}))
        .await;
    assert_eq!(ws.recv_type("error").await["code"], "INVALID_FRAME");
}

async fn frame_size_limits(b: Backend) {
    let Some(app) = app(b).await else { return };
    let token = app.user_token().await;
    let mut ws = app.ws_authed(&token).await;
    // 100 KiB is allowed (the padding field is unknown and ignored).
    let padding = "p".repeat(100 * 1024);
    ws.send(json!({"type": "message", "message": "small", "padding": padding}))
        .await;
    let ack = ws.recv_type("ack").await;
    ws.collect(ack["reply_id"].as_str().unwrap()).await;
    // A 16000-character message of escaped characters still fits in a frame.
    let escaped = "\u{1}".repeat(16000);
    ws.send(json!({"type": "message", "message": escaped})).await;
    let ack = ws.recv_type("ack").await;
    ws.collect(ack["reply_id"].as_str().unwrap()).await;
    // 300 KiB closes the connection with 1009.
    let big = "b".repeat(300 * 1024);
    ws.send_raw(Message::Text(
        json!({"type": "message", "message": big}).to_string().into(),
    ))
    .await;
    while ws.recv().await.is_some() {}
    assert_eq!(ws.closed, Some(1009));
    // The server is fine.
    assert_eq!(app.get("/health", None).await.status(), 200);
}

async fn query_token_and_reauth(b: Backend) {
    let Some(app) = app(b).await else { return };
    let (a, a_id) = app.register("qa@example.com").await;
    let (other, _) = app.register("qb@example.com").await;
    let mut ws = app.ws(&format!("/ws/chat?token={a}")).await;
    let first = ws.recv().await.unwrap();
    assert_eq!(first["type"], "auth_success");
    assert_eq!(first["user"]["id"], a_id.as_str());
    ws.send(json!({"type": "auth", "token": a})).await;
    assert_eq!(ws.recv().await.unwrap()["type"], "auth_success");
    ws.send(json!({"type": "auth", "token": other})).await;
    assert_eq!(ws.recv().await.unwrap()["type"], "auth_error");
    // It kept its first identity.
    let ack = ws.message("who am i", Some("mine"), None).await;
    ws.collect(ack["reply_id"].as_str().unwrap()).await;
    assert_eq!(app.get("/api/v1/conversations/mine", Some(&a)).await.status(), 200);

    let mut bad = app.ws("/ws/chat?token=garbage").await;
    assert_eq!(
        bad.recv().await.unwrap(),
        json!({"type": "auth_error", "message": "Invalid token"})
    );
}

async fn message_limits(b: Backend) {
    let Some(app) = spawn_app(AppOptions::new(b).config(|c| {
        c.max_message_chars = 50;
        c.rate_limit_per_min = 3;
        c.daily_tokens_guest = 4;
    }))
    .await
    else {
        return;
    };
    let token = app.user_token().await;
    let mut ws = app.ws_authed(&token).await;
    // Characters are Unicode scalar values: 50 emoji fit, 51 do not.
    ws.send(json!({"type": "message", "message": "é".repeat(51), "client_id": "long"}))
        .await;
    let e = ws.recv_type("error").await;
    assert_eq!(e["code"], "MESSAGE_TOO_LONG");
    assert_eq!(e["client_id"], "long");
    for i in 0..3 {
        let ack = ws.message(&"é".repeat(50), Some(&format!("r{i}")), None).await;
        ws.collect(ack["reply_id"].as_str().unwrap()).await;
    }
    ws.send(json!({"type": "message", "message": "one too many"})).await;
    let e = ws.recv_type("error").await;
    assert_eq!(e["code"], "RATE_LIMITED");
    assert!(e["retry_after_ms"].as_u64().unwrap() > 0);
    // A refusal stored nothing.
    let (_, list) = body(app.get("/api/v1/conversations", Some(&token)).await).await;
    assert_eq!(list["conversations"].as_array().unwrap().len(), 3);

    // Guests have a daily quota of completion tokens.
    let guest = body(app.post("/api/v1/auth/guest", None, json!({})).await).await.1["token"]
        .as_str()
        .unwrap()
        .to_string();
    let mut g = app.ws_authed(&guest).await;
    let ack = g.message("spend it", None, None).await;
    g.collect(ack["reply_id"].as_str().unwrap()).await;
    g.send(json!({"type": "message", "message": "more"})).await;
    let e = g.recv_type("error").await;
    assert_eq!(e["code"], "QUOTA_EXCEEDED");
    assert!(e["retry_after_ms"].as_u64().unwrap() > 0);
}

async fn queue_and_concurrency_limits(b: Backend) {
    let Some(app) = app(b).await else { return };
    app.upstream()
        .set_default(Behaviour::tokens(20).delay(Duration::from_millis(300), Duration::from_millis(100)));
    let token = app.user_token().await;
    let mut ws = app.ws_authed(&token).await;
    // One generating and four waiting per conversation; the sixth is refused.
    let mut replies = Vec::new();
    for i in 0..5 {
        let ack = ws.message(&format!("q{i}"), Some("busy"), Some(&format!("q{i}"))).await;
        replies.push(ack["reply_id"].as_str().unwrap().to_string());
    }
    ws.send(json!({"type": "message", "message": "q5", "session_id": "busy", "client_id": "q5"}))
        .await;
    let e = ws.recv_type("error").await;
    assert_eq!(e["code"], "REPLY_IN_PROGRESS", "{e}");
    assert_eq!(e["reply_id"], replies[0].as_str());
    assert_eq!(e["client_id"], "q5");
    // Four conversations may generate at once per identity; a fifth is refused.
    for i in 1..4 {
        ws.message("x", Some(&format!("other-{i}")), None).await;
    }
    ws.send(json!({"type": "message", "message": "x", "session_id": "fifth"}))
        .await;
    let e = ws.recv_type("error").await;
    assert_eq!(e["code"], "RATE_LIMITED", "{e}");
    assert_eq!(
        app.get("/api/v1/conversations/fifth", Some(&token)).await.status(),
        404,
        "refusals store nothing"
    );
}

async fn global_cap(b: Backend) {
    let Some(app) = spawn_app(AppOptions::new(b).config(|c| c.max_active_replies = 1)).await else {
        return;
    };
    app.upstream()
        .set_default(Behaviour::tokens(10).delay(Duration::from_millis(200), Duration::from_millis(100)));
    // One generates, the next three wait in line (and finish), the fifth is refused.
    let mut socks = Vec::new();
    let mut acks = Vec::new();
    for _ in 0..4 {
        let t = app.user_token().await;
        let mut ws = app.ws_authed(&t).await;
        acks.push(
            ws.message("hello", None, None).await["reply_id"]
                .as_str()
                .unwrap()
                .to_string(),
        );
        socks.push(ws);
    }
    let t = app.user_token().await;
    let mut ws = app.ws_authed(&t).await;
    ws.send(json!({"type": "message", "message": "one more"})).await;
    let e = ws.recv_type("error").await;
    assert_eq!(e["code"], "UNAVAILABLE", "{e}");
    assert!(e["retry_after_ms"].as_u64().unwrap() > 0);
    for (ws, id) in socks.iter_mut().zip(&acks) {
        let c = ws.collect(id).await;
        assert_eq!(c.complete.unwrap()["metadata"]["finish_reason"], "stop");
    }
}

async fn connection_limit(b: Backend) {
    let Some(app) = spawn_app(AppOptions::new(b).config(|c| c.max_connections_per_identity = 2)).await else {
        return;
    };
    let token = app.user_token().await;
    let _a = app.ws_authed(&token).await;
    let _b = app.ws_authed(&token).await;
    match testkit::ws::WsClient::connect(&app.ws_url(&format!("/ws/chat?token={token}"))).await {
        Err(tokio_tungstenite::tungstenite::Error::Http(res)) => assert_eq!(res.status(), 429),
        Err(e) => panic!("unexpected error {e}"),
        Ok(_) => panic!("a third connection was accepted"),
    }
    let mut c = app.ws("/ws/chat").await;
    c.send(json!({"type": "auth", "token": token})).await;
    let e = c.recv().await.unwrap();
    assert_eq!(e["type"], "auth_error");
    assert_eq!(e["code"], "RATE_LIMITED");
    drop(_a);
    tokio::time::sleep(Duration::from_millis(300)).await;
    c.send(json!({"type": "auth", "token": token})).await;
    assert_eq!(
        c.recv().await.unwrap()["type"],
        "auth_success",
        "a closed connection frees its place"
    );
}

async fn heartbeat(b: Backend) {
    let Some(app) = spawn_app(AppOptions::new(b).config(|c| {
        c.ws_ping_interval = Duration::from_millis(300);
        c.ws_idle_timeout = Duration::from_secs(1);
    }))
    .await
    else {
        return;
    };
    let token = app.user_token().await;
    // A client that reads (and so answers pings) stays connected past the idle time-out.
    let mut alive = app.ws_authed(&token).await;
    let until = tokio::time::Instant::now() + Duration::from_millis(2500);
    while tokio::time::Instant::now() < until {
        let _ = alive.recv_within(Duration::from_millis(100)).await;
    }
    alive.send(json!({"type": "ping", "ts": 1})).await;
    assert_eq!(alive.recv().await.unwrap()["type"], "pong");
    // A client that sends nothing, pongs included, is dropped.
    let mut silent = app.ws_authed(&token).await;
    tokio::time::sleep(Duration::from_millis(2500)).await;
    let mut got_pong = false;
    while let Some(f) = silent.recv_within(Duration::from_secs(2)).await {
        got_pong |= f["type"] == "pong";
    }
    silent.send_raw(Message::Text(r#"{"type":"ping"}"#.into())).await;
    assert!(
        silent.recv_within(Duration::from_millis(500)).await.is_none(),
        "dropped after 60 s (here 1 s) of silence"
    );
    assert!(!got_pong);
}

async fn all_three_paths(b: Backend) {
    let Some(app) = app(b).await else { return };
    let token = app.user_token().await;
    let (_, bot) = body(app.post("/api/v1/bots", Some(&token), json!({"name": "PathBot"})).await).await;
    let bot_id = bot["id"].as_str().unwrap();
    for path in [
        "/ws/chat".to_string(),
        "/api/v1/chat/ws".to_string(),
        format!("/api/v1/chat/ws/{bot_id}"),
    ] {
        let mut ws = app.ws(&format!("{path}?token={token}")).await;
        assert_eq!(ws.recv().await.unwrap()["type"], "auth_success", "{path}");
        let ack = ws.message("hello", None, None).await;
        let c = ws.collect(ack["reply_id"].as_str().unwrap()).await;
        assert!(!c.text().is_empty(), "{path}");
        let (_, conv) = body(
            app.get(
                &format!("/api/v1/conversations/{}", ack["session_id"].as_str().unwrap()),
                Some(&token),
            )
            .await,
        )
        .await;
        if path.ends_with(bot_id) {
            assert_eq!(conv["bot_id"], bot_id, "the path's bot gets every message");
            assert_eq!(c.complete.unwrap()["metadata"]["agent"], "PathBot");
        } else {
            assert_ne!(conv["bot_id"], bot_id);
        }
    }
}
